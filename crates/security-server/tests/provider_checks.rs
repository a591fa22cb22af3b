//! What a provider's security server lets through to its services when the consumer's server
//! is patched to send anything (issue 13, items 1 and 3): the transport messages here are
//! built and signed by hand, as such a server would, and the stub services report what they
//! received.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod common;

use std::time::Duration;

use common::*;
use egov_security_server::transport::message::{self, FAULT_CONTENT_TYPE, Protocol};

/// A message signed by A's server for A's consumer; `Ok(frames' message, body)` or the fault code.
async fn deliver(
    w: &World,
    service_id: &str,
    protocol: Protocol,
    soap_action: Option<&str>,
    message_part: &[u8],
) -> Result<(Vec<u8>, Vec<u8>), String> {
    let gw = &w.fed.running[A].0.gateway;
    let meta = gw.request_meta(
        client("AZ/GOV/1/consumer"),
        service(service_id),
        protocol,
        Some("text/xml; charset=utf-8".into()).filter(|_| protocol == Protocol::Soap),
        soap_action.map(str::to_owned),
    );
    let meta_bytes = serde_json::to_vec(&meta).unwrap();
    let block = gw.signer.sign(message::digest(&meta_bytes, message_part, b"")).await.unwrap();
    let bytes = message::encode(&meta_bytes, message_part, b"", &serde_json::to_vec(&block).unwrap());
    let reply = gw.pool.send(&peer_b(w), bytes, Duration::from_secs(5)).await.unwrap();
    if reply.content_type == FAULT_CONTENT_TYPE {
        let v: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
        return Err(v["code"].as_str().unwrap().to_owned());
    }
    let frames = message::decode(&reply.body).unwrap();
    Ok((frames.message.to_vec(), frames.body.to_vec()))
}

/// A REST GET with `path_and_query`, hand-built: what the `files` service saw, or the fault.
async fn files_get(w: &World, path_and_query: &str, headers: &[(&str, &[u8])]) -> Result<serde_json::Value, String> {
    let part = egov_xroad::rest::request_header_part("GET", path_and_query, headers.iter().copied());
    let (_, body) = deliver(w, "AZ/GOV/2/provider/files", Protocol::Rest, None, &part).await?;
    Ok(serde_json::from_slice(&body).unwrap())
}

/// Item 1: a granted `/persons/*/payments` does not open `/persons/ID` through a `#` (which
/// the check once kept and the HTTP client then cut off), and `*.json` cannot be escaped;
/// the service receives exactly the path that was checked.
#[tokio::test]
async fn the_service_receives_exactly_the_checked_path() {
    let w = world().await;
    let seen = files_get(&w, "/persons/5ZX7K2P/payments?year=2025", &[]).await.unwrap();
    assert_eq!(
        (seen["path"].as_str(), seen["query"].as_str()),
        (Some("/rest-echo/persons/5ZX7K2P/payments"), Some("year=2025"))
    );

    for refused in
        ["/persons/5ZX7K2P#/payments", "/persons/5ZX7K2P/payments#x", "/files/secret.xml#.json", "/files/a b.json"]
    {
        assert_eq!(files_get(&w, refused, &[]).await, Err("Client.BadRequest".into()), "{refused}");
    }
    for denied in ["/persons/5ZX7K2P", "/files/secret.xml?.json", "/files/secret.xml", "/files/x.json/../secret.xml"] {
        let got = files_get(&w, denied, &[]).await;
        assert!(
            matches!(
                got.as_ref().map_err(String::as_str),
                Err("Server.ServerProxy.AccessDenied" | "Client.BadRequest")
            ),
            "{denied}: {got:?}"
        );
    }
    // what is granted reaches the service as one segment, never as another file
    for (granted, received) in [
        ("/files/report.json", "/rest-echo/files/report.json"),
        ("/files/secret.xml%3F.json", "/rest-echo/files/secret.xml%3F.json"),
        ("/files/secret.xml%23.json", "/rest-echo/files/secret.xml%23.json"),
        ("/files/secret.xml;.json", "/rest-echo/files/secret.xml%3B.json"),
        ("/files//r%65port.json", "/rest-echo/files/report.json"),
    ] {
        let seen = files_get(&w, granted, &[]).await.unwrap();
        assert_eq!(seen["path"], received, "{granted}");
    }
    w.stop().await;
}

