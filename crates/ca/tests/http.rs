//! The Certification Centre over HTTP, end to end: OCSP (POST and GET) before and after a
//! revocation, the TSA, certificate downloads and request hygiene — each answer checked
//! with egov_pki's verifiers and, where installed, with the OpenSSL CLI as an oracle.

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use bytes::Bytes;
use egov_ca::CertificationCentre;
use egov_pki::ocsp::{CertStatus, RevocationReason};
use egov_pki::{CertProfile, KeyAlgorithm, PrivateKey};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

type HttpClient = Client<HttpConnector, Full<Bytes>>;

struct Answer {
    status: http::StatusCode,
    content_type: String,
    cache_control: Option<String>,
    body: Vec<u8>,
}

async fn call(client: &HttpClient, method: &str, url: &str, content_type: Option<&str>, body: Vec<u8>) -> Answer {
    let mut req = http::Request::builder().method(method).uri(url);
    if let Some(ct) = content_type {
        req = req.header(http::header::CONTENT_TYPE, ct);
    }
    let resp = client.request(req.body(Full::new(Bytes::from(body))).unwrap()).await.unwrap();
    let header = |name| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (status, content_type, cache_control) =
        (resp.status(), header(http::header::CONTENT_TYPE).unwrap_or_default(), header(http::header::CACHE_CONTROL));
    let body = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
    Answer { status, content_type, cache_control, body }
}

/// Runs the openssl CLI in `dir` (off the async runtime); `None` when it is not installed.
async fn openssl(dir: &Path, args: &[&str]) -> Option<(bool, String)> {
    let dir = dir.to_owned();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        match std::process::Command::new("openssl").args(&args).current_dir(&dir).output() {
            Ok(out) => Some((
                out.status.success(),
                format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
            )),
            Err(e) => {
                eprintln!("*** SKIPPED OpenSSL oracle (openssl {}): {e} ***", args.join(" "));
                None
            }
        }
    })
    .await
    .unwrap()
}

async fn start(cc: Arc<CertificationCentre>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, egov_ca::router(cc)).await.unwrap() });
    addr
}

