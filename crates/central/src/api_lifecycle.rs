//! The JSON API of the lifecycles (`/api/v1/…`): participant applications and decisions
//! (TT-3.1–3.3, P-6.1), breach notices, blocking, liquidation (TT-3.5–3.7), e-service
//! connection, versions and disconnections (TT-3.8–3.14), maintenance windows and notices
//! (P-5.1.7), the working-day calendar, the maintenance/retirement calendar, and
//! information-security incidents (TT-6.8). Described in `openapi.json`.
//!
//! Member identifiers contain `/`: in paths they are percent-encoded
//! (`/api/v1/members/AZ%2FGOV%2F1400000001/block`), as in the rest of the admin API.
//!
//! Who did something is taken from the authenticated caller (the admin API's
//! [`Caller`] extension) when there is one, else from the `X-Egov-Actor` header, else
//! `operator`. A security server may report incidents only in its own name.

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequest, Path, Query, Request, State};
use axum::http::{StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, on};
use axum::{Extension, Router};
use egov_xroad::ClientId;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use time::{Duration, OffsetDateTime};

use crate::api::tls::Caller;
use crate::incidents::{self, IncidentFilter, IncidentKind, IncidentReport};
use crate::lifecycle::calendar::{self, Holiday};
use crate::lifecycle::notices::{self, MaintenanceAnnouncement};
use crate::lifecycle::participants::{self, ApplicationForm, ApplicationState, ContractTerms};
use crate::lifecycle::services::{
    self, DisconnectionAnnouncement, ServiceApplicationForm, ServiceState, VersionAnnouncement,
};
use crate::lifecycle::timefmt::{parse_date, parse_instant};
use crate::{CentralError, CentralStore};

/// The header naming the person acting when no authenticated caller is known.
pub const ACTOR_HEADER: &str = "x-egov-actor";

/// How far back the calendar feeds reach by default.
pub const CALENDAR_HISTORY: Duration = Duration::days(30);

/// Who may call an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Anyone: the calendar feeds (P-3.6 informative part, no login).
    Public,
    /// The operator's administrators.
    Operator,
    /// Registered security servers (incident reports, TT-6.8).
    SecurityServer,
}

/// The HTTP methods this API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMethod {
    /// GET.
    Get,
    /// POST.
    Post,
    /// PUT.
    Put,
    /// DELETE.
    Delete,
}

impl HttpMethod {
    /// `GET`, `POST`, `DELETE`.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Delete => "DELETE",
        }
    }

    fn filter(self) -> MethodFilter {
        match self {
            HttpMethod::Get => MethodFilter::GET,
            HttpMethod::Post => MethodFilter::POST,
            HttpMethod::Put => MethodFilter::PUT,
            HttpMethod::Delete => MethodFilter::DELETE,
        }
    }
}

/// One endpoint: method, path (axum's `{param}` syntax, the same as OpenAPI's) and audience.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    /// Method.
    pub method: HttpMethod,
    /// Path.
    pub path: &'static str,
    /// Who may call it.
    pub audience: Audience,
}

/// An endpoint and its handler.
pub(crate) type Entry<S> = (Endpoint, MethodRouter<S>);

pub(crate) fn ep<S, H, T>(method: HttpMethod, path: &'static str, audience: Audience, handler: H) -> Entry<S>
where
    H: axum::handler::Handler<T, S>,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
    (Endpoint { method, path, audience }, on(method.filter(), handler))
}

