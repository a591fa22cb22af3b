//! The monitoring station against fake security servers on loopback (TT-2.6, TT-2.7):
//! background polling with paging and a persisted cursor, the dashboard in three languages,
//! Prometheus metrics, the monthly usage export (each exchange once, even when both its
//! servers are watched), and servers that refuse the token, answer nonsense or cannot be
//! reached. The whole scenario runs on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::Query;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use egov_monitor::{ServerEntry, StationConfig};
use egov_xroad::opmon::{
    CertificateHealth, DiskHealth, HealthData, OperationalData, OperationalRecord, QueueDepths, ServerType,
};

const TOKEN: &str = "monitor-token";
/// A token the fake servers know, of a holder whose role is not `monitor`.
const OPERATOR_TOKEN: &str = "operator-token";
const PERSON: &str = "AZ/GOV/1/reg/person";
const NAMES: &str = "AZ/GOV/1/reg/names";
const PAYMENTS: &str = "AZ/GOV/4/sspf/payments";
const HOSTILE: &str = "AZ/GOV/1/reg/<script>alert(\"x,y\")</script>";
const PORTAL: &str = "AZ/GOV/2/portal";
const TAX: &str = "AZ/GOV/3/tax";

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// The time every record is given: half a minute ago (one month, whatever the clock says,
/// except in the first half minute of a month, which `month_of_records` accounts for).
fn base_ms() -> i64 {
    static BASE: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    *BASE.get_or_init(|| now_ms() - 30_000)
}

fn month_of_records() -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(base_ms() / 1000).unwrap();
    format!("{:04}-{:02}", t.year(), u8::from(t.month()))
}

struct Exchange {
    id: i64,
    side: ServerType,
    service: &'static str,
    client: &'static str,
    ok: bool,
    duration: i64,
    request_id: Option<&'static str>,
}

fn record(e: Exchange) -> OperationalRecord {
    let t = base_ms() + e.id;
    OperationalRecord {
        record_id: e.id,
        monitoring_data_ts: t / 1000,
        security_server_id: "AZ/GOV/1/ss".into(),
        security_server_type: e.side,
        request_in_ts: t - e.duration,
        request_out_ts: None,
        response_in_ts: None,
        response_out_ts: t,
        client: Some(e.client.into()),
        service: Some(e.service.into()),
        message_id: Some(format!("m{}", e.id)),
        x_request_id: e.request_id.map(Into::into),
        service_type: "REST".into(),
        rest_method: Some("GET".into()),
        request_size: 10,
        response_size: 20,
        succeeded: e.ok,
        fault_code: (!e.ok).then(|| "Server.ServerProxy.AccessDenied".into()),
        status_code: None,
    }
}

fn producer(
    id: i64,
    service: &'static str,
    client: &'static str,
    ok: bool,
    duration: i64,
    rid: &'static str,
) -> OperationalRecord {
    record(Exchange { id, side: ServerType::Producer, service, client, ok, duration, request_id: Some(rid) })
}

fn consumer(id: i64, service: &'static str, ok: bool, duration: i64, rid: Option<&'static str>) -> OperationalRecord {
    record(Exchange { id, side: ServerType::Client, service, client: PORTAL, ok, duration, request_id: rid })
}

/// A fake security server's monitoring interface.
#[derive(Clone)]
struct Fake {
    url: String,
    records: Arc<Mutex<Vec<OperationalRecord>>>,
    /// Every `after=` it was asked for.
    afters: Arc<Mutex<Vec<i64>>>,
}

impl Fake {
    fn push(&self, r: OperationalRecord) {
        self.records.lock().unwrap().push(r);
    }
    fn afters(&self) -> Vec<i64> {
        self.afters.lock().unwrap().clone()
    }
}

#[derive(Clone)]
struct Setup {
    server_id: &'static str,
    certificates: Vec<CertificateHealth>,
    refusing: Option<&'static str>,
    /// Answer 200 with something that is not the data.
    garbage: bool,
}

fn certificate(usage: &str, not_after: i64, ocsp: &str) -> CertificateHealth {
    CertificateHealth {
        usage: usage.into(),
        serial: format!("{usage}-01"),
        not_after,
        ocsp_status: Some(ocsp.into()),
        ocsp_produced_at: Some(not_after - 86_400 * 365),
    }
}

