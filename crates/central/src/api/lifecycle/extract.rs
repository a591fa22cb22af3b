//! Extractors shared by the lifecycle handlers: every rejection becomes a `CentralError`,
//! reported as `{"error": …}`; who is acting; result types.

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequest, Path, Query, Request};
use axum::http::{StatusCode, request::Parts};
use egov_xroad::ClientId;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use crate::CentralError;
use crate::api::tls::Caller;

use super::ACTOR_HEADER;

/// A JSON request body.
pub(super) struct Body<T>(pub(super) T);

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
pub(super) struct OptionalBody<T>(pub(super) T);

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
pub(super) struct Params<T>(pub(super) T);

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
pub(super) struct Id(pub(super) String);

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
pub(super) struct MemberId(pub(super) ClientId);

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
pub(super) struct Actor(pub(super) Option<String>);

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

pub(super) type ApiResult<T> = Result<Json<T>, CentralError>;
pub(super) type Created<T> = Result<(StatusCode, Json<T>), CentralError>;

pub(super) fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

pub(super) fn created<T>(value: T) -> Created<T> {
    Ok((StatusCode::CREATED, Json(value)))
}

// request shapes more than one resource takes

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StateQuery {
    pub(super) state: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReasonBody {
    pub(super) reason: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OptionalReasonBody {
    #[serde(default)]
    pub(super) reason: Option<String>,
}