async fn centre(dir: &Path) -> Arc<CertificationCentre> {
    let db = egov_store::sqlite_url(&dir.join("ca.db"));
    Arc::new(CertificationCentre::create(&dir.join("centre"), "AZ", "integration passphrase", &db).await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ocsp_and_tsa_over_http_verified_here_and_by_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let cc = centre(dir.path()).await;
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let profile = CertProfile::Auth("AZ/GOV/1400000001/ss1".parse().unwrap());
    let issued = cc.issue(&key.certificate_request(&profile).unwrap(), &profile, 365).await.unwrap();
    let addr = start(cc.clone()).await;
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
    let base = format!("http://{addr}");

    let write = |name: &str, data: &[u8]| std::fs::write(dir.path().join(name), data).unwrap();
    let ca_pem = call(&client, "GET", &format!("{base}/ca.crt"), None, vec![]).await;
    assert_eq!(ca_pem.status, 200);
    assert_eq!(String::from_utf8(ca_pem.body.clone()).unwrap(), cc.ca_cert_pem());
    let tsa_pem = call(&client, "GET", &format!("{base}/tsa.crt"), None, vec![]).await;
    assert_eq!(String::from_utf8(tsa_pem.body).unwrap(), cc.tsa_cert_pem());
    write("ca.pem", &ca_pem.body);
    write("cert.pem", egov_pki::to_pem("CERTIFICATE", &issued.der).as_bytes());

    // OCSP: good
    let request = egov_pki::ocsp::request(&[&issued.der], cc.ca_cert_der()).unwrap();
    let answer =
        call(&client, "POST", &format!("{base}/ocsp"), Some("application/ocsp-request"), request.clone()).await;
    assert_eq!((answer.status, answer.content_type.as_str()), (http::StatusCode::OK, "application/ocsp-response"));
    let info = egov_pki::ocsp::verify_response(&answer.body, cc.ca_cert_der(), egov_pki::unix_now(), 60).unwrap();
    assert_eq!(info.status_of(&issued.der), Some(&CertStatus::Good));
    write("good.der", &answer.body);
    let oracle = [
        "ocsp",
        "-respin",
        "good.der",
        "-resp_text",
        "-CAfile",
        "ca.pem",
        "-issuer",
        "ca.pem",
        "-sha256",
        "-cert",
        "cert.pem",
        "-no_nonce",
    ];
    if let Some((ok, out)) = openssl(dir.path(), &oracle).await {
        eprintln!("openssl ocsp (good) said:\n{out}");
        assert!(ok && out.contains("Response verify OK") && out.contains("cert.pem: good"), "{out}");
        // and OpenSSL as the HTTP client (SHA-1 CertID and a nonce, its defaults)
        let url = format!("{base}/ocsp");
        let (ok, out) =
            openssl(dir.path(), &["ocsp", "-url", &url, "-issuer", "ca.pem", "-cert", "cert.pem", "-CAfile", "ca.pem"])
                .await
                .unwrap();
        eprintln!("openssl ocsp -url said:\n{out}");
        assert!(ok && out.contains("Response verify OK") && out.contains("cert.pem: good"), "{out}");
        assert!(!out.contains("WARNING"), "the nonce is echoed: {out}");
    }

    // OCSP: revoked, with the reason, over POST and GET
    cc.revoke(&issued.serial_hex, RevocationReason::KeyCompromise).await.unwrap();
    let answer =
        call(&client, "POST", &format!("{base}/ocsp"), Some("application/ocsp-request"), request.clone()).await;
    let info = egov_pki::ocsp::verify_response(&answer.body, cc.ca_cert_der(), egov_pki::unix_now(), 60).unwrap();
    assert!(matches!(
        info.status_of(&issued.der),
        Some(CertStatus::Revoked { reason: Some(RevocationReason::KeyCompromise), .. })
    ));
    let encoded = base64::engine::general_purpose::STANDARD.encode(&request);
    let path = encoded.replace('+', "%2B").replace('=', "%3D"); // '/' stays: the route takes the rest of the path
    let got = call(&client, "GET", &format!("{base}/ocsp/{path}"), None, vec![]).await;
    assert_eq!((got.status, got.content_type.as_str()), (http::StatusCode::OK, "application/ocsp-response"));
    assert!(got.cache_control.unwrap().contains("max-age=600"));
    let info = egov_pki::ocsp::verify_response(&got.body, cc.ca_cert_der(), egov_pki::unix_now(), 60).unwrap();
    assert!(matches!(info.status_of(&issued.der), Some(CertStatus::Revoked { .. })));
    write("revoked.der", &answer.body);
    let oracle = [
        "ocsp",
        "-respin",
        "revoked.der",
        "-resp_text",
        "-CAfile",
        "ca.pem",
        "-issuer",
        "ca.pem",
        "-sha256",
        "-cert",
        "cert.pem",
        "-no_nonce",
    ];
    if let Some((ok, out)) = openssl(dir.path(), &oracle).await {
        eprintln!("openssl ocsp (revoked) said:\n{out}");
        assert!(ok && out.contains("Response verify OK") && out.contains("cert.pem: revoked"), "{out}");
        assert!(out.contains("Reason: keyCompromise"), "{out}");
    }

    // TSA
    let data = b"message log batch 42";
    let digest = egov_pki::cert_sha256(data);
    let answer = call(
        &client,
        "POST",
        &format!("{base}/tsa"),
        Some("application/timestamp-query"),
        egov_pki::tsp::request(&digest),
    )
    .await;
    assert_eq!((answer.status, answer.content_type.as_str()), (http::StatusCode::OK, "application/timestamp-reply"));
    let stamp = egov_pki::tsp::verify(&answer.body, &digest, cc.ca_cert_der()).unwrap();
    assert!((stamp.gen_time - egov_pki::unix_now()).abs() < 5);
    assert_eq!(stamp.tsa_cert_der, cc.tsa_cert_der());
    write("resp.tsr", &answer.body);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    if let Some((ok, out)) =
        openssl(dir.path(), &["ts", "-verify", "-in", "resp.tsr", "-digest", &hex, "-CAfile", "ca.pem"]).await
    {
        eprintln!("openssl ts -verify said: {out}");
        assert!(ok && out.contains("Verification: OK"), "{out}");
        let (ok, out) = openssl(dir.path(), &["ts", "-reply", "-in", "resp.tsr", "-text"]).await.unwrap();
        assert!(ok && out.contains("Status: Granted."), "{out}");
    }
    // two stamps never share a serial number
    let again = call(
        &client,
        "POST",
        &format!("{base}/tsa"),
        Some("application/timestamp-query"),
        egov_pki::tsp::request(&digest),
    )
    .await;
    assert_ne!(egov_pki::tsp::verify(&again.body, &digest, cc.ca_cert_der()).unwrap().serial_hex, stamp.serial_hex);
}

#[tokio::test]
async fn bad_requests_get_clear_answers() {
    let dir = tempfile::tempdir().unwrap();
    let cc = centre(dir.path()).await;
    let addr = start(cc.clone()).await;
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
    let base = format!("http://{addr}");

    let wrong = call(&client, "POST", &format!("{base}/ocsp"), Some("text/plain"), b"x".to_vec()).await;
    assert_eq!(wrong.status, http::StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let text = String::from_utf8(wrong.body).unwrap();
    assert!(text.contains("application/ocsp-request") && text.contains("text/plain"), "{text}");
    let none = call(&client, "POST", &format!("{base}/tsa"), None, b"x".to_vec()).await;
    assert_eq!(none.status, http::StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(String::from_utf8(none.body).unwrap().contains("application/timestamp-query"));
    // parameters and case do not matter
    let ok = call(&client, "POST", &format!("{base}/tsa"), Some("Application/TimeStamp-Query; x=1"), vec![]).await;
    assert_eq!(ok.status, http::StatusCode::OK);

    let big =
        call(&client, "POST", &format!("{base}/ocsp"), Some("application/ocsp-request"), vec![0x30; 70 * 1024]).await;
    assert_eq!(big.status, http::StatusCode::PAYLOAD_TOO_LARGE);

    // malformed protocol requests are answered inside the protocol, with 200
    let malformed =
        call(&client, "POST", &format!("{base}/ocsp"), Some("application/ocsp-request"), b"junk".to_vec()).await;
    assert_eq!(
        (malformed.status, malformed.body.as_slice()),
        (http::StatusCode::OK, &[0x30, 0x03, 0x0a, 0x01, 0x01][..])
    );
    let get = call(&client, "GET", &format!("{base}/ocsp/!!!not-base64"), None, vec![]).await;
    assert_eq!((get.status, get.body.as_slice()), (http::StatusCode::OK, &[0x30, 0x03, 0x0a, 0x01, 0x01][..]));
    let rejected =
        call(&client, "POST", &format!("{base}/tsa"), Some("application/timestamp-query"), b"junk".to_vec()).await;
    assert_eq!(rejected.status, http::StatusCode::OK);
    let err = egov_pki::tsp::verify(&rejected.body, &[0; 32], cc.ca_cert_der()).unwrap_err();
    assert!(err.to_string().contains("Rejection"), "{err}");

    let missing = call(&client, "GET", &format!("{base}/nothing"), None, vec![]).await;
    assert_eq!(missing.status, http::StatusCode::NOT_FOUND);
}
