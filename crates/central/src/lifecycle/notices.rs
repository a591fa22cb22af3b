//! Notices to participants: decisions on their applications, breach notices, blocking,
//! disconnection (TT-3.5–3.7, P-6.1), service versions and disconnections (TT-3.12, TT-3.14),
//! and maintenance windows (P-5.1.7, P-4.1.7). A notice is addressed to one member or, with no
//! recipient, to every member.

use egov_xroad::{ClientId, ServiceId};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use time::{Duration, OffsetDateTime};

use super::timefmt::format_instant;
use super::{corrupt, from_unix, new_id};
use crate::{CentralError, CentralStore};

/// How long before its start a maintenance window must be announced (P-5.1.7: two days).
pub const MAINTENANCE_NOTICE: Duration = Duration::hours(48);

/// Most notices one listing returns.
pub const MAX_LIST: u32 = 1000;

super::text_enum! {
    /// What a notice is about.
    pub enum NoticeKind("notice kind") {
        /// A maintenance window (P-5.1.7, P-4.1.7).
        Maintenance = "maintenance",
        /// An old service version stops on a date (TT-3.11–3.12).
        VersionRetirement = "version-retirement",
        /// A service will be disconnected (TT-3.13–3.14).
        ServiceDisconnection = "service-disconnection",
        /// A written breach notice, or its closing (TT-3.6).
        Breach = "breach",
        /// The participant is blocked (TT-3.7).
        Block = "block",
        /// The participant's block is lifted.
        Unblock = "unblock",
        /// A decision on an application (P-6.1) or a service application (TT-3.9).
        Decision = "decision",
        /// The participant is disconnected (TT-3.5, TT-3.6).
        Disconnection = "disconnection",
    }
}

/// A notice to a participant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notice {
    /// Identifier (UUID v7).
    pub id: String,
    /// The member it is addressed to; `None` for every member.
    pub recipient: Option<ClientId>,
    /// Who gives notice: `operator`, or the announcing member's id.
    pub sender: String,
    /// What it is about.
    pub kind: NoticeKind,
    /// One-line title.
    pub title: String,
    /// The text.
    pub body: String,
    /// The service concerned, if any.
    pub service_id: Option<ServiceId>,
    /// When it takes effect (a window's start, the day a service stops, a deadline's start).
    #[serde(with = "super::timefmt::option_rfc3339")]
    pub starts_at: Option<OffsetDateTime>,
    /// When its effect ends (a window's end, a remedy deadline).
    #[serde(with = "super::timefmt::option_rfc3339")]
    pub ends_at: Option<OffsetDateTime>,
    /// When it was given.
    #[serde(with = "super::timefmt::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A notice about to be written (the parts the writer chooses).
#[derive(Debug, Clone)]
pub(crate) struct NewNotice {
    pub(crate) sender: String,
    pub(crate) kind: NoticeKind,
    pub(crate) title: String,
    pub(crate) body: String,
    pub(crate) service_id: Option<ServiceId>,
    pub(crate) starts_at: Option<OffsetDateTime>,
    pub(crate) ends_at: Option<OffsetDateTime>,
}

/// Writes `notice` to `recipient` (`None`: every member) inside the caller's transaction.
pub(crate) async fn insert(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    recipient: Option<&ClientId>,
    notice: &NewNotice,
    now: OffsetDateTime,
) -> Result<String, CentralError> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO notices (id, recipient, sender, kind, title, body, service_id, starts_at, ends_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&id)
    .bind(recipient.map(|r| r.member_id().to_string()))
    .bind(&notice.sender)
    .bind(notice.kind.as_str())
    .bind(&notice.title)
    .bind(&notice.body)
    .bind(notice.service_id.as_ref().map(ToString::to_string))
    .bind(notice.starts_at.map(OffsetDateTime::unix_timestamp))
    .bind(notice.ends_at.map(OffsetDateTime::unix_timestamp))
    .bind(now.unix_timestamp())
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// Writes `notice` to each member that is active now, one notice each, so the record shows who
/// was told (TT-3.12 "all participants are told", TT-3.14). Returns how many were told.
pub(crate) async fn insert_for_active_members(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    notice: &NewNotice,
    now: OffsetDateTime,
) -> Result<u64, CentralError> {
    let rows = sqlx::query("SELECT id FROM members WHERE state = 'active' ORDER BY id").fetch_all(&mut **tx).await?;
    let mut told = 0;
    for row in rows {
        let id: String = row.try_get(0)?;
        let member: ClientId = id.parse().map_err(|e| corrupt("member id", e))?;
        insert(tx, Some(&member), notice, now).await?;
        told += 1;
    }
    Ok(told)
}

const COLUMNS: &str = "id, recipient, sender, kind, title, body, service_id, starts_at, ends_at, created_at";

fn from_row(row: &sqlx::any::AnyRow) -> Result<Notice, CentralError> {
    let recipient: Option<String> = row.try_get(1)?;
    let kind: String = row.try_get(3)?;
    let service: Option<String> = row.try_get(6)?;
    let starts: Option<i64> = row.try_get(7)?;
    let ends: Option<i64> = row.try_get(8)?;
    Ok(Notice {
        id: row.try_get(0)?,
        recipient: recipient.map(|r| r.parse()).transpose().map_err(|e| corrupt("notice recipient", e))?,
        sender: row.try_get(2)?,
        kind: kind.parse().map_err(|e| corrupt("notice kind", e))?,
        title: row.try_get(4)?,
        body: row.try_get(5)?,
        service_id: service.map(|s| s.parse()).transpose().map_err(|e| corrupt("notice service", e))?,
        starts_at: starts.map(|t| from_unix("notice start", t)).transpose()?,
        ends_at: ends.map(|t| from_unix("notice end", t)).transpose()?,
        created_at: from_unix("notice time", row.try_get(9)?)?,
    })
}