/// Every endpoint with its handler; [`routes`], [`routes_for`] and [`endpoints`] read it, so
/// the list the OpenAPI test checks is the list that is served.
fn table<S>() -> Vec<Entry<S>>
where
    S: Clone + Send + Sync + 'static,
    CentralStore: axum::extract::FromRef<S>,
{
    use Audience::{Operator, Public, SecurityServer};
    use HttpMethod::{Delete, Get, Post};
    vec![
        ep(Post, "/api/v1/applications", Operator, submit_application),
        ep(Get, "/api/v1/applications", Operator, list_applications),
        ep(Get, "/api/v1/applications/{id}", Operator, get_application),
        ep(Post, "/api/v1/applications/{id}/approve", Operator, approve_application),
        ep(Post, "/api/v1/applications/{id}/refuse", Operator, refuse_application),
        ep(Get, "/api/v1/members/{id}/history", Operator, member_history),
        ep(Get, "/api/v1/members/{id}/contract", Operator, member_contract),
        ep(Get, "/api/v1/members/{id}/breach-notices", Operator, member_breach_notices),
        ep(Post, "/api/v1/members/{id}/breach-notices", Operator, issue_breach_notice),
        ep(Post, "/api/v1/members/{id}/block", Operator, block_member),
        ep(Post, "/api/v1/members/{id}/unblock", Operator, unblock_member),
        ep(Post, "/api/v1/members/{id}/liquidate", Operator, liquidate_member),
        ep(Post, "/api/v1/breach-notices/{id}/remedied", Operator, breach_remedied),
        ep(Post, "/api/v1/breach-notices/{id}/disconnect", Operator, breach_disconnect),
        ep(Post, "/api/v1/breach-notices/disconnect-overdue", Operator, breach_disconnect_overdue),
        ep(Post, "/api/v1/service-applications", Operator, submit_service),
        ep(Get, "/api/v1/service-applications", Operator, list_services),
        ep(Get, "/api/v1/service-applications/{id}", Operator, get_service),
        ep(Post, "/api/v1/service-applications/{id}/test", Operator, test_service),
        ep(Post, "/api/v1/service-applications/{id}/connect", Operator, connect_service),
        ep(Post, "/api/v1/service-applications/{id}/refuse", Operator, refuse_service),
        ep(Get, "/api/v1/services", Operator, services_in_environment),
        ep(Post, "/api/v1/services/announce-version", Operator, announce_version),
        ep(Post, "/api/v1/services/announce-disconnection", Operator, announce_disconnection),
        ep(Post, "/api/v1/services/retire-due", Operator, retire_due),
        ep(Post, "/api/v1/maintenance", Operator, announce_maintenance),
        ep(Get, "/api/v1/notices", Operator, list_notices),
        ep(Get, "/api/v1/calendar.ics", Public, calendar_ics),
        ep(Get, "/api/v1/calendar.json", Public, calendar_json),
        ep(Get, "/api/v1/holidays", Operator, list_holidays),
        ep(Post, "/api/v1/holidays", Operator, add_holiday),
        ep(Post, "/api/v1/holidays/seed", Operator, seed_holidays),
        ep(Delete, "/api/v1/holidays/{date}", Operator, remove_holiday),
        ep(Get, "/api/v1/incidents", Operator, query_incidents),
        ep(Post, "/api/v1/incidents", SecurityServer, record_incident),
    ]
}

pub(crate) fn build<S>(entries: impl Iterator<Item = Entry<S>>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    entries.fold(Router::new(), |router, (e, handler)| router.route(e.path, handler))
}

/// Every lifecycle route. The caller puts it behind the admin API's authentication; see
/// [`routes_for`] to serve the public calendar feeds elsewhere.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    CentralStore: axum::extract::FromRef<S>,
{
    build(table::<S>().into_iter())
}

/// The routes for one audience (e.g. [`Audience::Public`] for the calendar feeds).
pub fn routes_for<S>(audience: Audience) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    CentralStore: axum::extract::FromRef<S>,
{
    build(table::<S>().into_iter().filter(|(e, _)| e.audience == audience))
}

/// The endpoints [`routes`] serves.
pub fn endpoints() -> Vec<Endpoint> {
    table::<CentralStore>().into_iter().map(|(e, _)| e).collect()
}

// ---------------------------------------------------------------------------------------------
// extractors: every rejection becomes a CentralError, reported as {"error": …}

/// A JSON request body.
struct Body<T>(T);

