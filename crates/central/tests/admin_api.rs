//! The admin API's authentication (P-4.1): only the operator's certificate changes things; a
//! registered security server may only report its own incidents (TT-6.8); certificates of
//! another CA, revoked certificates and a wrong pin get nowhere. And the public listener:
//! configuration download per environment, registration refusals that name the problem.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::path::Path;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use egov_central::api::client::{AdminClient, OperatorCredentials, path_segment};
use egov_central::operator::{CentralDir, InitOptions};
use egov_central::service::{CentralSettings, RunningCentral};
use egov_pki::{CertProfile, CertificationAuthority, KeyAlgorithm, PrivateKey};
use serde_json::{Value, json};

const PASSPHRASE: &str = "test-passphrase";

struct Central {
    dir: CentralDir,
    running: RunningCentral,
    creds: OperatorCredentials,
    _tmp: tempfile::TempDir,
}

async fn start() -> Central {
    let tmp = tempfile::tempdir().unwrap();
    let public = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let options = InitOptions {
        instance: "AZ".into(),
        admin_address: admin.local_addr().unwrap().to_string(),
        passphrase: PASSPHRASE.into(),
    };
    let created = CentralDir::init(tmp.path(), &options).await.unwrap();
    let dir = CentralDir::open(tmp.path(), PASSPHRASE, None).await.unwrap();
    let settings = CentralSettings {
        instance: "AZ".into(),
        validity_secs: 600,
        generation_interval: Duration::from_secs(60),
        limits: egov_globalconf::Limits::default(),
        public_url: None,
    };
    let running = dir.start(public, admin, settings).await.unwrap();
    let creds = read_creds(&created.operator_file());
    Central { dir, running, creds, _tmp: tmp }
}

fn read_creds(path: &Path) -> OperatorCredentials {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Credentials with another certificate and key, same admin address and pin.
fn as_someone_else(creds: &OperatorCredentials, key: &PrivateKey, cert: &[u8]) -> AdminClient {
    let other =
        OperatorCredentials { cert_pem: egov_pki::to_pem("CERTIFICATE", cert), key_pem: key.to_pem(), ..creds.clone() };
    AdminClient::new(&other).unwrap()
}

async fn issue(c: &Central, profile: &CertProfile) -> (PrivateKey, Vec<u8>, String) {
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let cert = c.dir.ca().issue(&key.certificate_request(profile).unwrap(), profile, 30).await.unwrap();
    (key, cert.der, cert.serial_hex)
}

fn member(id: &str) -> Value {
    json!({"id": id, "name": "Ministry", "tax_id": id.rsplit('/').next().unwrap(), "legal_status": "central-executive", "subsystems": ["reg"]})
}

#[tokio::test]
async fn the_operator_administers_with_clear_errors() {
    let c = start().await;
    let op = AdminClient::new(&c.creds).unwrap();
    assert_eq!(op.call("GET", "/api/v1/members", None).await.unwrap().body, json!([]));
    op.ok("POST", "/api/v1/members", Some(&member("AZ/GOV/1400000002"))).await.unwrap();

    let mut bad = member("AZ/GOV/1400000003");
    bad["tax_id"] = json!("12");
    let r = op.call("POST", "/api/v1/members", Some(&bad)).await.unwrap();
    assert_eq!(r.status, 400);
    assert!(r.body["error"].as_str().unwrap().contains("VÖEN"), "{}", r.body);
    let r = op.call("POST", "/api/v1/members", Some(&member("AZ/GOV/1400000002"))).await.unwrap();
    assert_eq!(r.status, 409);
    let r = op.call("GET", &format!("/api/v1/members/{}", path_segment("AZ/GOV/1400000099")), None).await.unwrap();
    assert_eq!(r.status, 404);
    let r = op.call("POST", "/api/v1/members", Some(&json!({"id": 1}))).await.unwrap();
    assert_eq!(r.status, 400);
    assert!(r.body["error"].as_str().unwrap().contains("request body"), "{}", r.body);
    let openapi = op.ok("GET", "/api/openapi.json", None).await.unwrap();
    assert_eq!(openapi["openapi"], "3.1.0");
    c.running.stop().await;
}

#[tokio::test]
async fn a_security_server_may_only_report_its_own_incidents() {
    let c = start().await;
    let op = AdminClient::new(&c.creds).unwrap();
    op.ok("POST", "/api/v1/members", Some(&member("AZ/GOV/1400000002"))).await.unwrap();
    let server: egov_xroad::SecurityServerId = "AZ/GOV/1400000002/ss1".parse().unwrap();
    let (key, cert, _) = issue(&c, &CertProfile::Auth(server.clone())).await;
    let ss = as_someone_else(&c.creds, &key, &cert);

    for (method, path) in
        [("GET", "/api/v1/members"), ("POST", "/api/v1/globalconf/publish"), ("GET", "/api/v1/registrations")]
    {
        let r = ss.call(method, path, Some(&json!({}))).await.unwrap();
        assert_eq!(r.status, 403, "{method} {path}: {}", r.body);
    }
    let report = |reporter: &str| {
        json!({"kind": "access-denied", "occurred_at": "2026-11-22T10:00:00Z", "reporter": reporter,
               "client_id": "AZ/GOV/1400000002/reg", "reason": "no access right"})
    };
    let r = ss.call("POST", "/api/v1/incidents", Some(&report("AZ/GOV/1400000002/ss1"))).await.unwrap();
    assert!((200..300).contains(&r.status), "{}", r.body);
    let r = ss.call("POST", "/api/v1/incidents", Some(&report("AZ/GOV/1400000009/other"))).await.unwrap();
    assert_eq!(r.status, 403);
    let recorded = op.ok("GET", "/api/v1/incidents", None).await.unwrap();
    assert_eq!(recorded.as_array().unwrap().len(), 1);
    assert_eq!(recorded[0]["reporter"], "AZ/GOV/1400000002/ss1");
    c.running.stop().await;
}

#[tokio::test]
async fn foreign_revoked_and_unpinned_certificates_get_nowhere() {
    let c = start().await;
    let op = AdminClient::new(&c.creds).unwrap();

    // a certificate of another CA: the TLS handshake itself is refused
    let rogue = CertificationAuthority::generate("AZ", "AZ Certification Centre").unwrap();
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let profile = CertProfile::Operator("intruder".into());
    let cert = rogue.issue(&key.certificate_request(&profile).unwrap(), &profile, 30).unwrap();
    assert!(as_someone_else(&c.creds, &key, &cert).call("GET", "/api/v1/members", None).await.is_err());

    // a second administrator, then revoked: refused from then on
    let (key, cert, serial) = issue(&c, &CertProfile::Operator("second-admin".into())).await;
    let second = as_someone_else(&c.creds, &key, &cert);
    second.ok("GET", "/api/v1/members", None).await.unwrap();
    op.ok("POST", &format!("/api/v1/certificates/{serial}/revoke"), Some(&json!({"reason": "affiliationChanged"})))
        .await
        .unwrap();
    let r = second.call("GET", "/api/v1/members", None).await.unwrap();
    assert_eq!(r.status, 403);
    assert!(r.body["error"].as_str().unwrap().contains("revoked"), "{}", r.body);
    // revoking twice, or an unknown serial, is refused clearly
    let again = json!({"reason": "superseded"});
    let r = op.call("POST", &format!("/api/v1/certificates/{serial}/revoke"), Some(&again)).await.unwrap();
    assert_eq!(r.status, 409, "{}", r.body);
    let r = op.call("POST", "/api/v1/certificates/00ff/revoke", Some(&json!({"reason": "superseded"}))).await.unwrap();
    assert_eq!(r.status, 404, "{}", r.body);
    let r = op.call("POST", "/api/v1/certificates/00ff/revoke", Some(&json!({"reason": "nonsense"}))).await.unwrap();
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body["error"].as_str().unwrap().contains("reason"), "{}", r.body);

    // credentials pinning another admin certificate do not connect
    let mut wrong = c.creds.clone();
    wrong.admin_cert_sha256 = "00".repeat(32);
    let err = AdminClient::new(&wrong).unwrap().call("GET", "/api/v1/members", None).await.unwrap_err();
    assert!(err.contains("pin"), "{err}");
    c.running.stop().await;
}

