//! The deployment path with separate processes and nothing but the command line (TT-4.1.2):
//! the operator creates and runs the central services (`egov central init/serve`) and
//! registers members; each agency installs the anchor, generates keys and certificate
//! requests (`egov ss init`), submits its registration with the enrolment code the operator
//! issued (`egov central servers add`, `egov ss register --enrolment-code`), the operator
//! approves it (`egov central registrations approve`), the agency collects its
//! certificates and runs its server (`egov ss serve`), which trusts only the signed global
//! configuration; a SOAP request then crosses the federation.

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

/// Runs `egov ARGS` with the operator's credentials; returns stdout.
fn run(operator: &std::path::Path, args: &[&str]) -> String {
    let out = egov()
        .args(args)
        .env("EGOV_OPERATOR", operator)
        .env("EGOV_SS_PASSPHRASE", "agency-passphrase")
        .output()
        .unwrap();
    assert!(out.status.success(), "egov {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// POSTs a SOAP envelope to a security server's client side; the answer's text.
async fn post_soap(url: &str, envelope: String) -> String {
    use http_body_util::BodyExt;
    let client: hyper_util::client::legacy::Client<_, http_body_util::Full<bytes::Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(hyper_util::client::legacy::connect::HttpConnector::new());
    let req = hyper::Request::post(format!("{url}/"))
        .header("content-type", "text/xml; charset=utf-8")
        .body(http_body_util::Full::new(bytes::Bytes::from(envelope)))
        .unwrap();
    let resp = client.request(req).await.unwrap();
    String::from_utf8_lossy(&resp.into_body().collect().await.unwrap().to_bytes()).into_owned()
}

fn free_port() -> String {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().to_string()
}

fn wait_for_port(addr: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {addr}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn separate_processes_exchange_through_egov_ss_serve() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    let central = path("central");
    let operator = central.join("operator.json");
    let (public, admin) = (free_port(), free_port());

    // 1. the operator: central services created and running, members registered
    let out = egov()
        .args(["central", "init", "--dir"])
        .arg(&central)
        .args(["--instance", "AZ", "--admin-address", &admin])
        .env("EGOV_CENTRAL_PASSPHRASE", "operator-passphrase")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut central_proc = Proc(
        egov()
            .args(["central", "serve", "--dir"])
            .arg(&central)
            .args([
                "--public-listen",
                &public,
                "--admin-listen",
                &admin,
                "--validity",
                "120",
                "--generation-interval",
                "5",
            ])
            .env("EGOV_CENTRAL_PASSPHRASE", "operator-passphrase")
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for_port(&public);
    wait_for_port(&admin);
    for (id, name, sub) in [
        ("AZ/GOV/1400000001", "Electronic Government portal operator", "portal"),
        ("AZ/GOV/1400000002", "Ministry of Justice", "population-registry"),
    ] {
        let code = id.rsplit('/').next().unwrap();
        run(
            &operator,
            &[
                "central",
                "members",
                "add",
                "--id",
                id,
                "--name",
                name,
                "--tax-id",
                code,
                "--legal-status",
                "central-executive",
                "--subsystem",
                sub,
            ],
        );
    }
    std::fs::write(path("anchor.json"), run(&operator, &["central", "anchor"])).unwrap();

    // 2. each agency sets up its server and asks to be registered; the operator approves
    let servers = [
        ("AZ/GOV/1400000001/ss-portal", "portal", "AZ/GOV/1400000001/portal", free_port()),
        ("AZ/GOV/1400000002/ss-justice", "justice", "AZ/GOV/1400000002/population-registry", free_port()),
    ];
    let mut fingerprints = Vec::new();
    for (id, name, _, peer) in &servers {
        let sdir = path(name);
        run(
            &operator,
            &[
                "ss",
                "init",
                "--dir",
                sdir.to_str().unwrap(),
                "--anchor",
                path("anchor.json").to_str().unwrap(),
                "--id",
                id,
            ],
        );
        // issue 13, item 5: no request without the enrolment code the operator issued for
        // this server id, nor with a wrong one; nothing is recorded then
        let register = |code: Option<&str>| {
            let mut cmd = egov();
            cmd.args(["ss", "register", "--dir", sdir.to_str().unwrap(), "--address", peer])
                .env("EGOV_OPERATOR", &operator)
                .env("EGOV_SS_PASSPHRASE", "agency-passphrase")
                .env_remove("EGOV_SS_ENROLMENT_CODE");
            if let Some(code) = code {
                cmd.env("EGOV_SS_ENROLMENT_CODE", code);
            }
            cmd.output().unwrap()
        };
        let out = register(None);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("needs the enrolment code") && err.contains("--enrolment-code"), "{err}");
        let added = run(&operator, &["central", "servers", "add", id]);
        let code = added.lines().nth(1).unwrap().trim().to_owned();
        assert_eq!(code.len(), 39, "{added}");
        let out = register(Some("0123-4567-89ab-cdef-0123-4567-89ab-cdef"));
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("not the one issued"), "{err}");
        let said = run(
            &operator,
            &["ss", "register", "--dir", sdir.to_str().unwrap(), "--address", peer, "--enrolment-code", &code],
        );
        assert!(said.contains("pending"), "{said}");
        fingerprints.push(said);
        // a server that is not registered yet does not start, and says why
        let out = egov()
            .args(["ss", "serve", "--dir"])
            .arg(&sdir)
            .env("EGOV_SS_PASSPHRASE", "agency-passphrase")
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("egov ss register"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let pending: serde_json::Value =
        serde_json::from_str(&run(&operator, &["central", "registrations", "list", "--state", "pending"])).unwrap();
    assert_eq!(pending.as_array().unwrap().len(), 2);
    for r in pending.as_array().unwrap() {
        // what the agency printed is what the operator sees before approving
        let (auth, sign) = (r["auth_key_sha256"].as_str().unwrap(), r["sign_key_sha256"].as_str().unwrap());
        assert!(
            fingerprints.iter().any(|said| said.contains(auth) && said.contains(sign)),
            "{auth} / {sign} not in {fingerprints:?}"
        );
        run(&operator, &["central", "registrations", "approve", r["id"].as_str().unwrap()]);
    }
    for (id, name, client, peer) in &servers {
        let said = run(
            &operator,
            &["ss", "register", "--dir", path(name).to_str().unwrap(), "--address", peer, "--wait", "10"],
        );
        assert!(said.contains("approved"), "{said}");
        let enc = id.replace('/', "%2F");
        run(
            &operator,
            &[
                "central",
                "api",
                "POST",
                &format!("/api/v1/security-servers/{enc}/clients"),
                "--data",
                &format!("{{\"client\":\"{client}\"}}"),
            ],
        );
    }
    // keys are encrypted at rest: the passphrase is needed
    assert!(std::fs::read_to_string(path("portal").join("auth.key.pem")).unwrap().contains("ENCRYPTED PRIVATE KEY"));

    // 2. the ministry's information system
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (_stop, rx) = egov_security_server::http::shutdown_pair();
    let is_addr = rt.block_on(egov_demo::fixture::start(rx)).unwrap();
    let wsdl_file = dir.path().join("population.wsdl");
    std::fs::write(&wsdl_file, egov_demo::fixture::population_wsdl(&format!("http://{is_addr}/population"))).unwrap();

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

    // 4. run them
    let serve = |name: &str, peer: &str, db: &str| -> (Proc, String) {
        let mut child = egov()
            .args(["ss", "serve", "--dir"])
            .arg(dir.path().join(name))
            .args(["--client-listen", "127.0.0.1:0", "--monitoring-listen", "127.0.0.1:0", "--peer-listen", peer])
            .args(["--db", db])
            .env("EGOV_SS_PASSPHRASE", "agency-passphrase")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let url = line.split("information systems on ").nth(1).unwrap().split(',').next().unwrap().trim().to_owned();
        (Proc(child), url)
    };
    for name in ["justice", "portal"] {
        // time-stamp every second (the default is X-Road's 60 s)
        std::fs::write(path(name).join("msglog.json"), r#"{"timestamp_interval_secs": 1}"#).unwrap();
    }
    let (mut justice, _) = serve("justice", &servers[1].3, &justice_db);
    let (mut portal, portal_url) = serve("portal", &servers[0].3, &portal_db);

    // 5. a SOAP request from the portal's system to the ministry's
    let soap = |id: String| {
        egov_xroad::soap::build_envelope(
            &egov_xroad::soap::XRoadHeader {
                client: "AZ/GOV/1400000001/portal".parse().unwrap(),
                service: "AZ/GOV/1400000002/population-registry/getPersonByFin/v1".parse().unwrap(),
                id,
                user_id: None,
                issue: None,
                protocol_version: "4.0".into(),
                security_server: None,
                request_hash: None,
            },
            &format!(
                "<p:getPersonByFin xmlns:p=\"{}\"><p:fin>9PLM4TR</p:fin></p:getPersonByFin>",
                egov_demo::fixture::POPULATION_NS
            ),
        )
    };
    let reply = rt.block_on(post_soap(&portal_url, soap("proc-1".into())));
    assert!(reply.contains("<pr:firstName>Günel</pr:firstName>"), "{reply}");
    assert!(reply.contains("requestHash"), "{reply}");

    // 6. crash test (TT-2.2.2): load, `kill -9` both servers mid-flight, and every message a
    //    client was answered for is in both logs, whose chains verify
    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let load = rt.block_on(async {
        let mut tasks = Vec::new();
        for t in 0..8 {
            let (acked, url, soap) = (acknowledged.clone(), portal_url.clone(), soap);
            tasks.push(tokio::spawn(async move {
                use http_body_util::BodyExt;
                let client: hyper_util::client::legacy::Client<_, http_body_util::Full<bytes::Bytes>> =
                    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                        .build(hyper_util::client::legacy::connect::HttpConnector::new());
                for i in 0.. {
                    let id = format!("load-{t}-{i}");
                    let req = hyper::Request::post(format!("{url}/"))
                        .header("content-type", "text/xml; charset=utf-8")
                        .body(http_body_util::Full::new(bytes::Bytes::from(soap(id.clone()))))
                        .unwrap();
                    let Ok(resp) = client.request(req).await else { return };
                    let Ok(body) = resp.into_body().collect().await else { return };
                    if String::from_utf8_lossy(&body.to_bytes()).contains("Günel") {
                        acked.lock().unwrap().push(id);
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(2500)).await;
        tasks
    });
    let kill9 = |p: &mut Proc| {
        assert!(Command::new("kill").args(["-KILL", &p.0.id().to_string()]).status().unwrap().success());
        let _ = p.0.wait();
    };
    kill9(&mut portal);
    kill9(&mut justice);
    rt.block_on(async {
        for t in load {
            let _ = t.await;
        }
    });
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() > 20, "only {} exchanges under load", acknowledged.len());
    for name in ["portal", "justice"] {
        let server = egov_security_server::enrolment::ServerDir::new(&path(name), Some("agency-passphrase".into()));
        rt.block_on(async {
            let log = server.message_log().await.unwrap();
            for id in &acknowledged {
                let records = log.records_of_query(id).await.unwrap();
                assert_eq!(records.len(), 2, "{name}: acknowledged message {id} has {} records", records.len());
            }
            log.database().close().await;
        });
    }
    // restarted, the servers continue their chains; `egov msglog verify` checks them offline
    let (mut justice, _) = serve("justice", &servers[1].3, &justice_db);
    let (mut portal, portal_url) = serve("portal", &servers[0].3, &portal_db);
    let reply = rt.block_on(post_soap(&portal_url, soap("after-restart".into())));
    assert!(reply.contains("Günel"), "{reply}");
    terminate(&mut portal);
    terminate(&mut justice);
    for name in ["portal", "justice"] {
        let said = run(&operator, &["msglog", "verify", "--dir", path(name).to_str().unwrap()]);
        assert!(said.contains("database OK"), "{said}");
    }
    // one exchange exported and verified from the file alone (after its time-stamp)
    let justice_dir = path("justice");
    let exported = dir.path().join("proc-1.zip");
    run(
        &operator,
        &[
            "msglog",
            "export",
            "--dir",
            justice_dir.to_str().unwrap(),
            "--query-id",
            "proc-1",
            "--out",
            exported.to_str().unwrap(),
        ],
    );
    let ca = dir.path().join("ca.pem");
    let anchor: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path("anchor.json")).unwrap()).unwrap();
    std::fs::write(&ca, anchor["ca_certs_pem"][0].as_str().unwrap()).unwrap();
    let said = run(&operator, &["msglog", "verify", exported.to_str().unwrap(), "--ca", ca.to_str().unwrap()]);
    assert_eq!(said.matches(": OK").count(), 2, "{said}");
    let reads = run(&operator, &["msglog", "reads", "--dir", justice_dir.to_str().unwrap()]);
    assert!(reads.contains("export\tproc-1\tallowed"), "{reads}");
    // an altered file is refused, naming what broke
    let mut bytes = std::fs::read(&exported).unwrap();
    let at = bytes.windows(6).position(|w| w == b"Ganja\"" || w == b"G\xc3\xbcnel").unwrap_or(bytes.len() / 2);
    bytes[at + 1] ^= 1;
    std::fs::write(&exported, &bytes).unwrap();
    let out = egov().args(["msglog", "verify"]).arg(&exported).args(["--ca", ca.to_str().unwrap()]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("FAILED"), "{}", String::from_utf8_lossy(&out.stderr));

    terminate(&mut central_proc);
}

#[test]
fn setup_commands_refuse_bad_input_with_clear_messages() {
    let dir = tempfile::tempdir().unwrap();
    // a server directory without keys
    let out = egov().args(["ss", "serve", "--dir"]).arg(dir.path()).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("server.json"), "the missing file must be named: {err}");
    // an anchor that is not one
    std::fs::write(dir.path().join("anchor.json"), "{}").unwrap();
    let out = egov()
        .args(["ss", "init", "--dir"])
        .arg(dir.path().join("s"))
        .arg("--anchor")
        .arg(dir.path().join("anchor.json"))
        .args(["--id", "AZ/GOV/1/ss"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("anchor"), "{}", String::from_utf8_lossy(&out.stderr));
    // the central server's key files need their passphrase
    let out = egov()
        .args(["central", "init", "--dir"])
        .arg(dir.path().join("c"))
        .args(["--instance", "AZ", "--passphrase", "short"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("passphrase"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn egov_ca_issues_revokes_and_lists_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let ca_dir = dir.path().join("ca");
    let ca = |args: &[&str]| {
        egov()
            .arg("ca")
            .args(args)
            .arg("--dir")
            .arg(&ca_dir)
            .env("EGOV_CA_PASSPHRASE", "ca-passphrase")
            .output()
            .unwrap()
    };
    let out = ca(&["init", "--instance", "AZ"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // a second init must not overwrite the CA
    assert!(!ca(&["init", "--instance", "AZ"]).status.success());

    // a CSR as a new security server makes it (PEM), issued for the right identity only
    let anchor = serde_json::json!({"instance": "AZ", "environment": "production",
        "sources": ["http://127.0.0.1:1/globalconf"], "registration_url": "http://127.0.0.1:1/registration",
        "verification_keys": [{"key_id": "00", "algorithm": "ed25519", "public_key": "AA=="}],
        "ca_certs_pem": [], "generated_at": 0});
    std::fs::write(dir.path().join("anchor.json"), anchor.to_string()).unwrap();
    let ss = dir.path().join("ss");
    let init = |dir: &std::path::Path, passphrase: Option<&str>, extra: &[&str]| {
        let mut command = egov();
        command
            .args(["ss", "init", "--dir"])
            .arg(dir)
            .arg("--anchor")
            .arg(ss.parent().unwrap().join("anchor.json"))
            .args(["--id", "AZ/GOV/1400000005/ss1"])
            .args(extra)
            .env_remove("EGOV_SS_PASSPHRASE");
        if let Some(p) = passphrase {
            command.env("EGOV_SS_PASSPHRASE", p);
        }
        command.output().unwrap()
    };
    // issue 13, item 10: no passphrase, no keys in clear unless asked for by name
    let clear = dir.path().join("ss-clear");
    let out = init(&clear, None, &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("EGOV_SS_PASSPHRASE") && err.contains("--insecure-keys"), "{err}");
    assert!(!clear.join("auth.key.pem").exists(), "nothing written");
    let out = init(&clear, None, &["--insecure-keys"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("in clear"));
    let out = init(&ss, Some("agency-passphrase"), &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(std::fs::read_to_string(ss.join("sign.key.pem")).unwrap().contains("ENCRYPTED PRIVATE KEY"));
    #[cfg(unix)]
    for file in ["auth.key.pem", "sign.key.pem", "server.json"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(ss.join(file)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{file}");
    }
    let csr = ss.join("auth.csr.pem");
    let cert = dir.path().join("auth.crt.pem");
    let out = ca(&[
        "issue",
        "--csr",
        csr.to_str().unwrap(),
        "--auth",
        "AZ/GOV/1400000005/other",
        "--out",
        cert.to_str().unwrap(),
    ]);
    assert!(!out.status.success(), "a CSR for another identity must be refused");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("AZ/GOV/1400000005/ss1"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = ca(&[
        "issue",
        "--csr",
        csr.to_str().unwrap(),
        "--auth",
        "AZ/GOV/1400000005/ss1",
        "--out",
        cert.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(std::fs::read_to_string(&cert).unwrap().contains("BEGIN CERTIFICATE"));

    let list: serde_json::Value = serde_json::from_slice(&ca(&["list", "--json"]).stdout).unwrap();
    let issued =
        list.as_array().unwrap().iter().find(|c| c["subject"].as_str().unwrap_or_default().contains("ss1")).cloned();
    let issued = issued.unwrap_or_else(|| panic!("the issued certificate is listed: {list}"));
    let serial = issued["serial_hex"].as_str().or(issued["serial"].as_str()).unwrap().to_owned();
    let out = ca(&["revoke", &serial, "--reason", "keyCompromise"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!ca(&["revoke", &serial, "--reason", "keyCompromise"]).status.success(), "revoked twice");
    let list = String::from_utf8_lossy(&ca(&["list"]).stdout).into_owned();
    assert!(list.contains("revoked"), "{list}");
}
