//! Two security servers and their providers, in process on loopback: SOAP and REST both
//! ways, meta services, and one test per kind of bad input with the fault it must produce
//! (TT-2.2.1, TT-2.2.3, TT-2.2.4, TT-5.1, TT-5.2, TT-5.3, TT-6.2, TT-6.3).

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod common;

use std::time::{Duration, Instant};

use base64::Engine;
use common::*;
use egov_security_server::transport::message::{self, FAULT_CONTENT_TYPE, Protocol};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const GET_PERSON_B: &str = "AZ/GOV/2/provider/getPersonByFin/v1";
const GET_PERSON_A: &str = "AZ/GOV/1/provider/getPersonByFin/v1";

#[tokio::test]
async fn soap_and_rest_both_ways() {
    let w = world().await;
    for (from_ss, from, to_service, to_member) in
        [(A, "AZ/GOV/1/consumer", GET_PERSON_B, "AZ/GOV/2"), (B, "AZ/GOV/2/consumer", GET_PERSON_A, "AZ/GOV/1")]
    {
        let request = soap_request(from, to_service, &person_body("getPersonByFin", "5ZX7K2P"));
        let reply = post_soap(&w.url(from_ss), request.clone()).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.fault_code(), None, "{}", reply.body);
        assert!(reply.body.contains("<pr:firstName>Aysel</pr:firstName>"), "{}", reply.body);
        // the provider's security server added the hash of exactly our bytes
        let hash = egov_xroad::hash::soap_request_hash(request.as_bytes());
        assert!(
            reply.body.contains(&format!(
                "requestHash algorithmId=\"{}\" xmlns:xrd=\"http://x-road.eu/xsd/xroad.xsd\">{}<",
                hash.algorithm, hash.value
            )),
            "{}",
            reply.body
        );
        let parsed = match egov_xroad::soap::parse_response(reply.body.as_bytes()).unwrap() {
            egov_xroad::soap::SoapResponse::Message(m) => m,
            egov_xroad::soap::SoapResponse::Fault(f) => panic!("fault {f:?}"),
        };
        assert_eq!(parsed.header.issue.as_deref(), Some("case-17"));

        let url = format!("{}/r1/{to_member}/provider/payments/persons/3JH8LQ1/payments?year=2024", w.url(from_ss));
        let reply = send("GET", &url, &[("x-road-client", from), ("x-road-userid", "AZ3JH8LQ1")], "").await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let json: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(json["year"], 2024);
        assert_eq!(json["payments"].as_array().unwrap().len(), 12);
        assert_eq!(reply.headers["x-road-client"], from);
        assert_eq!(reply.headers["x-road-service"], format!("{to_member}/provider/payments").as_str());
        assert!(reply.headers.contains_key("x-road-request-id"));
        assert!(reply.headers.contains_key("x-road-id"));
        assert!(!reply.headers["x-road-request-hash"].is_empty());
        assert!(!reply.headers.contains_key("x-road-error"));
    }
    w.stop().await;
}

#[tokio::test]
async fn client_may_repeat_its_message_id() {
    let w = world().await;
    let request = soap_request("AZ/GOV/1/consumer", GET_PERSON_B, &person_body("getPersonByFin", "9PLM4TR"));
    for _ in 0..3 {
        let reply = post_soap(&w.url(A), request.clone()).await;
        assert_eq!(reply.fault_code(), None, "{}", reply.body);
    }
    w.stop().await;
}

#[tokio::test]
async fn rest_errors_of_the_service_pass_unchanged() {
    let w = world().await;
    let url = format!("{}/r1/AZ/GOV/2/provider/payments/persons/NOBODY1/payments", w.url(A));
    let reply = send("GET", &url, &[("x-road-client", "AZ/GOV/1/consumer")], "").await;
    assert_eq!(reply.status, 404);
    assert!(reply.body.contains("no insured person"));
    assert!(!reply.headers.contains_key("x-road-error"));
    w.stop().await;
}

