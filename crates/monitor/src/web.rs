//! The station's web interface: dashboard (server-rendered, no JavaScript), Prometheus
//! metrics, usage export, server status.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use egov_store::Database;

use crate::MonitorError;
use crate::poller::{ServerStatus, StationState, now_ms};
use crate::stats::{self, Figures};
use crate::store::CounterKey;
use crate::text::{Lang, bytes, duration, moment, parse_lang, t};

const HOUR_MS: i64 = 3_600_000;
/// Seconds between the dashboard's automatic refreshes.
pub const REFRESH_SECS: u32 = 30;
/// The statistics of the last hour and day are recomputed at least this often, and whenever
/// new records arrive (at most once per request burst: every view shares one computation).
const WINDOW_MAX_AGE_MS: i64 = 60_000;

/// The routes.
pub fn router(state: Arc<StationState>) -> Router {
    Router::new()
        .route("/", get(dashboard))
        .route("/metrics", get(metrics))
        .route("/api/v1/usage", get(usage))
        .route("/api/v1/servers", get(servers))
        .with_state(state)
}

/// HTML-escapes text (element content and quoted attribute values).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A Prometheus label value, escaped as the text exposition format requires (backslash,
/// double quote, line feed).
pub fn label(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn error(status: StatusCode, message: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], message + "\n").into_response()
}

/// The statistics of the last hour and the last 24 hours, computed from stored records.
#[derive(Debug)]
pub struct Window {
    generation: u64,
    at_ms: i64,
    /// Per (server, service), last hour.
    pub hour_services: BTreeMap<(String, String), Figures>,
    /// Per (server, client), last hour.
    pub hour_clients: BTreeMap<(String, String), Figures>,
    /// Per (server, service), last 24 hours.
    pub day_services: BTreeMap<(String, String), Figures>,
    /// Per (server, client), last 24 hours.
    pub day_clients: BTreeMap<(String, String), Figures>,
    /// Requests of the last hour by server, service, client, outcome.
    pub hour_counts: BTreeMap<CounterKey, u64>,
}

/// The current window, from the cache when nothing new arrived since it was computed.
pub async fn window(state: &StationState) -> Result<Arc<Window>, MonitorError> {
    let mut cache = state.cache.lock().await;
    let generation = state.generation.load(Ordering::Relaxed);
    let now = now_ms();
    if let Some(w) = cache.as_ref()
        && w.generation == generation
        && now - w.at_ms < WINDOW_MAX_AGE_MS
    {
        return Ok(w.clone());
    }
    let day = crate::store::usage(&state.db, now - 24 * HOUR_MS, now + 1).await?;
    let hour: Vec<_> = day.iter().filter(|r| r.time_ms >= now - HOUR_MS).cloned().collect();
    let mut hour_counts = BTreeMap::new();
    for r in &hour {
        let key = (
            r.server.clone(),
            r.service.clone().unwrap_or_default(),
            r.client.clone().unwrap_or_default(),
            r.succeeded,
        );
        *hour_counts.entry(key).or_default() += 1;
    }
    let w = Arc::new(Window {
        generation,
        at_ms: now,
        hour_services: stats::by(&hour, |r| r.service.as_deref()),
        hour_clients: stats::by(&hour, |r| r.client.as_deref()),
        day_services: stats::by(&day, |r| r.service.as_deref()),
        day_clients: stats::by(&day, |r| r.client.as_deref()),
        hour_counts,
    });
    *cache = Some(w.clone());
    Ok(w)
}

/// Warnings about a server: certificates expiring within `days` of `now_s`, expired, or
/// without a good OCSP answer; an expired global configuration.
pub fn warnings(status: &ServerStatus, days: i64, lang: Lang, now_s: i64) -> Vec<String> {
    let mut out = Vec::new();
    let Some(h) = &status.health else { return out };
    for c in &h.certificates {
        let left = (c.not_after - now_s).div_euclid(86_400);
        if c.not_after <= now_s {
            out.push(format!("{} ({}): {}", c.usage, c.serial, t(lang, "expired")));
        } else if c.not_after - now_s < days * 86_400 {
            out.push(format!("{} ({}): {} {left}", c.usage, c.serial, t(lang, "expires_in")));
        }
        match c.ocsp_status.as_deref() {
            Some("good") => {}
            Some(other) => out.push(format!("{} ({}): {} {other}", c.usage, c.serial, t(lang, "ocsp_bad"))),
            None => out.push(format!("{} ({}): {}", c.usage, c.serial, t(lang, "ocsp_none"))),
        }
    }
    if h.global_conf_expires_at.is_some_and(|e| e <= now_s) {
        out.push(t(lang, "conf_expired").to_owned());
    }
    out
}

