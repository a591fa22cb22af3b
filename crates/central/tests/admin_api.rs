//! The admin API's authentication (P-4.1): only the operator's certificate changes things; a
//! registered security server may only report its own incidents (TT-6.8); certificates of
//! another CA, revoked certificates and a wrong pin get nowhere. And the public listener:
//! configuration download per environment, registration refusals that name the problem.
//! Every answer read here is also checked against its schema in openapi.json.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::path::Path;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use egov_central::api::client::{AdminClient, OperatorCredentials, path_segment};
use egov_central::api::lifecycle::{Audience, Endpoint};
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

/// Checks `value` against the object schema `name` of openapi.json: every required property
/// is there, and nothing undocumented (so the description stays true to what is served).
fn conforms(name: &str, value: &Value) {
    let doc: Value = serde_json::from_str(egov_central::api::admin::OPENAPI).unwrap();
    let schema = &doc["components"]["schemas"][name];
    assert!(schema.is_object(), "no schema {name} in openapi.json");
    let object = value.as_object().unwrap_or_else(|| panic!("{name}: not an object: {value}"));
    for required in schema["required"].as_array().into_iter().flatten() {
        let required = required.as_str().unwrap();
        assert!(object.contains_key(required), "{name}: required property {required} missing from {value}");
    }
    let documented = schema["properties"].as_object().unwrap();
    for key in object.keys() {
        assert!(documented.contains_key(key), "{name}: property {key} served but not in openapi.json");
    }
}

fn conforms_all(name: &str, values: &Value) {
    let values = values.as_array().unwrap_or_else(|| panic!("{name}[]: not an array: {values}"));
    values.iter().for_each(|v| conforms(name, v));
}

