//! The e-service lifecycle (TT-3.8–3.14):
//!
//! ```text
//! applied ── test environment, test data (TT-3.8) ──> testing ──> connected (production) ──> retired
//!    └──────────────┴──> refused (reason)                              │
//!          7 working days from application to decision (TT-3.9)        ├─ new version announced: every active member is told
//!                                                                      │  the day the old version stops (TT-3.11–3.12)
//!                                                                      └─ disconnection announced with reasons, at least one
//!                                                                         month ahead, every active member told (TT-3.13–3.14)
//! ```
//!
//! [`services_in_environment`] tells the configuration publisher which services belong in the
//! test configuration (`testing`) and in production (`connected`, not yet past its last day).

use egov_xroad::ServiceId;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use time::{Date, OffsetDateTime};

use super::calendar::{self, add_months};
use super::notices::{self, NewNotice, NoticeKind};
use super::timefmt::{format_date, parse_date};
use super::{corrupt, from_unix, line, local_date, new_id, quote, start_of_day};
use crate::{CentralError, CentralStore};

/// Working days the operator has to test and connect a service (TT-3.9).
pub const CONNECT_WORKING_DAYS: u32 = 7;

/// Calendar months users are told ahead of a service's disconnection (TT-3.14).
pub const DISCONNECTION_NOTICE_MONTHS: u32 = 1;

super::text_enum! {
    /// Where a service connection stands.
    pub enum ServiceState("service state") {
        /// Applied for; not yet in any environment.
        Applied = "applied",
        /// In the test environment with test data (TT-3.8).
        Testing = "testing",
        /// Connected in production.
        Connected = "connected",
        /// Refused with a reason.
        Refused = "refused",
        /// Its last day has passed (replaced by a new version or disconnected).
        Retired = "retired",
    }
}

super::text_enum! {
    /// The federation's environments, each with its own global configuration.
    pub enum Environment("environment") {
        /// The test environment (TT-3.8).
        Test = "test",
        /// Production.
        Production = "production",
    }
}

super::text_enum! {
    /// Why a connected service will stop.
    pub enum RetirementKind("retirement kind") {
        /// A new version replaces it (TT-3.11–3.12).
        Version = "version",
        /// It is disconnected (TT-3.13–3.14).
        Disconnection = "disconnection",
    }
}

/// An application to connect an e-service (TT-3.8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceApplicationForm {
    /// `INSTANCE/CLASS/CODE/SUBSYSTEM/SERVICE[/VERSION]`.
    pub service_id: ServiceId,
    /// The service's name.
    pub service_name: String,
    /// Its number in the e-services registry (R-4.5).
    pub regulation_number: String,
    /// The person responsible for the service at the provider.
    pub responsible_person: String,
}

/// An announced end of a connected service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Retirement {
    /// New version or disconnection.
    pub kind: RetirementKind,
    /// The first day the service no longer answers (Baku time).
    #[serde(with = "super::timefmt::date")]
    pub retires_on: Date,
    /// The provider's reasons (disconnection) or a note (version).
    pub reason: Option<String>,
    /// The version that replaces it.
    pub successor: Option<ServiceId>,
    /// When it was announced.
    #[serde(with = "super::timefmt::rfc3339")]
    pub announced_at: OffsetDateTime,
}

/// A service connection application and the service's life after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceApplication {
    /// Identifier (UUID v7).
    pub id: String,
    /// The service.
    pub service_id: ServiceId,
    /// Its name.
    pub service_name: String,
    /// Its e-services registry number.
    pub regulation_number: String,
    /// The person responsible at the provider.
    pub responsible_person: String,
    /// Where it stands.
    pub state: ServiceState,
    /// When it was applied for.
    #[serde(with = "super::timefmt::rfc3339")]
    pub submitted_at: OffsetDateTime,
    /// Who applied.
    pub submitted_by: String,
    /// Last day to test and connect: 7 working days after the application (TT-3.9).
    #[serde(with = "super::timefmt::date")]
    pub connect_due: Date,
    /// Connected or refused after `connect_due`, or still undecided after it.
    pub overdue: bool,
    /// When testing began.
    #[serde(with = "super::timefmt::option_rfc3339")]
    pub testing_at: Option<OffsetDateTime>,
    /// When it was connected in production.
    #[serde(with = "super::timefmt::option_rfc3339")]
    pub connected_at: Option<OffsetDateTime>,
    /// Who took the last decision (testing, connection, refusal).
    pub decided_by: Option<String>,
    /// Why it was refused.
    pub refusal_reason: Option<String>,
    /// When it was refused.
    #[serde(with = "super::timefmt::option_rfc3339")]
    pub refused_at: Option<OffsetDateTime>,
    /// Its announced end, if any.
    pub retirement: Option<Retirement>,
    /// When it was retired.
    #[serde(with = "super::timefmt::option_rfc3339")]
    pub retired_at: Option<OffsetDateTime>,
}