#[tokio::test]
async fn absolute_uri_proxy_form_and_any_path() {
    let w = world().await;
    let addr = w.url(A).trim_start_matches("http://").to_owned();
    let body = soap_request("AZ/GOV/1/consumer", GET_PERSON_B, &person_body("getPersonByFin", "5ZX7K2P"));
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST http://{addr}/cgi-bin/consumer_proxy HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/xml; charset=utf-8\r\nSOAPAction: \"\"\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    tcp.write_all(body.as_bytes()).await.unwrap();
    let mut out = String::new();
    tcp.read_to_string(&mut out).await.unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(out.contains("getPersonByFinResponse"), "{out}");
    assert!(!out.contains("faultcode"), "{out}");
    w.stop().await;
}

#[tokio::test]
async fn meta_services() {
    let w = world().await;
    // SOAP listMethods / allowedMethods answered by the provider's security server
    let list = soap_request("AZ/GOV/1/consumer", "AZ/GOV/2/provider/listMethods", "<xrd:listMethods/>");
    let reply = post_soap(&w.url(A), list).await;
    assert_eq!(reply.fault_code(), None, "{}", reply.body);
    for code in ["getPersonByFin", "slowOp", "secretOp"] {
        assert!(reply.body.contains(&format!("<id:serviceCode>{code}</id:serviceCode>")), "{code}: {}", reply.body);
    }
    let allowed = soap_request("AZ/GOV/1/consumer", "AZ/GOV/2/provider/allowedMethods", "<xrd:allowedMethods/>");
    let reply = post_soap(&w.url(A), allowed).await;
    assert!(reply.body.contains("<id:serviceCode>getPersonByFin</id:serviceCode>"));
    assert!(!reply.body.contains("secretOp"), "allowedMethods must hide services without rights");

    // GET /wsdl: the provider's WSDL with soap:address rewritten
    let reply = send(
        "GET",
        &format!("{}/wsdl?xRoadInstance=AZ&memberClass=GOV&memberCode=2&subsystemCode=provider&serviceCode=getPersonByFin&version=v1", w.url(A)),
        &[],
        "",
    )
    .await;
    assert_eq!(reply.status, 200);
    assert!(reply.body.contains("wsdl:definitions"), "{}", reply.body);
    assert!(reply.body.contains("location=\"http://example.org/xroad-endpoint\""));
    assert!(!reply.body.contains(&w.is_addr.to_string()), "the real address must not leak");

    // REST meta services
    let base = format!("{}/r1/AZ/GOV/2/provider", w.url(A));
    let hdr = [("x-road-client", "AZ/GOV/1/consumer")];
    let reply = send("GET", &format!("{base}/listMethods"), &hdr, "").await;
    let json: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    let payments = json["service"].as_array().unwrap().iter().find(|s| s["service_code"] == "payments").unwrap();
    assert_eq!(payments["service_code"], "payments");
    assert_eq!(payments["service_type"], "OPENAPI");
    assert_eq!(payments["endpoint_list"][0]["path"], "/persons/*/payments");
    let reply = send("GET", &format!("{base}/allowedMethods"), &hdr, "").await;
    assert!(reply.body.contains("payments"));
    let reply = send("GET", &format!("{base}/getOpenAPI?serviceCode=payments"), &hdr, "").await;
    assert_eq!(reply.status, 200);
    assert!(reply.body.contains("\"openapi\":\"3.0.3\""), "{}", reply.body);

    // listClients from the federation directory, XML and JSON
    let reply = send("GET", &format!("{}/listClients", w.url(A)), &[], "").await;
    assert!(reply.body.contains("<id:subsystemCode>provider</id:subsystemCode>"));
    let reply = send("GET", &format!("{}/listClients", w.url(A)), &[("accept", "application/json")], "").await;
    let json: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(json["member"].as_array().unwrap().len(), 6);
    w.stop().await;
}

// ---- bad input: each with its own fault ------------------------------------------------

async fn soap_fault(w: &World, body: impl Into<bytes::Bytes>) -> String {
    let reply = post_soap(&w.url(A), body).await;
    assert_eq!(reply.status, 200, "SOAP faults travel with HTTP 200");
    reply.fault_code().unwrap_or_else(|| panic!("expected a fault, got {}", reply.body))
}

#[tokio::test]
async fn oversized_request_is_refused() {
    let w = world().await;
    let big = soap_request("AZ/GOV/1/consumer", GET_PERSON_B, &person_body("getPersonByFin", &"X".repeat(11 * 1024)));
    assert_eq!(soap_fault(&w, big).await, "Client.RequestTooLarge");
    w.stop().await;
}

