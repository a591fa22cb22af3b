//! The message log and local monitoring through real security servers (TT-2.2.2, TT-2.6,
//! TT-2.7, TT-3.8.4): both sides log request and response before releasing them; the
//! operator's TSA stamps them; `/asic` gives verifiable containers to archive readers only;
//! the monitoring interface gives metadata only, to monitor tokens only; a TSA outage past
//! the grace period stops traffic with `TimestamperFailed`.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::time::Duration;

use egov_demo::federation::RunningFederation;
use egov_globalconf::Limits;
use egov_security_server::server_files::MsgLogFile;
use serde_json::Value;

mod common;

use common::{CONSUMER, PROVIDER, Setup};

/// The shared federation (tests/common), every server with a message log time-stamped every
/// second and refusing traffic after `grace_secs` without time-stamps.
async fn setup(grace_secs: i64) -> Setup {
    let limits = Limits { conf_refresh_secs: 1, ..Limits::default() };
    let file =
        MsgLogFile { timestamp_interval_secs: Some(1), timestamp_grace_secs: Some(grace_secs), ..Default::default() };
    common::setup_federation(3600, limits, Some(file)).await
}

async fn get(url: &str, headers: &[(&str, &str)]) -> (u16, http::HeaderMap, bytes::Bytes) {
    use http_body_util::BodyExt;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Empty<bytes::Bytes>>();
    let mut request = http::Request::get(url);
    for (n, v) in headers {
        request = request.header(*n, *v);
    }
    let response = client.request(request.body(http_body_util::Empty::new()).unwrap()).await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.into_body().collect().await.unwrap().to_bytes())
}