/// A new version of a connected service, and the day the old one stops (TT-3.11–3.12).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionAnnouncement {
    /// The connected version that will stop.
    pub old_service_id: ServiceId,
    /// The new version (applied for, in testing or connected).
    pub new_service_id: ServiceId,
    /// The first day the old version no longer answers; after today.
    #[serde(with = "super::timefmt::date")]
    pub old_stops_on: Date,
    /// Anything users should know (migration notes).
    #[serde(default)]
    pub note: Option<String>,
}

/// A disconnection of a connected service (TT-3.13–3.14).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisconnectionAnnouncement {
    /// The connected service.
    pub service_id: ServiceId,
    /// The provider's reasons (TT-3.13).
    pub reason: String,
    /// The first day it no longer answers; at least one calendar month after today (TT-3.14).
    #[serde(with = "super::timefmt::date")]
    pub disconnect_on: Date,
}

/// The result of an announcement: the service and how many members were told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Announcement {
    /// The service as it now stands.
    pub service: ServiceApplication,
    /// How many active members received a notice.
    pub members_told: u64,
}

type Tx = sqlx::Transaction<'static, sqlx::Any>;

const COLUMNS: &str = "id, service_id, service_name, regulation_number, responsible_person, state, submitted_at, \
    submitted_by, connect_due, testing_at, connected_at, decided_by, refusal_reason, refused_at, retirement_kind, \
    retirement_reason, successor_id, retires_on, retirement_announced_at, retired_at";

fn from_row(row: &sqlx::any::AnyRow, now: OffsetDateTime) -> Result<ServiceApplication, CentralError> {
    let instant = |i: usize, what: &str| -> Result<Option<OffsetDateTime>, CentralError> {
        let t: Option<i64> = row.try_get(i)?;
        t.map(|t| from_unix(what, t)).transpose()
    };
    let service: String = row.try_get(1)?;
    let state: String = row.try_get(5)?;
    let state: ServiceState = state.parse().map_err(|e| corrupt("service state", e))?;
    let due: String = row.try_get(8)?;
    let connect_due = parse_date("connect_due", &due).map_err(|e| corrupt("connect_due", e))?;
    let connected_at = instant(10, "connection time")?;
    let refused_at = instant(13, "refusal time")?;
    let kind: Option<String> = row.try_get(14)?;
    let retirement = match kind {
        None => None,
        Some(kind) => {
            let successor: Option<String> = row.try_get(16)?;
            let on: Option<String> = row.try_get(17)?;
            let on = on.ok_or_else(|| corrupt("retirement", "no retires_on"))?;
            Some(Retirement {
                kind: kind.parse().map_err(|e| corrupt("retirement kind", e))?,
                retires_on: parse_date("retires_on", &on).map_err(|e| corrupt("retires_on", e))?,
                reason: row.try_get(15)?,
                successor: successor.map(|s| s.parse()).transpose().map_err(|e| corrupt("successor", e))?,
                announced_at: instant(18, "announcement time")?.ok_or_else(|| corrupt("retirement", "no time"))?,
            })
        }
    };
    let decided = connected_at.or(refused_at);
    Ok(ServiceApplication {
        id: row.try_get(0)?,
        service_id: service.parse().map_err(|e| corrupt("service id", e))?,
        service_name: row.try_get(2)?,
        regulation_number: row.try_get(3)?,
        responsible_person: row.try_get(4)?,
        state,
        submitted_at: from_unix("application time", row.try_get(6)?)?,
        submitted_by: row.try_get(7)?,
        connect_due,
        overdue: local_date(decided.unwrap_or(now)) > connect_due,
        testing_at: instant(9, "testing time")?,
        connected_at,
        decided_by: row.try_get(11)?,
        refusal_reason: row.try_get(12)?,
        refused_at,
        retirement,
        retired_at: instant(19, "retirement time")?,
    })
}

async fn load(tx: &mut Tx, id: &str, now: OffsetDateTime) -> Result<ServiceApplication, CentralError> {
    let sql = format!("SELECT {COLUMNS} FROM service_applications WHERE id = $1");
    match sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&mut **tx).await? {
        Some(row) => from_row(&row, now),
        None => Err(CentralError::NotFound(format!("service application {} does not exist", quote(id)))),
    }
}

