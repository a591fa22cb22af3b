//! The station's web interface: dashboard (server-rendered, no JavaScript needed), Prometheus
//! metrics, usage export, server status.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::poller::{ServerStatus, StationState, now_ms};
use crate::stats::{self, Figures};
use crate::text::{Lang, t};

const HOUR_MS: i64 = 3_600_000;

/// The routes.
pub fn router(state: Arc<StationState>) -> Router {
    Router::new()
        .route("/", get(dashboard))
        .route("/metrics", get(metrics))
        .route("/api/v1/usage", get(usage))
        .route("/api/v1/servers", get(servers))
        .with_state(state)
}

/// HTML-escapes text.
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

fn error(status: StatusCode, message: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], message + "\n").into_response()
}

/// Warnings for a server's certificates: expiring within `days`, expired, OCSP not good.
pub fn certificate_warnings(status: &ServerStatus, days: i64, lang: Lang) -> Vec<String> {
    let mut out = Vec::new();
    let Some(h) = &status.health else { return out };
    for c in &h.certificates {
        let left = (c.not_after - h.taken_at) / 86_400;
        if c.not_after <= h.taken_at {
            out.push(format!("{} ({}): {}", c.usage, c.serial, t(lang, "expired")));
        } else if left < days {
            out.push(format!("{} ({}): {} {left}", c.usage, c.serial, t(lang, "expires_in")));
        }
        match c.ocsp_status.as_deref() {
            Some("good") => {}
            other => out.push(format!("{} ({}): {} {}", c.usage, c.serial, t(lang, "ocsp_bad"), other.unwrap_or("—"))),
        }
    }
    out
}

fn figures_table(out: &mut String, lang: Lang, caption: &str, first: &str, rows: &BTreeMap<String, Figures>) {
    let _ = write!(
        out,
        "<table><caption>{}</caption><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th>\
<th scope=\"col\">{}</th><th scope=\"col\">p50 ms</th><th scope=\"col\">p95 ms</th><th scope=\"col\">p99 ms</th></tr></thead><tbody>",
        escape(caption),
        escape(first),
        t(lang, "requests"),
        t(lang, "errors")
    );
    if rows.is_empty() {
        let _ = write!(out, "<tr><td colspan=\"6\">{}</td></tr>", t(lang, "no_data"));
    }
    let ms = |v: Option<i64>| v.map_or("—".to_owned(), |v| v.to_string());
    for (key, f) in rows {
        let _ = write!(
            out,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{} ({:.1}%)</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(key),
            f.count,
            f.errors,
            f.error_rate() * 100.0,
            ms(f.p50_ms),
            ms(f.p95_ms),
            ms(f.p99_ms)
        );
    }
    out.push_str("</tbody></table>");
}

