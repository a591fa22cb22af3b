//! The adapter on loopback against a real REST back end and a real SQLite file: SOAP and
//! REST sides, generated descriptions, every bad-input case, HTTPS, and a pushed mapping
//! that moves the adapter (TT-4.2, TT-4.1.4.4).

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use axum::Json;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use egov_adapter::{AdapterOptions, RunningAdapter};
use serde_json::{Value, json};

async fn legacy_rest() -> String {
    let app = axum::Router::new()
        .route(
            "/debts/{code}",
            get(|Path(code): Path<String>| async move {
                match code.as_str() {
                    "missing" => (StatusCode::NOT_FOUND, Json(json!({"error": "no subscriber with this code"}))),
                    "refused" => (StatusCode::UNPROCESSABLE_ENTITY, Json(json!({"message": "the code is closed"}))),
                    _ => (
                        StatusCode::OK,
                        Json(json!({"subscriber": code, "debt": {"amount": 12.5, "currency": "AZN"},
                                    "bills": [{"month": "2026-01", "sum": 6.25}, {"month": "2026-02", "sum": 6.25}]})),
                    ),
                }
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                "{}"
            }),
        )
        .route("/garbage", get(|| async { "<html>maintenance</html>" }))
        .route(
            "/fail",
            get(|| async {
                (StatusCode::INTERNAL_SERVER_ERROR, "java.lang.NullPointerException\n\tat az.gov.Billing")
            }),
        )
        .route(
            "/register",
            post(|headers: HeaderMap, Json(body): Json<Value>| async move {
                let user = headers.get("x-road-userid").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                Json(json!({"number": "R-1", "fin": body["fin"], "months": body["months"], "registeredBy": user}))
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

async fn legacy_db(dir: &std::path::Path) -> String {
    sqlx::any::install_default_drivers();
    let path = dir.join("people.db");
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    sqlx::raw_sql(
        "CREATE TABLE person (fin TEXT PRIMARY KEY, name TEXT NOT NULL, born INTEGER, pension REAL);
         INSERT INTO person VALUES ('5ZX7K2P', 'Aysel Məmmədova', 1988, 310.5), ('3JH8LQ1', 'Elvin Quliyev', 1975, NULL);",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    format!("sqlite://{}", path.display())
}

fn mapping(rest: &str, db: &str, listen: &str) -> String {
    format!(
        r#"
[adapter]
name = "test-agency"
listen = "{listen}"

[[service]]
code = "waterDebt"
version = "v1"
request = {{ subscriber = {{ type = "string", max_length = 12 }} }}
rest = {{ url = "{rest}/debts/{{subscriber}}" }}
response = {{ amount = "/debt/amount", currency = "/debt/currency" }}

[[service]]
code = "waterBills"
request = {{ subscriber = "string" }}
rest = {{ url = "{rest}/debts/{{subscriber}}", items = "/bills" }}
response = {{ month = "/month", sum = "/sum" }}
repeat = "bill"

[[service]]
code = "slow"
rest = {{ url = "{rest}/slow", timeout_ms = 300 }}
response = {{ a = "/a" }}

[[service]]
code = "garbage"
rest = {{ url = "{rest}/garbage" }}
response = {{ a = "/a" }}

[[service]]
code = "failing"
rest = {{ url = "{rest}/fail" }}
response = {{ a = "/a" }}

[[service]]
code = "down"
rest = {{ url = "http://127.0.0.1:9/x", timeout_ms = 500 }}
response = {{ a = "/a" }}

[[service]]
code = "register"
request = {{ fin = "string", months = "integer" }}
rest = {{ method = "POST", url = "{rest}/register", body = {{ fin = "{{fin}}", months = "{{months}}" }} }}
response = {{ number = "/number", registeredBy = "/registeredBy", months = "/months" }}
user_required = true

[[service]]
code = "person"
version = "v1"
request = {{ fin = "string", bornAfter = {{ type = "integer", required = false }} }}
sql = {{ database = "{db}", query = "SELECT fin, name, born, pension FROM person WHERE fin = :fin AND (:bornAfter IS NULL OR born > :bornAfter)" }}
response = {{ fin = "fin", name = "name", born = "born", pension = "pension" }}
repeat = "person"

[[service]]
code = "badSql"
sql = {{ database = "{db}", query = "SELECT amount FROM nowhere" }}
response = {{ a = "amount" }}
"#
    )
}

struct World {
    adapter: RunningAdapter,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
    rest: String,
    db: String,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let rest = legacy_rest().await;
    let db = legacy_db(dir.path()).await;
    let file = dir.path().join("adapter.toml");
    let text = mapping(&rest, &db, "127.0.0.1:0");
    std::fs::write(&file, &text).unwrap();
    let adapter =
        egov_adapter::start(text, AdapterOptions { file: Some(file), admin_token: Some("s3cret-token".into()) })
            .await
            .unwrap();
    World { adapter, http: reqwest::Client::new(), _dir: dir, rest, db }
}

impl World {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.adapter.addr())
    }

    async fn soap(&self, service: &str, version: Option<&str>, user: Option<&str>, fields: &str) -> String {
        let version = version.map(|v| format!("<id:serviceVersion>{v}</id:serviceVersion>")).unwrap_or_default();
        let user = user.map(|u| format!("<xrd:userId>{u}</xrd:userId>")).unwrap_or_default();
        let envelope = format!(
            r#"<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xrd="http://x-road.eu/xsd/xroad.xsd" xmlns:id="http://x-road.eu/xsd/identifiers"><SOAP-ENV:Header>
<xrd:client id:objectType="SUBSYSTEM"><id:xRoadInstance>AZ</id:xRoadInstance><id:memberClass>GOV</id:memberClass><id:memberCode>1</id:memberCode><id:subsystemCode>portal</id:subsystemCode></xrd:client>
<xrd:service id:objectType="SERVICE"><id:xRoadInstance>AZ</id:xRoadInstance><id:memberClass>GOV</id:memberClass><id:memberCode>2</id:memberCode><id:subsystemCode>agency</id:subsystemCode><id:serviceCode>{service}</id:serviceCode>{version}</xrd:service>
<xrd:id>q-1</xrd:id>{user}<xrd:protocolVersion>4.0</xrd:protocolVersion></SOAP-ENV:Header>
<SOAP-ENV:Body><a:{service} xmlns:a="urn:egov:adapter:test-agency">{fields}</a:{service}></SOAP-ENV:Body></SOAP-ENV:Envelope>"#
        );
        let r =
            self.http.post(self.url("/soap")).header("content-type", "text/xml").body(envelope).send().await.unwrap();
        assert_eq!(r.status(), 200);
        r.text().await.unwrap().replace("&apos;", "'").replace("&quot;", "\"")
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let r = self.http.get(self.url(path)).send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap())
    }
}

#[tokio::test]
async fn soap_and_rest_sides_answer_from_rest_and_sql_back_ends() {
    let w = world().await;
    let debt = w.soap("waterDebt", Some("v1"), None, "<a:subscriber>AZS-100</a:subscriber>").await;
    assert!(debt.contains("<a:amount>12.5</a:amount><a:currency>AZN</a:currency>"), "{debt}");
    assert!(debt.contains("<xrd:id>q-1</xrd:id>"), "the X-Road header is echoed: {debt}");
    let bills = w.soap("waterBills", None, None, "<a:subscriber>AZS-100</a:subscriber>").await;
    assert_eq!(bills.matches("<a:bill>").count(), 2, "{bills}");
    let person = w.soap("person", Some("v1"), None, "<a:fin>5ZX7K2P</a:fin>").await;
    assert!(
        person.contains("<a:name>Aysel Məmmədova</a:name><a:born>1988</a:born><a:pension>310.5</a:pension>"),
        "{person}"
    );

    assert_eq!(w.get("/rest/waterDebt?subscriber=AZS-100").await, (200, json!({"amount": 12.5, "currency": "AZN"})));
    let (status, people) = w.get("/rest/person?fin=3JH8LQ1").await;
    assert_eq!((status, people), (200, json!({"person": [{"fin": "3JH8LQ1", "name": "Elvin Quliyev", "born": 1975}]})));
    assert_eq!(w.get("/rest/person?fin=3JH8LQ1&bornAfter=1980").await, (200, json!({"person": []})));

    let r = w
        .http
        .post(w.url("/rest/register"))
        .header("x-road-userid", "AZ1234567")
        .json(&json!({"fin": "5ZX7K2P", "months": 6}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"number": "R-1", "registeredBy": "AZ1234567", "months": 6}));
    let signed = w.soap("register", None, Some("AZ1234567"), "<a:fin>5ZX7K2P</a:fin><a:months>6</a:months>").await;
    assert!(signed.contains("<a:registeredBy>AZ1234567</a:registeredBy>"), "{signed}");
}

#[tokio::test]
async fn generated_descriptions_match_the_mapping() {
    let w = world().await;
    let wsdl = w.http.get(w.url("/wsdl")).send().await.unwrap().text().await.unwrap();
    let info = egov_xroad::wsdl::parse(&wsdl).unwrap();
    assert_eq!(info.operations.len(), 9);
    assert_eq!(info.address, Some(w.url("/soap")));
    let (status, openapi) = w.get("/openapi/register").await;
    assert_eq!(status, 200);
    assert_eq!(openapi["servers"][0]["url"], w.url("/rest/register"));
    assert!(openapi["paths"]["/"]["post"]["requestBody"].is_object());
    assert_eq!(w.get("/openapi/nothing").await.0, 404);
}

#[tokio::test]
async fn every_bad_input_is_a_fault_naming_the_field_or_cause() {
    let w = world().await;
    let soap_cases = [
        ("waterDebt", Some("v1"), None, "", "Client.InvalidField", "field 'subscriber': is required"),
        (
            "waterDebt",
            Some("v1"),
            None,
            "<a:subscriber>AZS-100-TOO-LONG</a:subscriber>",
            "Client.InvalidField",
            "longer than 12",
        ),
        (
            "waterDebt",
            Some("v1"),
            None,
            "<a:subscriber>A</a:subscriber><a:colour>red</a:colour>",
            "Client.InvalidField",
            "field 'colour'",
        ),
        (
            "waterDebt",
            Some("v1"),
            None,
            "<a:subscriber><b>x</b></a:subscriber>",
            "Client.InvalidField",
            "must hold text",
        ),
        ("waterDebt", None, None, "<a:subscriber>A</a:subscriber>", "Client.UnknownService", "no service"),
        (
            "waterDebt",
            Some("v1"),
            None,
            "<a:subscriber>missing</a:subscriber>",
            "Client.NotFound",
            "no subscriber with this code",
        ),
        (
            "waterDebt",
            Some("v1"),
            None,
            "<a:subscriber>refused</a:subscriber>",
            "Client.BackendRefused",
            "HTTP 422): the code is closed",
        ),
        (
            "register",
            None,
            None,
            "<a:fin>X</a:fin><a:months>six</a:months>",
            "Client.InvalidField",
            "field 'months': \"six\" is not a whole number",
        ),
        ("register", None, None, "<a:fin>X</a:fin><a:months>6</a:months>", "Client.UserRequired", "signing user"),
        ("slow", None, None, "", "Server.BackendTimeout", "within 300 ms"),
        ("garbage", None, None, "", "Server.BackendInvalidResponse", "not JSON"),
        ("failing", None, None, "", "Server.BackendFailed", "HTTP 500"),
        ("down", None, None, "", "Server.BackendUnavailable", "not reachable"),
        ("badSql", None, None, "", "Server.BackendFailed", "no such table: nowhere"),
        (
            "person",
            Some("v1"),
            None,
            "<a:fin>X</a:fin><a:bornAfter>1980.5</a:bornAfter>",
            "Client.InvalidField",
            "bornAfter",
        ),
    ];
    for (service, version, user, fields, code, message) in soap_cases {
        let started = std::time::Instant::now();
        let answer = w.soap(service, version, user, fields).await;
        assert!(answer.contains(&format!("<faultcode>{code}</faultcode>")), "{service} {fields}: {answer}");
        assert!(answer.contains(message), "{service} {fields}: wanted {message:?} in {answer}");
        for leak in ["127.0.0.1", "java.lang", "sqlite:", &w.rest, &w.db] {
            assert!(!answer.contains(leak), "{service}: the fault leaks {leak}: {answer}");
        }
        assert!(started.elapsed() < Duration::from_secs(2), "{service}: answered within the 2 s budget (TT-5.3)");
    }
    let rest_cases = [
        ("/rest/waterDebt", 400, "field 'subscriber': is required"),
        ("/rest/waterDebt?subscriber=missing", 404, "no subscriber"),
        ("/rest/slow", 504, "within 300 ms"),
        ("/rest/down", 502, "not reachable"),
        ("/rest/nothing", 404, "no service nothing"),
        ("/rest/register?fin=X", 400, "takes POST"),
    ];
    for (path, status, message) in rest_cases {
        let (got, body) = w.get(path).await;
        assert_eq!(got, status, "{path}: {body}");
        assert!(body["message"].as_str().unwrap().contains(message), "{path}: {body}");
        assert!(body["detail"].is_string());
    }
    let r = w.http.post(w.url("/rest/register")).body("{not json").send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("not JSON"));
    let garbage = w.http.post(w.url("/soap")).body("<<<").send().await.unwrap().text().await.unwrap();
    assert!(garbage.contains("Client.InvalidRequest"), "{garbage}");
}

