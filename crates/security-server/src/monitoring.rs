//! The monitoring-only interface (TT-2.6, TT-2.7) and the archive interface (TT-3.8.4).
//!
//! Monitoring runs on its own listener and serves only operational and health data — the
//! types in egov_xroad::opmon, which have no field that can carry a message's contents —
//! to holders of a `monitor` token. The message log's contents are served on the client
//! side (`GET /asic`, X-Road's path) only to `archive-reader` tokens, and every request there,
//! allowed or not, is written to the log's read record.

use std::collections::BTreeMap;

use bytes::Bytes;
use egov_xroad::opmon::{CertificateHealth, DiskHealth, HealthData, OperationalData, QueueDepths, ServiceEvents};
use http::{Method, Request, Response, StatusCode, header};
use hyper::body::Incoming;

use crate::gateway::Gateway;
use crate::http::{Body, query_param, response};
use crate::refusals::Admission;
use crate::transport::message::now_ms;
use crate::users::{Denied, Role, User};

/// Most characters of a refused request's `queryId` kept in its record.
const MAX_REFUSED_TARGET_CHARS: usize = 128;

/// Length of the statistics period of the health data (X-Road: 600 s).
pub const STATISTICS_PERIOD_SECS: u64 = 600;
/// Most operational records in one answer (X-Road: 10 000).
pub const MAX_RECORDS: i64 = 10_000;

fn text(status: StatusCode, message: &str) -> Response<Body> {
    response(status, "text/plain; charset=utf-8", format!("{message}\n"))
}

fn json<T: serde::Serialize>(value: &T) -> Response<Body> {
    match serde_json::to_vec(value) {
        Ok(body) => response(StatusCode::OK, "application/json", body),
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, &format!("cannot encode: {e}")),
    }
}

fn authorize<B>(gateway: &Gateway, request: &Request<B>, role: Role) -> Result<User, Denied> {
    let authorization = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    // the holders as they are now: `users.json` is followed while the server runs
    gateway.users.get().authorize(authorization, role).cloned()
}

fn refusal(denied: Denied) -> Response<Body> {
    match denied {
        Denied::Unauthenticated(m) => {
            let mut r = text(StatusCode::UNAUTHORIZED, &m);
            r.headers_mut().insert(header::WWW_AUTHENTICATE, http::HeaderValue::from_static("Bearer"));
            r
        }
        Denied::Forbidden(m) => text(StatusCode::FORBIDDEN, &m),
    }
}

/// Routes one request on the monitoring listener.
pub async fn handle(gateway: &Gateway, request: Request<Incoming>) -> Response<Body> {
    if let Err(d) = authorize(gateway, &request, Role::Monitor) {
        return refusal(d);
    }
    match (request.method(), request.uri().path()) {
        (&Method::GET, "/monitoring/v1/health") => match health(gateway).await {
            Ok(h) => json(&h),
            Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, &e),
        },
        (&Method::GET, "/monitoring/v1/operational") => {
            let query = request.uri().query();
            let number = |name: &str, default: i64| -> Result<i64, String> {
                match query_param(query, name) {
                    None => Ok(default),
                    Some(v) => v
                        .parse::<i64>()
                        .ok()
                        .filter(|n| *n >= 0)
                        .ok_or_else(|| format!("{name} must be a non-negative integer, not {v:?}")),
                }
            };
            let (after, limit) = match (number("after", 0), number("limit", MAX_RECORDS)) {
                (Ok(a), Ok(l)) => (a, l.clamp(1, MAX_RECORDS)),
                (Err(m), _) | (_, Err(m)) => return text(StatusCode::BAD_REQUEST, &m),
            };
            let Some(log) = &gateway.msglog else {
                return text(StatusCode::SERVICE_UNAVAILABLE, "this server runs without a message log");
            };
            match log.operational(after, limit + 1).await {
                Ok(mut records) => {
                    let more = records.len() as i64 > limit;
                    records.truncate(limit as usize);
                    let next_after = if more { records.last().map(|r| r.record_id) } else { None };
                    json(&OperationalData { records_count: records.len(), records, next_after })
                }
                Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
            }
        }
        _ => text(StatusCode::NOT_FOUND, "monitoring offers GET /monitoring/v1/health and /monitoring/v1/operational"),
    }
}