async fn dashboard(State(state): State<Arc<StationState>>, Query(q): Query<BTreeMap<String, String>>) -> Response {
    let lang = Lang::parse(q.get("lang").map(String::as_str));
    let now = now_ms();
    let day = match crate::store::usage(&state.db, now - 24 * HOUR_MS, now + 1).await {
        Ok(r) => r,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let hour: Vec<_> = day.iter().filter(|r| r.time_ms >= now - HOUR_MS).cloned().collect();
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"{code}\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><meta http-equiv=\"refresh\" content=\"30\">\
<title>{title}</title><style>\
body{{font-family:system-ui,sans-serif;margin:0;color:#1a1a1a;background:#fff}}main,header{{padding:0 1rem;max-width:72rem;margin:auto}}\
.skip{{position:absolute;left:-999px}}.skip:focus{{left:1rem;top:1rem;background:#fff;padding:.5rem;outline:3px solid #0b57d0}}\
a:focus,a:hover{{outline:3px solid #0b57d0}}table{{border-collapse:collapse;margin:1rem 0;width:100%}}\
th,td{{border:1px solid #767676;padding:.3rem .5rem;text-align:left}}caption{{text-align:left;font-weight:600;padding:.3rem 0}}\
.down{{color:#a50e0e;font-weight:600}}.up{{color:#0d652d;font-weight:600}}.warn{{color:#a50e0e}}nav a{{margin-right:1rem}}\
</style></head><body><a class=\"skip\" href=\"#main\">{skip}</a><header><h1>{title}</h1>\
<nav aria-label=\"{language}\"><a href=\"?lang=az\" lang=\"az\">Azərbaycan</a><a href=\"?lang=en\" lang=\"en\">English</a>\
<a href=\"?lang=ru\" lang=\"ru\">Русский</a></nav></header><main id=\"main\"><h2>{servers}</h2>",
        code = lang.code(),
        title = t(lang, "title"),
        skip = t(lang, "skip"),
        language = t(lang, "language"),
        servers = t(lang, "servers"),
    );
    for (name, status) in state.snapshot() {
        let (class, word) = match (status.last_poll_ms, status.up()) {
            (None, _) => ("down", t(lang, "never")),
            (_, true) => ("up", t(lang, "up")),
            (_, false) => ("down", t(lang, "down")),
        };
        let _ = write!(out, "<section><h3>{} — <span class=\"{class}\">{word}</span></h3><dl>", escape(&name));
        if let Some(e) = &status.error {
            let _ = write!(out, "<dt>{}</dt><dd>{}</dd>", t(lang, "reason"), escape(e));
        }
        if let Some(h) = &status.health {
            let _ = write!(
                out,
                "<dt>{}</dt><dd>{} s (#{})</dd><dt>{}</dt><dd>{} s</dd><dt>{}</dt><dd>{} s</dd><dt>{}</dt><dd>{} / {} / {}</dd>",
                t(lang, "conf_age"),
                h.global_conf_age_seconds,
                h.global_conf_serial,
                t(lang, "uptime"),
                h.uptime_seconds,
                t(lang, "ts_lag"),
                h.timestamp_lag_seconds,
                t(lang, "queues"),
                h.queues.message_log_writer,
                h.queues.timestamp_pending,
                h.queues.incidents
            );
            if let Some(r) = &h.refusing_traffic {
                let _ = write!(out, "<dt>{}</dt><dd class=\"warn\">{}</dd>", t(lang, "refusing"), escape(r));
            }
        }
        let warnings = certificate_warnings(&status, state.config.certificate_warning_days, lang);
        let _ = write!(out, "<dt>{}</dt><dd>", t(lang, "warnings"));
        if warnings.is_empty() {
            out.push_str(t(lang, "none"));
        } else {
            out.push_str("<ul>");
            for w in warnings {
                let _ = write!(out, "<li class=\"warn\">{}</li>", escape(&w));
            }
            out.push_str("</ul>");
        }
        out.push_str("</dd></dl></section>");
    }
    for (records, period) in [(&hour, "last_hour"), (&day, "last_day")] {
        let _ = write!(out, "<h2>{} ({})</h2>", t(lang, "services"), t(lang, period));
        figures_table(
            &mut out,
            lang,
            t(lang, period),
            t(lang, "services"),
            &stats::by(records, |r| r.service.as_deref()),
        );
        let _ = write!(out, "<h2>{} ({})</h2>", t(lang, "clients"), t(lang, period));
        figures_table(
            &mut out,
            lang,
            t(lang, period),
            t(lang, "clients"),
            &stats::by(records, |r| r.client.as_deref()),
        );
    }
    let month = time::OffsetDateTime::now_utc();
    let month = format!("{:04}-{:02}", month.year(), u8::from(month.month()));
    let _ = write!(
        out,
        "<h2>{}</h2><p><a href=\"/api/v1/usage?month={month}&amp;format=csv\">CSV {month}</a> · \
<a href=\"/api/v1/usage?month={month}&amp;format=json\">JSON {month}</a></p></main></body></html>",
        t(lang, "usage")
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], out).into_response()
}