#[tokio::test]
async fn a_pushed_mapping_replaces_the_old_and_can_move_the_adapter() {
    let w = world().await;
    let old = w.adapter.addr();
    assert_eq!(w.get("/rest/waterDebt?subscriber=AZS-100-TOO-LONG").await.0, 400);
    let text = mapping(&w.rest, &w.db, "127.0.0.1:0").replace("max_length = 12", "max_length = 20");
    assert!(egov_adapter::push(&w.url(""), "wrong", &text, None).await.unwrap_err().to_string().contains("401"));
    let broken = text.replace("code = \"slow\"", "code = \"slow\"\nsurprise = 1");
    let refused = egov_adapter::push(&w.url(""), "s3cret-token", &broken, None).await.unwrap_err().to_string();
    assert!(refused.contains(":22: unknown field `surprise`"), "{refused}");
    egov_adapter::push(&w.url(""), "s3cret-token", &text, None).await.unwrap();
    assert_eq!(w.adapter.addr(), old, "port 0 keeps the current port");
    assert_eq!(w.get("/rest/waterDebt?subscriber=AZS-100-TOO-LONG").await.0, 200, "the new limit is in force");

    // the administrator moves the adapter to another address (TT-4.2)
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let moved = text.replace("127.0.0.1:0", &free.to_string());
    egov_adapter::push(&format!("http://{old}"), "s3cret-token", &moved, None).await.unwrap();
    assert_eq!(w.adapter.addr(), free);
    assert_eq!(w.get("/rest/waterDebt?subscriber=AZS-100").await.0, 200);
    assert!(w.adapter.runtime().wsdl.contains(&format!("http://{free}/soap")));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(reqwest::get(format!("http://{old}/health")).await.is_err(), "the old address is closed");
    let saved = std::fs::read_to_string(w._dir.path().join("adapter.toml")).unwrap();
    assert_eq!(saved, moved, "the file holds what was pushed");
    #[cfg(unix)]
    {
        // it names databases' connection strings: the owner's only (issue 13, item 10)
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(w._dir.path().join("adapter.toml")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[tokio::test]
async fn the_adapter_serves_https_when_its_mapping_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let rest = legacy_rest().await;
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap().self_signed(&key).unwrap();
    std::fs::write(dir.path().join("cert.pem"), cert.pem()).unwrap();
    std::fs::write(dir.path().join("key.pem"), key.serialize_pem()).unwrap();
    let text = format!(
        "[adapter]\nname = \"secure\"\nlisten = \"127.0.0.1:0\"\nurl = \"https://localhost:1\"\ntls = {{ certificate = \"{}\", key = \"{}\" }}\n\n\
[[service]]\ncode = \"waterDebt\"\nrequest = {{ subscriber = \"string\" }}\nrest = {{ url = \"{rest}/debts/{{subscriber}}\" }}\nresponse = {{ amount = \"/debt/amount\" }}\n",
        dir.path().join("cert.pem").display(),
        dir.path().join("key.pem").display()
    );
    let adapter = egov_adapter::start(text, AdapterOptions::default()).await.unwrap();
    let port = adapter.addr().port();
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(cert.pem().as_bytes()).unwrap()])
        .resolve("localhost", adapter.addr())
        .build()
        .unwrap();
    let r = client.get(format!("https://localhost:{port}/rest/waterDebt?subscriber=A")).send().await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"amount": 12.5}));
    assert!(
        reqwest::get(format!("http://127.0.0.1:{port}/health")).await.is_err(),
        "no plain HTTP on an HTTPS adapter"
    );
    adapter.stop().await;
}

