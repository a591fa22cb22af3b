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

use axum::Router;
use axum::routing::{MethodFilter, MethodRouter, on};
use time::Duration;

use crate::CentralStore;

mod calendar;
mod extract;
mod incidents;
mod participants;
mod services;
#[cfg(test)]
mod tests;

use calendar::*;
use incidents::*;
use participants::*;
use services::*;

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