/// Item 3: headers that make a back end take another method or URL, or another host and
/// scheme, do not reach the service.
#[tokio::test]
async fn method_and_url_override_headers_do_not_reach_the_service() {
    let w = world().await;
    let steering: [(&str, &[u8]); 8] = [
        ("x-http-method-override", b"DELETE"),
        ("x-http-method", b"DELETE"),
        ("x-method-override", b"DELETE"),
        ("x-original-url", b"/admin"),
        ("x-rewrite-url", b"/admin"),
        ("x-forwarded-host", b"evil.example"),
        ("forwarded", b"host=evil.example"),
        ("accept", b"application/json"),
    ];
    let seen = files_get(&w, "/files/report.json", &steering).await.unwrap();
    let names: Vec<&str> = seen["headers"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(names.contains(&"accept"), "{names:?}");
    for (name, _) in &steering[..7] {
        assert!(!names.contains(name), "{name} reached the service: {names:?}");
    }
    assert_eq!(seen["method"], "GET");
    w.stop().await;
}

/// Item 3: the SOAPAction a service receives names the service the access right was checked
/// for; any other is refused, at the consumer's server and (if that one is patched) at the
/// provider's.
#[tokio::test]
async fn soap_action_must_name_the_called_service() {
    let w = world().await;
    let envelope =
        soap_request("AZ/GOV/1/consumer", "AZ/GOV/2/provider/actionEcho/v1", &person_body("actionEcho", "ACTION"));
    // through the consumer's server, as an information system sends it
    for (action, seen) in [(None, "\"\""), (Some("\"\""), "\"\""), (Some("\"urn:actionEcho\""), "\"urn:actionEcho\"")] {
        let mut headers = vec![("content-type", "text/xml; charset=utf-8")];
        headers.extend(action.map(|a| ("soapaction", a)));
        let reply = send("POST", &format!("{}/", w.url(A)), &headers, envelope.clone()).await;
        assert_eq!(reply.fault_code(), None, "{}", reply.body);
        assert!(
            reply.body.contains(&format!("<p:fin>{}</p:fin>", seen.replace('"', "&quot;"))),
            "{action:?}: {}",
            reply.body
        );
    }
    let reply = send(
        "POST",
        &format!("{}/", w.url(A)),
        &[("content-type", "text/xml; charset=utf-8"), ("soapaction", "\"secretOp\"")],
        envelope.clone(),
    )
    .await;
    assert_eq!(reply.fault_code().as_deref(), Some("Client.InvalidSoapAction"), "{}", reply.body);
    // a patched consumer's server that sends it anyway
    let got =
        deliver(&w, "AZ/GOV/2/provider/actionEcho/v1", Protocol::Soap, Some("\"secretOp\""), envelope.as_bytes()).await;
    assert_eq!(got.map(|_| ()), Err("Client.InvalidSoapAction".into()));
    let (message, _) =
        deliver(&w, "AZ/GOV/2/provider/actionEcho/v1", Protocol::Soap, Some("urn:actionEcho"), envelope.as_bytes())
            .await
            .unwrap();
    assert!(String::from_utf8(message).unwrap().contains("<p:fin>urn:actionEcho</p:fin>"));
    w.stop().await;
}

/// Item 1, the consumer's side: what the provider would refuse is refused before anything is
/// signed or sent, with the same fault.
#[tokio::test]
async fn the_consumer_refuses_paths_the_provider_would() {
    let w = world().await;
    let base = format!("{}/r1/AZ/GOV/2/provider/files", w.url(A));
    for path in ["/files/a|b.json", "/files/%zz.json", "/files/a%22b.json?x=%"] {
        let reply = send("GET", &format!("{base}{path}"), &[("x-road-client", "AZ/GOV/1/consumer")], "").await;
        assert_eq!(reply.status, 400, "{path}: {}", reply.body);
        assert_eq!(reply.headers["x-road-error"], "Client.BadRequest", "{path}");
    }
    let reply = send("GET", &format!("{base}/files/a%22b.json"), &[("x-road-client", "AZ/GOV/1/consumer")], "").await;
    assert_eq!(reply.status, 201, "an encoded quote is a path character: {}", reply.body);
    w.stop().await;
}
