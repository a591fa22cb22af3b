//! `egov demo` end to end, as a user runs it: the binary starts, writes demo.json, answers
//! a third-party SOAP client (zeep) and plain HTTP REST calls, and stops cleanly on SIGTERM.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Demo {
    child: Child,
    dir: tempfile::TempDir,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

fn start_demo() -> (Demo, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_egov"))
        .args(["demo", "--population", "5000", "--data-dir"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("egov demo starts");
    let demo = Demo { child, dir };
    let manifest = demo.dir.path().join("demo.json");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !manifest.exists() {
        assert!(Instant::now() < deadline, "demo.json did not appear within 60 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    let json = serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    (demo, json)
}

fn http_get(url: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        use http_body_util::BodyExt;
        let client: hyper_util::client::legacy::Client<_, http_body_util::Full<bytes::Bytes>> =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build(hyper_util::client::legacy::connect::HttpConnector::new());
        let mut req = hyper::Request::get(url);
        for (n, v) in headers {
            req = req.header(*n, *v);
        }
        let resp = client.request(req.body(http_body_util::Full::default()).unwrap()).await.unwrap();
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    })
}

#[test]
fn demo_serves_zeep_and_rest_and_stops_on_sigterm() {
    let (mut demo, manifest) = start_demo();

    // shape of demo.json
    let servers = manifest["security_servers"].as_array().unwrap();
    assert!(servers.len() >= 3);
    for s in servers {
        assert!(s["member"].as_str().unwrap().split('/').count() == 3);
        assert!(s["client_url"].as_str().unwrap().starts_with("http://127.0.0.1:"));
    }
    let services = manifest["services"].as_array().unwrap();
    assert!(services.iter().any(|s| s["protocol"] == "soap"));
    assert!(services.iter().any(|s| s["protocol"] == "rest"));

    // SOAP through zeep (a third-party client), from the WSDL the security server serves
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/zeep_client.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(demo.dir.path().join("demo.json"))
        .output()
        .expect("python3 must be installed (.ci/run installs zeep)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "zeep client failed (install it with `pip install zeep`, as .ci/run does):\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("zeep: all checks passed"), "{stdout}");

    // REST with plain HTTP, exactly as demo.json describes each read
    for s in services.iter().filter(|s| s["protocol"] == "rest" && s["method"] == "GET") {
        let url = s["url"].as_str().unwrap();
        let (status, body) = http_get(url, &[("X-Road-Client", s["client"].as_str().unwrap())]);
        assert_eq!(status, 200, "{url}: {body}");
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert!(json.as_object().is_some_and(|o| !o.is_empty()), "{body}");
        // and without rights (no client header) it is refused with an X-Road error
        let (status, body) = http_get(url, &[]);
        assert_eq!(status, 400, "{body}");
    }

    // the citizen portal, as demo.json names it
    let (status, page) = http_get(manifest["portal"]["url"].as_str().unwrap(), &[]);
    assert_eq!(status, 200);
    assert!(page.contains("Elektron Hökumət Portalı"), "{page}");
    let (status, found) = http_get(manifest["portal"]["search_url"].as_str().unwrap(), &[]);
    assert_eq!(status, 200);
    assert!(found.contains("Pension calculator"), "{found}");

    // the back office: an officer's credentials, and a code from the stand-in authenticator
    let office = &manifest["portal"]["backoffice"];
    assert_eq!(office["login"], "registry.officer");
    let code = Command::new(env!("CARGO_BIN_EXE_egov"))
        .args(["portal", "code", "--secret", office["totp_secret"].as_str().unwrap()])
        .output()
        .unwrap();
    let code = String::from_utf8_lossy(&code.stdout).trim().to_owned();
    assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()), "{code}");
    let login_page = office["url"].as_str().unwrap().replace("/backoffice/", "/backoffice/login");
    assert_eq!(http_get(&login_page, &[]).0, 200);

    // the operator's central services, as demo.json names them: the signed configuration
    // names every demo server, and the maintenance calendar is public
    let central = &manifest["central"];
    let (status, body) = http_get(central["globalconf_url"].as_str().unwrap(), &[]);
    assert_eq!(status, 200, "{body}");
    let signed: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(signed["format"], "egov-globalconf-v1");
    let anchor = std::fs::read_to_string(central["anchor"].as_str().unwrap()).unwrap();
    let anchor = egov_globalconf::Anchor::from_json(&anchor).unwrap();
    let conf = anchor.verify(body.as_bytes(), egov_pki::unix_now()).unwrap();
    assert_eq!(conf.security_servers.len(), servers.len());
    assert_eq!(conf.services.ocsp_url.as_deref(), central["ocsp_url"].as_str());
    let calendar = format!("{}/api/v1/calendar.ics", central["public_url"].as_str().unwrap());
    let (status, body) = http_get(&calendar, &[]);
    assert_eq!(status, 200);
    assert!(body.starts_with("BEGIN:VCALENDAR\r\n"), "{body}");

    // the monitoring station (demo.json names it) sees the servers and the traffic above
    let monitoring = &manifest["monitoring"];
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, metrics) = http_get(monitoring["metrics_url"].as_str().unwrap(), &[]);
        assert_eq!(status, 200);
        let up = metrics.lines().filter(|l| l.starts_with("egov_server_up{") && l.ends_with(" 1")).count();
        if up == servers.len() && metrics.contains("egov_requests_last_hour{") {
            break;
        }
        assert!(Instant::now() < deadline, "the station did not see every server and the traffic: {metrics}");
        std::thread::sleep(Duration::from_millis(500));
    }
    let (status, page) = http_get(&format!("{}/?lang=en", monitoring["url"].as_str().unwrap()), &[]);
    assert_eq!(status, 200);
    assert!(page.contains("Monitoring station") && page.contains("ministry-of-justice"), "{page}");
    // the message log: an archive reader's token opens /asic, the monitor's does not
    let asic = format!("{}/asic?queryId=nothing-by-this-id", servers[1]["client_url"].as_str().unwrap());
    let reader = format!("Bearer {}", manifest["message_log"]["archive_reader_token"].as_str().unwrap());
    let monitor = format!("Bearer {}", monitoring["monitor_token"].as_str().unwrap());
    assert_eq!(http_get(&asic, &[("Authorization", &reader)]).0, 404);
    assert_eq!(http_get(&asic, &[("Authorization", &monitor)]).0, 403);

    // SIGTERM stops it cleanly
    let pid = demo.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = demo.child.try_wait().unwrap() {
            assert!(status.success(), "egov demo exited with {status}");
            break;
        }
        assert!(Instant::now() < deadline, "egov demo did not stop within 15 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn cli_refuses_bad_arguments_with_a_message() {
    let out = Command::new(env!("CARGO_BIN_EXE_egov"))
        .args(["ss", "acl", "grant", "--service", "AZ/GOV/not a code/x/y", "--subject", "AZ/GOV/1/x"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("memberCode contains the character ' '"), "{err}");
}

/// Runs `egov ARGS` with one environment variable set: success, and stdout + stderr.
fn egov_with(env: (&str, &str), args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_egov")).args(args).env(env.0, env.1).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

#[test]
fn ss_commands_manage_a_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("conf.db").display());
    let egov = |args: &[&str]| egov_with(("EGOV_SS_DB", &db), args);
    assert!(egov(&["ss", "client", "add", "AZ/GOV/2/insurance"]).0);
    let (ok, out) = egov(&[
        "ss",
        "service",
        "add-rest",
        "--service",
        "AZ/GOV/2/insurance/payments",
        "--url",
        "http://127.0.0.1:9/api",
    ]);
    assert!(ok, "{out}");
    assert!(
        egov(&[
            "ss",
            "service",
            "endpoint",
            "--service",
            "AZ/GOV/2/insurance/payments",
            "--method",
            "GET",
            "--path",
            "/persons/*"
        ])
        .0
    );
    let (ok, out) = egov(&[
        "ss",
        "acl",
        "grant",
        "--service",
        "AZ/GOV/2/insurance/payments",
        "--subject",
        "AZ/GOV/1/portal",
        "--method",
        "GET",
        "--path",
        "/persons/*",
    ]);
    assert!(ok, "{out}");
    // a right for an unknown local group is refused with the reason
    let (ok, out) =
        egov(&["ss", "acl", "grant", "--service", "AZ/GOV/2/insurance/payments", "--subject", "group:auditors"]);
    assert!(!ok);
    assert!(out.contains("local group auditors"), "{out}");
    let (ok, out) = egov(&["ss", "show"]);
    assert!(ok);
    assert!(out.contains("allow AZ/GOV/1/portal GET /persons/*"), "{out}");
}