#[tokio::test]
async fn malformed_xml_is_refused() {
    let w = world().await;
    assert_eq!(
        soap_fault(&w, "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>").await,
        "Client.InvalidSoap"
    );
    assert_eq!(soap_fault(&w, "definitely not xml").await, "Client.InvalidSoap");
    w.stop().await;
}

#[tokio::test]
async fn dtd_external_entities_and_expansion_are_refused() {
    let w = world().await;
    let body = soap_request("AZ/GOV/1/consumer", GET_PERSON_B, &person_body("getPersonByFin", "&xxe;"));
    let xxe = body.replacen("?>", "?><!DOCTYPE e [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>", 1);
    assert_eq!(soap_fault(&w, xxe).await, "Client.InvalidSoap");
    let laughs = body.replacen(
        "?>",
        "?><!DOCTYPE e [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY xxe \"&b;&b;&b;&b;&b;&b;&b;&b;\">]>",
        1,
    );
    assert_eq!(soap_fault(&w, laughs).await, "Client.InvalidSoap");
    // without a DTD, an undefined entity
    assert_eq!(soap_fault(&w, body).await, "Client.InvalidSoap");
    w.stop().await;
}

#[tokio::test]
async fn missing_and_contradictory_headers_are_refused() {
    let w = world().await;
    let good = soap_request("AZ/GOV/1/consumer", GET_PERSON_B, &person_body("getPersonByFin", "5ZX7K2P"));
    let no_id = good.replace("<xrd:id>m-1</xrd:id>", "");
    assert_eq!(soap_fault(&w, no_id).await, "Client.MissingHeaderField");
    let no_version = good.replace("<xrd:protocolVersion>4.0</xrd:protocolVersion>", "");
    assert_eq!(soap_fault(&w, no_version).await, "Client.MissingHeaderField");
    let old_protocol = good.replace(">4.0<", ">3.1<");
    assert_eq!(soap_fault(&w, old_protocol).await, "Client.InvalidProtocolVersion");
    let twice = good.replace("<xrd:id>m-1</xrd:id>", "<xrd:id>m-1</xrd:id><xrd:id>m-2</xrd:id>");
    assert_eq!(soap_fault(&w, twice).await, "Client.DuplicateHeaderField");
    let contradictory = good.replacen("<id:subsystemCode>consumer</id:subsystemCode>", "", 1);
    assert_eq!(soap_fault(&w, contradictory).await, "Client.InvalidClientIdentifier");
    let no_header = good.split("<SOAP-ENV:Header>").next().unwrap().to_owned()
        + "<SOAP-ENV:Body>"
        + good.split("<SOAP-ENV:Body>").nth(1).unwrap();
    assert_eq!(soap_fault(&w, no_header).await, "Client.MissingHeader");
    // wrong content type and method
    let reply = send("POST", &format!("{}/", w.url(A)), &[("content-type", "application/json")], good.clone()).await;
    assert_eq!(reply.fault_code().as_deref(), Some("Client.InvalidContentType"));
    let reply = send("PUT", &format!("{}/", w.url(A)), &[("content-type", "text/xml")], good).await;
    assert_eq!(reply.fault_code().as_deref(), Some("Client.InvalidHttpMethod"));
    w.stop().await;
}

#[tokio::test]
async fn body_wrapper_must_match_service_code() {
    let w = world().await;
    let body = soap_request("AZ/GOV/1/consumer", GET_PERSON_B, &person_body("getSomethingElse", "5ZX7K2P"));
    assert_eq!(soap_fault(&w, body).await, "Client.InvalidBody");
    w.stop().await;
}

