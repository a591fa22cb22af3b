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
