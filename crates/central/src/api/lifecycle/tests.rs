use super::*;
use crate::api::tls::Caller;
use axum::Extension;
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const OPENAPI: &str = include_str!("../../../openapi.json");

/// Every route served is described in openapi.json, with its audience, and every
/// `{param}` of its path is declared.
#[test]
fn every_route_is_in_openapi() {
    let doc: Value = serde_json::from_str(OPENAPI).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut endpoints = endpoints();
    assert_eq!(endpoints.len(), 35);
    // the registry's admin routes and the public listener's routes are described too
    endpoints.extend(crate::api::admin::endpoints());
    endpoints.extend(crate::api::public::endpoints());
    for e in &endpoints {
        let method = e.method.as_str().to_ascii_lowercase();
        let op = &doc["paths"][e.path][&method];
        assert!(op.is_object(), "{} {} is missing from openapi.json", e.method.as_str(), e.path);
        let audience = match e.audience {
            Audience::Public => "public",
            Audience::Operator => "operator",
            Audience::SecurityServer => "security-server",
        };
        assert_eq!(op["x-audience"], audience, "{} {}", e.method.as_str(), e.path);
        let declared: Vec<String> = op["parameters"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .map(|p| match p["$ref"].as_str() {
                        Some(r) => doc["components"]["parameters"][r.rsplit('/').next().unwrap()].clone(),
                        None => p.clone(),
                    })
                    .filter(|p| p["in"] == "path")
                    .map(|p| p["name"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default();
        for segment in e.path.split('/').filter(|s| s.starts_with('{')) {
            let name = segment.trim_matches(|c| c == '{' || c == '}');
            assert!(
                declared.iter().any(|d| d == name),
                "{} {}: path parameter {name} undeclared",
                e.method.as_str(),
                e.path
            );
        }
    }
    // every $ref resolves
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r.clone());
                }
                m.values().for_each(|v| refs(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    for r in all {
        let pointer = r.trim_start_matches('#');
        assert!(doc.pointer(pointer).is_some(), "unresolved $ref {r}");
    }
}

#[test]
fn audiences_split_the_routes() {
    let public: Vec<&str> =
        endpoints().into_iter().filter(|e| e.audience == Audience::Public).map(|e| e.path).collect();
    assert_eq!(public, ["/api/v1/calendar.ics", "/api/v1/calendar.json"]);
    let _ = routes_for::<CentralStore>(Audience::Public);
}

struct Answer {
    status: u16,
    content_type: String,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    fn error(&self) -> String {
        self.json()["error"].as_str().unwrap_or_else(|| panic!("no error field: {}", self.body)).to_owned()
    }
}

/// One HTTP/1.1 exchange over a fresh connection.
async fn call(addr: std::net::SocketAddr, method: &str, path: &str, body: Option<&Value>) -> Answer {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let body = body.map(|b| b.to_string());
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: central\r\nConnection: close\r\nX-Egov-Actor: tester\r\n");
    match &body {
        Some(b) => {
            request.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{b}", b.len()))
        }
        None => request.push_str("Content-Length: 0\r\n\r\n"),
    }
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let content_type = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-type: ").map(str::to_owned))
        .unwrap_or_default();
    Answer { status, content_type, body: body.to_owned() }
}

async fn serve(router: Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

fn contract_terms() -> Value {
    json!({
        "authorised_officials": [{"name": "Rashad Aliyev", "position": "deputy minister"}],
        "provided_services": ["getPerson"],
        "server_administrator": {"name": "Anar Mammadov", "role": "technical", "email": "anar@example.az"},
        "restricted_data_rules": "Personal data only as the regulation allows."
    })
}

#[tokio::test]
async fn application_approve_block_notices_calendar() {
    let dir = tempfile::tempdir().unwrap();
    let store = CentralStore::open(&egov_store::sqlite_url(&dir.path().join("central.db"))).await.unwrap();
    let addr = serve(routes::<CentralStore>().with_state(store)).await;
    let member = "AZ%2FGOV%2F1400000001";

    // bad input: clear 400s
    let a = call(addr, "POST", "/api/v1/applications", Some(&json!({"member_id": "AZ/GOV/1400000001"}))).await;
    assert_eq!(a.status, 400);
    assert!(a.error().contains("missing field"), "{}", a.error());
    let a = call(addr, "POST", "/api/v1/applications", None).await;
    assert_eq!(a.status, 400);
    assert!(a.error().contains("Content-Type"), "{}", a.error());
    let mut form =
        serde_json::to_value(crate::lifecycle::participants::tests::sample_form("AZ/GOV/1400000001")).unwrap();
    form["tax_id"] = "12345".into();
    let a = call(addr, "POST", "/api/v1/applications", Some(&form)).await;
    assert_eq!((a.status, a.error().contains("must be exactly 10 digits")), (400, true));

    // the application
    form["tax_id"] = "1400000001".into();
    let a = call(addr, "POST", "/api/v1/applications", Some(&form)).await;
    assert_eq!(a.status, 201, "{}", a.body);
    let app = a.json();
    assert_eq!(app["state"], "submitted");
    assert_eq!(app["overdue"], false);
    let id = app["id"].as_str().unwrap().to_owned();
    let a = call(addr, "GET", "/api/v1/applications?state=submitted", None).await;
    assert_eq!(a.json().as_array().unwrap().len(), 1);
    let a = call(addr, "GET", "/api/v1/applications?state=bogus", None).await;
    assert_eq!((a.status, a.error().contains("unknown application state 'bogus'")), (400, true));
    let a = call(addr, "GET", "/api/v1/applications/nope", None).await;
    assert_eq!((a.status, a.error()), (404, "application nope does not exist".to_owned()));

    // approve: contract, member active
    let a = call(addr, "POST", &format!("/api/v1/applications/{id}/approve"), Some(&contract_terms())).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.json()["concluded_by"], "tester");
    assert_eq!(a.json()["member_id"], "AZ/GOV/1400000001");
    let a = call(addr, "POST", &format!("/api/v1/applications/{id}/approve"), Some(&contract_terms())).await;
    assert_eq!(a.status, 409);
    let a = call(addr, "GET", &format!("/api/v1/members/{member}/contract"), None).await;
    assert_eq!(a.status, 200);

    // block at once
    let a =
        call(addr, "POST", &format!("/api/v1/members/{member}/block"), Some(&json!({"reason": "Personal data leak"})))
            .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.json()["state"], "blocked");
    let a = call(addr, "POST", &format!("/api/v1/members/{member}/block"), Some(&json!({"reason": "again"}))).await;
    assert_eq!((a.status, a.error().contains("already blocked")), (409, true));
    let a = call(addr, "POST", "/api/v1/members/AZ%2FGOV/block", Some(&json!({"reason": "x"}))).await;
    assert_eq!((a.status, a.error().contains("percent-encode")), (400, true));
    let a = call(addr, "POST", "/api/v1/members/AZ%2FGOV%2F9/block", Some(&json!({"reason": "x"}))).await;
    assert_eq!(a.status, 404);
    let a = call(addr, "GET", &format!("/api/v1/members/{member}/history"), None).await;
    let actions: Vec<String> =
        a.json().as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect();
    assert_eq!(actions, ["applied", "approved", "blocked"]);

    // maintenance: 48 hours' notice (P-5.1.7)
    let now = OffsetDateTime::now_utc();
    let window = |start: OffsetDateTime| {
        json!({
            "announced_by": "AZ/GOV/1400000001",
            "title": "Registry upgrade",
            "description": "Planned upgrade; the registry is unavailable.",
            "starts_at": crate::lifecycle::timefmt::format_instant(start),
            "ends_at": crate::lifecycle::timefmt::format_instant(start + Duration::hours(2)),
        })
    };
    let a = call(addr, "POST", "/api/v1/maintenance", Some(&window(now + Duration::hours(1)))).await;
    assert_eq!((a.status, a.error().contains("at least 48 hours")), (400, true));
    let a = call(addr, "POST", "/api/v1/maintenance", Some(&window(now + Duration::days(3)))).await;
    assert_eq!(a.status, 201, "{}", a.body);

    // notices of the member, newest first
    let a = call(addr, "GET", "/api/v1/notices?member=AZ/GOV/1400000001", None).await;
    let kinds: Vec<String> =
        a.json().as_array().unwrap().iter().map(|n| n["kind"].as_str().unwrap().to_owned()).collect();
    assert_eq!(kinds, ["maintenance", "block", "decision"]);
    let a = call(addr, "GET", "/api/v1/notices?member=nonsense", None).await;
    assert_eq!(a.status, 400);

    // the calendars
    let a = call(addr, "GET", "/api/v1/calendar.ics", None).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.content_type, "text/calendar; charset=utf-8");
    assert!(a.body.starts_with("BEGIN:VCALENDAR\r\n") && a.body.ends_with("END:VCALENDAR\r\n"));
    assert_eq!(a.body.matches("BEGIN:VEVENT\r\n").count(), 1);
    assert!(a.body.contains("SUMMARY:Registry upgrade\r\n"));
    let a = call(addr, "GET", "/api/v1/calendar.json", None).await;
    assert_eq!(a.json()["events"][0]["kind"], "maintenance");
    let a = call(addr, "GET", "/api/v1/calendar.ics?since=yesterday", None).await;
    assert_eq!((a.status, a.error().contains("since 'yesterday'")), (400, true));

    // unblock without a body
    let a = call(addr, "POST", &format!("/api/v1/members/{member}/unblock"), None).await;
    assert_eq!((a.status, a.json()["state"].clone()), (200, json!("active")));

    // holidays
    let a = call(addr, "POST", "/api/v1/holidays/seed", Some(&json!({"year": 2027}))).await;
    assert_eq!(a.json()["added"], 15);
    let a = call(addr, "GET", "/api/v1/holidays?year=2027", None).await;
    assert_eq!(a.json().as_array().unwrap().len(), 15);
    let a =
        call(addr, "POST", "/api/v1/holidays", Some(&json!({"date": "2027-03-10", "name": "Ramazan bayramı"}))).await;
    assert_eq!(a.status, 201);
    assert_eq!(call(addr, "DELETE", "/api/v1/holidays/2027-03-10", None).await.status, 204);
    assert_eq!(call(addr, "DELETE", "/api/v1/holidays/2027-03-10", None).await.status, 404);
    assert_eq!(call(addr, "DELETE", "/api/v1/holidays/10.03.2027", None).await.status, 400);

    // services of an environment
    let a = call(addr, "GET", "/api/v1/services?environment=test", None).await;
    assert_eq!(a.json(), json!([]));
    assert_eq!(call(addr, "GET", "/api/v1/services", None).await.status, 400);

    // incidents
    let report = json!({
        "kind": "replay", "occurred_at": crate::lifecycle::timefmt::format_instant(now),
        "reporter": "AZ/GOV/1400000001/ss1", "client_id": "AZ/GOV/1400000002/portal",
        "service_id": "AZ/GOV/1400000001/registry/getPerson/v1", "reason": "replayed message id"
    });
    assert_eq!(call(addr, "POST", "/api/v1/incidents", Some(&report)).await.status, 201);
    let a = call(addr, "GET", "/api/v1/incidents?kind=replay&member=AZ/GOV/1400000001", None).await;
    assert_eq!(a.json().as_array().unwrap().len(), 1);
    let a = call(addr, "GET", "/api/v1/incidents?kind=bogus", None).await;
    assert_eq!((a.status, a.error().contains("unknown incident kind 'bogus'")), (400, true));
    let a = call(addr, "GET", "/api/v1/incidents?limit=many", None).await;
    assert_eq!(a.status, 400);
}

#[tokio::test]
async fn a_security_server_reports_only_as_itself() {
    let dir = tempfile::tempdir().unwrap();
    let store = CentralStore::open(&egov_store::sqlite_url(&dir.path().join("central.db"))).await.unwrap();
    let me: egov_xroad::SecurityServerId = "AZ/GOV/1400000001/ss1".parse().unwrap();
    let router = routes::<CentralStore>().layer(Extension(Caller::SecurityServer(me))).with_state(store);
    let addr = serve(router).await;
    let report = |reporter: &str| {
        json!({
            "kind": "signature-failure", "occurred_at": crate::lifecycle::timefmt::format_instant(OffsetDateTime::now_utc()),
            "reporter": reporter, "client_id": "AZ/GOV/1400000002", "reason": "bad signature"
        })
    };
    let a = call(addr, "POST", "/api/v1/incidents", Some(&report("AZ/GOV/1400000009/ss9"))).await;
    assert_eq!((a.status, a.error().contains("only as itself")), (403, true));
    assert_eq!(call(addr, "POST", "/api/v1/incidents", Some(&report("AZ/GOV/1400000001/ss1"))).await.status, 201);
}
