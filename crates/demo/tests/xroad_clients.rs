//! Third-party, WSDL-driven X-Road clients call every SOAP service of the demo (issue 13
//! item 16, TT-4.1.4): `pyxroad`'s `XClient` and a plain `zeep` client, each building its
//! request from the WSDL the client's security server serves (`GET /wsdl?…`) with the X-Road
//! header parts that WSDL declares, and sending it through that security server. Every
//! answer must carry the provider security server's `requestHash`.
//!
//! The driver is `tests/xroad_clients.py`; `.ci/run` installs pyxroad (which brings zeep).

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::path::Path;
use std::process::Command;

const PEOPLE: usize = 3_000;

fn python_module(name: &str) -> bool {
    Command::new("python3").args(["-c", &format!("import {name}")]).output().is_ok_and(|o| o.status.success())
}

/// Starts the demo and runs the driver with `client` against it.
async fn every_soap_service_through(client: &'static str) {
    if !python_module("XRoad") {
        eprintln!("SKIPPED: pyxroad not installed (python3 -m pip install pyxroad)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let demo = egov_demo::demo::start(dir.path(), PEOPLE).await.unwrap();
    let soap = demo.manifest["services"].as_array().unwrap().iter().filter(|s| s["protocol"] == "soap").count();
    assert!(soap >= 13, "the demo offers its services over SOAP: {soap}");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/xroad_clients.py");
    let manifest = dir.path().join("demo.json");
    let out = tokio::task::spawn_blocking(move || {
        let mut python = Command::new("python3");
        python.arg(&script).arg(client).arg(&manifest);
        // a client in a network without internet access: nothing may go through a proxy
        for var in ["http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"] {
            python.env_remove(var);
        }
        python.output().unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{client} failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains(&format!("{client}: {soap} SOAP services answered with requestHash")), "{stdout}");
    assert_eq!(stdout.lines().filter(|l| l.starts_with("ok  ")).count(), soap, "{stdout}");
    demo.agencies.stop().await;
    demo.federation.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyxroad_calls_every_demo_soap_service_from_the_served_wsdl() {
    every_soap_service_through("pyxroad").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zeep_calls_every_demo_soap_service_with_the_wsdls_declared_header() {
    every_soap_service_through("zeep").await;
}

/// What a client gets from `getWsdl` (through `GET /wsdl?…`) and `getOpenAPI` names no
/// adapter's or back end's address (issue 13 item 15): `soap:address` is the X-Road
/// placeholder, OpenAPI `servers` the service's path on the client's own security server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_descriptions_name_no_internal_address() {
    let dir = tempfile::tempdir().unwrap();
    let demo = egov_demo::demo::start(dir.path(), PEOPLE).await.unwrap();
    let internal: Vec<String> = demo
        .agencies
        .adapters
        .iter()
        .map(|a| a.1.addr().to_string())
        .chain(demo.agencies.legacy.iter().map(|(_, l)| l.url.trim_start_matches("http://").to_owned()))
        .collect();
    assert!(!internal.is_empty());
    let http = reqwest::Client::new();
    let mut described = 0;
    for s in demo.manifest["services"].as_array().unwrap() {
        let id = s["id"].as_str().unwrap();
        let client_url = s["client_url"].as_str().unwrap();
        let parts: Vec<&str> = id.split('/').collect();
        let text = if s["protocol"] == "soap" {
            let url = format!(
                "{client_url}/wsdl?xRoadInstance={}&memberClass={}&memberCode={}&subsystemCode={}&serviceCode={}&version={}",
                parts[0], parts[1], parts[2], parts[3], parts[4], parts[5]
            );
            let text = http.get(url).send().await.unwrap().text().await.unwrap();
            assert!(text.contains(r#"location="http://example.org/xroad-endpoint""#), "{id}: {text}");
            text
        } else {
            let provider = parts[..4].join("/");
            let url = format!("{client_url}/r1/{provider}/getOpenAPI?serviceCode={}", parts[4]);
            let answer = http.get(url).header("X-Road-Client", s["client"].as_str().unwrap()).send().await.unwrap();
            assert_eq!(answer.status(), 200, "{id}");
            let text = answer.text().await.unwrap();
            let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(doc["servers"], serde_json::json!([{"url": format!("/r1/{provider}/{}", parts[4])}]), "{id}");
            text
        };
        for address in &internal {
            assert!(!text.contains(address.as_str()), "{id} names {address}: {text}");
        }
        described += 1;
    }
    assert_eq!(described, demo.manifest["services"].as_array().unwrap().len());
    demo.agencies.stop().await;
    demo.federation.stop().await;
}