impl<T, S> FromRequest<S> for Body<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = CentralError;

    async fn from_request(req: Request, state: &S) -> Result<Self, CentralError> {
        match <Json<T> as FromRequest<S>>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Body(v)),
            Err(e) => Err(CentralError::Invalid(format!("request body: {}", e.body_text()))),
        }
    }
}

/// A JSON request body that may be left out (no `Content-Type`): then `T::default()`.
struct OptionalBody<T>(T);

impl<T, S> FromRequest<S> for OptionalBody<T>
where
    T: DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = CentralError;

    async fn from_request(req: Request, state: &S) -> Result<Self, CentralError> {
        match <Json<T> as OptionalFromRequest<S>>::from_request(req, state).await {
            Ok(Some(Json(v))) => Ok(OptionalBody(v)),
            Ok(None) => Ok(OptionalBody(T::default())),
            Err(e) => Err(CentralError::Invalid(format!("request body: {}", e.body_text()))),
        }
    }
}

/// Query parameters.
struct Params<T>(T);

impl<T, S> FromRequestParts<S> for Params<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = CentralError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, CentralError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(v)) => Ok(Params(v)),
            Err(e) => Err(CentralError::Invalid(format!("query: {}", e.body_text()))),
        }
    }
}

/// The one `{…}` path parameter, percent-decoded.
struct Id(String);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = CentralError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, CentralError> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(v)) => Ok(Id(v)),
            Err(e) => Err(CentralError::Invalid(format!("path: {}", e.body_text()))),
        }
    }
}

/// A member id path parameter (`AZ%2FGOV%2F1400000001`).
struct MemberId(ClientId);

impl<S: Send + Sync> FromRequestParts<S> for MemberId {
    type Rejection = CentralError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, CentralError> {
        let Id(text) = Id::from_request_parts(parts, state).await?;
        let id: ClientId = text.parse().map_err(|e| {
            CentralError::Invalid(format!(
                "member id '{}' in the path: {e} (percent-encode the slashes: AZ%2FGOV%2F1400000001)",
                crate::lifecycle::quote(&text)
            ))
        })?;
        if id.subsystem_code().is_some() {
            return Err(CentralError::Invalid(format!("{id} is a subsystem; give the member id INSTANCE/CLASS/CODE")));
        }
        Ok(MemberId(id))
    }
}

/// Who is acting: the authenticated caller, else the `X-Egov-Actor` header, else `None`
/// (recorded as `operator`).
struct Actor(Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for Actor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Actor(match parts.extensions.get::<Caller>() {
            Some(Caller::Operator(name)) => Some(name.clone()),
            Some(Caller::SecurityServer(id)) => Some(id.to_string()),
            None => parts.headers.get(ACTOR_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned),
        }))
    }
}

type ApiResult<T> = Result<Json<T>, CentralError>;
type Created<T> = Result<(StatusCode, Json<T>), CentralError>;

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn created<T>(value: T) -> Created<T> {
    Ok((StatusCode::CREATED, Json(value)))
}

// ---------------------------------------------------------------------------------------------
// participants

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateQuery {
    state: Option<String>,
}

async fn submit_application(
    State(store): State<CentralStore>,
    Body(form): Body<ApplicationForm>,
) -> Created<participants::ParticipantApplication> {
    created(participants::submit(&store, &form, now()).await?)
}

async fn list_applications(
    State(store): State<CentralStore>,
    Params(q): Params<StateQuery>,
) -> ApiResult<Vec<participants::ParticipantApplication>> {
    let state = q.state.as_deref().map(str::parse::<ApplicationState>).transpose()?;
    Ok(Json(participants::list_applications(&store, state, now()).await?))
}

async fn get_application(
    State(store): State<CentralStore>,
    Id(id): Id,
) -> ApiResult<participants::ParticipantApplication> {
    Ok(Json(participants::application(&store, &id, now()).await?))
}

