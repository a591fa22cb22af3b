//! The registry's back office: the operator's staff log in with a password and a
//! one-time code, see pending applications with their due dates (overdue ones flagged), and
//! approve or refuse them. Sessions live in memory (30 minutes idle), in an HttpOnly,
//! SameSite=Strict cookie limited to `/…/backoffice`; every form carries the session's CSRF
//! token, and a cross-site `Origin` is refused. Repeated failed logins are slowed down per
//! source address and login by the portal's [`crate::throttle`], with growing waits; the
//! account itself is never locked, so a stranger cannot shut its owner out.

use egov_workdays::today;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use askama::Template;
use axum::Form;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;

use egov_registry::staff::StaffMember;

use crate::Portal;
use crate::i18n::{Lang, Tr};
use crate::web::{PageInfo, render};

/// How long an idle session lasts.
const IDLE: Duration = Duration::from_secs(30 * 60);
const COOKIE: &str = "egov_staff";

/// One logged-in staff member's session.
#[derive(Debug, Clone)]
struct Session {
    staff: StaffMember,
    csrf: String,
    seen: Instant,
}

/// The back office's sessions.
#[derive(Debug, Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
}

fn random_token() -> Option<String> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).ok()?;
    Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

impl Sessions {
    fn open(&self, staff: StaffMember) -> Option<(String, String)> {
        let (token, csrf) = (random_token()?, random_token()?);
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, s| s.seen.elapsed() < IDLE);
        map.insert(token.clone(), Session { staff, csrf: csrf.clone(), seen: Instant::now() });
        Some((token, csrf))
    }

    fn get(&self, headers: &HeaderMap) -> Option<Session> {
        let token = cookie(headers, COOKIE)?;
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let session = map.get_mut(&token)?;
        if session.seen.elapsed() >= IDLE {
            map.remove(&token);
            return None;
        }
        session.seen = Instant::now();
        Some(session.clone())
    }

    fn close(&self, headers: &HeaderMap) {
        if let Some(token) = cookie(headers, COOKIE) {
            self.map.lock().unwrap_or_else(|p| p.into_inner()).remove(&token);
        }
    }
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(name)?.strip_prefix('=').map(str::to_owned))
}

/// A POST from another site (or a form without the session's token) is refused.
fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    match (headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()), host) {
        (None, _) => true,
        (Some(origin), Some(host)) => origin.split("://").nth(1) == Some(host),
        (Some(_), None) => false,
    }
}

fn lang(code: &str) -> Lang {
    Lang::from_code(code).unwrap_or(Lang::Az)
}

#[derive(Template)]
#[template(path = "bo_login.html")]
struct LoginPage {
    page: PageInfo,
    error: Option<String>,
    login: String,
}

/// `GET /{lang}/backoffice/login`.
pub async fn login_page(Path(code): Path<String>) -> Response {
    let lang = lang(&code);
    let page = PageInfo::new(lang, Tr { lang }.t("bo-login-title"), "/backoffice/login");
    render(&LoginPage { page, error: None, login: String::new() })
}

/// The login form.
#[derive(Debug, serde::Deserialize)]
pub struct LoginForm {
    login: String,
    password: String,
    code: String,
}

