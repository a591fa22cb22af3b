//! The monitoring station against fake security servers on loopback: polling, the
//! dashboard in three languages, Prometheus metrics, the monthly usage export, servers
//! that refuse the token or cannot be reached (TT-2.6, TT-2.7).

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use axum::extract::Query;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use egov_monitor::{ServerEntry, StationConfig};
use egov_xroad::opmon::{HealthData, OperationalData, OperationalRecord, QueueDepths, ServerType};

const TOKEN: &str = "monitor-token";

fn record(id: i64, service: &str, client: &str, ok: bool, duration: i64) -> OperationalRecord {
    let t = egov_xroad_now_ms() - 60_000 + id;
    OperationalRecord {
        record_id: id,
        monitoring_data_ts: t / 1000,
        security_server_id: "AZ/GOV/1/ss".into(),
        security_server_type: ServerType::Producer,
        request_in_ts: t - duration,
        request_out_ts: None,
        response_in_ts: None,
        response_out_ts: t,
        client: Some(client.into()),
        service: Some(service.into()),
        message_id: Some(format!("m{id}")),
        x_request_id: None,
        service_type: "REST".into(),
        rest_method: Some("GET".into()),
        request_size: 10,
        response_size: 20,
        succeeded: ok,
        fault_code: (!ok).then(|| "Server.ServerProxy.AccessDenied".into()),
        status_code: None,
    }
}