#[tokio::test]
async fn public_listener_serves_signed_configurations_and_refuses_bad_registrations() {
    let c = start().await;
    let op = AdminClient::new(&c.creds).unwrap();
    let http = egov_security_server::central_http::CentralHttp::new();
    let base = &c.running.public_url;
    let anchor: egov_globalconf::Anchor =
        serde_json::from_value(op.ok("GET", "/api/v1/anchor", None).await.unwrap()).unwrap();
    let test_anchor: egov_globalconf::Anchor =
        serde_json::from_value(op.ok("GET", "/api/v1/anchor?environment=test", None).await.unwrap()).unwrap();
    let now = egov_pki::unix_now();

    let (status, prod) = http.get(&format!("{base}/globalconf"), 1 << 20).await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(anchor.verify(&prod, now).unwrap().environment, "production");
    let (status, test) = http.get(&format!("{base}/globalconf/test"), 1 << 20).await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(test_anchor.verify(&test, now).unwrap().environment, "test");
    assert!(anchor.verify(&test, now).is_err(), "a production server must refuse the test configuration");

    let url = format!("{base}/registration");
    let (status, body) = http.post(&url, "application/json", b"{not json".to_vec(), 4096).await.unwrap();
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    let key = PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap();
    let id: egov_xroad::SecurityServerId = "AZ/GOV/1400000077/ss1".parse().unwrap();
    let csr = |p: &CertProfile| STANDARD.encode(key.certificate_request(p).unwrap());
    let request = json!({"server_id": id.to_string(), "address": "127.0.0.1:5500",
        "auth_csr": csr(&CertProfile::Auth(id.clone())), "sign_csr": csr(&CertProfile::Sign(id.owner().clone()))});
    let (status, body) = http.post_json(&url, &request, 4096).await.unwrap();
    assert_eq!(status, 404, "an unknown owner: {}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("AZ/GOV/1400000077"));
    let (status, body) = http.get(&format!("{url}/no-such-request"), 4096).await.unwrap();
    assert_eq!(status, 404, "{}", String::from_utf8_lossy(&body));
    c.running.stop().await;
}