#[tokio::test]
async fn unknown_client_and_service_are_refused() {
    let w = world().await;
    let stranger = soap_request("AZ/GOV/9/nobody", GET_PERSON_B, &person_body("getPersonByFin", "5ZX7K2P"));
    assert_eq!(soap_fault(&w, stranger).await, "Server.ClientProxy.UnknownMember");
    // a client of the other server is not ours to send for
    let foreign = soap_request("AZ/GOV/2/consumer", GET_PERSON_A, &person_body("getPersonByFin", "5ZX7K2P"));
    assert_eq!(soap_fault(&w, foreign).await, "Server.ClientProxy.UnknownMember");
    let no_service =
        soap_request("AZ/GOV/1/consumer", "AZ/GOV/2/provider/getNothing/v1", &person_body("getNothing", "5ZX7K2P"));
    assert_eq!(soap_fault(&w, no_service).await, "Server.ServerProxy.UnknownService");
    let no_provider =
        soap_request("AZ/GOV/1/consumer", "AZ/GOV/7/provider/getPersonByFin/v1", &person_body("getPersonByFin", "x"));
    assert_eq!(soap_fault(&w, no_provider).await, "Server.ClientProxy.UnknownMember");
    let rest_unknown = send(
        "GET",
        &format!("{}/r1/AZ/GOV/2/provider/nothing/x", w.url(A)),
        &[("x-road-client", "AZ/GOV/1/consumer")],
        "",
    )
    .await;
    assert_eq!(rest_unknown.status, 500);
    assert_eq!(rest_unknown.headers["x-road-error"], "Server.ServerProxy.UnknownService");
    w.stop().await;
}

#[tokio::test]
async fn access_rights_are_enforced() {
    let w = world().await;
    let secret =
        soap_request("AZ/GOV/1/consumer", "AZ/GOV/2/provider/secretOp/v1", &person_body("secretOp", "5ZX7K2P"));
    assert_eq!(soap_fault(&w, secret).await, "Server.ServerProxy.AccessDenied");
    // REST: only GET /persons/*/payments is granted
    let hdr = [("x-road-client", "AZ/GOV/1/consumer")];
    let base = format!("{}/r1/AZ/GOV/2/provider/payments", w.url(A));
    for (method, path) in [
        ("GET", "/persons/5ZX7K2P/pension-capital"),
        ("POST", "/persons/5ZX7K2P/payments"),
        ("GET", "/persons/5ZX7K2P/x/..%2F..%2Fpayments"),
        ("GET", "/persons/5ZX7K2P/pension-capital/%2e%2e/payments"),
    ] {
        let reply = send(method, &format!("{base}{path}"), &hdr, "").await;
        assert_ne!(reply.status, 200, "{method} {path} must be refused");
        let code = reply.headers["x-road-error"].to_str().unwrap().to_owned();
        assert!(code == "Server.ServerProxy.AccessDenied" || code == "Client.BadRequest", "{method} {path}: {code}");
        let json: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(json["type"], code.as_str());
        assert!(!json["detail"].as_str().unwrap().is_empty());
    }
    // revoking a right takes effect (TT-2.2.3), granting it back too
    let store = w.fed.store(B);
    let svc = service(GET_PERSON_B);
    let subject = egov_security_server::conf::Subject::Client(client("AZ/GOV/1/consumer"));
    store.revoke(&svc, &subject, None, None).await.unwrap();
    w.fed.running[B].0.gateway.conf.reload(store).await.unwrap();
    let request = soap_request("AZ/GOV/1/consumer", GET_PERSON_B, &person_body("getPersonByFin", "5ZX7K2P"));
    assert_eq!(soap_fault(&w, request.clone()).await, "Server.ServerProxy.AccessDenied");
    store.grant(&svc, &subject, "*", "/**").await.unwrap();
    // this time through the server's own configuration polling
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let reply = post_soap(&w.url(A), request.clone()).await;
        if reply.fault_code().is_none() {
            break;
        }
        assert!(Instant::now() < deadline, "the grant was not picked up: {}", reply.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    w.stop().await;
}

#[tokio::test]
async fn rest_requests_need_a_valid_client_header() {
    let w = world().await;
    let url = format!("{}/r1/AZ/GOV/2/provider/payments/persons/5ZX7K2P/payments", w.url(A));
    let reply = send("GET", &url, &[], "").await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.headers["x-road-error"], "Client.BadRequest");
    let reply = send("GET", &url, &[("x-road-client", "AZ/GOV/1/con sumer")], "").await;
    assert_eq!(reply.headers["x-road-error"], "Client.InvalidClientIdentifier");
    let reply = send(
        "GET",
        &format!("{}/r2/AZ/GOV/2/provider/payments", w.url(A)),
        &[("x-road-client", "AZ/GOV/1/consumer")],
        "",
    )
    .await;
    assert_eq!(reply.headers["x-road-error"], "Client.BadRequest");
    let reply = send("GET", &url, &[("x-road-client", "AZ/GOV/1/consumer"), ("accept", "application/xml")], "").await;
    assert!(reply.status.is_success(), "{}", reply.body);
    w.stop().await;
}