/// The connected (production) record of `service`.
async fn load_connected(
    tx: &mut Tx,
    service: &ServiceId,
    now: OffsetDateTime,
) -> Result<ServiceApplication, CentralError> {
    let sql = format!("SELECT {COLUMNS} FROM service_applications WHERE service_id = $1 AND state = 'connected'");
    match sqlx::query(sqlx::AssertSqlSafe(sql)).bind(service.to_string()).fetch_optional(&mut **tx).await? {
        Some(row) => from_row(&row, now),
        None => Err(CentralError::NotFound(format!("service {service} is not connected"))),
    }
}

/// Applies to connect an e-service (TT-3.8). The provider must be an active member and the
/// subsystem registered; a service already applied for, in testing or connected is a conflict.
/// Testing and connection are due 7 working days later (TT-3.9).
pub async fn submit(
    store: &CentralStore,
    form: &ServiceApplicationForm,
    actor: Option<&str>,
    now: OffsetDateTime,
) -> Result<ServiceApplication, CentralError> {
    let name = line("service_name", &form.service_name, 500)?;
    let regulation = line("regulation_number", &form.regulation_number, 100)?;
    let responsible = line("responsible_person", &form.responsible_person, 200)?;
    let actor = super::actor(actor)?;
    let service = &form.service_id;
    let provider = service.provider();
    let member = provider.member_id();
    let connect_due = calendar::load(store).await?.add_working_days(local_date(now), CONNECT_WORKING_DAYS)?;
    let mut tx = store.database().begin_write().await?;
    let row = sqlx::query("SELECT state FROM members WHERE id = $1")
        .bind(member.to_string())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| CentralError::NotFound(format!("provider {member} is not a registered member")))?;
    let state: String = row.try_get(0)?;
    if state != "active" {
        return Err(CentralError::Conflict(format!(
            "provider {member} is {state}; only active members connect services"
        )));
    }
    let subsystem = provider.subsystem_code().unwrap_or_default();
    let known = sqlx::query("SELECT 1 FROM subsystems WHERE member_id = $1 AND code = $2")
        .bind(member.to_string())
        .bind(subsystem)
        .fetch_optional(&mut *tx)
        .await?;
    if known.is_none() {
        return Err(CentralError::NotFound(format!("subsystem {provider} is not registered")));
    }
    if let Some(row) = sqlx::query(
        "SELECT id, state FROM service_applications WHERE service_id = $1 AND state IN ('applied', 'testing', 'connected')",
    )
    .bind(service.to_string())
    .fetch_optional(&mut *tx)
    .await?
    {
        let (id, state): (String, String) = (row.try_get(0)?, row.try_get(1)?);
        return Err(CentralError::Conflict(format!("service {service} is already {state} (application {id})")));
    }
    let id = new_id();
    sqlx::query(
        "INSERT INTO service_applications (id, service_id, member_id, service_name, regulation_number, \
         responsible_person, state, submitted_at, submitted_by, connect_due) \
         VALUES ($1, $2, $3, $4, $5, $6, 'applied', $7, $8, $9)",
    )
    .bind(&id)
    .bind(service.to_string())
    .bind(member.to_string())
    .bind(&name)
    .bind(&regulation)
    .bind(&responsible)
    .bind(now.unix_timestamp())
    .bind(&actor)
    .bind(format_date(connect_due))
    .execute(&mut *tx)
    .await
    .map_err(|e| {
        super::conflict_on_unique(e, || format!("service {service} is already applied for, testing or connected"))
    })?;
    let app = load(&mut tx, &id, now).await?;
    tx.commit().await?;
    Ok(app)
}

/// One service application; `overdue` is judged at `now`.
pub async fn service_application(
    store: &CentralStore,
    id: &str,
    now: OffsetDateTime,
) -> Result<ServiceApplication, CentralError> {
    let sql = format!("SELECT {COLUMNS} FROM service_applications WHERE id = $1");
    match sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(store.pool()).await? {
        Some(row) => from_row(&row, now),
        None => Err(CentralError::NotFound(format!("service application {} does not exist", quote(id)))),
    }
}

