//! The operator's side end to end, in one process: security servers set up through
//! registration (TT-4.1.2), the signed global configuration as the source of trust, and
//! what the operator's decisions do to traffic across the federation: a revoked signing
//! certificate (TT-2.3), a blocked participant (TT-3.7), a configuration that expired while
//! the central server was unreachable; incidents recorded centrally (TT-6.8).

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::time::Duration;

use egov_central::api::client::path_segment;
use egov_demo::federation::RunningFederation;
use egov_globalconf::Limits;
use serde_json::{Value, json};

mod common;

use common::{CONSUMER, PROVIDER, Setup};

/// The shared federation (tests/common), without message logs.
async fn setup(validity_secs: i64) -> Setup {
    setup_with(validity_secs, Limits { conf_refresh_secs: 1, ..Limits::default() }).await
}

async fn setup_with(validity_secs: i64, limits: Limits) -> Setup {
    common::setup_federation(validity_secs, limits, None).await
}

/// A REST call from the consumer's information system: (status, X-Road fault code or "").
async fn call(fed: &RunningFederation) -> (u16, String) {
    let (status, code, _) = call_full(fed).await;
    (status, code)
}

/// … and the fault message.
async fn call_full(fed: &RunningFederation) -> (u16, String, String) {
    let url = format!(
        "{}/r1/AZ/GOV/1400000012/insurance/payments/persons/5ZX7K2P/payments?year=2025",
        fed.client_url(CONSUMER)
    );
    let (status, headers, body) = get(&url).await;
    let code = headers.get("x-road-error").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    if status == 200 {
        assert!(body.contains("5ZX7K2P"), "{body}");
    }
    let message = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
        .unwrap_or_default();
    (status, if code.is_empty() { body_code(&body) } else { code }, message)
}

fn body_code(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_owned))
        .unwrap_or_default()
}

