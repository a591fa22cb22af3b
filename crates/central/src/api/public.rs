//! Public endpoints: configuration download and security-server registration (TT-4.1.2).

use crate::api::lifecycle::{Audience, Endpoint, Entry, HttpMethod, build, ep};
use axum::Json;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::CentralState;
use crate::CentralError;
use crate::registration::{RegistrationRequest, RegistrationStatus};

/// Registration requests carry two CSRs: a few kilobytes.
const MAX_REGISTRATION_BYTES: usize = 64 * 1024;

/// Every public endpoint with its handler (the router and the OpenAPI test read this list).
fn table() -> Vec<Entry<CentralState>> {
    use Audience::Public;
    use HttpMethod::{Get, Post};
    vec![
        ep(Get, "/globalconf", Public, production_conf),
        ep(Get, "/globalconf/{environment}", Public, environment_conf),
        ep(Post, "/registration", Public, submit),
        ep(Get, "/registration/{id}", Public, status),
    ]
}

/// The public endpoints this module serves.
pub fn endpoints() -> Vec<Endpoint> {
    table().into_iter().map(|(e, _)| e).collect()
}

/// The public routes.
pub fn routes() -> axum::Router<CentralState> {
    build(table().into_iter())
        .layer(DefaultBodyLimit::max(MAX_REGISTRATION_BYTES))
        // the maintenance and retirement calendar is public (P-5.1.7)
        .merge(crate::api::lifecycle::routes_for(crate::api::lifecycle::Audience::Public))
}

async fn production_conf(state: State<CentralState>) -> Response {
    conf(&state, "production").await
}

async fn environment_conf(state: State<CentralState>, Path(environment): Path<String>) -> Response {
    conf(&state, &environment).await
}

async fn conf(state: &CentralState, environment: &str) -> Response {
    match state.publisher.latest(environment).await {
        Ok(Some(document)) => ([(header::CONTENT_TYPE, "application/json")], document).into_response(),
        Ok(None) => (StatusCode::SERVICE_UNAVAILABLE, "no configuration has been generated yet").into_response(),
        Err(e) => e.into_response(),
    }
}

async fn submit(
    State(state): State<CentralState>,
    request: Result<Json<RegistrationRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<RegistrationStatus>), CentralError> {
    let Json(request) =
        request.map_err(|e| CentralError::Invalid(format!("registration request: {}", e.body_text())))?;
    let status = state.store.submit_registration(&request).await?;
    Ok((StatusCode::ACCEPTED, Json(status)))
}

async fn status(
    State(state): State<CentralState>,
    Path(id): Path<String>,
) -> Result<Json<RegistrationStatus>, CentralError> {
    Ok(Json(state.store.registration(&id).await?))
}
