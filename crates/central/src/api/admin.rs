//! The operator's admin API (`/api/v1/…`): members, security servers, global groups,
//! registrations, certificates, configuration generations. Every call needs the operator's
//! client certificate; registered security servers may only report incidents (TT-6.8).
//!
//! Identifiers contain `/` (`AZ/GOV/1400000001`): in paths they are percent-encoded
//! (`AZ%2FGOV%2F1400000001`), as the `egov central` command does.

use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Json, middleware};
use egov_xroad::{ClientId, SecurityServerId};
use serde::Deserialize;

use super::CentralState;
use super::tls::{Caller, Peer, identify};
use crate::CentralError;
use crate::api::lifecycle::{self as api_lifecycle, Audience, Endpoint, Entry, HttpMethod, build, ep};
use crate::registration::{DEFAULT_ENROLMENT_DAYS, EnrolmentCode, RegistrationStatus};
use crate::registry::{GroupRecord, MemberRecord, NewMember, ServerRecord, parse_member};

/// The OpenAPI description of this API (hand-written, checked against the routes by a test).
pub const OPENAPI: &str = include_str!("../../openapi.json");

type ApiResult<T> = Result<Json<T>, CentralError>;

/// Every registry endpoint with its handler: the router and the OpenAPI test read the same
/// list.
fn table() -> Vec<Entry<CentralState>> {
    use Audience::Operator;
    use HttpMethod::{Delete, Get, Post, Put};
    vec![
        ep(Get, "/api/openapi.json", Operator, || async { ([("content-type", "application/json")], OPENAPI) }),
        ep(Get, "/api/v1/members", Operator, members),
        ep(Post, "/api/v1/members", Operator, add_member),
        ep(Get, "/api/v1/members/{id}", Operator, member),
        ep(Post, "/api/v1/members/{id}/subsystems", Operator, add_subsystem),
        ep(Get, "/api/v1/security-servers", Operator, servers),
        ep(Delete, "/api/v1/security-servers/{id}", Operator, remove_server),
        ep(Post, "/api/v1/security-servers/{id}/clients", Operator, add_server_client),
        ep(Put, "/api/v1/security-servers/{id}/address", Operator, set_address),
        ep(Post, "/api/v1/security-servers/{id}/enrolment-code", Operator, enrolment_code),
        ep(Get, "/api/v1/global-groups", Operator, groups),
        ep(Post, "/api/v1/global-groups", Operator, add_group),
        ep(Post, "/api/v1/global-groups/{code}/members", Operator, add_group_member),
        ep(Get, "/api/v1/registrations", Operator, registrations),
        ep(Post, "/api/v1/registrations/{id}/approve", Operator, approve),
        ep(Post, "/api/v1/registrations/{id}/refuse", Operator, refuse),
        ep(Post, "/api/v1/certificates/{serial}/revoke", Operator, revoke),
        ep(Post, "/api/v1/globalconf/publish", Operator, publish),
        ep(Get, "/api/v1/anchor", Operator, anchor),
    ]
}

/// The registry endpoints this module serves.
pub fn endpoints() -> Vec<Endpoint> {
    table().into_iter().map(|(e, _)| e).collect()
}

/// The admin routes, behind the caller check.
pub fn routes(state: CentralState) -> axum::Router<CentralState> {
    build(table().into_iter())
        // participant and service lifecycles, notices, holidays, incidents
        .merge(api_lifecycle::routes_for(Audience::Operator))
        .merge(api_lifecycle::routes_for(Audience::SecurityServer))
        .layer(middleware::from_fn_with_state(state, authorize))
}