async fn get(url: &str) -> (u16, http::HeaderMap, String) {
    use http_body_util::BodyExt;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Empty<bytes::Bytes>>();
    let request = http::Request::get(url)
        .header("X-Road-Client", "AZ/GOV/1400000011/portal")
        .body(http_body_util::Empty::new())
        .unwrap();
    let response = client.request(request).await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

async fn admin(fed: &RunningFederation, method: &str, path: &str, body: Option<Value>) -> Value {
    let op = fed.operator.as_ref().unwrap();
    op.admin.ok(method, path, body.as_ref()).await.unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

/// Refreshes every server's configuration until `pred` holds for the consumer's call.
async fn eventually(fed: &RunningFederation, what: &str, pred: impl Fn(&(u16, String)) -> bool) -> (u16, String) {
    let mut last = (0, String::new());
    for _ in 0..20 {
        fed.refresh_globalconf().await.unwrap();
        last = call(fed).await;
        if pred(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{what}: last answer {last:?}");
}

async fn incidents(fed: &RunningFederation, kind: &str) -> Vec<Value> {
    for _ in 0..50 {
        let list = admin(fed, "GET", &format!("/api/v1/incidents?kind={kind}"), None).await;
        let list = list.as_array().cloned().unwrap_or_default();
        if !list.is_empty() {
            return list;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Vec::new()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registered_servers_exchange_until_the_signing_certificate_is_revoked() {
    let s = setup(600).await;
    let fed = &s.fed;
    assert_eq!(call(fed).await, (200, String::new()));

    // the servers trust only what the signed configuration says: both are in it
    let dir = fed.running[CONSUMER].0.gateway.directory.get();
    assert!(dir.conf().serial > 0 && dir.conf().expires_at.is_some());
    assert_eq!(dir.conf().security_servers.len(), 2);

    // the operator revokes the consumer's signing certificate (key compromise)
    let trust = egov_pki::TrustStore::new(dir.ca_certs_der().to_vec());
    let serial = trust.verify(&fed.servers[CONSUMER].keys.sign_cert, egov_pki::unix_now()).unwrap().serial.clone();
    admin(fed, "POST", &format!("/api/v1/certificates/{serial}/revoke"), Some(json!({"reason": "keyCompromise"})))
        .await;
    let (status, code) = eventually(fed, "revocation", |(st, _)| *st != 200).await;
    assert_eq!(status, 500, "{code}");
    assert_eq!(code, "Server.ServerProxy.InvalidCertPath");

    // the provider reported it to the operator (TT-6.8)
    let found = incidents(fed, "signature-failure").await;
    assert!(!found.is_empty(), "no incident recorded");
    assert_eq!(found[0]["reporter"], "AZ/GOV/1400000012/ss-p");
    // the signature did not verify, so the client it names is not proven: the incident is
    // held against the server that sent it (and names the claim)
    assert_eq!(found[0]["client_id"], "AZ/GOV/1400000011");
    assert_eq!(found[0]["peer_server"], "AZ/GOV/1400000011/ss-c");
    assert!(found[0]["reason"].as_str().unwrap().contains("AZ/GOV/1400000011/portal"), "{}", found[0]);
    s.fed.stop().await;
}

/// Issue 13, item 8: a member whose security server sends a message naming another member's
/// client (which fails before any signature of that client is verified) is recorded as the
/// source of the incident; the member it named is not accused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_client_is_recorded_against_the_server_that_sent_it() {
    use egov_security_server::transport::client::PeerKey;
    use egov_security_server::transport::message::{self, FAULT_CONTENT_TYPE, Protocol};
    let s = setup(600).await;
    let fed = &s.fed;
    let gw = &fed.running[CONSUMER].0.gateway;
    let victim: egov_xroad::ClientId = "AZ/GOV/1400000012/insurance".parse().unwrap();
    let service: egov_xroad::ServiceId = "AZ/GOV/1400000012/insurance/payments".parse().unwrap();
    let header_part = egov_xroad::rest::request_header_part("GET", "/persons/5ZX7K2P/payments", []);
    let meta = gw.request_meta(victim, service, Protocol::Rest, None, None);
    let meta_bytes = serde_json::to_vec(&meta).unwrap();
    let block = gw.signer.sign(message::digest(&meta_bytes, &header_part, b"")).await.unwrap();
    let bytes = message::encode(&meta_bytes, &header_part, b"", &serde_json::to_vec(&block).unwrap());
    let dir = gw.directory.get();
    let entry = dir.server(&fed.servers[PROVIDER].id).unwrap();
    let peer = PeerKey {
        server: entry.id.clone(),
        address: entry.address.clone(),
        auth_cert_sha256: entry.auth_cert_hash().unwrap(),
    };
    let reply = gw.pool.send(&peer, bytes, Duration::from_secs(5)).await.unwrap();
    assert_eq!(reply.content_type, FAULT_CONTENT_TYPE);
    let fault: Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(fault["code"], "Server.ServerProxy.SslAuthenticationFailed");

    let found = incidents(fed, "authentication-failure").await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["client_id"], "AZ/GOV/1400000011", "the sender's owner, not the member it named");
    assert_eq!(found[0]["peer_server"], "AZ/GOV/1400000011/ss-c");
    assert!(found[0]["reason"].as_str().unwrap().contains("AZ/GOV/1400000012/insurance"), "{}", found[0]);
    // the victim's member has no incident against it as a client
    let against = admin(fed, "GET", "/api/v1/incidents?member=AZ%2FGOV%2F1400000012", None).await;
    assert!(against.as_array().unwrap().iter().all(|i| i["client_id"] != "AZ/GOV/1400000012/insurance"), "{against}");
    s.fed.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_participant_is_refused_federation_wide_until_unblocked() {
    let s = setup(600).await;
    let fed = &s.fed;
    assert_eq!(call(fed).await, (200, String::new()));
    let member = path_segment("AZ/GOV/1400000011");
    admin(fed, "POST", &format!("/api/v1/members/{member}/block"), Some(json!({"reason": "personal data breach"})))
        .await;
    let (status, code) = eventually(fed, "block", |(st, _)| *st != 200).await;
    assert_eq!(code, "Server.ClientProxy.MemberBlocked", "{status}");
    // the provider refuses too, whatever the consumer's server does
    let provider_dir = fed.running[PROVIDER].0.gateway.directory.get();
    assert!(provider_dir.is_blocked(&"AZ/GOV/1400000011/portal".parse().unwrap()));
    assert!(!incidents(fed, "blocked").await.is_empty());

    admin(fed, "POST", &format!("/api/v1/members/{member}/unblock"), Some(json!({}))).await;
    eventually(fed, "unblock", |(st, _)| *st == 200).await;
    s.fed.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_configuration_stops_the_exchange_with_outdated_globalconf() {
    let mut s = setup(3).await;
    assert_eq!(call(&s.fed).await, (200, String::new()));
    // the central server goes away; the configuration the servers hold runs out
    let op = s.fed.operator.take().unwrap();
    op.running.stop().await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (status, code) = call(&s.fed).await;
    assert_eq!((status, code.as_str()), (500, "Server.ClientProxy.OutdatedGlobalConf"));
    s.fed.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_refuses_bad_requests_with_clear_errors() {
    let s = setup(600).await;
    let op = s.fed.operator.as_ref().unwrap();
    let http = egov_security_server::central_http::CentralHttp::new();
    let url = format!("{}/registration", op.running.public_url);
    let (status, body) = http.post_json(&url, &json!({"server_id": "AZ/GOV/1400000011/ss2"}), 4096).await.unwrap();
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    let bogus =
        json!({"server_id": "AZ/GOV/1400000011/ss2", "address": "127.0.0.1:1", "auth_csr": "AAAA", "sign_csr": "AAAA"});
    let (status, body) = http.post_json(&url, &bogus, 4096).await.unwrap();
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&body).contains("PKCS#10"), "{}", String::from_utf8_lossy(&body));
    // the configuration download is signed, and not served for an unknown environment
    let (status, _) = http.get(&format!("{}/globalconf/staging", op.running.public_url), 4096).await.unwrap();
    assert_eq!(status, 400);
    s.fed.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ocsp_revocation_reaches_peers_with_the_next_staple() {
    let s = setup(600).await;
    let fed = &s.fed;
    assert_eq!(call(fed).await, (200, String::new()));
    let consumer = &fed.running[CONSUMER].0.gateway;
    // the consumer staples the CA's answer about its own certificates to what it signs
    let staple = consumer.stapler.current().get();
    let staple = staple.as_deref().expect("a stapled OCSP response");
    let der = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, staple).unwrap();
    let op = fed.operator.as_ref().unwrap();
    let info =
        egov_pki::ocsp::verify_response(&der, op.central.ca().ca_cert_der(), egov_pki::unix_now(), 3600).unwrap();
    for cert in [&fed.servers[CONSUMER].keys.sign_cert, &fed.servers[CONSUMER].keys.auth_cert] {
        assert_eq!(info.status_of(cert), Some(&egov_pki::ocsp::CertStatus::Good));
    }

    // revoked at the Certification Centre only: no new configuration is published, so only
    // OCSP can carry the news
    let trust = egov_pki::TrustStore::new(vec![op.central.ca().ca_cert_der().to_vec()]);
    let serial = trust.verify(&fed.servers[CONSUMER].keys.sign_cert, egov_pki::unix_now()).unwrap().serial.clone();
    op.central.ca().revoke(&serial, egov_pki::ocsp::RevocationReason::KeyCompromise).await.unwrap();
    let serial_before = fed.running[PROVIDER].0.gateway.directory.get().conf().serial;
    consumer.stapler.refresh(&consumer.directory).await.unwrap();
    let (status, code, message) = call_full(fed).await;
    assert_eq!((status, code.as_str()), (500, "Server.ServerProxy.InvalidCertPath"), "{message}");
    assert!(message.contains("revoked") && message.contains("keyCompromise"), "{message}");
    assert_eq!(fed.running[PROVIDER].0.gateway.directory.get().conf().serial, serial_before);
    s.fed.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_ocsp_response_is_refused() {
    // responses may be 3 s old at most, and no server refreshes its own within the test
    let limits = Limits { ocsp_freshness_secs: 3, ocsp_refresh_secs: 3600, ..Limits::default() };
    let s = setup_with(600, limits).await;
    assert_eq!(call(&s.fed).await, (200, String::new()));
    tokio::time::sleep(Duration::from_millis(4500)).await;
    let (status, code, message) = call_full(&s.fed).await;
    assert_eq!((status, code.as_str()), (500, "Server.ServerProxy.InvalidCertPath"), "{message}");
    assert!(message.contains("old"), "{message}");
    s.fed.stop().await;
}
