//! E-service connection, versions and disconnections (TT-3.8–3.14).

use axum::Json;
use axum::extract::State;
use serde::Deserialize;

use crate::CentralStore;
use crate::lifecycle::services::{
    self, DisconnectionAnnouncement, ServiceApplicationForm, ServiceState, VersionAnnouncement,
};

use super::extract::*;

pub(super) async fn submit_service(
    State(store): State<CentralStore>,
    Actor(who): Actor,
    Body(form): Body<ServiceApplicationForm>,
) -> Created<services::ServiceApplication> {
    created(services::submit(&store, &form, who.as_deref(), now()).await?)
}

pub(super) async fn list_services(
    State(store): State<CentralStore>,
    Params(q): Params<StateQuery>,
) -> ApiResult<Vec<services::ServiceApplication>> {
    let state = q.state.as_deref().map(str::parse::<ServiceState>).transpose()?;
    Ok(Json(services::list(&store, state, now()).await?))
}

pub(super) async fn get_service(
    State(store): State<CentralStore>,
    Id(id): Id,
) -> ApiResult<services::ServiceApplication> {
    Ok(Json(services::service_application(&store, &id, now()).await?))
}

pub(super) async fn test_service(
    State(store): State<CentralStore>,
    Actor(who): Actor,
    Id(id): Id,
) -> ApiResult<services::ServiceApplication> {
    Ok(Json(services::start_testing(&store, &id, who.as_deref(), now()).await?))
}

pub(super) async fn connect_service(
    State(store): State<CentralStore>,
    Actor(who): Actor,
    Id(id): Id,
) -> ApiResult<services::ServiceApplication> {
    Ok(Json(services::connect(&store, &id, who.as_deref(), now()).await?))
}

pub(super) async fn refuse_service(
    State(store): State<CentralStore>,
    Actor(who): Actor,
    Id(id): Id,
    Body(body): Body<ReasonBody>,
) -> ApiResult<services::ServiceApplication> {
    Ok(Json(services::refuse(&store, &id, &body.reason, who.as_deref(), now()).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EnvironmentQuery {
    environment: String,
}

pub(super) async fn services_in_environment(
    State(store): State<CentralStore>,
    Params(q): Params<EnvironmentQuery>,
) -> ApiResult<Vec<services::ServiceApplication>> {
    Ok(Json(services::services_in_environment(&store, &q.environment, now()).await?))
}

pub(super) async fn announce_version(
    State(store): State<CentralStore>,
    Actor(who): Actor,
    Body(body): Body<VersionAnnouncement>,
) -> ApiResult<services::Announcement> {
    Ok(Json(services::announce_version(&store, &body, who.as_deref(), now()).await?))
}

pub(super) async fn announce_disconnection(
    State(store): State<CentralStore>,
    Actor(who): Actor,
    Body(body): Body<DisconnectionAnnouncement>,
) -> ApiResult<services::Announcement> {
    Ok(Json(services::announce_disconnection(&store, &body, who.as_deref(), now()).await?))
}

pub(super) async fn retire_due(State(store): State<CentralStore>) -> ApiResult<Vec<services::ServiceApplication>> {
    Ok(Json(services::retire_due(&store, now()).await?))
}