/// Lets the operator through; a registered security server only to report an incident.
/// After every change that succeeded, a new configuration generation is published, so
/// the change reaches security servers at their next download.
async fn authorize(
    State(state): State<CentralState>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    mut request: Request,
    next: Next,
) -> Response {
    let caller = match identify(&state.trust, &peer) {
        Ok(c) => c,
        Err(e) => return CentralError::Forbidden(e).into_response(),
    };
    let incident_report = request.method() == Method::POST && request.uri().path() == "/api/v1/incidents";
    if let Caller::SecurityServer(id) = &caller {
        // only a server still in the registry, with this very certificate, is heard: a
        // removed server's unrevoked certificate gives no access
        let hash = peer.cert.as_deref().map(|c| egov_globalconf::hash_hex(&egov_pki::cert_sha256(c)));
        let registered = match state.store.servers(None).await {
            Ok(servers) => servers.iter().any(|s| &s.id == id && Some(&s.auth_cert_sha256) == hash.as_ref()),
            Err(e) => return e.into_response(),
        };
        if !registered {
            return CentralError::Forbidden(format!("security server {id} is not registered with this certificate"))
                .into_response();
        }
    }
    match &caller {
        Caller::Operator(_) => {}
        Caller::SecurityServer(_) if incident_report => {}
        Caller::SecurityServer(id) => {
            return CentralError::Forbidden(format!("security server {id} may only report incidents")).into_response();
        }
    }
    // that a server reports only as itself is checked where the report is read
    // (`api/lifecycle/incidents.rs::record_incident`)
    let changes = request.method() != Method::GET;
    let path = request.uri().path().to_owned();
    request.extensions_mut().insert(caller.clone());
    let response = next.run(request).await;
    if changes && response.status().is_success() {
        tracing::info!(caller = ?caller, %path, "admin change");
        if !incident_report && let Err(e) = state.publisher.publish_all().await {
            tracing::error!(error = %e, "configuration not republished after a change");
        }
    }
    response
}

fn server_id(s: &str) -> Result<SecurityServerId, CentralError> {
    s.parse().map_err(|e| CentralError::Invalid(format!("security server '{s}': {e}")))
}

fn client_id(s: &str) -> Result<ClientId, CentralError> {
    s.parse().map_err(|e| CentralError::Invalid(format!("client '{s}': {e}")))
}

fn json_body<T>(body: Result<Json<T>, axum::extract::rejection::JsonRejection>) -> Result<T, CentralError> {
    body.map(|Json(b)| b).map_err(|e| CentralError::Invalid(format!("request body: {}", e.body_text())))
}

type Body<T> = Result<Json<T>, axum::extract::rejection::JsonRejection>;

async fn members(State(s): State<CentralState>) -> ApiResult<Vec<MemberRecord>> {
    Ok(Json(s.store.members().await?))
}

async fn add_member(State(s): State<CentralState>, body: Body<NewMember>) -> ApiResult<MemberRecord> {
    let id = s.store.add_member(&json_body(body)?).await?;
    Ok(Json(s.store.member(&id).await?))
}