/// Service applications (in `state`, or all), oldest first.
pub async fn list(
    store: &CentralStore,
    state: Option<ServiceState>,
    now: OffsetDateTime,
) -> Result<Vec<ServiceApplication>, CentralError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM service_applications WHERE ($1 IS NULL OR state = $1) ORDER BY submitted_at, id"
    );
    let rows =
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(state.map(ServiceState::as_str)).fetch_all(store.pool()).await?;
    rows.iter().map(|r| from_row(r, now)).collect()
}

/// The services the global configuration of `environment` (`"test"` or `"production"`) lists:
/// in testing for the test environment (TT-3.8); connected and not past their last day for
/// production (a retirement due today takes effect even before [`retire_due`] runs).
pub async fn services_in_environment(
    store: &CentralStore,
    environment: &str,
    now: OffsetDateTime,
) -> Result<Vec<ServiceApplication>, CentralError> {
    let environment: Environment = environment.parse()?;
    let sql = match environment {
        Environment::Test => {
            format!("SELECT {COLUMNS} FROM service_applications WHERE state = 'testing' ORDER BY service_id")
        }
        Environment::Production => format!(
            "SELECT {COLUMNS} FROM service_applications WHERE state = 'connected' \
             AND (retires_on IS NULL OR retires_on > $1) ORDER BY service_id"
        ),
    };
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    if environment == Environment::Production {
        query = query.bind(format_date(local_date(now)));
    }
    let rows = query.fetch_all(store.pool()).await?;
    rows.iter().map(|r| from_row(r, now)).collect()
}

fn provider_notice(service: &ServiceApplication, title: String, body: String) -> NewNotice {
    NewNotice {
        sender: super::OPERATOR.to_owned(),
        kind: NoticeKind::Decision,
        title,
        body,
        service_id: Some(service.service_id.clone()),
        starts_at: None,
        ends_at: None,
    }
}

/// Moves `id` from one of `from` to `to`, guarding against a concurrent change.
async fn transition(
    tx: &mut Tx,
    app: &ServiceApplication,
    from: &[ServiceState],
    to: ServiceState,
    actor: &str,
    reason: Option<&str>,
    now: OffsetDateTime,
) -> Result<(), CentralError> {
    if !from.contains(&app.state) {
        let allowed: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
        return Err(CentralError::Conflict(format!(
            "service application {} is {}; it must be {} to become {to}",
            app.id,
            app.state,
            allowed.join(" or ")
        )));
    }
    // the time column of the state entered
    let set = match to {
        ServiceState::Testing => "testing_at",
        ServiceState::Connected => "connected_at",
        ServiceState::Refused => "refused_at",
        ServiceState::Applied | ServiceState::Retired => "retired_at",
    };
    let sql = format!(
        "UPDATE service_applications SET state = $1, {set} = $2, decided_by = $3, refusal_reason = COALESCE($4, refusal_reason) \
         WHERE id = $5 AND state = $6"
    );
    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(to.as_str())
        .bind(now.unix_timestamp())
        .bind(actor)
        .bind(reason)
        .bind(&app.id)
        .bind(app.state.as_str())
        .execute(&mut **tx)
        .await?;
    if done.rows_affected() != 1 {
        return Err(CentralError::Conflict(format!("service application {} changed meanwhile; try again", app.id)));
    }
    Ok(())
}

/// Puts an applied service into the test environment (TT-3.8): from now on the test global
/// configuration lists it.
pub async fn start_testing(
    store: &CentralStore,
    id: &str,
    actor: Option<&str>,
    now: OffsetDateTime,
) -> Result<ServiceApplication, CentralError> {
    let actor = super::actor(actor)?;
    let mut tx = store.database().begin_write().await?;
    let app = load(&mut tx, id, now).await?;
    transition(&mut tx, &app, &[ServiceState::Applied], ServiceState::Testing, &actor, None, now).await?;
    let app = load(&mut tx, id, now).await?;
    tx.commit().await?;
    Ok(app)
}

/// Connects a tested service in production (TT-3.9). It must have been in testing.
pub async fn connect(
    store: &CentralStore,
    id: &str,
    actor: Option<&str>,
    now: OffsetDateTime,
) -> Result<ServiceApplication, CentralError> {
    let actor = super::actor(actor)?;
    let mut tx = store.database().begin_write().await?;
    let app = load(&mut tx, id, now).await?;
    transition(&mut tx, &app, &[ServiceState::Testing], ServiceState::Connected, &actor, None, now).await?;
    let notice = provider_notice(
        &app,
        format!("Service connected: {}", app.service_id),
        format!(
            "{} ({}) has passed testing and is connected in production (TT-3.9).",
            app.service_name, app.service_id
        ),
    );
    notices::insert(&mut tx, Some(&app.service_id.provider().member_id()), &notice, now).await?;
    let app = load(&mut tx, id, now).await?;
    tx.commit().await?;
    Ok(app)
}

