//! Security servers as separate processes, the way an agency deploys them: `egov ss serve`
//! with keys from PEM files and the federation directory from JSON, configured with
//! `egov ss …` commands, exchanging a SOAP request end to end.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn egov() -> Command {
    Command::new(env!("CARGO_BIN_EXE_egov"))
}

fn terminate(p: &mut Proc) {
    let pid = p.0.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let deadline = Instant::now() + Duration::from_secs(15);
    while p.0.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "process {pid} did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn ss(db: &str, args: &[&str]) {
    let out = egov().arg("ss").args(args).env("EGOV_SS_DB", db).output().unwrap();
    assert!(out.status.success(), "egov ss {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn separate_processes_exchange_through_egov_ss_serve() {
    let dir = tempfile::tempdir().unwrap();
    // 1. keys, certificates and a directory, as the demo issues them (through CSRs)
    let mut demo = Proc(egov().args(["demo", "--data-dir"]).arg(dir.path()).stdout(Stdio::null()).spawn().unwrap());
    let deadline = Instant::now() + Duration::from_secs(60);
    while !dir.path().join("demo.json").exists() {
        assert!(Instant::now() < deadline, "demo did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    terminate(&mut demo);
    let directory: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("directory.json")).unwrap()).unwrap();
    let peer_address = |id: &str| -> String {
        directory["security_servers"].as_array().unwrap().iter().find(|s| s["id"] == id).unwrap()["address"]
            .as_str()
            .unwrap()
            .to_owned()
    };

    // 2. the ministry's information system
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (_stop, rx) = egov_security_server::http::shutdown_pair();
    let is_addr = rt.block_on(egov_demo::agencies::start(rx)).unwrap();
    let wsdl_file = dir.path().join("population.wsdl");
    std::fs::write(&wsdl_file, egov_demo::agencies::population_wsdl(&format!("http://{is_addr}/population"))).unwrap();

    // 3. configure both servers with the command line, on fresh databases
    let justice_db = format!("sqlite://{}", dir.path().join("justice-conf.db").display());
    let portal_db = format!("sqlite://{}", dir.path().join("portal-conf.db").display());
    ss(&justice_db, &["client", "add", "AZ/GOV/1400000002/population-registry"]);
    ss(
        &justice_db,
        &[
            "service",
            "add-wsdl",
            "--client",
            "AZ/GOV/1400000002/population-registry",
            "--wsdl",
            wsdl_file.to_str().unwrap(),
        ],
    );
    ss(
        &justice_db,
        &[
            "acl",
            "grant",
            "--service",
            "AZ/GOV/1400000002/population-registry/getPersonByFin",
            "--subject",
            "AZ/GOV/1400000001/portal",
        ],
    );
    ss(&portal_db, &["client", "add", "AZ/GOV/1400000001/portal"]);

    // keys of another server are refused before anything listens
    let out = egov()
        .args(["ss", "serve", "--id", "AZ/GOV/1400000001/ss-portal", "--keys-dir"])
        .arg(dir.path().join("ministry-of-justice"))
        .arg("--directory")
        .arg(dir.path().join("directory.json"))
        .args(["--client-listen", "127.0.0.1:0", "--peer-listen", "127.0.0.1:0", "--db", &portal_db])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not the one registered"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // 4. run them
    let serve = |id: &str, name: &str, db: &str| -> (Proc, String) {
        let mut child = egov()
            .args(["ss", "serve", "--id", id, "--keys-dir"])
            .arg(dir.path().join(name))
            .arg("--directory")
            .arg(dir.path().join("directory.json"))
            .args(["--client-listen", "127.0.0.1:0", "--peer-listen", &peer_address(id), "--db", db])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let url = line.split("information systems on ").nth(1).unwrap().split(',').next().unwrap().trim().to_owned();
        (Proc(child), url)
    };
    let (mut justice, _) = serve("AZ/GOV/1400000002/ss-justice", "ministry-of-justice", &justice_db);
    let (mut portal, portal_url) = serve("AZ/GOV/1400000001/ss-portal", "portal-operator", &portal_db);

    // 5. a SOAP request from the portal's system to the ministry's
    let envelope = egov_xroad::soap::build_envelope(
        &egov_xroad::soap::XRoadHeader {
            client: "AZ/GOV/1400000001/portal".parse().unwrap(),
            service: "AZ/GOV/1400000002/population-registry/getPersonByFin/v1".parse().unwrap(),
            id: "proc-1".into(),
            user_id: None,
            issue: None,
            protocol_version: "4.0".into(),
            security_server: None,
            request_hash: None,
        },
        &format!(
            "<p:getPersonByFin xmlns:p=\"{}\"><p:fin>9PLM4TR</p:fin></p:getPersonByFin>",
            egov_demo::agencies::POPULATION_NS
        ),
    );
    let reply = rt.block_on(async {
        use http_body_util::BodyExt;
        let client: hyper_util::client::legacy::Client<_, http_body_util::Full<bytes::Bytes>> =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build(hyper_util::client::legacy::connect::HttpConnector::new());
        let req = hyper::Request::post(format!("{portal_url}/"))
            .header("content-type", "text/xml; charset=utf-8")
            .body(http_body_util::Full::new(bytes::Bytes::from(envelope)))
            .unwrap();
        let resp = client.request(req).await.unwrap();
        String::from_utf8_lossy(&resp.into_body().collect().await.unwrap().to_bytes()).into_owned()
    });
    assert!(reply.contains("<pr:firstName>Günel</pr:firstName>"), "{reply}");
    assert!(reply.contains("requestHash"), "{reply}");

    terminate(&mut portal);
    terminate(&mut justice);
}

#[test]
fn serve_refuses_a_server_missing_from_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("d.json"),
        r#"{"instance":"AZ","ca_certs_pem":[],"members":[],"security_servers":[]}"#,
    )
    .unwrap();
    let out = egov()
        .args(["ss", "serve", "--id", "AZ/GOV/1/ss", "--keys-dir"])
        .arg(dir.path())
        .arg("--directory")
        .arg(dir.path().join("d.json"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("auth.key.pem"), "missing keys must be named: {err}");
}