#[tokio::test]
async fn stalled_clients_are_cut_off() {
    let w = world().await;
    let addr = w.url(A).trim_start_matches("http://").to_owned();
    // headers never finished: the connection is closed after the header timeout (1 s here)
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    tcp.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Ty").await.unwrap();
    let started = Instant::now();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut buf))
        .await
        .expect("connection must be closed");
    assert!(started.elapsed() < Duration::from_secs(4));
    // body announced but never sent: a fault after the body timeout
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    tcp.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: 900\r\n\r\n<s:Envelope")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf)).await.expect("must answer").unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.contains("Client.RequestTimeout"), "{text}");
    w.stop().await;
}

#[tokio::test]
async fn provider_timeout_and_broken_services_give_faults() {
    let w = world().await;
    let started = Instant::now();
    let slow = soap_request("AZ/GOV/1/consumer", "AZ/GOV/2/provider/slowOp/v1", &person_body("slowOp", "1"));
    assert_eq!(soap_fault(&w, slow).await, "Server.ServerProxy.ServiceFailed.Timeout");
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(800) && took < Duration::from_millis(2500), "took {took:?}");
    let garbage = soap_request("AZ/GOV/1/consumer", "AZ/GOV/2/provider/garbageOp/v1", &person_body("garbageOp", "1"));
    assert_eq!(soap_fault(&w, garbage).await, "Server.ServerProxy.ServiceFailed.InvalidSoap");
    let wrong = soap_request("AZ/GOV/1/consumer", "AZ/GOV/2/provider/wrongIdOp/v1", &person_body("wrongIdOp", "1"));
    assert_eq!(soap_fault(&w, wrong).await, "Server.ServerProxy.ServiceFailed.InconsistentHeaders");
    // a service that is down
    let store = w.fed.store(B);
    let provider = client("AZ/GOV/2/provider");
    let wsdl = egov_demo::fixture::population_wsdl("http://127.0.0.1:9/down").replace("getPersonByFin", "downOp");
    store.add_wsdl(&provider, "x", &wsdl, None).await.unwrap();
    store
        .grant(
            &provider.service("downOp", None).unwrap(),
            &egov_security_server::conf::Subject::Client(client("AZ/GOV/1/consumer")),
            "*",
            "/**",
        )
        .await
        .unwrap();
    w.fed.running[B].0.gateway.conf.reload(store).await.unwrap();
    let down = soap_request("AZ/GOV/1/consumer", "AZ/GOV/2/provider/downOp/v1", &person_body("downOp", "1"));
    assert_eq!(soap_fault(&w, down).await, "Server.ServerProxy.ServiceFailed.NetworkError");
    w.stop().await;
}

// ---- between security servers -----------------------------------------------------------

/// A correctly signed transport message from A's server for A's consumer to B's provider.
async fn signed_message(w: &World, tamper: impl FnOnce(&mut Vec<u8>, &mut Vec<u8>)) -> Vec<u8> {
    let gw = &w.fed.running[A].0.gateway;
    let mut soap =
        soap_request("AZ/GOV/1/consumer", GET_PERSON_B, &person_body("getPersonByFin", "5ZX7K2P")).into_bytes();
    let mut meta = gw.request_meta(client("AZ/GOV/1/consumer"), service(GET_PERSON_B), Protocol::Soap, None, None);
    meta.request_id = "r-1".into();
    let mut meta_bytes = serde_json::to_vec(&meta).unwrap();
    let block = gw.signer.sign(message::digest(&meta_bytes, &soap, b"")).await.unwrap();
    tamper(&mut meta_bytes, &mut soap);
    message::encode(&meta_bytes, &soap, b"", &serde_json::to_vec(&block).unwrap())
}

async fn deliver(
    w: &World,
    pool: &egov_security_server::transport::client::PeerPool,
    bytes: Vec<u8>,
) -> Result<String, String> {
    let reply = pool.send(&peer_b(w), bytes, Duration::from_secs(5)).await.map_err(|e| e.code())?;
    if reply.content_type == FAULT_CONTENT_TYPE {
        let v: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
        return Err(v["code"].as_str().unwrap().to_owned());
    }
    Ok(reply.content_type)
}