/// The notices `member` has been given (its own and those to every member), newest first, at
/// most `limit` (capped at [`MAX_LIST`]). A subsystem id means its member.
pub async fn notices_for(store: &CentralStore, member: &ClientId, limit: u32) -> Result<Vec<Notice>, CentralError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM notices WHERE recipient = $1 OR recipient IS NULL \
         ORDER BY created_at DESC, id DESC LIMIT $2"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(member.member_id().to_string())
        .bind(i64::from(limit.min(MAX_LIST)))
        .fetch_all(store.pool())
        .await?;
    rows.iter().map(from_row).collect()
}

/// Every notice (the operator's view), newest first, at most `limit` (capped at [`MAX_LIST`]).
pub async fn all_notices(store: &CentralStore, limit: u32) -> Result<Vec<Notice>, CentralError> {
    let sql = format!("SELECT {COLUMNS} FROM notices ORDER BY created_at DESC, id DESC LIMIT $1");
    let rows =
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(i64::from(limit.min(MAX_LIST))).fetch_all(store.pool()).await?;
    rows.iter().map(from_row).collect()
}

/// A maintenance window announced by a participant (P-5.1.7) or by the operator (P-4.1.7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceAnnouncement {
    /// The announcing member; `None` (absent) for the operator's own maintenance.
    #[serde(default)]
    pub announced_by: Option<ClientId>,
    /// The service affected, if one (it must be the announcing member's).
    #[serde(default)]
    pub service_id: Option<ServiceId>,
    /// One-line title.
    pub title: String,
    /// What is maintained and what participants should expect.
    pub description: String,
    /// Start of the window.
    #[serde(with = "super::timefmt::rfc3339")]
    pub starts_at: OffsetDateTime,
    /// End of the window.
    #[serde(with = "super::timefmt::rfc3339")]
    pub ends_at: OffsetDateTime,
}

/// Records a maintenance window and tells every member. Refused when it starts less than
/// [`MAINTENANCE_NOTICE`] (48 hours) after `now` (P-5.1.7), when it ends before it starts, or
/// when the announcing member is unknown.
pub async fn announce_maintenance(
    store: &CentralStore,
    announcement: &MaintenanceAnnouncement,
    now: OffsetDateTime,
) -> Result<Notice, CentralError> {
    let title = super::line("title", &announcement.title, 200)?;
    let body = super::text("description", &announcement.description, 4000)?;
    let (starts_at, ends_at) =
        (super::whole_seconds(announcement.starts_at), super::whole_seconds(announcement.ends_at));
    if starts_at - now < MAINTENANCE_NOTICE {
        return Err(CentralError::Invalid(format!(
            "maintenance must be announced at least 48 hours before it starts (P-5.1.7): the window starting \
             {} is too soon; the earliest start that can be announced now is {}",
            format_instant(starts_at),
            format_instant(now + MAINTENANCE_NOTICE)
        )));
    }
    if ends_at <= starts_at {
        return Err(CentralError::Invalid(format!(
            "the maintenance window must end after it starts: ends_at {} is not after starts_at {}",
            format_instant(ends_at),
            format_instant(starts_at)
        )));
    }
    if let Some(by) = &announcement.announced_by {
        if by.subsystem_code().is_some() {
            return Err(CentralError::Invalid(format!(
                "announced_by {by} is a subsystem; give the member id INSTANCE/CLASS/CODE"
            )));
        }
        if let Some(service) = &announcement.service_id
            && service.provider().member_id() != *by
        {
            return Err(CentralError::Invalid(format!("service {service} is not provided by {by}")));
        }
    }
    let mut tx = store.database().begin_write().await?;
    if let Some(by) = &announcement.announced_by {
        let known =
            sqlx::query("SELECT 1 FROM members WHERE id = $1").bind(by.to_string()).fetch_optional(&mut *tx).await?;
        if known.is_none() {
            return Err(CentralError::NotFound(format!("member {by} is not registered")));
        }
    }
    let notice = NewNotice {
        sender: announcement.announced_by.as_ref().map_or_else(|| super::OPERATOR.to_owned(), ToString::to_string),
        kind: NoticeKind::Maintenance,
        title,
        body,
        service_id: announcement.service_id.clone(),
        starts_at: Some(starts_at),
        ends_at: Some(ends_at),
    };
    let id = insert(&mut tx, None, &notice, now).await?;
    tx.commit().await?;
    Ok(Notice {
        id,
        recipient: None,
        sender: notice.sender,
        kind: notice.kind,
        title: notice.title,
        body: notice.body,
        service_id: notice.service_id,
        starts_at: notice.starts_at,
        ends_at: notice.ends_at,
        created_at: super::whole_seconds(now),
    })
}

/// Maintenance windows that end at or after `since`, by start.
pub async fn maintenance_windows(store: &CentralStore, since: OffsetDateTime) -> Result<Vec<Notice>, CentralError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM notices WHERE kind = 'maintenance' AND recipient IS NULL AND ends_at >= $1 \
         ORDER BY starts_at, id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(since.unix_timestamp()).fetch_all(store.pool()).await?;
    rows.iter().map(from_row).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for &k in NoticeKind::ALL {
            assert_eq!(k.as_str().parse::<NoticeKind>().unwrap(), k);
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        assert!("party".parse::<NoticeKind>().unwrap_err().to_string().contains("unknown notice kind 'party'"));
    }
}