/// The server's health now.
pub async fn health(gateway: &Gateway) -> Result<HealthData, String> {
    let now = now_ms();
    let dir = gateway.directory.get();
    let conf = dir.conf();
    let staple = gateway.stapler.current().get();
    let ocsp = staple.as_deref().and_then(|b64| {
        use base64::Engine;
        let der = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
        dir.ca_certs_der()
            .iter()
            .find_map(|ca| egov_pki::ocsp::verify_response(&der, ca, now / 1000, i64::MAX / 4).ok())
    });
    let mut certificates = Vec::new();
    for (usage, der) in gateway.stapler.certificates() {
        let (serial, not_after) = egov_pki::TrustStore::new(dir.ca_certs_der().to_vec())
            .verify(der, now / 1000)
            .map(|v| (v.serial.clone(), v.not_after))
            .unwrap_or_else(|_| (String::from("?"), 0));
        certificates.push(CertificateHealth {
            usage: usage.into(),
            serial,
            not_after,
            ocsp_status: ocsp.as_ref().and_then(|o| o.status_of(der)).map(|s| match s {
                egov_pki::ocsp::CertStatus::Good => "good".into(),
                egov_pki::ocsp::CertStatus::Revoked { .. } => "revoked".into(),
                egov_pki::ocsp::CertStatus::Unknown => "unknown".into(),
            }),
            ocsp_produced_at: ocsp.as_ref().map(|o| o.produced_at),
        });
    }
    let (stats, disk, services_events) = match &gateway.msglog {
        Some(log) => {
            let path = &log.settings().archive_dir;
            let _ = std::fs::create_dir_all(path);
            let disk = match (fs4::available_space(path), fs4::total_space(path)) {
                (Ok(free_bytes), Ok(total_bytes)) => {
                    Some(DiskHealth { path: path.display().to_string(), free_bytes, total_bytes })
                }
                _ => None,
            };
            let (_, unstamped) = log.counts().await.map_err(|e| e.to_string())?;
            (Some((log.stats(), unstamped)), disk, service_events(log, now).await?)
        }
        None => (None, None, Vec::new()),
    };
    Ok(HealthData {
        security_server_id: gateway.id.to_string(),
        taken_at: now / 1000,
        monitoring_startup_timestamp: gateway.started_ms,
        statistics_period_seconds: STATISTICS_PERIOD_SECS,
        uptime_seconds: ((now - gateway.started_ms) / 1000).max(0) as u64,
        global_conf_serial: conf.serial,
        global_conf_age_seconds: (now / 1000 - conf.generated_at).max(0),
        global_conf_expires_at: conf.expires_at,
        certificates,
        disk,
        queues: QueueDepths {
            message_log_writer: stats.as_ref().map_or(0, |(s, _)| s.writer_queue),
            timestamp_pending: stats.as_ref().map_or(0, |(_, u)| *u as u64),
            incidents: gateway.incidents.pending(),
        },
        timestamp_lag_seconds: stats.as_ref().map_or(0, |(s, _)| s.timestamp_lag_secs),
        refusing_traffic: stats.and_then(|(s, _)| s.refusing),
        services_events,
    })
}

/// Per-service statistics over the last period, from the operational records.
async fn service_events(log: &egov_msglog::MessageLog, now: i64) -> Result<Vec<ServiceEvents>, String> {
    let since = now - STATISTICS_PERIOD_SECS as i64 * 1000;
    let records = log.operational_since(since).await.map_err(|e| e.to_string())?;
    let mut by_service: BTreeMap<String, ServiceEvents> = BTreeMap::new();
    let mut sums: BTreeMap<String, (i64, u64)> = BTreeMap::new();
    for r in records {
        let Some(service) = r.service.clone() else { continue };
        let e = by_service.entry(service.clone()).or_insert_with(|| ServiceEvents {
            service: service.clone(),
            last_successful_request_timestamp: None,
            last_unsuccessful_request_timestamp: None,
            successful_request_count: 0,
            unsuccessful_request_count: 0,
            request_min_duration: None,
            request_average_duration: None,
            request_max_duration: None,
        });
        let d = r.duration_ms();
        if r.succeeded {
            e.successful_request_count += 1;
            e.last_successful_request_timestamp = e.last_successful_request_timestamp.max(Some(r.response_out_ts));
        } else {
            e.unsuccessful_request_count += 1;
            e.last_unsuccessful_request_timestamp = e.last_unsuccessful_request_timestamp.max(Some(r.response_out_ts));
        }
        e.request_min_duration = Some(e.request_min_duration.map_or(d, |m| m.min(d)));
        e.request_max_duration = Some(e.request_max_duration.map_or(d, |m| m.max(d)));
        let s = sums.entry(service).or_default();
        s.0 += d;
        s.1 += 1;
    }
    Ok(by_service
        .into_values()
        .map(|mut e| {
            if let Some((sum, n)) = sums.get(&e.service).filter(|(_, n)| *n > 0) {
                e.request_average_duration = Some(*sum as f64 / *n as f64);
            }
            e
        })
        .collect())
}