/// A REST call with message id `query_id`: (status, X-Road error code).
async fn call(fed: &RunningFederation, query_id: &str) -> (u16, String) {
    let url = format!(
        "{}/r1/AZ/GOV/1400000012/insurance/payments/persons/5ZX7K2P/payments?year=2025",
        fed.client_url(CONSUMER)
    );
    let (status, headers, _) =
        get(&url, &[("X-Road-Client", "AZ/GOV/1400000011/portal"), ("X-Road-Id", query_id)]).await;
    (status, headers.get("x-road-error").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned())
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// Waits until `server`'s log has no unstamped record.
async fn stamped(fed: &RunningFederation, server: usize) {
    let log = fed.running[server].0.gateway.msglog.clone().unwrap();
    for _ in 0..100 {
        let (all, unstamped) = log.counts().await.unwrap();
        if all > 0 && unstamped == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("records were not time-stamped");
}

#[tokio::test]
async fn both_sides_log_and_archive_readers_get_verifiable_containers() {
    let s = setup(14_400).await;
    let fed = &s.fed;
    assert_eq!(call(fed, "query-1").await, (200, String::new()));
    let cas = fed.directory.ca_certs_der().to_vec();
    for server in [CONSUMER, PROVIDER] {
        stamped(fed, server).await;
        let log = fed.running[server].0.gateway.msglog.clone().unwrap();
        let records = log.records_of_query("query-1").await.unwrap();
        let kinds: Vec<_> = records.iter().map(|r| (r.header.side, r.header.direction)).collect();
        let side = if server == CONSUMER { egov_msglog::Side::Client } else { egov_msglog::Side::Provider };
        assert_eq!(kinds, [(side, egov_msglog::Direction::Request), (side, egov_msglog::Direction::Response)]);
        log.verify_database(Some(&log.keys()), &cas).await.unwrap();
    }

    // GET /asic: archive readers only, every read recorded
    let asic = format!("{}/asic?queryId=query-1", fed.client_url(PROVIDER));
    let (status, _, _) = get(&asic, &[]).await;
    assert_eq!(status, 401);
    let (status, _, _) = get(&asic, &[("Authorization", &bearer(&fed.tokens.monitor))]).await;
    assert_eq!(status, 403, "the monitor's token never reaches contents");
    let (status, headers, zip) = get(&asic, &[("Authorization", &bearer(&fed.tokens.archive_reader))]).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/zip");
    let (_, entries) = egov_msglog::asic::read_zip(&zip).unwrap();
    assert_eq!(entries.len(), 2);
    for (name, container) in &entries {
        let report = egov_msglog::verify::verify_container(container, &cas).unwrap();
        assert_eq!(report.query_id.as_deref(), Some("query-1"), "{name}");
        let signer = if name.contains("-request-") { "AZ/GOV/1400000011" } else { "AZ/GOV/1400000012" };
        assert_eq!(report.signer, signer);
        assert!(report.ocsp_good, "the stapled OCSP answer is kept as evidence");
    }
    let unique = format!("{asic}&unique&responseOnly");
    let (status, headers, one) = get(&unique, &[("Authorization", &bearer(&fed.tokens.archive_reader))]).await;
    assert_eq!((status, headers["content-type"].to_str().unwrap()), (200, "application/vnd.etsi.asic-e+zip"));
    egov_msglog::verify::verify_container(&one, &cas).unwrap();
    let (status, _, body) = get(
        &format!("{}/asic?queryId=nope", fed.client_url(PROVIDER)),
        &[("Authorization", &bearer(&fed.tokens.archive_reader))],
    )
    .await;
    assert_eq!(status, 404, "{}", String::from_utf8_lossy(&body));
    let reads = fed.running[PROVIDER].0.gateway.msglog.clone().unwrap().reads(10).await.unwrap();
    let outcomes: Vec<_> = reads.iter().map(|r| (r.reader.as_str(), r.outcome.as_str())).collect();
    assert_eq!(outcomes.len(), 5, "{outcomes:?}");
    assert!(outcomes.contains(&("auditor", "allowed")));
    assert!(outcomes.iter().any(|(who, o)| *who == "a token of another role" && o.contains("403")));
}

/// The fields a monitoring station may ever see: ids, times, sizes, outcome.
const OPERATIONAL_FIELDS: [&str; 19] = [
    "recordId",
    "monitoringDataTs",
    "securityServerId",
    "securityServerType",
    "requestInTs",
    "requestOutTs",
    "responseInTs",
    "responseOutTs",
    "client",
    "service",
    "messageId",
    "xRequestId",
    "serviceType",
    "restMethod",
    "requestSize",
    "responseSize",
    "succeeded",
    "faultCode",
    "statusCode",
];

#[tokio::test]
async fn monitoring_sees_usage_and_health_but_never_contents() {
    let s = setup(14_400).await;
    let fed = &s.fed;
    assert_eq!(call(fed, "m-1").await.0, 200);
    assert_eq!(call(fed, "m-2").await.0, 200);
    let base = format!("http://{}", fed.running[PROVIDER].0.monitoring_addr.unwrap());
    let monitor = bearer(&fed.tokens.monitor);

    // the monitoring listener: monitor tokens only, and nothing but monitoring routes
    for path in ["/monitoring/v1/health", "/monitoring/v1/operational", "/asic?queryId=m-1", "/r1/x"] {
        let (status, _, _) =
            get(&format!("{base}{path}"), &[("Authorization", &bearer(&fed.tokens.archive_reader))]).await;
        assert_eq!(status, 403, "{path} with an archive reader's token");
        let (status, _, _) = get(&format!("{base}{path}"), &[]).await;
        assert_eq!(status, 401, "{path} without a token");
    }
    for path in ["/asic?queryId=m-1", "/r1/AZ/GOV/1400000012/insurance/payments/persons/5ZX7K2P/payments"] {
        let (status, _, _) = get(&format!("{base}{path}"), &[("Authorization", &monitor)]).await;
        assert_eq!(status, 404, "{path}: no content route on the monitoring listener");
    }
    // … and on the client side, where contents are, the monitor's token is refused
    let (status, _, _) =
        get(&format!("{}/asic?queryId=m-1", fed.client_url(PROVIDER)), &[("Authorization", &monitor)]).await;
    assert_eq!(status, 403);

    let mut records = Vec::new();
    for _ in 0..50 {
        let (status, _, body) =
            get(&format!("{base}/monitoring/v1/operational?after=0"), &[("Authorization", &monitor)]).await;
        assert_eq!(status, 200);
        let page: Value = serde_json::from_slice(&body).unwrap();
        records = page["records"].as_array().unwrap().clone();
        if records.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(records.len(), 2);
    let text = serde_json::to_string(&records).unwrap();
    assert!(!text.contains("5ZX7K2P") && !text.contains("year=2025"), "no path, query or body data: {text}");
    for r in &records {
        for key in r.as_object().unwrap().keys() {
            assert!(OPERATIONAL_FIELDS.contains(&key.as_str()), "unexpected field {key}");
        }
        assert_eq!(r["securityServerType"], "Producer");
        assert_eq!(r["succeeded"], true);
        assert_eq!(r["service"], "AZ/GOV/1400000012/insurance/payments");
    }
    let (status, _, body) =
        get(&format!("{base}/monitoring/v1/operational?after=x"), &[("Authorization", &monitor)]).await;
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));

    let (status, _, body) = get(&format!("{base}/monitoring/v1/health"), &[("Authorization", &monitor)]).await;
    assert_eq!(status, 200);
    let health: egov_xroad::opmon::HealthData = serde_json::from_slice(&body).unwrap();
    assert_eq!(health.security_server_id, "AZ/GOV/1400000012/ss-p");
    assert_eq!(health.certificates.len(), 2);
    assert!(
        health.certificates.iter().all(|c| c.ocsp_status.as_deref() == Some("good") && c.not_after > health.taken_at)
    );
    assert!(health.disk.as_ref().is_some_and(|d| d.total_bytes > 0));
    assert_eq!(health.services_events.len(), 1);
    assert_eq!(health.services_events[0].successful_request_count, 2);
    assert!(health.refusing_traffic.is_none());
}

#[tokio::test]
async fn a_tsa_outage_past_the_grace_period_stops_traffic_with_a_clear_fault() {
    let mut s = setup(2).await;
    assert_eq!(call(&s.fed, "t-1").await.0, 200);
    stamped(&s.fed, CONSUMER).await;
    // the operator's services (and with them the TSA) go down
    let operator = s.fed.operator.take().unwrap();
    operator.running.stop().await;
    assert_eq!(call(&s.fed, "t-2").await.0, 200, "within the grace period traffic goes on");
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let (status, code) = call(&s.fed, "t-3").await;
    assert_eq!(code, "Server.ClientProxy.TimestamperFailed");
    assert_eq!(status, 500);
    let log = s.fed.running[CONSUMER].0.gateway.msglog.clone().unwrap();
    assert!(log.records_of_query("t-3").await.unwrap().is_empty(), "a refused message is not logged");
    assert_eq!(log.records_of_query("t-2").await.unwrap().len(), 2, "acknowledged messages stay");
    drop(s.data);
}

/// Issue 13, item 11: a request the provider refuses (here: a path no right grants) is not
/// logged in full on the provider's side — it leaves its operational record with the fault,
/// and nothing of its contents; the consumer's side still logs what it sent.
#[tokio::test]
async fn refused_requests_leave_a_short_record_not_their_contents() {
    let s = setup(14_400).await;
    let fed = &s.fed;
    let url =
        format!("{}/r1/AZ/GOV/1400000012/insurance/payments/persons/5ZX7K2P/pension-capital", fed.client_url(CONSUMER));
    let (status, headers, _) =
        get(&url, &[("X-Road-Client", "AZ/GOV/1400000011/portal"), ("X-Road-Id", "denied-1")]).await;
    assert_eq!((status, headers["x-road-error"].to_str().unwrap()), (500, "Server.ServerProxy.AccessDenied"));
    let provider = fed.running[PROVIDER].0.gateway.msglog.clone().unwrap();
    assert_eq!(provider.records_of_query("denied-1").await.unwrap().len(), 0, "the refused request is not archived");
    let consumer = fed.running[CONSUMER].0.gateway.msglog.clone().unwrap();
    assert_eq!(consumer.records_of_query("denied-1").await.unwrap().len(), 1, "the consumer logged what it sent");
    // the short record: who, what, the fault — no contents
    let mut refused = None;
    for _ in 0..150 {
        let records = provider.operational(0, 100).await.unwrap();
        refused = records.into_iter().find(|r| r.message_id.as_deref() == Some("denied-1"));
        if refused.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let refused = refused.expect("no operational record of the refusal");
    assert!(!refused.succeeded);
    assert_eq!(refused.fault_code.as_deref(), Some("Server.ServerProxy.AccessDenied"));
    assert_eq!(refused.client.as_deref(), Some("AZ/GOV/1400000011/portal"));
}

/// Issue 13, item 11: unauthenticated `/asic` requests from one address are recorded one by
/// one only up to a limit; past it they are answered 429 without a database write, and the
/// next record counts them.
#[tokio::test]
async fn a_flood_of_refused_archive_reads_is_throttled() {
    let s = setup(14_400).await;
    let fed = &s.fed;
    let log = fed.running[PROVIDER].0.gateway.msglog.clone().unwrap();
    let asic = format!("{}/asic?queryId={}", fed.client_url(PROVIDER), "q".repeat(5000));
    let mut statuses = Vec::new();
    for _ in 0..40 {
        statuses.push(get(&asic, &[("Authorization", "Bearer guessed")]).await.0);
    }
    let limit = egov_security_server::refusals::PER_WINDOW as usize;
    assert!(statuses[..limit].iter().all(|s| *s == 401), "{statuses:?}");
    assert!(statuses[limit..].iter().all(|s| *s == 429), "{statuses:?}");
    let reads = log.reads(1000).await.unwrap();
    assert_eq!(reads.len(), limit, "one record per admitted refusal, none for the throttled ones");
    assert!(reads.iter().all(|r| r.target.len() <= 128 && r.outcome.contains("127.0.0.1")), "{reads:?}");
    // the archive reader is not held back by someone else's refusals
    let ok = format!("{}/asic?queryId=none", fed.client_url(PROVIDER));
    assert_eq!(get(&ok, &[("Authorization", &bearer(&fed.tokens.archive_reader))]).await.0, 404);
}

/// Issue 13, item 9: `egov ss user remove` (here: the same file change) revokes a token in a
/// running server within five seconds.
#[tokio::test]
async fn a_removed_archive_reader_is_refused_while_the_server_runs() {
    let s = setup(14_400).await;
    let fed = &s.fed;
    assert_eq!(call(fed, "u-1").await.0, 200);
    stamped(fed, PROVIDER).await; // containers carry their time-stamp
    let asic = format!("{}/asic?queryId=u-1", fed.client_url(PROVIDER));
    let auditor = bearer(&fed.tokens.archive_reader);
    assert_eq!(get(&asic, &[("Authorization", &auditor)]).await.0, 200);
    let dir = fed.servers[PROVIDER].dir.clone().unwrap();
    let mut users = dir.users().unwrap();
    users.remove("auditor").unwrap();
    dir.save_users(&users).unwrap();
    let removed_at = std::time::Instant::now();
    loop {
        let status = get(&asic, &[("Authorization", &auditor)]).await.0;
        if status == 401 {
            break;
        }
        assert_eq!(status, 200);
        assert!(removed_at.elapsed() < Duration::from_secs(5), "the removed token still reads after 5 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