fn egov_xroad_now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// A fake security server's monitoring interface with `records`, paged by 2.
async fn fake_server(records: Vec<OperationalRecord>, not_after_days: i64) -> String {
    let now = egov_xroad_now_ms() / 1000;
    let health = HealthData {
        security_server_id: "AZ/GOV/1/ss".into(),
        taken_at: now,
        monitoring_startup_timestamp: 0,
        statistics_period_seconds: 600,
        uptime_seconds: 42,
        global_conf_serial: 7,
        global_conf_age_seconds: 12,
        global_conf_expires_at: None,
        certificates: vec![egov_xroad::opmon::CertificateHealth {
            usage: "sign".into(),
            serial: "0a1b".into(),
            not_after: now + not_after_days * 86_400,
            ocsp_status: Some("good".into()),
            ocsp_produced_at: Some(now),
        }],
        disk: None,
        queues: QueueDepths::default(),
        timestamp_lag_seconds: 3,
        refusing_traffic: None,
        services_events: vec![],
    };
    let authorized =
        |h: &HeaderMap| h.get("authorization").and_then(|v| v.to_str().ok()) == Some("Bearer monitor-token");
    let app = axum::Router::new()
        .route(
            "/monitoring/v1/health",
            get(move |h: HeaderMap| {
                let health = health.clone();
                async move {
                    if !authorized(&h) {
                        return (StatusCode::UNAUTHORIZED, "unknown token".to_owned());
                    }
                    (StatusCode::OK, serde_json::to_string(&health).unwrap())
                }
            }),
        )
        .route(
            "/monitoring/v1/operational",
            get(move |h: HeaderMap, Query(q): Query<BTreeMap<String, String>>| {
                let records = records.clone();
                async move {
                    if !authorized(&h) {
                        return (StatusCode::UNAUTHORIZED, "unknown token".to_owned());
                    }
                    let after: i64 = q.get("after").unwrap().parse().unwrap();
                    let rest: Vec<_> = records.into_iter().filter(|r| r.record_id > after).collect();
                    let page: Vec<_> = rest.iter().take(2).cloned().collect();
                    let next_after = (rest.len() > 2).then(|| page.last().unwrap().record_id);
                    let data = OperationalData { records_count: page.len(), records: page, next_after };
                    (StatusCode::OK, serde_json::to_string(&data).unwrap())
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

async fn http_get(url: &str) -> (u16, String) {
    let r = reqwest::get(url).await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn station_works(database: String) {
    let hostile = "AZ/GOV/1/reg/<script>alert(1)</script>";
    let records = vec![
        record(1, "AZ/GOV/1/reg/person", "AZ/GOV/2/portal", true, 10),
        record(2, "AZ/GOV/1/reg/person", "AZ/GOV/2/portal", true, 30),
        record(3, "AZ/GOV/1/reg/person", "AZ/GOV/3/tax", false, 50),
        record(4, hostile, "AZ/GOV/2/portal", true, 5),
        record(5, "AZ/GOV/1/reg/names", "AZ/GOV/2/portal", true, 7),
    ];
    let good = fake_server(records, 10).await;
    let config = StationConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        database: Some(database),
        poll_interval_secs: 3600,
        certificate_warning_days: 30,
        servers: vec![
            ServerEntry { name: "justice".into(), url: good.clone(), token: TOKEN.into() },
            ServerEntry { name: "wrong-token".into(), url: good, token: "nope".into() },
            ServerEntry { name: "offline".into(), url: "http://127.0.0.1:9".into(), token: TOKEN.into() },
        ],
        base_dir: Default::default(),
    };
    let station = egov_monitor::start(config, None).await.unwrap();
    station.state.poll_all().await;
    station.state.poll_all().await; // a second poll stores nothing twice
    let base = format!("http://{}", station.addr);

    let status = station.state.snapshot();
    assert!(status["justice"].up());
    assert_eq!(status["justice"].records_collected, 5);
    assert!(status["wrong-token"].error.as_deref().unwrap().contains("401"));
    assert!(status["offline"].error.as_deref().unwrap().contains("unreachable"));

    let (code, html) = http_get(&format!("{base}/?lang=en")).await;
    assert_eq!(code, 200);
    assert!(html.contains("<html lang=\"en\">") && html.contains("Monitoring station"));
    assert!(!html.contains("<script>") && html.contains("&lt;script&gt;"), "hostile names are escaped");
    assert!(
        html.contains("certificate expires, days left: 9") || html.contains("certificate expires, days left: 10"),
        "{html}"
    );
    assert!(html.contains("HTTP 401"), "the wrong token's reason is shown");
    let (_, az) = http_get(&format!("{base}/")).await;
    assert!(az.contains("<html lang=\"az\">") && az.contains("Təhlükəsizlik serverləri"));
    let (_, ru) = http_get(&format!("{base}/?lang=ru")).await;
    assert!(ru.contains("Серверы безопасности"));

    let (code, metrics) = http_get(&format!("{base}/metrics")).await;
    assert_eq!(code, 200);
    assert!(metrics.contains("egov_server_up{server=\"justice\"} 1"));
    assert!(metrics.contains("egov_server_up{server=\"offline\"} 0"));
    assert!(metrics.contains(
        "egov_requests_last_hour{server=\"justice\",service=\"AZ/GOV/1/reg/person\",client=\"AZ/GOV/2/portal\",succeeded=\"true\"} 2"
    ));
    assert!(metrics.contains("egov_request_duration_ms{service=\"AZ/GOV/1/reg/person\",quantile=\"0.99\"} 50"));
    assert!(metrics.contains("egov_timestamp_lag_seconds{server=\"justice\"} 3"));

    let now = time::OffsetDateTime::now_utc();
    let month = format!("{:04}-{:02}", now.year(), u8::from(now.month()));
    let (code, csv) = http_get(&format!("{base}/api/v1/usage?month={month}&format=csv")).await;
    assert_eq!(code, 200);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "service,provider,requests,successful,failed,distinct_clients");
    assert!(lines.contains(&"AZ/GOV/1/reg/person,AZ/GOV/1,3,2,1,2"), "{csv}");
    let (_, json) = http_get(&format!("{base}/api/v1/usage?month={month}&format=json")).await;
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["services"].as_array().unwrap().len(), 3);
    let (code, body) = http_get(&format!("{base}/api/v1/usage?month=2026-13")).await;
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("YYYY-MM"));
    station.stop();
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