/// Serves health and operational data (pages of 2) to `Bearer monitor-token`; 403 to the
/// operator's token, 401 to anything else.
async fn fake_server(setup: Setup, records: Vec<OperationalRecord>) -> Fake {
    let now = now_ms() / 1000;
    let health = HealthData {
        security_server_id: setup.server_id.into(),
        taken_at: now,
        monitoring_startup_timestamp: (now - 42) * 1000,
        statistics_period_seconds: 600,
        uptime_seconds: 3 * 86_400 + 4 * 3600,
        global_conf_serial: 7,
        global_conf_age_seconds: 125,
        global_conf_expires_at: Some(now + 3600),
        certificates: setup.certificates.clone(),
        disk: Some(DiskHealth { path: "/var/lib/egov".into(), free_bytes: 512 << 20, total_bytes: 1 << 30 }),
        queues: QueueDepths { message_log_writer: 4, timestamp_pending: 17, incidents: 1 },
        timestamp_lag_seconds: 3,
        refusing_traffic: setup.refusing.map(Into::into),
        services_events: vec![],
    };
    let fake =
        Fake { url: String::new(), records: Arc::new(Mutex::new(records)), afters: Arc::new(Mutex::new(Vec::new())) };
    let check = |h: &HeaderMap| -> Result<(), (StatusCode, String)> {
        match h.get("authorization").and_then(|v| v.to_str().ok()) {
            Some(v) if v == format!("Bearer {TOKEN}") => Ok(()),
            Some(v) if v == format!("Bearer {OPERATOR_TOKEN}") => {
                Err((StatusCode::FORBIDDEN, "role operator may not read monitoring data".into()))
            }
            _ => Err((StatusCode::UNAUTHORIZED, "unknown token".into())),
        }
    };
    let garbage = setup.garbage;
    let (records, afters) = (fake.records.clone(), fake.afters.clone());
    let app = axum::Router::new()
        .route(
            "/monitoring/v1/health",
            get(move |h: HeaderMap| {
                let health = health.clone();
                async move {
                    check(&h)?;
                    if garbage {
                        return Ok::<_, (StatusCode, String)>((StatusCode::OK, "<html>proxy login</html>".to_owned()));
                    }
                    Ok((StatusCode::OK, serde_json::to_string(&health).unwrap()))
                }
            }),
        )
        .route(
            "/monitoring/v1/operational",
            get(move |h: HeaderMap, Query(q): Query<BTreeMap<String, String>>| {
                let (records, afters) = (records.clone(), afters.clone());
                async move {
                    check(&h)?;
                    let after: i64 = q.get("after").unwrap().parse().unwrap();
                    let limit: usize = q.get("limit").unwrap().parse().unwrap();
                    assert!(limit <= 10_000);
                    afters.lock().unwrap().push(after);
                    let rest: Vec<_> =
                        records.lock().unwrap().iter().filter(|r| r.record_id > after).cloned().collect();
                    let page: Vec<_> = rest.iter().take(2.min(limit)).cloned().collect();
                    let next_after = (rest.len() > page.len()).then(|| page.last().unwrap().record_id);
                    let data = OperationalData { records_count: page.len(), records: page, next_after };
                    Ok::<_, (StatusCode, String)>((StatusCode::OK, serde_json::to_string(&data).unwrap()))
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Fake { url: format!("http://{addr}"), ..fake }
}

async fn http_get(url: &str) -> (u16, String) {
    let r = reqwest::get(url).await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// A loopback address nothing listens on.
async fn closed_port() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

fn entry(name: &str, url: &str, token: &str) -> ServerEntry {
    ServerEntry { name: name.into(), url: url.into(), token: token.into() }
}

fn config(database: &str, servers: Vec<ServerEntry>) -> StationConfig {
    StationConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        database: Some(database.into()),
        poll_interval_secs: 1,
        certificate_warning_days: 30,
        servers,
        base_dir: Default::default(),
    }
}

/// Waits until `done` holds of the station's status.
async fn wait_for(
    station: &egov_monitor::RunningStation,
    what: &str,
    done: impl Fn(&BTreeMap<String, egov_monitor::poller::ServerStatus>) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = station.state.snapshot();
        if done(&status) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}: {status:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn line_value(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|l| l.strip_prefix(series).and_then(|v| v.strip_prefix(' ')).map(|v| v.parse().unwrap()))
}

async fn station_works(database: String) {
    let now = now_ms() / 1000;
    let justice = fake_server(
        Setup {
            server_id: "AZ/GOV/1/ss-justice",
            // expires in 9 days and some hours: flagged; the auth certificate is fine
            certificates: vec![
                certificate("sign", now + 10 * 86_400 - 3600, "good"),
                certificate("auth", now + 400 * 86_400, "good"),
            ],
            refusing: None,
            garbage: false,
        },
        vec![
            producer(1, PERSON, PORTAL, true, 10, "r1"),
            producer(2, PERSON, PORTAL, true, 30, "r2"),
            producer(3, PERSON, TAX, false, 50, "r3"),
            producer(4, HOSTILE, PORTAL, true, 5, "r4"),
            producer(5, NAMES, PORTAL, true, 7, "r5"),
        ],
    )
    .await;
    // the portal's server: the consumer's side of r1 and r2, and two exchanges with a provider
    // the station does not watch (one without a request id)
    let portal = fake_server(
        Setup {
            server_id: "AZ/GOV/2/ss-portal",
            certificates: vec![certificate("sign", now + 400 * 86_400, "revoked")],
            refusing: Some("time-stamping has failed for 610 s"),
            garbage: false,
        },
        vec![
            consumer(1, PERSON, true, 15, Some("r1")),
            consumer(2, PERSON, true, 35, Some("r2")),
            consumer(3, PAYMENTS, false, 100, Some("r9")),
            consumer(4, PAYMENTS, true, 20, None),
        ],
    )
    .await;
    let quiet = |id| Setup { server_id: id, certificates: vec![], refusing: None, garbage: false };
    let wrong = fake_server(quiet("AZ/GOV/5/ss-a"), vec![]).await;
    let forbidden = fake_server(quiet("AZ/GOV/5/ss-b"), vec![]).await;
    let garbage = fake_server(Setup { garbage: true, ..quiet("AZ/GOV/5/ss-c") }, vec![]).await;
    let offline = closed_port().await;
    let servers = vec![
        entry("justice", &justice.url, TOKEN),
        entry("portal-ss", &portal.url, TOKEN),
        entry("wrong-token", &wrong.url, "nope"),
        entry("forbidden", &forbidden.url, OPERATOR_TOKEN),
        entry("garbage", &garbage.url, TOKEN),
        entry("offline", &offline, TOKEN),
    ];
    let station = egov_monitor::start(config(&database, servers.clone()), None).await.unwrap();
    let base = format!("http://{}", station.addr);

    // the pollers run on their own, each server on its own
    wait_for(&station, "every server polled and every record stored", |s| {
        s.values().all(|v| v.last_poll_ms.is_some())
            && s["justice"].records_collected == 5
            && s["portal-ss"].records_collected == 4
    })
    .await;
    assert_eq!(&justice.afters()[..3], [0, 2, 4], "pages of 2 follow nextAfter");
    let status = station.state.snapshot();
    assert!(status["justice"].up() && status["portal-ss"].up());
    assert_eq!(status["justice"].cursor, 5);
    let reason = |name: &str| status[name].error.clone().unwrap_or_default();
    assert!(!status["wrong-token"].up() && reason("wrong-token").contains("HTTP 401"), "{}", reason("wrong-token"));
    assert!(reason("wrong-token").contains("unknown token"), "the server's own words are kept");
    assert!(reason("forbidden").contains("HTTP 403") && reason("forbidden").contains("not a monitor"));
    assert!(reason("garbage").contains("unreadable answer to /monitoring/v1/health"), "{}", reason("garbage"));
    assert!(reason("offline").starts_with("unreachable:"), "{}", reason("offline"));
    assert!(reason("offline").to_lowercase().contains("refused"), "the cause is named: {}", reason("offline"));

    // polling again stores nothing twice
    station.state.poll_all().await;
    assert_eq!(station.state.snapshot()["justice"].records_collected, 5);

    // dashboard, three languages
    let (code, html) = http_get(&format!("{base}/?lang=en")).await;
    assert_eq!(code, 200);
    assert!(html.starts_with("<!DOCTYPE html><html lang=\"en\">"), "{html}");
    for needle in [
        "<title>Monitoring station</title>",
        "<a class=\"skip\" href=\"#main\">Skip to main content</a>",
        "<main id=\"main\"",
        "<h2 id=\"servers\">Security servers</h2>",
        "<th scope=\"col\">Status</th>",
        "<th scope=\"row\">justice</th>",
        "<meta http-equiv=\"refresh\" content=\"30\">",
        "aria-current=\"page\">English</a>",
        "sign (sign-01): certificate expires, days left: 9",
        "sign (sign-01): OCSP status: revoked",
        "Refusing traffic: time-stamping has failed for 610 s",
        "HTTP 401: the token is not accepted (unknown token)",
        "HTTP 403",
        "3 d 4 h",        // uptime
        "2 min 5 s (#7)", // global configuration age and serial
        "4 / 17 / 1",     // queues
        "512.0 MiB / 1.0 GiB (50%)",
        "<span class=\"down\">down</span>",
        "<span class=\"up\">up</span>",
        // per service, last hour, on the provider's server: 3 requests, 1 failed, p50 30, p95 and p99 50
        "<tr><th scope=\"row\">AZ/GOV/1/reg/person</th><td>justice</td><td class=\"n\">3</td><td class=\"n\">1 (33.3%)</td><td class=\"n\">30</td><td class=\"n\">50</td><td class=\"n\">50</td></tr>",
        // per client, last 24 hours: the portal's own server
        "<tr><th scope=\"row\">AZ/GOV/2/portal</th><td>portal-ss</td><td class=\"n\">4</td><td class=\"n\">1 (25.0%)</td>",
    ] {
        assert!(html.contains(needle), "{needle:?} missing from {html}");
    }
    assert!(!html.contains("auth (auth-01)"), "a certificate far from expiry is not flagged");
    assert!(!html.contains("<script>") && html.contains("&lt;script&gt;alert(&quot;x,y&quot;)&lt;/script&gt;"));
    let (_, az) = http_get(&format!("{base}/")).await;
    assert!(az.contains("<html lang=\"az\">") && az.contains("Təhlükəsizlik serverləri") && az.contains("əlçatmazdır"));
    assert!(az.contains("sertifikatın müddəti bitir, qalan gün: 9") && !az.contains("<script>"));
    let (_, ru) = http_get(&format!("{base}/?lang=ru")).await;
    assert!(ru.contains("<html lang=\"ru\">") && ru.contains("Серверы безопасности") && ru.contains("недоступен"));
    assert!(ru.contains("3 д 4 ч") && !ru.contains("<script>"));
    let (_, quiet_page) = http_get(&format!("{base}/?lang=en&refresh=off")).await;
    assert!(!quiet_page.contains("http-equiv=\"refresh\"") && quiet_page.contains("Turn on automatic refresh"));
    let (_, unknown) = http_get(&format!("{base}/?lang=%3Cscript%3E")).await;
    assert!(unknown.contains("<html lang=\"az\">"), "an unknown language falls back to Azerbaijani");

    // metrics
    let (code, metrics) = http_get(&format!("{base}/metrics")).await;
    assert_eq!(code, 200);
    let value = |series: &str| line_value(&metrics, series).unwrap_or_else(|| panic!("{series} missing: {metrics}"));
    for (server, up) in [("justice", 1.0), ("portal-ss", 1.0), ("wrong-token", 0.0), ("garbage", 0.0), ("offline", 0.0)]
    {
        assert_eq!(value(&format!("egov_server_up{{server=\"{server}\"}}")), up, "{server}");
    }
    assert_eq!(
        value(&format!(
            "egov_requests_total{{server=\"justice\",service=\"{PERSON}\",client=\"{PORTAL}\",succeeded=\"true\"}}"
        )),
        2.0
    );
    assert_eq!(
        value(&format!(
            "egov_requests_last_hour{{server=\"justice\",service=\"{PERSON}\",client=\"{TAX}\",succeeded=\"false\"}}"
        )),
        1.0
    );
    let person = format!("server=\"justice\",service=\"{PERSON}\"");
    assert_eq!(value(&format!("egov_request_duration_ms{{{person},quantile=\"0.5\"}}")), 30.0);
    assert_eq!(value(&format!("egov_request_duration_ms{{{person},quantile=\"0.99\"}}")), 50.0);
    assert_eq!(value(&format!("egov_request_duration_ms_sum{{{person}}}")), 90.0);
    assert_eq!(value(&format!("egov_request_duration_ms_count{{{person}}}")), 3.0);
    assert_eq!(value("egov_timestamp_lag_seconds{server=\"justice\"}"), 3.0);
    assert_eq!(value("egov_globalconf_age_seconds{server=\"justice\"}"), 125.0);
    assert_eq!(value("egov_refusing_traffic{server=\"portal-ss\"}"), 1.0);
    assert_eq!(value("egov_queue_depth{server=\"justice\",queue=\"timestamp_pending\"}"), 17.0);
    assert_eq!(value("egov_certificate_ocsp_good{server=\"portal-ss\",usage=\"sign\",serial=\"sign-01\"}"), 0.0);
    let expiry = value("egov_certificate_expiry_seconds{server=\"justice\",usage=\"sign\",serial=\"sign-01\"}");
    assert!((10.0 * 86_400.0 - 3600.0 - 60.0..=10.0 * 86_400.0 - 3600.0).contains(&expiry), "{expiry}");
    // a hostile service name is escaped as a label value: the quotes cannot end it
    assert_eq!(
        value(
            "egov_requests_total{server=\"justice\",service=\"AZ/GOV/1/reg/<script>alert(\\\"x,y\\\")</script>\",client=\"AZ/GOV/2/portal\",succeeded=\"true\"}"
        ),
        1.0
    );
    for l in metrics.lines().filter(|l| !l.starts_with('#')) {
        let (series, v) = l.rsplit_once(' ').unwrap();
        assert!(v.parse::<f64>().is_ok() && series.starts_with("egov_"), "malformed line {l:?}");
    }

    // monthly usage: each exchange once (r1 and r2 were seen on both servers)
    let month = month_of_records();
    let (code, csv) = http_get(&format!("{base}/api/v1/usage?month={month}&format=csv")).await;
    assert_eq!(code, 200, "{csv}");
    assert_eq!(
        csv,
        "service,provider,requests,successful,failed,distinct_clients\r\n\
         AZ/GOV/1/reg/<script>alert(\"\"x,y\"\")</script>,AZ/GOV/1,1,1,0,1\r\n"
            .replace(
                "AZ/GOV/1/reg/<script>alert(\"\"x,y\"\")</script>",
                "\"AZ/GOV/1/reg/<script>alert(\"\"x,y\"\")</script>\""
            )
            + "AZ/GOV/1/reg/names,AZ/GOV/1,1,1,0,1\r\n\
               AZ/GOV/1/reg/person,AZ/GOV/1,3,2,1,2\r\n\
               AZ/GOV/4/sspf/payments,AZ/GOV/4,2,1,1,1\r\n"
    );
    let (code, json) = http_get(&format!("{base}/api/v1/usage?month={month}&format=json")).await;
    assert_eq!(code, 200);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["month"], month.as_str());
    let rows = json["services"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    let person_row = rows.iter().find(|r| r["service"] == PERSON).unwrap();
    assert_eq!(
        person_row,
        &serde_json::json!({"service": PERSON, "provider": "AZ/GOV/1", "requests": 3, "successful": 2, "failed": 1, "distinct_clients": 2})
    );
    let (code, empty) = http_get(&format!("{base}/api/v1/usage?month=2001-01&format=csv")).await;
    assert_eq!((code, empty.as_str()), (200, "service,provider,requests,successful,failed,distinct_clients\r\n"));
    for (query, expected) in [
        ("month=2026-13", "YYYY-MM"),
        ("month=26-11", "YYYY-MM"),
        ("format=csv", "month=YYYY-MM is required"),
        ("month=2026-11&format=xml", "csv or json"),
    ] {
        let (code, body) = http_get(&format!("{base}/api/v1/usage?{query}")).await;
        assert_eq!(code, 400, "{query}: {body}");
        assert!(body.contains(expected), "{query}: {body}");
    }

    // server status as JSON, in the configuration's order
    let (code, body) = http_get(&format!("{base}/api/v1/servers")).await;
    assert_eq!(code, 200);
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    let list = json["servers"].as_array().unwrap();
    let names: Vec<_> = list.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["justice", "portal-ss", "wrong-token", "forbidden", "garbage", "offline"]);
    assert_eq!(list[0]["up"], true);
    assert_eq!(list[0]["health"]["securityServerId"], "AZ/GOV/1/ss-justice");
    assert_eq!(list[0]["records_collected"], 5);
    assert!(list[0]["warnings"][0].as_str().unwrap().contains("days left: 9"));
    assert_eq!(list[2]["up"], false);
    assert!(list[2]["error"].as_str().unwrap().contains("401"));
    assert!(!body.contains(TOKEN) && !body.contains(OPERATOR_TOKEN), "tokens are never shown");

    // a new record arrives and is collected on the next poll
    justice.push(producer(6, NAMES, TAX, true, 9, "r6"));
    wait_for(&station, "the new record", |s| s["justice"].records_collected == 6).await;
    let (_, metrics) = http_get(&format!("{base}/metrics")).await;
    assert_eq!(
        line_value(
            &metrics,
            &format!(
                "egov_requests_total{{server=\"justice\",service=\"{NAMES}\",client=\"{TAX}\",succeeded=\"true\"}}"
            )
        ),
        Some(1.0),
        "{metrics}"
    );
    station.shutdown().await;

    // a restarted station resumes after the last stored record and counts nothing twice
    justice.afters.lock().unwrap().clear();
    justice.push(producer(7, NAMES, PORTAL, false, 11, "r7"));
    let station = egov_monitor::start(config(&database, servers[..2].to_vec()), None).await.unwrap();
    wait_for(&station, "the record after the restart", |s| s["justice"].records_collected == 1).await;
    assert_eq!(justice.afters()[0], 6, "the cursor survived the restart: {:?}", justice.afters());
    let (_, csv) = http_get(&format!("http://{}/api/v1/usage?month={month}&format=csv", station.addr)).await;
    assert!(csv.contains("\r\nAZ/GOV/1/reg/names,AZ/GOV/1,3,2,1,2\r\n"), "{csv}");
    assert!(csv.contains("\r\nAZ/GOV/1/reg/person,AZ/GOV/1,3,2,1,2\r\n"), "{csv}");
    let (_, metrics) = http_get(&format!("http://{}/metrics", station.addr)).await;
    assert_eq!(
        line_value(
            &metrics,
            &format!(
                "egov_requests_total{{server=\"justice\",service=\"{PERSON}\",client=\"{PORTAL}\",succeeded=\"true\"}}"
            )
        ),
        Some(2.0),
        "the counters start from the database: {metrics}"
    );
    station.shutdown().await;

    // a name that now leads to a different security server is refused, not mixed up
    let station =
        egov_monitor::start(config(&database, vec![entry("justice", &portal.url, TOKEN)]), None).await.unwrap();
    wait_for(&station, "the poll of the other server", |s| s["justice"].last_poll_ms.is_some()).await;
    let error = station.state.snapshot()["justice"].error.clone().unwrap_or_default();
    assert!(error.contains("AZ/GOV/2/ss-portal") && error.contains("AZ/GOV/1/ss-justice"), "{error}");
    station.shutdown().await;
}

#[tokio::test]
async fn station_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    station_works(egov_store::sqlite_url(&dir.path().join("monitor.db"))).await;
}

#[tokio::test]
async fn station_on_postgres() {
    let Some(url) = egov_store::test_postgres_url("monitor_station").await else { return };
    station_works(url.clone()).await;
    egov_store::drop_test_database(&url).await;
}

#[tokio::test]
async fn configuration_file_and_default_database() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake_server(
        Setup { server_id: "AZ/GOV/1/ss", certificates: vec![], refusing: None, garbage: false },
        vec![producer(1, PERSON, PORTAL, true, 10, "r1")],
    )
    .await;
    let path = dir.path().join("monitor.json");
    let json = serde_json::json!({
        "listen": "127.0.0.1:0",
        "poll_interval_secs": 1,
        "servers": [{"name": "ss", "url": fake.url, "token": TOKEN}],
    });
    std::fs::write(&path, json.to_string()).unwrap();
    let config = StationConfig::load(&path).unwrap();
    let station = egov_monitor::start(config, None).await.unwrap();
    wait_for(&station, "the first poll", |s| s["ss"].records_collected == 1).await;
    station.shutdown().await;
    assert!(dir.path().join("monitor.db").exists(), "the database is beside the configuration");
}