/// `path` with every `{param}` replaced by a well-formed value.
fn concrete(e: &Endpoint) -> String {
    e.path
        .split('/')
        .map(|segment| match segment {
            "{id}" => "AZ%2FGOV%2F1400000002".to_owned(),
            "{code}" => "ministries".to_owned(),
            "{serial}" => "00ff".to_owned(),
            "{date}" => "2027-01-01".to_owned(),
            s if s.starts_with('{') => panic!("{}: no sample value for {s}", e.path),
            s => s.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Every route of the admin listener that only the operator may call.
fn operator_endpoints() -> Vec<Endpoint> {
    let mut all = egov_central::api::admin::endpoints();
    all.extend(egov_central::api::lifecycle::endpoints());
    all.into_iter().filter(|e| e.audience == Audience::Operator).collect()
}

fn error_of(r: &egov_central::api::client::AdminResponse) -> String {
    conforms("Error", &r.body);
    r.body["error"].as_str().unwrap().to_owned()
}

fn member(id: &str) -> Value {
    json!({"id": id, "name": "Ministry", "tax_id": id.rsplit('/').next().unwrap(), "legal_status": "central-executive", "subsystems": ["reg"]})
}

#[tokio::test]
async fn the_operator_administers_with_clear_errors() {
    let c = start().await;
    let op = AdminClient::new(&c.creds).unwrap();
    assert_eq!(op.call("GET", "/api/v1/members", None).await.unwrap().body, json!([]));
    let added = op.ok("POST", "/api/v1/members", Some(&member("AZ/GOV/1400000002"))).await.unwrap();
    conforms("MemberRecord", &added);
    assert_eq!((added["id"].as_str(), added["state"].as_str()), (Some("AZ/GOV/1400000002"), Some("active")));
    let listed = op.ok("GET", "/api/v1/members", None).await.unwrap();
    conforms_all("MemberRecord", &listed);
    assert_eq!(listed.as_array().unwrap().len(), 1);

    // a bad VÖEN: 400 naming it
    let mut bad = member("AZ/GOV/1400000003");
    bad["tax_id"] = json!("12");
    let r = op.call("POST", "/api/v1/members", Some(&bad)).await.unwrap();
    assert_eq!(r.status, 400);
    assert!(error_of(&r).contains("VÖEN"), "{}", r.body);
    // a duplicate: 409 naming the member
    let r = op.call("POST", "/api/v1/members", Some(&member("AZ/GOV/1400000002"))).await.unwrap();
    assert_eq!(r.status, 409);
    assert!(error_of(&r).contains("AZ/GOV/1400000002"), "{}", r.body);
    // an unknown member: 404 naming it
    let r = op.call("GET", &format!("/api/v1/members/{}", path_segment("AZ/GOV/1400000099")), None).await.unwrap();
    assert_eq!(r.status, 404);
    assert!(error_of(&r).contains("AZ/GOV/1400000099"), "{}", r.body);
    let r = op
        .call(
            "POST",
            &format!("/api/v1/members/{}/subsystems", path_segment("AZ/GOV/1400000099")),
            Some(&json!({"code": "x"})),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 404, "{}", r.body);
    // a body of the wrong shape, a malformed identifier: 400
    let r = op.call("POST", "/api/v1/members", Some(&json!({"id": 1}))).await.unwrap();
    assert_eq!(r.status, 400);
    assert!(error_of(&r).contains("request body"), "{}", r.body);
    let r = op.call("GET", "/api/v1/members/AZ%2FGOV", None).await.unwrap();
    assert_eq!(r.status, 400, "{}", r.body);
    error_of(&r);

    let group = json!({"code": "ministries", "description": "Ministries"});
    conforms_all("GroupRecord", &op.ok("POST", "/api/v1/global-groups", Some(&group)).await.unwrap());
    let openapi = op.ok("GET", "/api/openapi.json", None).await.unwrap();
    assert_eq!(openapi["openapi"], "3.1.0");
    c.running.stop().await;
}

/// A new security server registers through the public listener (TT-4.1.2) and the operator
/// approves it; returns an admin-API client presenting its new authentication certificate.
async fn register_server(c: &Central, op: &AdminClient, id: &str) -> AdminClient {
    let server: egov_xroad::SecurityServerId = id.parse().unwrap();
    let auth_key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let sign_key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let csr = |key: &PrivateKey, p: &CertProfile| STANDARD.encode(key.certificate_request(p).unwrap());
    let mut request = json!({"server_id": id, "address": "127.0.0.1:5500",
        "auth_csr": csr(&auth_key, &CertProfile::Auth(server.clone())),
        "sign_csr": csr(&sign_key, &CertProfile::Sign(server.owner().clone()))});
    let http = egov_security_server::central_http::CentralHttp::new();
    let url = format!("{}/registration", c.running.public_url);
    // without the enrolment code the operator issues when adding the server: refused (403)
    let (status, body) = http.post_json(&url, &request, 1 << 16).await.unwrap();
    assert_eq!(status, 403, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("enrolment code"), "{}", String::from_utf8_lossy(&body));
    let issued = op
        .ok("POST", &format!("/api/v1/security-servers/{}/enrolment-code", path_segment(id)), Some(&json!({})))
        .await
        .unwrap();
    conforms("EnrolmentCode", &issued);
    request["enrolment_code"] = issued["code"].clone();
    let (status, body) = http.post_json(&url, &request, 1 << 16).await.unwrap();
    assert_eq!(status, 202, "{}", String::from_utf8_lossy(&body));
    let submitted: Value = serde_json::from_slice(&body).unwrap();
    conforms("RegistrationStatus", &submitted);
    // used once: the same code again is refused
    let (status, body) = http.post_json(&url, &request, 1 << 16).await.unwrap();
    assert!(status == 403 || status == 409, "{status}: {}", String::from_utf8_lossy(&body));
    let pending = op.ok("GET", "/api/v1/registrations?state=pending", None).await.unwrap();
    conforms_all("RegistrationStatus", &pending);
    // the operator sees the fingerprints of the keys requested
    let fingerprint = |key: &PrivateKey, p: &CertProfile| {
        egov_pki::csr::key_fingerprint(&key.certificate_request(p).unwrap()).unwrap()
    };
    assert_eq!(pending[0]["auth_key_sha256"], json!(fingerprint(&auth_key, &CertProfile::Auth(server.clone()))));
    assert_eq!(
        pending[0]["sign_key_sha256"],
        json!(fingerprint(&sign_key, &CertProfile::Sign(server.owner().clone())))
    );
    let request_id = submitted["id"].as_str().unwrap();
    let approved =
        op.ok("POST", &format!("/api/v1/registrations/{}/approve", path_segment(request_id)), None).await.unwrap();
    conforms("RegistrationStatus", &approved);
    assert_eq!(approved["state"], "approved");
    let servers = op.ok("GET", "/api/v1/security-servers", None).await.unwrap();
    conforms_all("ServerRecord", &servers);
    assert!(servers.as_array().unwrap().iter().any(|s| s["id"] == id), "{servers}");
    let auth_cert = egov_pki::from_pem("CERTIFICATE", approved["auth_cert_pem"].as_str().unwrap()).unwrap().remove(0);
    as_someone_else(&c.creds, &auth_key, &auth_cert)
}

#[tokio::test]
async fn a_security_server_may_only_report_its_own_incidents() {
    let c = start().await;
    let op = AdminClient::new(&c.creds).unwrap();
    op.ok("POST", "/api/v1/members", Some(&member("AZ/GOV/1400000002"))).await.unwrap();
    let ss = register_server(&c, &op, "AZ/GOV/1400000002/ss1").await;

    // every operator route, lifecycle ones included: 403, before any handler runs
    let endpoints = operator_endpoints();
    assert!(endpoints.len() >= 50, "{}", endpoints.len());
    for e in &endpoints {
        let path = concrete(e);
        let r = ss.call(e.method.as_str(), &path, Some(&json!({}))).await.unwrap();
        assert_eq!(r.status, 403, "{} {path}: {}", e.method.as_str(), r.body);
        let error = error_of(&r);
        assert!(error.contains("AZ/GOV/1400000002/ss1") && error.contains("only report incidents"), "{error}");
    }
    assert_eq!(op.ok("GET", "/api/v1/members", None).await.unwrap().as_array().unwrap().len(), 1);

    let report = |reporter: &str| {
        json!({"kind": "access-denied", "occurred_at": "2026-11-22T10:00:00Z", "reporter": reporter,
               "client_id": "AZ/GOV/1400000002/reg", "reason": "no access right"})
    };
    let r = ss.call("POST", "/api/v1/incidents", Some(&report("AZ/GOV/1400000002/ss1"))).await.unwrap();
    assert!((200..300).contains(&r.status), "{}", r.body);
    conforms("Incident", &r.body);
    let r = ss.call("POST", "/api/v1/incidents", Some(&report("AZ/GOV/1400000009/other"))).await.unwrap();
    assert_eq!(r.status, 403);
    assert!(error_of(&r).contains("only as itself"), "{}", r.body);
    let recorded = op.ok("GET", "/api/v1/incidents", None).await.unwrap();
    assert_eq!(recorded.as_array().unwrap().len(), 1);
    assert_eq!(recorded[0]["reporter"], "AZ/GOV/1400000002/ss1");

    // a certificate of the right CA but without the clientAuth purpose (the owner's signing
    // certificate): the TLS handshake is refused, even for an incident report
    let (key, cert, _) = issue(&c, &CertProfile::Sign("AZ/GOV/1400000002".parse().unwrap())).await;
    let signer = as_someone_else(&c.creds, &key, &cert);
    let refused = signer.call("POST", "/api/v1/incidents", Some(&report("AZ/GOV/1400000002/ss1"))).await;
    assert!(refused.is_err(), "{refused:?}");
    assert_eq!(op.ok("GET", "/api/v1/incidents", None).await.unwrap().as_array().unwrap().len(), 1);
    // removed from the registry, its (unrevoked) certificate gives no access any more
    op.ok("DELETE", &format!("/api/v1/security-servers/{}", path_segment("AZ/GOV/1400000002/ss1")), None)
        .await
        .unwrap();
    let r = ss.call("POST", "/api/v1/incidents", Some(&report("AZ/GOV/1400000002/ss1"))).await.unwrap();
    assert_eq!(r.status, 403, "{}", r.body);
    c.running.stop().await;
}

#[tokio::test]
async fn foreign_revoked_and_unpinned_certificates_get_nowhere() {
    let c = start().await;
    let op = AdminClient::new(&c.creds).unwrap();

    // a certificate of another CA (even one with the same names): the TLS handshake itself
    // is refused
    let rogue = CertificationAuthority::generate("AZ", "AZ Certification Centre").unwrap();
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let profile = CertProfile::Operator("intruder".into());
    let cert = rogue.issue(&key.certificate_request(&profile).unwrap(), &profile, 30).unwrap();
    let err = as_someone_else(&c.creds, &key, &cert).call("GET", "/api/v1/members", None).await.unwrap_err();
    assert!(err.contains("admin API"), "{err}");

    // a second administrator, then revoked: refused from then on
    let (key, cert, serial) = issue(&c, &CertProfile::Operator("second-admin".into())).await;
    let second = as_someone_else(&c.creds, &key, &cert);
    second.ok("GET", "/api/v1/members", None).await.unwrap();
    let revoked = op
        .ok("POST", &format!("/api/v1/certificates/{serial}/revoke"), Some(&json!({"reason": "affiliationChanged"})))
        .await
        .unwrap();
    conforms("Revoked", &revoked);
    let r = second.call("GET", "/api/v1/members", None).await.unwrap();
    assert_eq!(r.status, 403);
    assert!(error_of(&r).contains("revoked"), "{}", r.body);
    let r = second.call("POST", "/api/v1/members", Some(&member("AZ/GOV/1400000005"))).await.unwrap();
    assert_eq!(r.status, 403);
    // the first operator is unaffected
    assert_eq!(op.ok("GET", "/api/v1/members", None).await.unwrap(), json!([]));
    // revoking twice, or an unknown serial, is refused clearly
    let again = json!({"reason": "superseded"});
    let r = op.call("POST", &format!("/api/v1/certificates/{serial}/revoke"), Some(&again)).await.unwrap();
    assert_eq!(r.status, 409, "{}", r.body);
    error_of(&r);
    let r = op.call("POST", "/api/v1/certificates/00ff/revoke", Some(&json!({"reason": "superseded"}))).await.unwrap();
    assert_eq!(r.status, 404, "{}", r.body);
    error_of(&r);
    let r = op.call("POST", "/api/v1/certificates/00ff/revoke", Some(&json!({"reason": "nonsense"}))).await.unwrap();
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(error_of(&r).contains("reason"), "{}", r.body);

    // credentials pinning another admin certificate do not connect
    let mut wrong = c.creds.clone();
    wrong.admin_cert_sha256 = "00".repeat(32);
    let err = AdminClient::new(&wrong).unwrap().call("GET", "/api/v1/members", None).await.unwrap_err();
    assert!(err.contains("pin"), "{err}");
    wrong.admin_cert_sha256 = "not hex".into();
    assert!(AdminClient::new(&wrong).unwrap_err().contains("admin_cert_sha256"));
    c.running.stop().await;
}

#[tokio::test]
async fn public_listener_serves_signed_configurations_and_refuses_bad_registrations() {
    let c = start().await;
    let op = AdminClient::new(&c.creds).unwrap();
    op.ok("POST", "/api/v1/members", Some(&member("AZ/GOV/1400000002"))).await.unwrap();
    let http = egov_security_server::central_http::CentralHttp::new();
    let base = &c.running.public_url;
    let anchor_json = op.ok("GET", "/api/v1/anchor", None).await.unwrap();
    conforms("Anchor", &anchor_json);
    let anchor: egov_globalconf::Anchor = serde_json::from_value(anchor_json).unwrap();
    let test_anchor: egov_globalconf::Anchor =
        serde_json::from_value(op.ok("GET", "/api/v1/anchor?environment=test", None).await.unwrap()).unwrap();
    let r = op.call("GET", "/api/v1/anchor?environment=staging", None).await.unwrap();
    assert_eq!(r.status, 400);
    assert!(error_of(&r).contains("staging"), "{}", r.body);
    let now = egov_pki::unix_now();

    let (status, prod) = http.get(&format!("{base}/globalconf"), 1 << 20).await.unwrap();
    assert_eq!(status, 200);
    conforms("SignedConf", &serde_json::from_slice(&prod).unwrap());
    let conf = anchor.verify(&prod, now).unwrap();
    assert_eq!(conf.environment, "production");
    // the member added above is in the configuration (published after the change)
    assert!(anchor.verify_signature(&prod).unwrap().members.iter().any(|m| m.id.to_string() == "AZ/GOV/1400000002"));
    let (status, test) = http.get(&format!("{base}/globalconf/test"), 1 << 20).await.unwrap();
    assert_eq!(status, 200);
    conforms("SignedConf", &serde_json::from_slice(&test).unwrap());
    assert_eq!(test_anchor.verify(&test, now).unwrap().environment, "test");
    assert!(anchor.verify(&test, now).is_err(), "a production server must refuse the test configuration");
    assert!(test_anchor.verify(&prod, now).is_err(), "a test server must refuse the production configuration");
    let (status, _) = http.get(&format!("{base}/globalconf/staging"), 1 << 20).await.unwrap();
    assert!(status.is_client_error(), "{status}");

    let url = format!("{base}/registration");
    let refusal = |body: &[u8]| -> String {
        let v: Value = serde_json::from_slice(body).unwrap();
        conforms("Error", &v);
        v["error"].as_str().unwrap().to_owned()
    };
    // malformed JSON
    let (status, body) = http.post(&url, "application/json", b"{not json".to_vec(), 4096).await.unwrap();
    assert_eq!(status, 400);
    assert!(refusal(&body).contains("registration request"), "{}", refusal(&body));

    let key = PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap();
    let csr = |p: &CertProfile| STANDARD.encode(key.certificate_request(p).unwrap());
    let request = |server: &str| {
        let id: egov_xroad::SecurityServerId = server.parse().unwrap();
        json!({"server_id": server, "address": "127.0.0.1:5500", "enrolment_code": "0000-0000",
            "auth_csr": csr(&CertProfile::Auth(id.clone())), "sign_csr": csr(&CertProfile::Sign(id.owner().clone()))})
    };
    // bad CSRs: not base64, not a PKCS#10 request, a request for another server
    let mut bad = request("AZ/GOV/1400000002/ss1");
    bad["auth_csr"] = json!("not base64!");
    let (status, body) = http.post_json(&url, &bad, 4096).await.unwrap();
    assert_eq!(status, 400);
    let error = refusal(&body);
    assert!(error.contains("authentication certificate request") && error.contains("base64"), "{error}");
    bad["auth_csr"] = json!(STANDARD.encode(b"certainly not DER"));
    let (status, body) = http.post_json(&url, &bad, 4096).await.unwrap();
    assert_eq!(status, 400);
    let error = refusal(&body);
    assert!(error.contains("authentication certificate request") && error.contains("PKCS#10"), "{error}");
    bad["auth_csr"] = request("AZ/GOV/1400000002/other")["auth_csr"].clone();
    let (status, body) = http.post_json(&url, &bad, 4096).await.unwrap();
    assert_eq!(status, 400);
    let error = refusal(&body);
    assert!(error.contains("AZ/GOV/1400000002/ss1") && error.contains("names"), "{error}");

    // an owner that is not a member
    let (status, body) = http.post_json(&url, &request("AZ/GOV/1400000077/ss1"), 4096).await.unwrap();
    assert_eq!(status, 404, "an unknown owner: {}", String::from_utf8_lossy(&body));
    assert!(refusal(&body).contains("AZ/GOV/1400000077"));
    // no code, a code never issued: 403 naming what is missing
    let mut no_code = request("AZ/GOV/1400000002/ss1");
    no_code.as_object_mut().unwrap().remove("enrolment_code");
    let (status, body) = http.post_json(&url, &no_code, 4096).await.unwrap();
    assert_eq!(status, 403);
    assert!(refusal(&body).contains("needs the enrolment code"), "{}", refusal(&body));
    let (status, body) = http.post_json(&url, &request("AZ/GOV/1400000002/ss1"), 4096).await.unwrap();
    assert_eq!(status, 403);
    assert!(refusal(&body).contains("no enrolment code was issued"), "{}", refusal(&body));
    // an unknown registration request
    let (status, body) = http.get(&format!("{url}/no-such-request"), 4096).await.unwrap();
    assert_eq!(status, 404);
    assert!(refusal(&body).contains("no-such-request"));
    // nothing was recorded
    assert_eq!(op.ok("GET", "/api/v1/registrations", None).await.unwrap(), json!([]));
    c.running.stop().await;
}

/// Issue 13, item 6: silent TCP connections do not stall the admin API. Handshakes run
/// concurrently, so with 50 connections that never send a byte the operator's revocation
/// (the call `egov central revoke` makes) answers at once; a serial accept loop would wait
/// out the 5 s handshake timeout of each in turn. One address cannot hold more than its
/// share of connections: beyond it, a connection is closed at once.
#[tokio::test]
async fn idle_connections_do_not_stall_the_admin_api() {
    use egov_central::api::tls::{HANDSHAKE_TIMEOUT, MAX_CONNECTIONS_PER_ADDRESS};
    use tokio::io::AsyncReadExt;

    let c = start().await;
    let op = AdminClient::new(&c.creds).unwrap();
    let (_, _, serial) = issue(&c, &CertProfile::Operator("leaving-admin".into())).await;
    let admin = c.running.admin_addr;
    let mut idle = Vec::new();
    for _ in 0..50 {
        idle.push(tokio::net::TcpStream::connect(admin).await.unwrap());
    }
    // the listener has seen them all before the operator's call comes
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = std::time::Instant::now();
    let revoked = op
        .ok("POST", &format!("/api/v1/certificates/{serial}/revoke"), Some(&json!({"reason": "affiliationChanged"})))
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(revoked["revoked"], json!(serial));
    assert!(took < HANDSHAKE_TIMEOUT / 2, "the revocation took {took:?} behind 50 idle connections");

    // up to the per-address limit (the operator's own call above held one more slot for a
    // moment); the next connection from the same address is closed without a handshake
    while idle.len() < MAX_CONNECTIONS_PER_ADDRESS {
        idle.push(tokio::net::TcpStream::connect(admin).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut extra = tokio::net::TcpStream::connect(admin).await.unwrap();
    let mut byte = [0u8; 1];
    let closed = tokio::time::timeout(Duration::from_secs(2), extra.read(&mut byte)).await;
    assert!(matches!(closed, Ok(Ok(0)) | Ok(Err(_))), "a connection over the limit was kept: {closed:?}");
    // the idle ones go, and the operator is heard again at once
    drop(idle);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = std::time::Instant::now();
    op.ok("GET", "/api/v1/members", None).await.unwrap();
    assert!(started.elapsed() < HANDSHAKE_TIMEOUT / 2);
    c.running.stop().await;
}

/// Issue 13, item 5, from the agency's side (`egov ss register` is `ServerDir::register`):
/// the request carries the operator's enrolment code; a refusal consumes it, so the same
/// code cannot be used again, and a fresh one registers the same keys; the fingerprints the
/// agency computes are those the operator lists.
#[tokio::test]
async fn after_a_refusal_the_agency_registers_with_a_fresh_enrolment_code() {
    use egov_security_server::enrolment::{KeyStorage, ServerDir};

    let c = start().await;
    let op = AdminClient::new(&c.creds).unwrap();
    op.ok("POST", "/api/v1/members", Some(&member("AZ/GOV/1400000002"))).await.unwrap();
    let id: egov_xroad::SecurityServerId = "AZ/GOV/1400000002/ss1".parse().unwrap();
    let anchor = op.ok("GET", "/api/v1/anchor", None).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = ServerDir::new(tmp.path(), Some("agency-passphrase".into()));
    dir.init(&anchor.to_string(), &id, KeyStorage::Encrypted).unwrap();
    let add = || async {
        let path = format!("/api/v1/security-servers/{}/enrolment-code", path_segment(&id.to_string()));
        op.ok("POST", &path, Some(&json!({"valid_days": 1}))).await.unwrap()["code"].as_str().unwrap().to_owned()
    };
    let address = "127.0.0.1:5500";

    let err = dir.register(address, "production", None).await.unwrap_err().to_string();
    assert!(err.contains("needs the enrolment code"), "{err}");
    let first = add().await;
    let pending = dir.register(address, "production", Some(&first)).await.unwrap();
    assert_eq!(pending.state, "pending");
    let listed = op.ok("GET", "/api/v1/registrations?state=pending", None).await.unwrap();
    let ours = dir.key_fingerprints().unwrap();
    assert_eq!(
        (listed[0]["auth_key_sha256"].as_str(), listed[0]["sign_key_sha256"].as_str()),
        (Some(ours.auth.as_str()), Some(ours.sign.as_str()))
    );
    op.ok("POST", &format!("/api/v1/registrations/{}/refuse", pending.id), Some(&json!({"reason": "not confirmed"})))
        .await
        .unwrap();
    let refused = dir.register(address, "production", None).await.unwrap();
    assert_eq!(refused.state, "refused");
    assert!(dir.file("registration.refused.json").exists() && !dir.file("registration.json").exists());
    // the code went with the refused request
    let err = dir.register(address, "production", Some(&first)).await.unwrap_err().to_string();
    assert!(err.contains("already used"), "{err}");
    let second = add().await;
    let again = dir.register(address, "production", Some(&second)).await.unwrap();
    assert_eq!(again.state, "pending");
    assert_ne!(again.id, pending.id);
    op.ok("POST", &format!("/api/v1/registrations/{}/approve", again.id), None).await.unwrap();
    assert_eq!(dir.register(address, "production", None).await.unwrap().state, "approved");
    dir.keys().unwrap();
    c.running.stop().await;
}