#[tokio::test]
async fn replayed_transport_message_is_refused() {
    let w = world().await;
    let pool = &w.fed.running[A].0.gateway.pool;
    let bytes = signed_message(&w, |_, _| {}).await;
    assert_eq!(deliver(&w, pool, bytes.clone()).await, Ok(message::CONTENT_TYPE.to_owned()));
    assert_eq!(deliver(&w, pool, bytes).await, Err("Server.ServerProxy.ReplayedMessage".into()));
    w.stop().await;
}

#[tokio::test]
async fn tampered_signature_is_refused() {
    let w = world().await;
    let pool = &w.fed.running[A].0.gateway.pool;
    // the message changed after signing (the FIN asked for)
    let bytes = signed_message(&w, |_, soap| {
        let text = String::from_utf8(soap.clone()).unwrap().replace("5ZX7K2P", "9PLM4TR");
        *soap = text.into_bytes();
    })
    .await;
    assert_eq!(deliver(&w, pool, bytes).await, Err("Server.ServerProxy.InvalidSignatureValue".into()));
    // the metadata changed after signing (another client claimed)
    let bytes = signed_message(&w, |meta, _| {
        let text = String::from_utf8(meta.clone()).unwrap().replace("r-1", "r-2");
        *meta = text.into_bytes();
    })
    .await;
    assert_eq!(deliver(&w, pool, bytes).await, Err("Server.ServerProxy.InvalidSignatureValue".into()));
    // the signature value itself altered
    let good = signed_message(&w, |_, _| {}).await;
    let frames = message::decode(&good).unwrap();
    let mut block = frames.signature().unwrap();
    let mut raw = base64::engine::general_purpose::STANDARD.decode(&block.value).unwrap();
    raw[5] ^= 0x01;
    block.value = base64::engine::general_purpose::STANDARD.encode(raw);
    let altered = message::encode(frames.meta, frames.message, frames.body, &serde_json::to_vec(&block).unwrap());
    assert_eq!(deliver(&w, pool, altered).await, Err("Server.ServerProxy.InvalidSignatureValue".into()));
    w.stop().await;
}

#[tokio::test]
async fn certificates_from_another_ca_are_refused() {
    let w = world().await;
    let rogue_ca = egov_pki::CertificationAuthority::generate("AZ", "AZ e-Government Certification Centre").unwrap();
    let a_id = w.fed.servers[A].id.clone();
    let rogue_keys = egov_demo::federation::issue_server_keys(&rogue_ca, &a_id).unwrap();

    // TLS: an authentication certificate from another CA does not get through the handshake
    let rogue_pool = egov_security_server::transport::client::PeerPool::new(
        rogue_keys.clone(),
        std::sync::Arc::new(egov_pki::TrustStore::new(w.fed.directory.ca_certs_der().to_vec())),
    );
    let bytes = signed_message(&w, |_, _| {}).await;
    assert_eq!(deliver(&w, &rogue_pool, bytes).await, Err("Server.ClientProxy.SslAuthenticationFailed".into()));

    // TLS: a signing certificate of the right CA is not an authentication certificate
    let own = &w.fed.servers[A].keys;
    let signing_as_auth = egov_security_server::ServerKeys {
        auth_key: own.sign_key.clone(),
        auth_cert: own.sign_cert.clone(),
        sign_key: own.sign_key.clone(),
        sign_cert: own.sign_cert.clone(),
    };
    let wrong_pool = egov_security_server::transport::client::PeerPool::new(
        signing_as_auth,
        std::sync::Arc::new(egov_pki::TrustStore::new(w.fed.directory.ca_certs_der().to_vec())),
    );
    let bytes = signed_message(&w, |_, _| {}).await;
    assert_eq!(deliver(&w, &wrong_pool, bytes).await, Err("Server.ClientProxy.SslAuthenticationFailed".into()));

    // signature: a signing certificate from another CA, over an authentic TLS connection
    let meta = w.fed.running[A].0.gateway.request_meta(
        client("AZ/GOV/1/consumer"),
        service(GET_PERSON_B),
        Protocol::Soap,
        None,
        None,
    );
    let soap = soap_request("AZ/GOV/1/consumer", GET_PERSON_B, &person_body("getPersonByFin", "5ZX7K2P"));
    let meta_bytes = serde_json::to_vec(&meta).unwrap();
    let rogue_signer = egov_security_server::transport::signing::BatchSigner::start(
        rogue_keys.sign_key.signer().unwrap(),
        rogue_keys.sign_cert.clone(),
        egov_security_server::shared::Shared::new(None),
    );
    let block = rogue_signer.sign(message::digest(&meta_bytes, soap.as_bytes(), b"")).await.unwrap();
    let bytes = message::encode(&meta_bytes, soap.as_bytes(), b"", &serde_json::to_vec(&block).unwrap());
    let pool = &w.fed.running[A].0.gateway.pool;
    assert_eq!(deliver(&w, pool, bytes).await, Err("Server.ServerProxy.InvalidCertPath".into()));
    w.stop().await;
}