/// `GET /asic?queryId=…` (UG-SIGDOC §2): the containers of one exchange, as `queryId.zip`
/// or, with `unique`, the one container. Flags `requestOnly` and `responseOnly` filter.
pub async fn asic(gateway: &Gateway, request: Request<Incoming>, source: std::net::IpAddr) -> Response<Body> {
    let query = request.uri().query();
    let target = query_param(query, "queryId").unwrap_or_default();
    let Some(log) = &gateway.msglog else {
        return text(StatusCode::SERVICE_UNAVAILABLE, "this server runs without a message log");
    };
    let reader = match authorize(gateway, &request, Role::ArchiveReader) {
        Ok(user) => user.name,
        Err(d) => {
            // a refusal is a short record (who, what, from where), and a source that keeps
            // trying is answered 429 without one, its attempts counted in its next record
            let suppressed = match gateway.refusals.admit(source, std::time::Instant::now()) {
                Admission::Record { suppressed } => suppressed,
                Admission::Throttled(retry) => {
                    let mut r = text(
                        StatusCode::TOO_MANY_REQUESTS,
                        "too many refused requests from this address; try again later",
                    );
                    if let Ok(v) = http::HeaderValue::from_str(&retry.as_secs().max(1).to_string()) {
                        r.headers_mut().insert(header::RETRY_AFTER, v);
                    }
                    return r;
                }
            };
            let r = refusal(d);
            let who = if r.status() == StatusCode::FORBIDDEN { "a token of another role" } else { "no valid token" };
            let mut outcome = format!("refused: HTTP {} to {source}", r.status().as_u16());
            if suppressed > 0 {
                outcome.push_str(&format!(
                    "; {suppressed} more refused from there before, answered 429 and not recorded one by one"
                ));
            }
            let target: String = target.chars().take(MAX_REFUSED_TARGET_CHARS).collect();
            let _ = log.log_read(who, "asic", &target, &outcome).await;
            return r;
        }
    };
    let outcome = asic_answer(log, query, &target).await;
    let note = match &outcome {
        Ok(_) => "allowed".to_owned(),
        Err((status, m)) => format!("HTTP {}: {m}", status.as_u16()),
    };
    // the read is recorded before anything is released
    if let Err(e) = log.log_read(&reader, "asic", &target, &note).await {
        return text(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("the read could not be recorded, so it is refused: {e}"),
        );
    }
    match outcome {
        Ok((name, content_type, bytes)) => {
            let mut r = response(StatusCode::OK, content_type, bytes);
            if let Ok(v) = http::HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
                r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
            }
            r
        }
        Err((status, m)) => text(status, &m),
    }
}

type AsicAnswer = Result<(String, &'static str, Bytes), (StatusCode, String)>;

async fn asic_answer(log: &egov_msglog::MessageLog, query: Option<&str>, query_id: &str) -> AsicAnswer {
    if query_id.is_empty() {
        return Err((StatusCode::BAD_REQUEST, "the parameter queryId is required".into()));
    }
    let flag = |name: &str| query_param(query, name).is_some_and(|v| v.is_empty() || v == "true");
    let mut containers = log.containers_of_query(query_id).await.map_err(|e| match e {
        egov_msglog::MsgLogError::NotFound(m) => (StatusCode::NOT_FOUND, m),
        other => (StatusCode::INTERNAL_SERVER_ERROR, other.to_string()),
    })?;
    if flag("requestOnly") {
        containers.retain(|(n, _)| n.contains("-request-"));
    }
    if flag("responseOnly") {
        containers.retain(|(n, _)| n.contains("-response-"));
    }
    if containers.is_empty() {
        return Err((StatusCode::NOT_FOUND, format!("no matching message for '{query_id}'")));
    }
    if flag("unique") {
        if containers.len() != 1 {
            return Err((
                StatusCode::BAD_REQUEST,
                format!("'unique' asked, but {} messages match; add requestOnly or responseOnly", containers.len()),
            ));
        }
        let (name, bytes) = containers.remove(0);
        return Ok((name, egov_msglog::asic::MIMETYPE, Bytes::from(bytes)));
    }
    let entries: Vec<(&str, Vec<u8>)> = containers.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
    let zip =
        egov_msglog::archive::plain_zip(&entries).map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let safe = egov_msglog::asic::file_stem(query_id);
    Ok((format!("{safe}.zip"), "application/zip", Bytes::from(zip)))
}