/// `POST /{lang}/backoffice/login`.
pub async fn log_in(
    State(portal): State<Arc<Portal>>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    Path(code): Path<String>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let lang = lang(&code);
    let tr = Tr { lang };
    if !same_origin(&headers) {
        return (StatusCode::FORBIDDEN, "cross-site request refused").into_response();
    }
    let refused = |status: StatusCode, message: String, login: String| {
        let page = PageInfo::new(lang, tr.t("bo-login-title"), "/backoffice/login");
        let mut r = render(&LoginPage { page, error: Some(message), login });
        *r.status_mut() = status;
        r
    };
    let login = form.login.trim();
    let attempt = match portal.sign_ins().attempt(crate::throttle::sign_in_key(peer.ip(), login)) {
        Ok(attempt) => attempt,
        Err(wait) => {
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let mut r = refused(
                StatusCode::TOO_MANY_REQUESTS,
                tr.a("bo-throttled", "seconds", &seconds.to_string()),
                form.login.clone(),
            );
            r.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
            return r;
        }
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    match portal.registry().log_in(portal.staff_key(), login, &form.password, &form.code, now).await {
        Ok(staff) => {
            attempt.succeeded();
            match portal.sessions.open(staff) {
                Some((token, _)) => {
                    let secure = if portal.secure_cookies() { "; Secure" } else { "" };
                    let cookie = format!(
                        "{COOKIE}={token}; Path=/{}/backoffice; HttpOnly; SameSite=Strict{secure}",
                        lang.code()
                    );
                    let mut r = Redirect::to(&format!("/{}/backoffice/", lang.code())).into_response();
                    if let Ok(v) = header::HeaderValue::from_str(&cookie) {
                        r.headers_mut().insert(header::SET_COOKIE, v);
                    }
                    r
                }
                None => (StatusCode::INTERNAL_SERVER_ERROR, "no randomness for a session").into_response(),
            }
        }
        Err(_) => refused(StatusCode::UNAUTHORIZED, tr.t("bo-wrong"), form.login.clone()),
    }
}

/// The logout and decision forms.
#[derive(Debug, serde::Deserialize)]
pub struct CsrfForm {
    csrf: String,
    #[serde(default)]
    reason: String,
}

/// The session of a form post, or why it is refused (status and message).
fn checked(portal: &Portal, headers: &HeaderMap, form: &CsrfForm) -> Result<Session, (StatusCode, &'static str)> {
    let session = portal.sessions.get(headers).ok_or((StatusCode::UNAUTHORIZED, "log in first"))?;
    if !same_origin(headers) || form.csrf != session.csrf {
        return Err((StatusCode::FORBIDDEN, "the form's security token is missing or stale; reload the page"));
    }
    Ok(session)
}

/// `POST /{lang}/backoffice/logout`.
pub async fn log_out(
    State(portal): State<Arc<Portal>>,
    Path(code): Path<String>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(refusal) = checked(&portal, &headers, &form) {
        return refusal.into_response();
    }
    portal.sessions.close(&headers);
    Redirect::to(&format!("/{}/backoffice/login", lang(&code).code())).into_response()
}

struct Row {
    id: i64,
    kind: String,
    service: String,
    applicant: String,
    filed: String,
    due: String,
    overdue: bool,
}

#[derive(Template)]
#[template(path = "bo_list.html")]
struct ListPage {
    page: PageInfo,
    staff: String,
    csrf: String,
    message: Option<String>,
    applications: Vec<Row>,
}

fn kind_label(kind: &str, tr: Tr) -> String {
    tr.t(match kind {
        "register" => "bo-kind-register",
        "amend" => "bo-kind-amend",
        _ => "bo-kind-deregister",
    })
}

fn service_label(
    portal: &Portal,
    number: Option<&str>,
    record: Option<&egov_registry::model::ServiceRecord>,
    l: &str,
) -> String {
    match (number, record) {
        (_, Some(r)) => format!("{}{}", number.map(|n| format!("{n}: ")).unwrap_or_default(), r.name.get(l)),
        (Some(n), None) => match portal.catalogue().service(n) {
            Some(e) => format!("{n}: {}", e.record.name.get(l)),
            None => n.to_owned(),
        },
        (None, None) => String::new(),
    }
}

/// `GET /{lang}/backoffice/`.
pub async fn list(
    State(portal): State<Arc<Portal>>,
    Path(code): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let lang = lang(&code);
    let Some(session) = portal.sessions.get(&headers) else {
        return Redirect::to(&format!("/{}/backoffice/login", lang.code())).into_response();
    };
    let tr = Tr { lang };
    let pending = match portal.registry().pending().await {
        Ok(p) => p,
        Err(e) => {
            return (StatusCode::SERVICE_UNAVAILABLE, format!("the registry cannot be read: {e}")).into_response();
        }
    };
    let today = today();
    let mut applications = Vec::with_capacity(pending.len());
    for a in pending {
        let record = portal.registry().application_record(a.id).await.ok().flatten();
        applications.push(Row {
            id: a.id,
            kind: kind_label(&a.kind, tr),
            service: service_label(&portal, a.registry_number.as_deref(), record.as_ref(), lang.code()),
            applicant: a.applicant.clone(),
            filed: a.filed_on.to_string(),
            due: a.due_on.to_string(),
            overdue: a.due_on < today,
        });
    }
    // after a decision the list says it was recorded (`?decided=ID`)
    let decided = params.get("decided").is_some_and(|id| id.parse::<i64>().is_ok());
    render(&ListPage {
        page: PageInfo::new(lang, tr.t("bo-title"), "/backoffice/"),
        staff: session.staff.name,
        csrf: session.csrf,
        message: decided.then(|| tr.t("bo-decided")),
        applications,
    })
}

#[derive(Template)]
#[template(path = "bo_application.html")]
struct ApplicationPage {
    page: PageInfo,
    id: i64,
    kind: String,
    service: String,
    applicant: String,
    filed: String,
    due: String,
    overdue: bool,
    changed: Option<String>,
    requested_late: bool,
    reason: String,
    record: String,
    csrf: String,
    error: Option<String>,
}

async fn application_page(portal: &Portal, lang: Lang, id: i64, session: &Session, error: Option<String>) -> Response {
    let tr = Tr { lang };
    let Ok(a) = portal.registry().application(id).await else {
        return (StatusCode::NOT_FOUND, "no such application").into_response();
    };
    let record = portal.registry().application_record(id).await.ok().flatten();
    let mut r = render(&ApplicationPage {
        page: PageInfo::new(
            lang,
            format!("{} {id}", tr.t("bo-application")),
            &format!("/backoffice/applications/{id}"),
        ),
        id,
        kind: kind_label(&a.kind, tr),
        service: service_label(portal, a.registry_number.as_deref(), record.as_ref(), lang.code()),
        applicant: a.applicant.clone(),
        filed: a.filed_on.to_string(),
        due: a.due_on.to_string(),
        overdue: a.status == "pending" && a.due_on < today(),
        changed: a.changed_on.map(|d| d.to_string()),
        requested_late: a.requested_late,
        reason: portal.registry().application_reason(id).await.unwrap_or_default(),
        record: record.and_then(|r| serde_json::to_string_pretty(&r).ok()).unwrap_or_default(),
        csrf: session.csrf.clone(),
        error: error.clone(),
    });
    if error.is_some() {
        *r.status_mut() = StatusCode::BAD_REQUEST;
    }
    r
}

/// `GET /{lang}/backoffice/applications/{id}`.
pub async fn application(
    State(portal): State<Arc<Portal>>,
    Path((code, id)): Path<(String, i64)>,
    headers: HeaderMap,
) -> Response {
    let lang = lang(&code);
    let Some(session) = portal.sessions.get(&headers) else {
        return Redirect::to(&format!("/{}/backoffice/login", lang.code())).into_response();
    };
    application_page(&portal, lang, id, &session, None).await
}

/// `POST /{lang}/backoffice/applications/{id}/{decision}`: approve or refuse.
pub async fn decide(
    State(portal): State<Arc<Portal>>,
    Path((code, id, decision)): Path<(String, i64, String)>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let lang = lang(&code);
    let session = match checked(&portal, &headers, &form) {
        Ok(s) => s,
        Err(refusal) => return refusal.into_response(),
    };
    let operator = format!("{} ({})", session.staff.name, session.staff.login);
    let result = match decision.as_str() {
        "approve" => portal.registry().approve(id, &operator, today()).await.map(|_| ()),
        "refuse" if form.reason.trim().is_empty() => {
            return application_page(&portal, lang, id, &session, Some(Tr { lang }.t("bo-reason-missing"))).await;
        }
        "refuse" => portal.registry().refuse(id, &operator, form.reason.trim(), today()).await,
        _ => return (StatusCode::NOT_FOUND, "approve or refuse").into_response(),
    };
    match result {
        Ok(()) => {
            if let Err(e) = portal.refresh().await {
                tracing::warn!(error = %e, "catalogue refresh after a decision failed");
            }
            Redirect::to(&format!("/{}/backoffice/?decided={id}", lang.code())).into_response()
        }
        Err(e) => application_page(&portal, lang, id, &session, Some(e.to_string())).await,
    }
}