/// Refuses an applied or testing service with a reason; the provider is told.
pub async fn refuse(
    store: &CentralStore,
    id: &str,
    reason: &str,
    actor: Option<&str>,
    now: OffsetDateTime,
) -> Result<ServiceApplication, CentralError> {
    let reason = super::text("reason", reason, 4000)?;
    let actor = super::actor(actor)?;
    let mut tx = store.database().begin_write().await?;
    let app = load(&mut tx, id, now).await?;
    let from = [ServiceState::Applied, ServiceState::Testing];
    transition(&mut tx, &app, &from, ServiceState::Refused, &actor, Some(&reason), now).await?;
    let notice = provider_notice(
        &app,
        format!("Service refused: {}", app.service_id),
        format!("The connection of {} ({}) is refused. Reason:\n{reason}", app.service_name, app.service_id),
    );
    notices::insert(&mut tx, Some(&app.service_id.provider().member_id()), &notice, now).await?;
    let app = load(&mut tx, id, now).await?;
    tx.commit().await?;
    Ok(app)
}

async fn set_retirement(
    tx: &mut Tx,
    app: &ServiceApplication,
    retirement: &Retirement,
    now: OffsetDateTime,
) -> Result<(), CentralError> {
    let done = sqlx::query(
        "UPDATE service_applications SET retirement_kind = $1, retirement_reason = $2, successor_id = $3, \
         retires_on = $4, retirement_announced_at = $5 WHERE id = $6 AND state = 'connected' AND retirement_kind IS NULL",
    )
    .bind(retirement.kind.as_str())
    .bind(retirement.reason.as_deref())
    .bind(retirement.successor.as_ref().map(ToString::to_string))
    .bind(format_date(retirement.retires_on))
    .bind(now.unix_timestamp())
    .bind(&app.id)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() != 1 {
        return Err(CentralError::Conflict(format!("service {} changed meanwhile; try again", app.service_id)));
    }
    Ok(())
}

fn already_announced(app: &ServiceApplication) -> Result<(), CentralError> {
    match &app.retirement {
        Some(r) => Err(CentralError::Conflict(format!(
            "service {} is already announced to stop on {} ({})",
            app.service_id,
            format_date(r.retires_on),
            r.kind
        ))),
        None => Ok(()),
    }
}

/// Announces a new version of a connected service and the day the old version stops: every
/// active member is told (TT-3.11–3.12). The new version must be the same service (provider
/// and code) with another version, already applied for (applied, testing or connected); the
/// day must be after today.
pub async fn announce_version(
    store: &CentralStore,
    announcement: &VersionAnnouncement,
    actor: Option<&str>,
    now: OffsetDateTime,
) -> Result<Announcement, CentralError> {
    let (old, new) = (&announcement.old_service_id, &announcement.new_service_id);
    if old.without_version() != new.without_version() || old.version() == new.version() {
        return Err(CentralError::Invalid(format!(
            "new version {new} must be the same service as {old} (provider and service code) with another version"
        )));
    }
    let today = local_date(now);
    if announcement.old_stops_on <= today {
        return Err(CentralError::Invalid(format!(
            "old_stops_on {} must be in the future (after {})",
            format_date(announcement.old_stops_on),
            format_date(today)
        )));
    }
    let note = match &announcement.note {
        Some(n) if !n.trim().is_empty() => Some(super::text("note", n, 4000)?),
        _ => None,
    };
    let actor = super::actor(actor)?;
    let mut tx = store.database().begin_write().await?;
    let app = load_connected(&mut tx, old, now).await?;
    already_announced(&app)?;
    let successor = sqlx::query(
        "SELECT state FROM service_applications WHERE service_id = $1 AND state IN ('applied', 'testing', 'connected')",
    )
    .bind(new.to_string())
    .fetch_optional(&mut *tx)
    .await?;
    if successor.is_none() {
        return Err(CentralError::Conflict(format!(
            "new version {new} has no service application; apply for it and test it first (TT-3.11)"
        )));
    }
    let retirement = Retirement {
        kind: RetirementKind::Version,
        retires_on: announcement.old_stops_on,
        reason: note.clone(),
        successor: Some(new.clone()),
        announced_at: now,
    };
    set_retirement(&mut tx, &app, &retirement, now).await?;
    let stops = format_date(announcement.old_stops_on);
    let notice = NewNotice {
        sender: actor.clone(),
        kind: NoticeKind::VersionRetirement,
        title: format!("{old} stops on {stops}; use {new}"),
        body: format!(
            "A new version of {} is available: {new}. The old version {old} stops answering on {stops} \
             (TT-3.12); move your requests to the new version before then.{}",
            app.service_name,
            note.map(|n| format!("\n{n}")).unwrap_or_default()
        ),
        service_id: Some(old.clone()),
        starts_at: Some(start_of_day(announcement.old_stops_on)),
        ends_at: None,
    };
    let told = notices::insert_for_active_members(&mut tx, &notice, now).await?;
    let app = load(&mut tx, &app.id, now).await?;
    tx.commit().await?;
    Ok(Announcement { service: app, members_told: told })
}