/// A Prometheus label value, escaped (backslash, quote, newline).
pub fn label(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

async fn metrics(State(state): State<Arc<StationState>>) -> Response {
    let now = now_ms();
    let records = match crate::store::usage(&state.db, now - HOUR_MS, now + 1).await {
        Ok(r) => r,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let mut out = String::new();
    out.push_str(
        "# HELP egov_server_up Whether the last poll of the security server succeeded.\n# TYPE egov_server_up gauge\n",
    );
    let snapshot = state.snapshot();
    for (name, s) in &snapshot {
        let _ = writeln!(out, "egov_server_up{{server=\"{}\"}} {}", label(name), u8::from(s.up()));
    }
    out.push_str("# HELP egov_globalconf_age_seconds Age of the global configuration in use.\n# TYPE egov_globalconf_age_seconds gauge\n");
    out.push_str("# HELP egov_timestamp_lag_seconds Age of the oldest message without a time-stamp.\n# TYPE egov_timestamp_lag_seconds gauge\n");
    out.push_str("# HELP egov_certificate_expiry_seconds Seconds until the certificate expires.\n# TYPE egov_certificate_expiry_seconds gauge\n");
    for (name, s) in &snapshot {
        let Some(h) = &s.health else { continue };
        let n = label(name);
        let _ = writeln!(out, "egov_globalconf_age_seconds{{server=\"{n}\"}} {}", h.global_conf_age_seconds);
        let _ = writeln!(out, "egov_timestamp_lag_seconds{{server=\"{n}\"}} {}", h.timestamp_lag_seconds);
        for c in &h.certificates {
            let _ = writeln!(
                out,
                "egov_certificate_expiry_seconds{{server=\"{n}\",usage=\"{}\"}} {}",
                label(&c.usage),
                c.not_after - h.taken_at
            );
        }
    }
    out.push_str("# HELP egov_requests_last_hour Requests in the last hour.\n# TYPE egov_requests_last_hour gauge\n");
    let mut counts: BTreeMap<(String, String, String, bool), u64> = BTreeMap::new();
    for r in &records {
        *counts
            .entry((
                r.server.clone(),
                r.service.clone().unwrap_or_default(),
                r.client.clone().unwrap_or_default(),
                r.succeeded,
            ))
            .or_default() += 1;
    }
    for ((server, service, client, ok), n) in &counts {
        let _ = writeln!(
            out,
            "egov_requests_last_hour{{server=\"{}\",service=\"{}\",client=\"{}\",succeeded=\"{ok}\"}} {n}",
            label(server),
            label(service),
            label(client)
        );
    }
    out.push_str("# HELP egov_request_duration_ms Request duration over the last hour.\n# TYPE egov_request_duration_ms summary\n");
    for (service, f) in stats::by(&records, |r| r.service.as_deref()) {
        let s = label(&service);
        for (q, v) in [("0.5", f.p50_ms), ("0.95", f.p95_ms), ("0.99", f.p99_ms)] {
            if let Some(v) = v {
                let _ = writeln!(out, "egov_request_duration_ms{{service=\"{s}\",quantile=\"{q}\"}} {v}");
            }
        }
        let _ = writeln!(out, "egov_request_duration_ms_count{{service=\"{s}\"}} {}", f.count);
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], out).into_response()
}

/// The monthly usage rows for `month` (`YYYY-MM`).
pub async fn monthly(state: &StationState, month: &str) -> Result<Vec<stats::MonthlyUsage>, crate::MonitorError> {
    let (from, to) = stats::month_range(month).map_err(crate::MonitorError::Invalid)?;
    Ok(stats::monthly(&crate::store::usage(&state.db, from, to).await?))
}

async fn usage(State(state): State<Arc<StationState>>, Query(q): Query<BTreeMap<String, String>>) -> Response {
    let Some(month) = q.get("month") else {
        return error(StatusCode::BAD_REQUEST, "the parameter month=YYYY-MM is required".into());
    };
    let rows = match monthly(&state, month).await {
        Ok(r) => r,
        Err(crate::MonitorError::Invalid(m)) => return error(StatusCode::BAD_REQUEST, m),
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    match q.get("format").map(String::as_str).unwrap_or("json") {
        "csv" => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"usage-{month}.csv\"")),
            ],
            stats::monthly_csv(&rows),
        )
            .into_response(),
        "json" => axum::Json(serde_json::json!({ "month": month, "services": rows })).into_response(),
        other => error(StatusCode::BAD_REQUEST, format!("format must be csv or json, not {other:?}")),
    }
}

async fn servers(State(state): State<Arc<StationState>>) -> Response {
    axum::Json(state.snapshot()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_html_and_labels() {
        assert_eq!(escape("<script>\"x\"&'"), "&lt;script&gt;&quot;x&quot;&amp;&#39;");
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