/// The SQL back end on PostgreSQL: bound parameters, a READ ONLY transaction that refuses
/// even a writing query the mapping's checks let through, and the statement timeout.
#[tokio::test]
async fn postgres_queries_are_read_only_and_cut_off_in_time() {
    let Some(url) = egov_store::test_postgres_url("adapter::postgres_queries_are_read_only_and_cut_off_in_time").await
    else {
        return;
    };
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    sqlx::raw_sql(
        "CREATE TABLE disability (fin TEXT PRIMARY KEY, grp TEXT NOT NULL, since DATE NOT NULL);
         INSERT INTO disability VALUES ('5ZX7K2P', 'II', '2019-04-01'), ('3JH8LQ1', 'I', '2011-09-15');",
    )
    .execute(&pool)
    .await
    .unwrap();
    let text = format!(
        r#"[adapter]
name = "labour"
listen = "127.0.0.1:0"

[[service]]
code = "status"
request = {{ fin = "string", since = {{ type = "date", required = false }} }}
sql = {{ database = "{url}", query = "SELECT fin, grp, since::text AS since FROM disability WHERE fin = :fin AND (:since::date IS NULL OR since >= :since::date)" }}
response = {{ fin = "fin", group = "grp", since = "since" }}

[[service]]
code = "sneaky"
sql = {{ database = "{url}", query = "WITH gone AS (DELETE FROM disability RETURNING fin) SELECT fin FROM gone" }}
response = {{ fin = "fin" }}

[[service]]
code = "sleepy"
sql = {{ database = "{url}", query = "SELECT pg_sleep(3)::text AS slept", timeout_ms = 300 }}
response = {{ slept = "slept" }}
"#
    );
    let adapter = egov_adapter::start(text, AdapterOptions::default()).await.unwrap();
    let get = |path: &str| {
        let url = format!("http://{}{path}", adapter.addr());
        async move {
            let r = reqwest::get(url).await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    assert_eq!(
        get("/rest/status?fin=5ZX7K2P").await,
        (200, json!({"row": [{"fin": "5ZX7K2P", "group": "II", "since": "2019-04-01"}]}))
    );
    assert_eq!(get("/rest/status?fin=5ZX7K2P&since=2020-01-01").await, (200, json!({"row": []})));
    let (status, body) = get("/rest/sneaky").await;
    assert_eq!(status, 502, "{body}");
    assert!(body["message"].as_str().unwrap().contains("read-only transaction"), "{body}");
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM disability").fetch_one(&pool).await.unwrap();
    assert_eq!(left, 2, "nothing was deleted");
    let started = std::time::Instant::now();
    let (status, body) = get("/rest/sleepy").await;
    assert_eq!(status, 504, "{body}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(!body.to_string().contains("postgres://"), "{body}");
    adapter.stop().await;
    pool.close().await;
    egov_store::drop_test_database(&url).await;
}