async fn approve_application(
    State(store): State<CentralStore>,
    Actor(who): Actor,
    Id(id): Id,
    Body(terms): Body<ContractTerms>,
) -> ApiResult<participants::Contract> {
    Ok(Json(participants::approve(&store, &id, &terms, who.as_deref(), now()).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RefusalBody {
    reasoned_opinion: String,
}

async fn refuse_application(
    State(store): State<CentralStore>,
    Actor(who): Actor,
    Id(id): Id,
    Body(body): Body<RefusalBody>,
) -> ApiResult<participants::ParticipantApplication> {
    Ok(Json(participants::refuse(&store, &id, &body.reasoned_opinion, who.as_deref(), now()).await?))
}

async fn member_history(
    State(store): State<CentralStore>,
    MemberId(member): MemberId,
) -> ApiResult<Vec<participants::ParticipantEvent>> {
    Ok(Json(participants::history(&store, &member).await?))
}

async fn member_contract(
    State(store): State<CentralStore>,
    MemberId(member): MemberId,
) -> ApiResult<participants::Contract> {
    participants::contract(&store, &member)
        .await?
        .map(Json)
        .ok_or_else(|| CentralError::NotFound(format!("no contract with {member}")))
}

async fn member_breach_notices(
    State(store): State<CentralStore>,
    MemberId(member): MemberId,
) -> ApiResult<Vec<participants::BreachNotice>> {
    Ok(Json(participants::breach_notices(&store, &member).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BreachBody {
    description: String,
}

async fn issue_breach_notice(
    State(store): State<CentralStore>,
    Actor(who): Actor,
    MemberId(member): MemberId,
    Body(body): Body<BreachBody>,
) -> Created<participants::BreachNotice> {
    created(participants::issue_breach_notice(&store, &member, &body.description, who.as_deref(), now()).await?)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReasonBody {
    reason: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct OptionalReasonBody {
    #[serde(default)]
    reason: Option<String>,
}

async fn block_member(
    State(store): State<CentralStore>,
    Actor(who): Actor,
    MemberId(member): MemberId,
    Body(body): Body<ReasonBody>,
) -> ApiResult<participants::MemberStatus> {
    Ok(Json(participants::block(&store, &member, &body.reason, who.as_deref(), now()).await?))
}

async fn unblock_member(
    State(store): State<CentralStore>,
    Actor(who): Actor,
    MemberId(member): MemberId,
    OptionalBody(body): OptionalBody<OptionalReasonBody>,
) -> ApiResult<participants::MemberStatus> {
    Ok(Json(participants::unblock(&store, &member, body.reason.as_deref(), who.as_deref(), now()).await?))
}

async fn liquidate_member(
    State(store): State<CentralStore>,
    Actor(who): Actor,
    MemberId(member): MemberId,
    Body(body): Body<ReasonBody>,
) -> ApiResult<participants::MemberStatus> {
    Ok(Json(participants::liquidate(&store, &member, &body.reason, who.as_deref(), now()).await?))
}

async fn breach_remedied(
    State(store): State<CentralStore>,
    Actor(who): Actor,
    Id(id): Id,
) -> ApiResult<participants::BreachNotice> {
    Ok(Json(participants::mark_remedied(&store, &id, who.as_deref(), now()).await?))
}

async fn breach_disconnect(
    State(store): State<CentralStore>,
    Actor(who): Actor,
    Id(id): Id,
) -> ApiResult<participants::BreachNotice> {
    Ok(Json(participants::disconnect_for_breach(&store, &id, who.as_deref(), now()).await?))
}

async fn breach_disconnect_overdue(
    State(store): State<CentralStore>,
    Actor(who): Actor,
) -> ApiResult<Vec<participants::BreachNotice>> {
    Ok(Json(participants::disconnect_overdue(&store, who.as_deref(), now()).await?))
}

// ---------------------------------------------------------------------------------------------
// services

async fn submit_service(
    State(store): State<CentralStore>,
    Actor(who): Actor,
    Body(form): Body<ServiceApplicationForm>,
) -> Created<services::ServiceApplication> {
    created(services::submit(&store, &form, who.as_deref(), now()).await?)
}

async fn list_services(
    State(store): State<CentralStore>,
    Params(q): Params<StateQuery>,
) -> ApiResult<Vec<services::ServiceApplication>> {
    let state = q.state.as_deref().map(str::parse::<ServiceState>).transpose()?;
    Ok(Json(services::list(&store, state, now()).await?))
}

async fn get_service(State(store): State<CentralStore>, Id(id): Id) -> ApiResult<services::ServiceApplication> {
    Ok(Json(services::service_application(&store, &id, now()).await?))
}

async fn test_service(
    State(store): State<CentralStore>,
    Actor(who): Actor,
    Id(id): Id,
) -> ApiResult<services::ServiceApplication> {
    Ok(Json(services::start_testing(&store, &id, who.as_deref(), now()).await?))
}

async fn connect_service(
    State(store): State<CentralStore>,
    Actor(who): Actor,
    Id(id): Id,
) -> ApiResult<services::ServiceApplication> {
    Ok(Json(services::connect(&store, &id, who.as_deref(), now()).await?))
}

async fn refuse_service(
    State(store): State<CentralStore>,
    Actor(who): Actor,
    Id(id): Id,
    Body(body): Body<ReasonBody>,
) -> ApiResult<services::ServiceApplication> {
    Ok(Json(services::refuse(&store, &id, &body.reason, who.as_deref(), now()).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvironmentQuery {
    environment: String,
}

async fn services_in_environment(
    State(store): State<CentralStore>,
    Params(q): Params<EnvironmentQuery>,
) -> ApiResult<Vec<services::ServiceApplication>> {
    Ok(Json(services::services_in_environment(&store, &q.environment, now()).await?))
}

async fn announce_version(
    State(store): State<CentralStore>,
    Actor(who): Actor,
    Body(body): Body<VersionAnnouncement>,
) -> ApiResult<services::Announcement> {
    Ok(Json(services::announce_version(&store, &body, who.as_deref(), now()).await?))
}

async fn announce_disconnection(
    State(store): State<CentralStore>,
    Actor(who): Actor,
    Body(body): Body<DisconnectionAnnouncement>,
) -> ApiResult<services::Announcement> {
    Ok(Json(services::announce_disconnection(&store, &body, who.as_deref(), now()).await?))
}

async fn retire_due(State(store): State<CentralStore>) -> ApiResult<Vec<services::ServiceApplication>> {
    Ok(Json(services::retire_due(&store, now()).await?))
}

// ---------------------------------------------------------------------------------------------
// notices and calendars

async fn announce_maintenance(
    State(store): State<CentralStore>,
    Body(body): Body<MaintenanceAnnouncement>,
) -> Created<notices::Notice> {
    created(notices::announce_maintenance(&store, &body, now()).await?)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoticeQuery {
    member: Option<String>,
    limit: Option<u32>,
}

async fn list_notices(
    State(store): State<CentralStore>,
    Params(q): Params<NoticeQuery>,
) -> ApiResult<Vec<notices::Notice>> {
    let limit = q.limit.unwrap_or(100);
    match q.member.as_deref() {
        Some(m) => {
            let member: ClientId = m
                .parse()
                .map_err(|e| CentralError::Invalid(format!("member '{}': {e}", crate::lifecycle::quote(m))))?;
            Ok(Json(notices::notices_for(&store, &member, limit).await?))
        }
        None => Ok(Json(notices::all_notices(&store, limit).await?)),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SinceQuery {
    since: Option<String>,
}

async fn calendar_events(
    store: &CentralStore,
    q: &SinceQuery,
) -> Result<Vec<crate::lifecycle::ical::CalendarEvent>, CentralError> {
    let since = match q.since.as_deref() {
        Some(s) => parse_instant("since", s)?,
        None => now() - CALENDAR_HISTORY,
    };
    crate::lifecycle::ical::load_events(store, since).await
}

async fn calendar_ics(
    State(store): State<CentralStore>,
    Params(q): Params<SinceQuery>,
) -> Result<Response, CentralError> {
    let events = calendar_events(&store, &q).await?;
    let body = crate::lifecycle::ical::to_ical(&events);
    Ok(([(header::CONTENT_TYPE, "text/calendar; charset=utf-8")], body).into_response())
}

async fn calendar_json(
    State(store): State<CentralStore>,
    Params(q): Params<SinceQuery>,
) -> ApiResult<serde_json::Value> {
    let events = calendar_events(&store, &q).await?;
    Ok(Json(crate::lifecycle::ical::to_json(&events)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct YearQuery {
    year: Option<i32>,
}

async fn list_holidays(State(store): State<CentralStore>, Params(q): Params<YearQuery>) -> ApiResult<Vec<Holiday>> {
    Ok(Json(calendar::list_holidays(&store, q.year).await?))
}

async fn add_holiday(State(store): State<CentralStore>, Body(h): Body<Holiday>) -> Created<Holiday> {
    created(calendar::add_holiday(&store, h.date, &h.name).await?)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedBody {
    year: i32,
}

async fn seed_holidays(State(store): State<CentralStore>, Body(b): Body<SeedBody>) -> ApiResult<serde_json::Value> {
    let added = calendar::seed_default_holidays(&store, b.year).await?;
    Ok(Json(serde_json::json!({ "year": b.year, "added": added })))
}

async fn remove_holiday(State(store): State<CentralStore>, Id(date): Id) -> Result<StatusCode, CentralError> {
    calendar::remove_holiday(&store, parse_date("date", &date)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------------------------
// incidents

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IncidentQuery {
    since: Option<String>,
    until: Option<String>,
    kind: Option<String>,
    member: Option<String>,
    reporter: Option<String>,
    limit: Option<u32>,
}

async fn query_incidents(
    State(store): State<CentralStore>,
    Params(q): Params<IncidentQuery>,
) -> ApiResult<Vec<incidents::Incident>> {
    let quote = crate::lifecycle::quote;
    let filter = IncidentFilter {
        since: q.since.as_deref().map(|s| parse_instant("since", s)).transpose()?,
        until: q.until.as_deref().map(|s| parse_instant("until", s)).transpose()?,
        kind: q.kind.as_deref().map(str::parse::<IncidentKind>).transpose()?,
        member: q
            .member
            .as_deref()
            .map(|m| m.parse().map_err(|e| CentralError::Invalid(format!("member '{}': {e}", quote(m)))))
            .transpose()?,
        reporter: q
            .reporter
            .as_deref()
            .map(|r| r.parse().map_err(|e| CentralError::Invalid(format!("reporter '{}': {e}", quote(r)))))
            .transpose()?,
        limit: q.limit,
    };
    Ok(Json(incidents::query(&store, &filter).await?))
}

async fn record_incident(
    State(store): State<CentralStore>,
    caller: Option<Extension<Caller>>,
    Body(report): Body<IncidentReport>,
) -> Created<incidents::Incident> {
    // TT-6.8: a security server reports what it saw itself, never in another server's name
    if let Some(Extension(Caller::SecurityServer(id))) = &caller
        && *id != report.reporter
    {
        return Err(CentralError::Forbidden(format!(
            "security server {id} may report incidents only as itself, not as {}",
            report.reporter
        )));
    }
    created(incidents::record(&store, &report, now()).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const OPENAPI: &str = include_str!("../openapi.json");

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
        let a = call(
            addr,
            "POST",
            &format!("/api/v1/members/{member}/block"),
            Some(&json!({"reason": "Personal data leak"})),
        )
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
        let a = call(addr, "POST", "/api/v1/holidays", Some(&json!({"date": "2027-03-10", "name": "Ramazan bayramı"})))
            .await;
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
}