#[tokio::test]
async fn a_server_cannot_speak_for_clients_it_does_not_host() {
    let w = world().await;
    let pool = &w.fed.running[A].0.gateway.pool;
    let bytes = signed_message(&w, |meta, _| {
        let text = String::from_utf8(meta.clone()).unwrap().replace("AZ/GOV/1/consumer", "AZ/GOV/2/consumer");
        *meta = text.into_bytes();
    })
    .await;
    assert_eq!(deliver(&w, pool, bytes).await, Err("Server.ServerProxy.SslAuthenticationFailed".into()));
    w.stop().await;
}

#[tokio::test]
async fn revoked_signing_certificate_is_refused() {
    let mut w = world().await;
    let request = soap_request("AZ/GOV/1/consumer", GET_PERSON_B, &person_body("getPersonByFin", "5ZX7K2P"));
    assert_eq!(post_soap(&w.url(A), request.clone()).await.fault_code(), None);
    let trust = egov_pki::TrustStore::new(w.fed.directory.ca_certs_der().to_vec());
    let serial = trust.verify(&w.fed.servers[A].keys.sign_cert, egov_pki::unix_now()).unwrap().serial.clone();
    let mut conf = w.fed.directory.conf().clone();
    conf.revoked_serials.push(serial);
    w.fed.update_directory(egov_globalconf::Directory::new(conf).unwrap());
    assert_eq!(soap_fault(&w, request).await, "Server.ServerProxy.InvalidCertPath");
    w.stop().await;
}