async fn member(State(s): State<CentralState>, Path(id): Path<String>) -> ApiResult<MemberRecord> {
    Ok(Json(s.store.member(&parse_member(&id)?).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Code {
    code: String,
}

async fn add_subsystem(
    State(s): State<CentralState>,
    Path(id): Path<String>,
    body: Body<Code>,
) -> ApiResult<MemberRecord> {
    let member = parse_member(&id)?;
    s.store.add_subsystem(&member, &json_body(body)?.code).await?;
    Ok(Json(s.store.member(&member).await?))
}

#[derive(Deserialize)]
struct EnvironmentQuery {
    environment: Option<String>,
}

async fn servers(State(s): State<CentralState>, Query(q): Query<EnvironmentQuery>) -> ApiResult<Vec<ServerRecord>> {
    Ok(Json(s.store.servers(q.environment.as_deref()).await?))
}

async fn remove_server(State(s): State<CentralState>, Path(id): Path<String>) -> ApiResult<serde_json::Value> {
    let id = server_id(&id)?;
    s.store.remove_server(&id).await?;
    Ok(Json(serde_json::json!({ "removed": id.to_string() })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Client {
    client: String,
}

async fn add_server_client(
    State(s): State<CentralState>,
    Path(id): Path<String>,
    body: Body<Client>,
) -> ApiResult<Vec<ServerRecord>> {
    let id = server_id(&id)?;
    s.store.add_server_client(&id, &client_id(&json_body(body)?.client)?).await?;
    Ok(Json(s.store.servers(None).await?.into_iter().filter(|r| r.id == id).collect()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Address {
    address: String,
}

async fn set_address(
    State(s): State<CentralState>,
    Path(id): Path<String>,
    body: Body<Address>,
) -> ApiResult<Vec<ServerRecord>> {
    let id = server_id(&id)?;
    s.store.set_server_address(&id, &json_body(body)?.address).await?;
    Ok(Json(s.store.servers(None).await?.into_iter().filter(|r| r.id == id).collect()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnrolmentCodeBody {
    #[serde(default)]
    valid_days: Option<i64>,
}

/// The operator adds a member's security server: a single-use enrolment code for its id,
/// in this answer only (issue 13, item 5).
async fn enrolment_code(
    State(s): State<CentralState>,
    Path(id): Path<String>,
    body: Body<EnrolmentCodeBody>,
) -> ApiResult<EnrolmentCode> {
    let id = server_id(&id)?;
    let days = json_body(body)?.valid_days.unwrap_or(DEFAULT_ENROLMENT_DAYS);
    Ok(Json(s.store.issue_enrolment_code(&id, days).await?))
}

async fn groups(State(s): State<CentralState>) -> ApiResult<Vec<GroupRecord>> {
    Ok(Json(s.store.groups().await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewGroup {
    code: String,
    description: String,
}

async fn add_group(State(s): State<CentralState>, body: Body<NewGroup>) -> ApiResult<Vec<GroupRecord>> {
    let g = json_body(body)?;
    s.store.add_group(&g.code, &g.description).await?;
    Ok(Json(s.store.groups().await?))
}

async fn add_group_member(
    State(s): State<CentralState>,
    Path(code): Path<String>,
    body: Body<Client>,
) -> ApiResult<Vec<GroupRecord>> {
    s.store.add_group_member(&code, &client_id(&json_body(body)?.client)?).await?;
    Ok(Json(s.store.groups().await?))
}

#[derive(Deserialize)]
struct StateQuery {
    state: Option<String>,
}

async fn registrations(
    State(s): State<CentralState>,
    Query(q): Query<StateQuery>,
) -> ApiResult<Vec<RegistrationStatus>> {
    Ok(Json(s.store.registrations(q.state.as_deref(), None).await?))
}

async fn approve(State(s): State<CentralState>, Path(id): Path<String>) -> ApiResult<RegistrationStatus> {
    Ok(Json(s.store.approve_registration(&id, s.issuer.as_ref()).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reason {
    reason: String,
}

async fn refuse(
    State(s): State<CentralState>,
    Path(id): Path<String>,
    body: Body<Reason>,
) -> ApiResult<RegistrationStatus> {
    Ok(Json(s.store.refuse_registration(&id, &json_body(body)?.reason).await?))
}

async fn revoke(
    State(s): State<CentralState>,
    Path(serial): Path<String>,
    body: Body<Reason>,
) -> ApiResult<serde_json::Value> {
    let reason = json_body(body)?.reason;
    s.issuer.revoke(&serial, &reason).await?;
    s.trust.revoke(&serial);
    Ok(Json(serde_json::json!({ "revoked": serial, "reason": reason })))
}

async fn publish(State(_): State<CentralState>) -> ApiResult<serde_json::Value> {
    // the middleware publishes after every change; this call is that change
    Ok(Json(serde_json::json!({ "requested": true })))
}

async fn anchor(
    State(s): State<CentralState>,
    Query(q): Query<EnvironmentQuery>,
) -> ApiResult<egov_globalconf::Anchor> {
    Ok(Json(s.publisher.anchor(q.environment.as_deref().unwrap_or("production"))?))
}
