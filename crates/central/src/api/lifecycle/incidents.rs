//! Information-security incidents reported by security servers (TT-6.8).

use axum::Extension;
use axum::Json;
use axum::extract::State;
use serde::Deserialize;

use crate::api::tls::Caller;
use crate::incidents::{self, IncidentFilter, IncidentKind, IncidentReport};
use crate::lifecycle::timefmt::parse_instant;
use crate::{CentralError, CentralStore};

use super::extract::*;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct IncidentQuery {
    since: Option<String>,
    until: Option<String>,
    kind: Option<String>,
    member: Option<String>,
    reporter: Option<String>,
    limit: Option<u32>,
}

pub(super) async fn query_incidents(
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

pub(super) async fn record_incident(
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
