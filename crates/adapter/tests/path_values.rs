//! Field values placed in a REST back end's URL path stay in their one segment (issue 13
//! item 2, TT-4.1.4): the demo's Social Protection Fund mapping, with `fin` = `..`, must
//! never make the back end see `/pension-capital` or `/payments`.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Request, State};
use egov_adapter::AdapterOptions;
use serde_json::json;

/// The demo agency's own mapping file, as the demo ships it.
const MAPPING: &str = include_str!("../../demo/mappings/social-protection-fund.toml");

/// A back end that records every path it is asked for and answers any of them.
async fn recording_backend() -> (String, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let app = axum::Router::new()
        .fallback(|State(seen): State<Arc<Mutex<Vec<String>>>>, request: Request| async move {
            seen.lock().unwrap().push(request.uri().path().to_owned());
            Json(json!({"fin": "x", "pensionCapital": 1, "asOf": "2026-01-01", "payments": []}))
        })
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

fn soap(service: &str, fin: &str) -> String {
    format!(
        r#"<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xrd="http://x-road.eu/xsd/xroad.xsd" xmlns:id="http://x-road.eu/xsd/identifiers"><SOAP-ENV:Header>
<xrd:client id:objectType="SUBSYSTEM"><id:xRoadInstance>AZ</id:xRoadInstance><id:memberClass>GOV</id:memberClass><id:memberCode>1</id:memberCode><id:subsystemCode>portal</id:subsystemCode></xrd:client>
<xrd:service id:objectType="SERVICE"><id:xRoadInstance>AZ</id:xRoadInstance><id:memberClass>GOV</id:memberClass><id:memberCode>3</id:memberCode><id:subsystemCode>insurance</id:subsystemCode><id:serviceCode>{service}</id:serviceCode><id:serviceVersion>v1</id:serviceVersion></xrd:service>
<xrd:id>q-1</xrd:id><xrd:protocolVersion>4.0</xrd:protocolVersion></SOAP-ENV:Header>
<SOAP-ENV:Body><a:{service} xmlns:a="urn:egov:adapter:social-protection-fund"><a:fin>{fin}</a:fin></a:{service}></SOAP-ENV:Body></SOAP-ENV:Envelope>"#
    )
}

#[tokio::test]
async fn dot_values_never_move_the_back_ends_path() {
    let (backend, seen) = recording_backend().await;
    let text = MAPPING.replace("${LISTEN}", "127.0.0.1:0").replace("${BACKEND}", &backend);
    let adapter = egov_adapter::start(text, AdapterOptions { file: None, admin_token: None }).await.unwrap();
    let base = format!("http://{}", adapter.addr());
    let http = reqwest::Client::new();

    for fin in ["..", ".", "%2e%2e", "%2E.", "../x", "..%2F", "a/../b"] {
        for service in ["getPensionCapital", "getInsuredPayments"] {
            let query: String =
                percent_encoding::utf8_percent_encode(fin, percent_encoding::NON_ALPHANUMERIC).to_string();
            let rest = http.get(format!("{base}/rest/{service}?fin={query}")).send().await.unwrap();
            let status = rest.status().as_u16();
            let body = rest.text().await.unwrap();
            if fin == "." || fin == ".." {
                assert_eq!(status, 400, "{service} fin={fin}: {body}");
                assert!(body.contains("fin") && body.contains("path"), "the refusal names the field: {body}");
            }
            let answer = http
                .post(format!("{base}/soap"))
                .header("content-type", "text/xml")
                .body(soap(service, fin))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            if fin == "." || fin == ".." {
                assert!(answer.contains("Client.InvalidField") && answer.contains("fin"), "{answer}");
            }
        }
    }
    // an ordinary FIN still goes where the mapping says
    let ok = http.get(format!("{base}/rest/getPensionCapital?fin=5ZX7K2P")).send().await.unwrap();
    assert_eq!(ok.status(), 200);

    let seen = seen.lock().unwrap().clone();
    assert!(seen.contains(&"/insured/5ZX7K2P/pension-capital".to_owned()), "{seen:?}");
    for path in &seen {
        let segments: Vec<&str> = path.split('/').skip(1).collect();
        assert_eq!(segments.len(), 3, "the back end was asked for {path}");
        assert_eq!(segments[0], "insured", "{path}");
        assert!(["pension-capital", "payments"].contains(&segments[2]), "{path}");
        assert!(segments[1] != "." && segments[1] != "..", "{path}");
    }
    assert!(!seen.iter().any(|p| p == "/pension-capital" || p == "/payments"), "{seen:?}");
}