/// Announces the disconnection of a connected service with the provider's reasons
/// (TT-3.13); every active member is told. The day must be at least one calendar month after
/// today (TT-3.14); an earlier day is refused with the earliest allowed one.
pub async fn announce_disconnection(
    store: &CentralStore,
    announcement: &DisconnectionAnnouncement,
    actor: Option<&str>,
    now: OffsetDateTime,
) -> Result<Announcement, CentralError> {
    let reason = super::text("reason", &announcement.reason, 4000)?;
    let earliest = add_months(local_date(now), DISCONNECTION_NOTICE_MONTHS)?;
    let on = announcement.disconnect_on;
    if on < earliest {
        return Err(CentralError::Invalid(format!(
            "disconnect_on {} is less than one month ahead: users must be told at least one month before a service \
             is disconnected (TT-3.14); the earliest allowed date is {}",
            format_date(on),
            format_date(earliest)
        )));
    }
    let actor = super::actor(actor)?;
    let service = &announcement.service_id;
    let mut tx = store.database().begin_write().await?;
    let app = load_connected(&mut tx, service, now).await?;
    already_announced(&app)?;
    let retirement = Retirement {
        kind: RetirementKind::Disconnection,
        retires_on: on,
        reason: Some(reason.clone()),
        successor: None,
        announced_at: now,
    };
    set_retirement(&mut tx, &app, &retirement, now).await?;
    let notice = NewNotice {
        sender: actor.clone(),
        kind: NoticeKind::ServiceDisconnection,
        title: format!("{service} is disconnected on {}", format_date(on)),
        body: format!(
            "{} ({service}) will be disconnected on {} (TT-3.14). The provider's reasons (TT-3.13):\n{reason}",
            app.service_name,
            format_date(on)
        ),
        service_id: Some(service.clone()),
        starts_at: Some(start_of_day(on)),
        ends_at: None,
    };
    let told = notices::insert_for_active_members(&mut tx, &notice, now).await?;
    let app = load(&mut tx, &app.id, now).await?;
    tx.commit().await?;
    Ok(Announcement { service: app, members_told: told })
}

/// Retires every connected service whose announced day has come; run daily. Returns them.
pub async fn retire_due(store: &CentralStore, now: OffsetDateTime) -> Result<Vec<ServiceApplication>, CentralError> {
    let mut tx = store.database().begin_write().await?;
    let sql = format!(
        "SELECT {COLUMNS} FROM service_applications WHERE state = 'connected' AND retires_on IS NOT NULL \
         AND retires_on <= $1 ORDER BY retires_on, id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(format_date(local_date(now))).fetch_all(&mut *tx).await?;
    let due = rows.iter().map(|r| from_row(r, now)).collect::<Result<Vec<_>, _>>()?;
    let mut retired = Vec::new();
    for app in &due {
        sqlx::query("UPDATE service_applications SET state = 'retired', retired_at = $1 WHERE id = $2")
            .bind(now.unix_timestamp())
            .bind(&app.id)
            .execute(&mut *tx)
            .await?;
        retired.push(load(&mut tx, &app.id, now).await?);
    }
    tx.commit().await?;
    Ok(retired)
}

/// Announced retirements (connected or retired services) whose day is `since` or later, by
/// day: the calendar's retirement events.
pub async fn retirements(store: &CentralStore, since: Date) -> Result<Vec<ServiceApplication>, CentralError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM service_applications WHERE state IN ('connected', 'retired') \
         AND retires_on IS NOT NULL AND retires_on >= $1 ORDER BY retires_on, id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(format_date(since)).fetch_all(store.pool()).await?;
    // `overdue` does not matter here; judge it at the start of the day asked for
    rows.iter().map(|r| from_row(r, start_of_day(since))).collect()
}