#[tokio::test]
async fn rest_service_sees_only_the_authenticated_client() {
    let w = world().await;
    let url = format!("{}/r1/AZ/GOV/2/provider/whoami/x", w.url(A));
    // a victim's id first, our own last: X-Road takes the last; the service must see only it
    let client =
        reqwest_like_get(&url, &[("x-road-client", "AZ/GOV/2/consumer"), ("x-road-client", "AZ/GOV/1/consumer")]).await;
    assert_eq!(client.0, 201, "{}", client.1);
    let json: serde_json::Value = serde_json::from_str(&client.1).unwrap();
    assert_eq!(json["x-road-client"], serde_json::json!(["AZ/GOV/1/consumer"]));
    assert_eq!(json["path"], "/rest-echo/x");

    // any method, with a body and a query, and the service's own status code
    let body = r#"{"fin":"5ZX7K2P","purpose":"benefit"}"#;
    let reply = send(
        "PATCH",
        &format!("{url}/sub?a=1&b=%C9%99"),
        &[("x-road-client", "AZ/GOV/1/consumer"), ("content-type", "application/json")],
        body,
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let json: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(json["method"], "PATCH");
    assert_eq!(json["path"], "/rest-echo/x/sub");
    assert_eq!(json["query"], "a=1&b=%C9%99");
    assert_eq!(json["body"], body);
    assert!(!reply.headers["x-road-request-hash"].is_empty());
    w.stop().await;
}

async fn reqwest_like_get(url: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let reply = send("GET", url, headers, "").await;
    (reply.status.as_u16(), reply.body)
}

#[tokio::test]
async fn rest_path_cannot_leave_the_service_host() {
    let w = world().await;
    let gw = &w.fed.running[A].0.gateway;
    for evil in ["@127.0.0.1:9/x", "evil.example/x", "/x y"] {
        let message = egov_xroad::rest::request_header_part("GET", evil, []);
        let meta = gw.request_meta(
            client("AZ/GOV/1/consumer"),
            service("AZ/GOV/2/provider/whoami"),
            Protocol::Rest,
            None,
            None,
        );
        let meta_bytes = serde_json::to_vec(&meta).unwrap();
        let block = gw.signer.sign(message::digest(&meta_bytes, &message, b"")).await.unwrap();
        let bytes = message::encode(&meta_bytes, &message, b"", &serde_json::to_vec(&block).unwrap());
        assert_eq!(deliver(&w, &gw.pool, bytes).await, Err("Client.BadRequest".into()), "{evil}");
    }
    w.stop().await;
}

#[tokio::test]
async fn security_server_header_must_name_the_provider_server() {
    let w = world().await;
    let good = soap_request("AZ/GOV/1/consumer", GET_PERSON_B, &person_body("getPersonByFin", "5ZX7K2P"));
    let targeted = |server: &str| {
        let parts: Vec<&str> = server.split('/').collect();
        good.replace(
            "<xrd:protocolVersion>",
            &format!(
                "<xrd:securityServer id:objectType=\"SERVER\"><id:xRoadInstance>{}</id:xRoadInstance><id:memberClass>{}</id:memberClass><id:memberCode>{}</id:memberCode><id:serverCode>{}</id:serverCode></xrd:securityServer><xrd:protocolVersion>",
                parts[0], parts[1], parts[2], parts[3]
            ),
        )
    };
    let reply = post_soap(&w.url(A), targeted("AZ/GOV/2/ss-b")).await;
    assert_eq!(reply.fault_code(), None, "{}", reply.body);
    assert_eq!(soap_fault(&w, targeted("AZ/GOV/1/ss-a")).await, "Server.ClientProxy.InvalidSecurityServer");
    w.stop().await;
}

#[tokio::test]
async fn clients_of_other_members_are_refused_clearly() {
    let w = world().await;
    // hosting a subsystem of another member: this server holds no signing key for it
    let other = client("AZ/GOV/2/consumer");
    w.fed.store(A).add_client(&other).await.unwrap();
    w.fed.running[A].0.gateway.conf.reload(w.fed.store(A)).await.unwrap();
    let request = soap_request("AZ/GOV/2/consumer", GET_PERSON_A, &person_body("getPersonByFin", "5ZX7K2P"));
    let reply = post_soap(&w.url(A), request).await;
    assert_eq!(reply.fault_code().as_deref(), Some("Server.ClientProxy.UnknownMember"));
    assert!(reply.body.contains("signs only for its owner"), "{}", reply.body);
    w.stop().await;
}

#[tokio::test]
async fn a_peer_cannot_set_hop_by_hop_or_host_headers_for_the_service() {
    let w = world().await;
    let gw = &w.fed.running[A].0.gateway;
    let headers: [(&str, &[u8]); 3] =
        [("host", b"admin.internal"), ("content-length", b"0"), ("x-road-client", b"AZ/GOV/2/consumer")];
    let message = egov_xroad::rest::request_header_part("POST", "/x", headers);
    let meta =
        gw.request_meta(client("AZ/GOV/1/consumer"), service("AZ/GOV/2/provider/whoami"), Protocol::Rest, None, None);
    let meta_bytes = serde_json::to_vec(&meta).unwrap();
    let body = b"signed body";
    let block = gw.signer.sign(message::digest(&meta_bytes, &message, body)).await.unwrap();
    let bytes = message::encode(&meta_bytes, &message, body, &serde_json::to_vec(&block).unwrap());
    let reply = gw.pool.send(&peer_b(&w), bytes, Duration::from_secs(5)).await.unwrap();
    assert_eq!(reply.content_type, message::CONTENT_TYPE);
    let frames = message::decode(&reply.body).unwrap();
    let seen: serde_json::Value = serde_json::from_slice(frames.body).unwrap();
    assert_eq!(seen["host"], w.stub_addr.to_string(), "the service must see its own host");
    assert_eq!(seen["body"], "signed body", "the body must be the signed one, whole");
    assert_eq!(seen["x-road-client"], serde_json::json!(["AZ/GOV/1/consumer"]));
    w.stop().await;
}