#[test]
fn adapter_check_names_the_line_of_a_bad_mapping_and_lists_a_good_one() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("azersu.toml");
    std::fs::write(
        &good,
        "[adapter]\nname = \"azersu\"\nlisten = \"127.0.0.1:8600\"\n\n[[service]]\ncode = \"getWaterDebt\"\nversion = \"v1\"\n\
request = { subscriberCode = \"string\" }\nrest = { url = \"http://billing.local/debts/{subscriberCode}\" }\n\
response = { debt = \"/amount\" }\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_egov")).args(["adapter", "check"]).arg(&good).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("getWaterDebt/v1  fields: subscriberCode  → REST GET"), "{stdout}");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, std::fs::read_to_string(&good).unwrap().replace("{subscriberCode}\"", "{subscriber}\""))
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_egov")).args(["adapter", "check"]).arg(&bad).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("bad.toml:9: service 'getWaterDebt': url refers to {subscriber}"), "{stderr}");
}

#[test]
fn portal_seed_loads_the_registries_and_refuses_a_bad_date() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("registry.db").display());
    let egov = |args: &[&str]| egov_with(("EGOV_REGISTRY_DB", &db), args);
    let (ok, out) = egov(&["portal", "seed", "--demo-services", "20", "--on", "2025-01-15"]);
    assert!(ok, "{out}");
    assert!(out.contains("33 bodies, 63 information systems, 33 services registered now"), "{out}");
    let (ok, out) = egov(&["portal", "seed", "--on", "15.01.2025"]);
    assert!(!ok);
    assert!(out.contains("--on: '15.01.2025' is not YYYY-MM-DD"), "{out}");
    let (ok, out) = egov(&["portal", "pending"]);
    assert!(ok && out.trim().is_empty(), "{out}");
    let (ok, out) = egov(&[
        "portal",
        "apply",
        "--kind",
        "deregister",
        "--service",
        "08-000001",
        "--applicant",
        "Ministry of Justice",
    ]);
    assert!(!ok && out.contains("--reason is required for deregister"), "{out}");
    let (ok, out) = egov(&[
        "portal",
        "apply",
        "--kind",
        "deregister",
        "--service",
        "08-000001",
        "--reason",
        "merged",
        "--applicant",
        "Ministry of Justice",
    ]);
    assert!(ok && out.contains("application 34 filed on"), "{out}");
    let (ok, out) = egov(&["portal", "pending"]);
    assert!(ok && out.contains("deregister") && out.contains("08-000001"), "{out}");
    let (ok, out) = egov(&["portal", "apply", "--kind", "rename", "--applicant", "x"]);
    assert!(!ok && out.contains("--kind 'rename' is not register, amend or deregister"), "{out}");
}

