//! Maintenance windows and notices (P-5.1.7), the working-day calendar and the
//! maintenance/retirement calendar feeds.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use egov_xroad::ClientId;
use serde::Deserialize;

use crate::lifecycle::calendar::{self, Holiday};
use crate::lifecycle::notices::{self, MaintenanceAnnouncement};
use crate::lifecycle::timefmt::{parse_date, parse_instant};
use crate::{CentralError, CentralStore};

use super::CALENDAR_HISTORY;
use super::extract::*;

pub(super) async fn announce_maintenance(
    State(store): State<CentralStore>,
    Body(body): Body<MaintenanceAnnouncement>,
) -> Created<notices::Notice> {
    created(notices::announce_maintenance(&store, &body, now()).await?)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NoticeQuery {
    member: Option<String>,
    limit: Option<u32>,
}

pub(super) async fn list_notices(
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
pub(super) struct SinceQuery {
    since: Option<String>,
}

pub(super) async fn calendar_events(
    store: &CentralStore,
    q: &SinceQuery,
) -> Result<Vec<crate::lifecycle::ical::CalendarEvent>, CentralError> {
    let since = match q.since.as_deref() {
        Some(s) => parse_instant("since", s)?,
        None => now() - CALENDAR_HISTORY,
    };
    crate::lifecycle::ical::load_events(store, since).await
}

pub(super) async fn calendar_ics(
    State(store): State<CentralStore>,
    Params(q): Params<SinceQuery>,
) -> Result<Response, CentralError> {
    let events = calendar_events(&store, &q).await?;
    let body = crate::lifecycle::ical::to_ical(&events);
    Ok(([(header::CONTENT_TYPE, "text/calendar; charset=utf-8")], body).into_response())
}

pub(super) async fn calendar_json(
    State(store): State<CentralStore>,
    Params(q): Params<SinceQuery>,
) -> ApiResult<serde_json::Value> {
    let events = calendar_events(&store, &q).await?;
    Ok(Json(crate::lifecycle::ical::to_json(&events)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct YearQuery {
    year: Option<i32>,
}

pub(super) async fn list_holidays(
    State(store): State<CentralStore>,
    Params(q): Params<YearQuery>,
) -> ApiResult<Vec<Holiday>> {
    Ok(Json(calendar::list_holidays(&store, q.year).await?))
}

pub(super) async fn add_holiday(State(store): State<CentralStore>, Body(h): Body<Holiday>) -> Created<Holiday> {
    created(calendar::add_holiday(&store, h.date, &h.name).await?)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SeedBody {
    year: i32,
}

pub(super) async fn seed_holidays(
    State(store): State<CentralStore>,
    Body(b): Body<SeedBody>,
) -> ApiResult<serde_json::Value> {
    let added = calendar::seed_default_holidays(&store, b.year).await?;
    Ok(Json(serde_json::json!({ "year": b.year, "added": added })))
}

pub(super) async fn remove_holiday(
    State(store): State<CentralStore>,
    Id(date): Id,
) -> Result<StatusCode, CentralError> {
    calendar::remove_holiday(&store, parse_date("date", &date)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