fn figures_table(out: &mut String, lang: Lang, caption: &str, first: &str, rows: &BTreeMap<(String, String), Figures>) {
    let _ = write!(
        out,
        "<div class=\"scroll\" role=\"region\" tabindex=\"0\" aria-label=\"{caption}\"><table><caption>{caption}</caption>\
<thead><tr><th scope=\"col\">{first}</th><th scope=\"col\">{server}</th><th scope=\"col\">{requests}</th>\
<th scope=\"col\">{errors}</th><th scope=\"col\">p50, ms</th><th scope=\"col\">p95, ms</th><th scope=\"col\">p99, ms</th>\
</tr></thead><tbody>",
        caption = escape(caption),
        first = escape(first),
        server = t(lang, "server"),
        requests = t(lang, "requests"),
        errors = t(lang, "errors"),
    );
    if rows.is_empty() {
        let _ = write!(out, "<tr><td colspan=\"7\">{}</td></tr>", t(lang, "no_data"));
    }
    let ms = |v: Option<i64>| v.map_or("—".to_owned(), |v| v.to_string());
    // the row header (service or client) leads, then the server
    let mut sorted: Vec<_> = rows.iter().collect();
    sorted.sort_by(|((s1, k1), _), ((s2, k2), _)| (k1, s1).cmp(&(k2, s2)));
    for ((server, key), f) in sorted {
        let _ = write!(
            out,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{} ({:.1}%)</td>\
<td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            escape(key),
            escape(server),
            f.count,
            f.errors,
            f.error_rate() * 100.0,
            ms(f.p50_ms),
            ms(f.p95_ms),
            ms(f.p99_ms)
        );
    }
    out.push_str("</tbody></table></div>");
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#1a1a1a;background:#fff;line-height:1.4}\
header,main,footer{padding:0 1rem;max-width:90rem;margin:auto}\
.skip{position:absolute;left:-9999px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem;outline:3px solid #0b57d0}\
a{color:#0b57d0}a:focus{outline:3px solid #0b57d0;outline-offset:2px}\
nav ul{list-style:none;padding:0;display:flex;gap:1rem;flex-wrap:wrap}\
nav a[aria-current]{font-weight:700;color:#1a1a1a}\
.scroll{overflow-x:auto}.scroll:focus{outline:3px solid #0b57d0}\
table{border-collapse:collapse;margin:1rem 0;width:100%}\
th,td{border:1px solid #767676;padding:.3rem .5rem;text-align:left;vertical-align:top}\
thead th{background:#f1f3f4}td.n{text-align:right;font-variant-numeric:tabular-nums}\
caption{text-align:left;font-weight:600;padding:.3rem 0}\
.down{color:#a50e0e;font-weight:700}.up{color:#0d652d;font-weight:700}.warn{color:#a50e0e}\
ul.plain{margin:0;padding-left:1.2rem}";

async fn dashboard(State(state): State<Arc<StationState>>, Query(q): Query<BTreeMap<String, String>>) -> Response {
    let lang = parse_lang(q.get("lang").map(String::as_str));
    let refresh = q.get("refresh").map(String::as_str) != Some("off");
    let window = match window(&state).await {
        Ok(w) => w,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let now = now_ms();
    let now_s = now.div_euclid(1000);
    let mut out = String::with_capacity(16 * 1024);
    let query =
        |lang: Lang, refresh: bool| format!("?lang={}{}", lang.code(), if refresh { "" } else { "&amp;refresh=off" });
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"{code}\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">{meta}\
<title>{title}</title><style>{STYLE}</style></head><body><a class=\"skip\" href=\"#main\">{skip}</a>\
<header><h1>{title}</h1><nav aria-label=\"{language}\"><ul>",
        code = lang.code(),
        meta =
            if refresh { format!("<meta http-equiv=\"refresh\" content=\"{REFRESH_SECS}\">") } else { String::new() },
        title = t(lang, "title"),
        skip = t(lang, "skip"),
        language = t(lang, "language"),
    );
    for l in Lang::ALL {
        let name = l.own_name();
        let current = if l == lang { " aria-current=\"page\"" } else { "" };
        let _ = write!(
            out,
            "<li><a href=\"{href}\" lang=\"{c}\" hreflang=\"{c}\"{current}>{name}</a></li>",
            href = query(l, refresh),
            c = l.code()
        );
    }
    let _ = write!(
        out,
        "</ul></nav><p>{metadata} {updated}: {at}. <a href=\"{href}\">{toggle}</a></p></header>\
<main id=\"main\" tabindex=\"-1\"><h2 id=\"servers\">{servers}</h2>",
        metadata = t(lang, "metadata_only"),
        updated = t(lang, "updated"),
        at = moment(now),
        href = query(lang, !refresh),
        toggle = t(lang, if refresh { "refresh_off" } else { "refresh_on" }),
        servers = t(lang, "servers"),
    );
    servers_table(&mut out, &state, lang, now_s);
    for (period, services, clients) in [
        ("last_hour", &window.hour_services, &window.hour_clients),
        ("last_day", &window.day_services, &window.day_clients),
    ] {
        let _ = write!(out, "<h2>{} ({})</h2>", t(lang, "services"), t(lang, period));
        let caption = format!("{} — {}", t(lang, "services"), t(lang, period));
        figures_table(&mut out, lang, &caption, &t(lang, "service"), services);
        let _ = write!(out, "<h2>{} ({})</h2>", t(lang, "clients"), t(lang, period));
        let caption = format!("{} — {}", t(lang, "clients"), t(lang, period));
        figures_table(&mut out, lang, &caption, &t(lang, "client"), clients);
    }
    let today = time::OffsetDateTime::now_utc();
    let month = format!("{:04}-{:02}", today.year(), u8::from(today.month()));
    let _ = write!(
        out,
        "<h2>{}</h2><ul><li><a href=\"/api/v1/usage?month={month}&amp;format=csv\">CSV, {month}</a></li>\
<li><a href=\"/api/v1/usage?month={month}&amp;format=json\">JSON, {month}</a></li></ul></main>\
<footer><p><a href=\"/metrics\">/metrics</a> · <a href=\"/api/v1/servers\">/api/v1/servers</a></p></footer></body></html>",
        t(lang, "usage")
    );
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], out).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        ),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn servers_table(out: &mut String, state: &StationState, lang: Lang, now_s: i64) {
    let snapshot = state.snapshot();
    let caption = t(lang, "servers");
    let _ = write!(
        out,
        "<div class=\"scroll\" role=\"region\" tabindex=\"0\" aria-labelledby=\"servers\"><table><caption>{caption}</caption>\
<thead><tr><th scope=\"col\">{server}</th><th scope=\"col\">{status}</th><th scope=\"col\">{last_poll}</th>\
<th scope=\"col\">{conf_age}</th><th scope=\"col\">{uptime}</th><th scope=\"col\">{ts_lag}</th><th scope=\"col\">{queues}</th>\
<th scope=\"col\">{disk}</th><th scope=\"col\">{warnings}</th></tr></thead><tbody>",
        server = t(lang, "server"),
        status = t(lang, "status"),
        last_poll = t(lang, "last_poll"),
        conf_age = t(lang, "conf_age"),
        uptime = t(lang, "uptime"),
        ts_lag = t(lang, "ts_lag"),
        queues = t(lang, "queues"),
        disk = t(lang, "disk"),
        warnings = t(lang, "warnings"),
    );
    // in the configuration's order
    for server in &state.config.servers {
        let status = snapshot.get(&server.name).cloned().unwrap_or_default();
        let (class, word) = match (status.last_poll_ms, status.up()) {
            (None, _) => ("down", t(lang, "never")),
            (_, true) => ("up", t(lang, "up")),
            (_, false) => ("down", t(lang, "down")),
        };
        let _ =
            write!(out, "<tr><th scope=\"row\">{}</th><td><span class=\"{class}\">{word}</span>", escape(&server.name));
        if let Some(e) = &status.error {
            let _ = write!(out, "<br>{}: {}", t(lang, "reason"), escape(e));
        }
        if let (false, Some(at)) = (status.up(), status.health_at_ms) {
            let _ = write!(out, "<br>{}: {}", t(lang, "data_from"), moment(at));
        }
        out.push_str("</td>");
        let _ = write!(out, "<td>{}</td>", status.last_poll_ms.map_or_else(|| "—".to_owned(), moment));
        match &status.health {
            Some(h) => {
                let disk = h.disk.as_ref().map_or_else(
                    || "—".to_owned(),
                    |d| {
                        let pct =
                            if d.total_bytes == 0 { 0.0 } else { d.free_bytes as f64 * 100.0 / d.total_bytes as f64 };
                        format!("{} / {} ({pct:.0}%)", bytes(d.free_bytes), bytes(d.total_bytes))
                    },
                );
                let _ = write!(
                    out,
                    "<td>{} (#{})</td><td>{}</td><td>{}</td><td class=\"n\">{} / {} / {}</td><td>{}</td>",
                    duration(lang, h.global_conf_age_seconds),
                    h.global_conf_serial,
                    duration(lang, i64::try_from(h.uptime_seconds).unwrap_or(i64::MAX)),
                    duration(lang, h.timestamp_lag_seconds),
                    h.queues.message_log_writer,
                    h.queues.timestamp_pending,
                    h.queues.incidents,
                    escape(&disk),
                );
            }
            None => out.push_str("<td>—</td><td>—</td><td>—</td><td>—</td><td>—</td>"),
        }
        let mut items: Vec<String> = Vec::new();
        if let Some(r) = status.health.as_ref().and_then(|h| h.refusing_traffic.as_ref()) {
            items.push(format!("{}: {r}", t(lang, "refusing")));
        }
        items.extend(warnings(&status, state.config.certificate_warning_days, lang, now_s));
        if items.is_empty() {
            let _ = write!(out, "<td>{}</td>", t(lang, "none"));
        } else {
            out.push_str("<td><ul class=\"plain\">");
            for w in items {
                let _ = write!(out, "<li class=\"warn\">{}</li>", escape(&w));
            }
            out.push_str("</ul></td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
}

fn help(out: &mut String, name: &str, kind: &str, text: &str) {
    let _ = writeln!(out, "# HELP {name} {text}\n# TYPE {name} {kind}");
}

async fn metrics(State(state): State<Arc<StationState>>) -> Response {
    let window = match window(&state).await {
        Ok(w) => w,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let now_s = now_ms().div_euclid(1000);
    let snapshot = state.snapshot();
    let mut out = String::with_capacity(16 * 1024);
    let servers: Vec<(String, ServerStatus)> = state
        .config
        .servers
        .iter()
        .map(|s| (label(&s.name), snapshot.get(&s.name).cloned().unwrap_or_default()))
        .collect();

    help(&mut out, "egov_server_up", "gauge", "1 when the last poll of the security server succeeded.");
    for (n, s) in &servers {
        let _ = writeln!(out, "egov_server_up{{server=\"{n}\"}} {}", u8::from(s.up()));
    }
    help(
        &mut out,
        "egov_server_last_success_timestamp_seconds",
        "gauge",
        "When the last successful poll of the security server finished.",
    );
    for (n, s) in &servers {
        if let Some(ms) = s.last_success_ms {
            let _ =
                writeln!(out, "egov_server_last_success_timestamp_seconds{{server=\"{n}\"}} {}", ms.div_euclid(1000));
        }
    }
    help(&mut out, "egov_records_collected_total", "counter", "Operational records stored since the station started.");
    for (n, s) in &servers {
        let _ = writeln!(out, "egov_records_collected_total{{server=\"{n}\"}} {}", s.records_collected);
    }
    let with_health: Vec<_> = servers.iter().filter_map(|(n, s)| s.health.as_ref().map(|h| (n, h))).collect();
    help(&mut out, "egov_globalconf_age_seconds", "gauge", "Age of the global configuration in use.");
    for (n, h) in &with_health {
        let _ = writeln!(out, "egov_globalconf_age_seconds{{server=\"{n}\"}} {}", h.global_conf_age_seconds);
    }
    help(&mut out, "egov_uptime_seconds", "gauge", "Seconds since the security server started.");
    for (n, h) in &with_health {
        let _ = writeln!(out, "egov_uptime_seconds{{server=\"{n}\"}} {}", h.uptime_seconds);
    }
    help(&mut out, "egov_timestamp_lag_seconds", "gauge", "Age of the oldest logged message without a time-stamp.");
    for (n, h) in &with_health {
        let _ = writeln!(out, "egov_timestamp_lag_seconds{{server=\"{n}\"}} {}", h.timestamp_lag_seconds);
    }
    help(&mut out, "egov_refusing_traffic", "gauge", "1 when the security server refuses traffic.");
    for (n, h) in &with_health {
        let _ = writeln!(out, "egov_refusing_traffic{{server=\"{n}\"}} {}", u8::from(h.refusing_traffic.is_some()));
    }
    help(&mut out, "egov_queue_depth", "gauge", "Length of a queue of the security server.");
    for (n, h) in &with_health {
        for (queue, v) in [
            ("message_log_writer", h.queues.message_log_writer),
            ("timestamp_pending", h.queues.timestamp_pending),
            ("incidents", h.queues.incidents),
        ] {
            let _ = writeln!(out, "egov_queue_depth{{server=\"{n}\",queue=\"{queue}\"}} {v}");
        }
    }
    help(&mut out, "egov_disk_free_bytes", "gauge", "Free space on the disk holding the message log.");
    for (n, h) in &with_health {
        if let Some(d) = &h.disk {
            let _ = writeln!(out, "egov_disk_free_bytes{{server=\"{n}\"}} {}", d.free_bytes);
        }
    }
    help(
        &mut out,
        "egov_certificate_expiry_seconds",
        "gauge",
        "Seconds until the certificate expires (negative: expired).",
    );
    for (n, h) in &with_health {
        for c in &h.certificates {
            let _ = writeln!(
                out,
                "egov_certificate_expiry_seconds{{server=\"{n}\",usage=\"{}\",serial=\"{}\"}} {}",
                label(&c.usage),
                label(&c.serial),
                c.not_after - now_s
            );
        }
    }
    help(&mut out, "egov_certificate_ocsp_good", "gauge", "1 when the certificate's last OCSP answer is good.");
    for (n, h) in &with_health {
        for c in &h.certificates {
            let _ = writeln!(
                out,
                "egov_certificate_ocsp_good{{server=\"{n}\",usage=\"{}\",serial=\"{}\"}} {}",
                label(&c.usage),
                label(&c.serial),
                u8::from(c.ocsp_status.as_deref() == Some("good"))
            );
        }
    }
    help(
        &mut out,
        "egov_requests_total",
        "counter",
        "Requests the station has stored, by server, service, client and outcome.",
    );
    for ((server, service, client, ok), n) in state.totals() {
        let _ = writeln!(
            out,
            "egov_requests_total{{server=\"{}\",service=\"{}\",client=\"{}\",succeeded=\"{ok}\"}} {n}",
            label(&server),
            label(&service),
            label(&client)
        );
    }
    help(
        &mut out,
        "egov_requests_last_hour",
        "gauge",
        "Requests in the last hour, by server, service, client and outcome.",
    );
    for ((server, service, client, ok), n) in &window.hour_counts {
        let _ = writeln!(
            out,
            "egov_requests_last_hour{{server=\"{}\",service=\"{}\",client=\"{}\",succeeded=\"{ok}\"}} {n}",
            label(server),
            label(service),
            label(client)
        );
    }
    help(&mut out, "egov_request_duration_ms", "summary", "Request duration over the last hour, milliseconds.");
    for ((server, service), f) in &window.hour_services {
        let (server, service) = (label(server), label(service));
        for (q, v) in [("0.5", f.p50_ms), ("0.95", f.p95_ms), ("0.99", f.p99_ms)] {
            if let Some(v) = v {
                let _ = writeln!(
                    out,
                    "egov_request_duration_ms{{server=\"{server}\",service=\"{service}\",quantile=\"{q}\"}} {v}"
                );
            }
        }
        let _ = writeln!(out, "egov_request_duration_ms_sum{{server=\"{server}\",service=\"{service}\"}} {}", f.sum_ms);
        let _ =
            writeln!(out, "egov_request_duration_ms_count{{server=\"{server}\",service=\"{service}\"}} {}", f.count);
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], out).into_response()
}

/// The monthly usage rows for `month` (`YYYY-MM`) from the station's database.
pub async fn monthly(db: &Database, month: &str) -> Result<Vec<stats::MonthlyUsage>, MonitorError> {
    let (from, to) = stats::month_range(month).map_err(MonitorError::Invalid)?;
    Ok(stats::monthly(&crate::store::service_counts(db, from, to).await?))
}

async fn usage(State(state): State<Arc<StationState>>, Query(q): Query<BTreeMap<String, String>>) -> Response {
    let Some(month) = q.get("month") else {
        return error(StatusCode::BAD_REQUEST, "the parameter month=YYYY-MM is required (e.g. month=2026-11)".into());
    };
    let format = q.get("format").map(String::as_str).unwrap_or("json");
    if !matches!(format, "csv" | "json") {
        return error(StatusCode::BAD_REQUEST, format!("format must be csv or json, not {format:?}"));
    }
    let rows = match monthly(&state.db, month).await {
        Ok(r) => r,
        Err(MonitorError::Invalid(m)) => return error(StatusCode::BAD_REQUEST, m),
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    if format == "csv" {
        (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8; header=present".to_owned()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"usage-{month}.csv\"")),
            ],
            stats::monthly_csv(&rows),
        )
            .into_response()
    } else {
        axum::Json(serde_json::json!({ "month": month, "services": rows })).into_response()
    }
}

/// One server in `GET /api/v1/servers`.
#[derive(Debug, serde::Serialize)]
struct ServerView<'a> {
    name: &'a str,
    url: &'a str,
    up: bool,
    warnings: Vec<String>,
    #[serde(flatten)]
    status: ServerStatus,
}

async fn servers(State(state): State<Arc<StationState>>) -> Response {
    let snapshot = state.snapshot();
    let now_s = now_ms().div_euclid(1000);
    let list: Vec<ServerView> = state
        .config
        .servers
        .iter()
        .map(|s| {
            let status = snapshot.get(&s.name).cloned().unwrap_or_default();
            ServerView {
                name: &s.name,
                url: &s.url,
                up: status.up(),
                warnings: warnings(&status, state.config.certificate_warning_days, Lang::En, now_s),
                status,
            }
        })
        .collect();
    axum::Json(serde_json::json!({ "servers": list })).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use egov_xroad::opmon::{CertificateHealth, HealthData, QueueDepths};

    #[test]
    fn escapes_html_and_labels() {
        assert_eq!(escape("<script>\"x\"&'"), "&lt;script&gt;&quot;x&quot;&amp;&#39;");
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(label("AZ/GOV/1/reg/person"), "AZ/GOV/1/reg/person");
        // a backslash before a quote stays two escapes, not one escaped quote
        assert_eq!(label("\\\""), "\\\\\\\"");
        assert_eq!(label("Азərbaycan"), "Азərbaycan");
    }

    fn health(certificates: Vec<CertificateHealth>, conf_expires: Option<i64>) -> ServerStatus {
        ServerStatus {
            health: Some(HealthData {
                security_server_id: "AZ/GOV/1/ss".into(),
                taken_at: 0,
                monitoring_startup_timestamp: 0,
                statistics_period_seconds: 600,
                uptime_seconds: 1,
                global_conf_serial: 1,
                global_conf_age_seconds: 1,
                global_conf_expires_at: conf_expires,
                certificates,
                disk: None,
                queues: QueueDepths::default(),
                timestamp_lag_seconds: 0,
                refusing_traffic: None,
                services_events: vec![],
            }),
            ..Default::default()
        }
    }

    fn cert(not_after: i64, ocsp: Option<&str>) -> CertificateHealth {
        CertificateHealth {
            usage: "sign".into(),
            serial: "0a".into(),
            not_after,
            ocsp_status: ocsp.map(Into::into),
            ocsp_produced_at: None,
        }
    }

    #[test]
    fn certificate_warnings() {
        let now = 1_800_000_000;
        let day = 86_400;
        let w = |c: CertificateHealth| warnings(&health(vec![c], None), 30, Lang::En, now);
        assert!(w(cert(now + 31 * day, Some("good"))).is_empty());
        assert_eq!(w(cert(now + 29 * day + 5, Some("good"))), ["sign (0a): certificate expires, days left: 29"]);
        assert_eq!(w(cert(now - 1, Some("good"))), ["sign (0a): certificate has expired"]);
        assert_eq!(w(cert(now + 90 * day, Some("revoked"))), ["sign (0a): OCSP status: revoked"]);
        assert_eq!(w(cert(now + 90 * day, None)), ["sign (0a): no OCSP answer yet"]);
        let conf = warnings(&health(vec![], Some(now - 10)), 30, Lang::Ru, now);
        assert_eq!(conf, ["срок глобальной конфигурации истёк"]);
        assert!(warnings(&ServerStatus::default(), 30, Lang::En, now).is_empty());
    }
}