/// An agency's administrator, from the command line: an adapter runs from its mapping file,
/// the security server keeps the mapping, pushes it and registers the adapter's services;
/// a changed mapping moves the adapter to another port (TT-4.1.4, TT-4.2).
#[test]
fn an_adapter_is_connected_and_moved_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let free_port = || std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (first, second) = (free_port(), free_port());
    let mapping = |port: u16| {
        format!(
            "[adapter]\nname = \"azersu\"\nlisten = \"127.0.0.1:{port}\"\n\n[[service]]\ncode = \"getWaterDebt\"\nversion = \"v1\"\n\
request = {{ subscriberCode = \"string\" }}\nsql = {{ database = \"sqlite://{}\", query = \"SELECT 1 AS debt WHERE :subscriberCode <> ''\" }}\n\
response = {{ debt = \"debt\" }}\n",
            dir.path().join("billing.db").display()
        )
    };
    let file = dir.path().join("azersu.toml");
    std::fs::write(&file, mapping(first)).unwrap();
    let mut adapter = Command::new(env!("CARGO_BIN_EXE_egov"))
        .args(["adapter", "serve", "--mapping"])
        .arg(&file)
        .env("EGOV_ADAPTER_TOKEN", "push-token")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", first)).is_err() {
        assert!(Instant::now() < deadline, "the adapter did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let db = format!("sqlite://{}", dir.path().join("conf.db").display());
    let ss = |args: &[&str]| egov_with(("EGOV_SS_DB", &db), args);
    assert!(ss(&["ss", "client", "add", "AZ/GOV/1400000006/billing"]).0);
    let connect = |path: &std::path::Path, token: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_egov"))
            .args(["ss", "adapter", "connect", "--client", "AZ/GOV/1400000006/billing", "--mapping"])
            .arg(path)
            .env("EGOV_SS_DB", &db)
            .env("EGOV_ADAPTER_TOKEN", token)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (ok, out) = connect(&file, "push-token");
    assert!(ok, "{out}");
    let (_, show) = ss(&["ss", "show"]);
    assert!(
        show.contains(&format!("AZ/GOV/1400000006/billing/getWaterDebt/v1 [wsdl] -> http://127.0.0.1:{first}/soap")),
        "{show}"
    );
    assert!(show.contains(&format!(
        "AZ/GOV/1400000006/billing/getWaterDebt [openapi] -> http://127.0.0.1:{first}/rest/getWaterDebt"
    )));

    // the administrator moves the adapter: the push goes to where it runs now
    let moved = dir.path().join("moved.toml");
    std::fs::write(&moved, mapping(second)).unwrap();
    let (ok, out) = connect(&moved, "push-token");
    assert!(ok, "{out}");
    assert!(out.contains(&format!("http://127.0.0.1:{second}")), "{out}");
    let (_, show) = ss(&["ss", "show"]);
    assert!(
        show.contains(&format!("http://127.0.0.1:{second}/soap")) && !show.contains(&format!(":{first}/")),
        "{show}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), mapping(second), "the adapter saved what was pushed");
    let (_, list) = ss(&["ss", "adapter", "list"]);
    assert!(list.contains(&format!("azersu  AZ/GOV/1400000006/billing  http://127.0.0.1:{second}")), "{list}");

    // a wrong token is refused and changes nothing
    let (ok, out) = connect(&moved, "guess");
    assert!(!ok);
    assert!(out.contains("HTTP 401"), "{out}");
    let _ = adapter.kill();
    let _ = adapter.wait();
}
