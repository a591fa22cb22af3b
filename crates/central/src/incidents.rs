//! Information-security incidents (TT-6.8: the operator records and keeps them), reported by
//! security servers: failed peer authentication, refused access, bad signatures, replayed
//! messages, requests from blocked members. Kept for the operator's investigation and for
//! telling participants about incidents (P-3.5, P-4.1.11).

use egov_xroad::{ClientId, SecurityServerId, ServiceId};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use time::{Duration, OffsetDateTime};

use crate::lifecycle::{corrupt, from_unix, new_id, quote, whole_seconds};
use crate::{CentralError, CentralStore};

/// Longest reason kept, in characters; longer ones are cut (the incident is still recorded).
pub const MAX_REASON_CHARS: usize = 2000;

/// Longest peer address accepted.
pub const MAX_PEER_ADDRESS_CHARS: usize = 255;

/// How far in the future `occurred_at` may lie (clock skew between servers).
pub const MAX_CLOCK_SKEW: Duration = Duration::minutes(5);

/// Default and largest number of incidents one query returns.
pub const DEFAULT_LIMIT: u32 = 100;
/// Largest number of incidents one query returns.
pub const MAX_LIMIT: u32 = 1000;

crate::lifecycle::text_enum! {
    /// What kind of incident.
    pub enum IncidentKind("incident kind") {
        /// A peer or client failed authentication (TLS certificate, TT-6.3).
        AuthenticationFailure = "authentication-failure",
        /// A request without the access right (TT-2.2.3).
        AccessDenied = "access-denied",
        /// A signature did not verify (TT-2.2.1).
        SignatureFailure = "signature-failure",
        /// A replayed message (TT-6.2).
        Replay = "replay",
        /// A request from or to a blocked member (TT-3.7).
        Blocked = "blocked",
        /// Anything else.
        Other = "other",
    }
}

/// An incident as a security server reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentReport {
    /// What kind.
    pub kind: IncidentKind,
    /// When it happened.
    #[serde(with = "crate::lifecycle::timefmt::rfc3339")]
    pub occurred_at: OffsetDateTime,
    /// The reporting security server, `INSTANCE/CLASS/CODE/SERVER`.
    pub reporter: SecurityServerId,
    /// The party the refusal is held against: the client (member or subsystem) a message
    /// came from once its signature verified; before that, the owner of the sending server.
    pub client_id: ClientId,
    /// The service called, if known.
    #[serde(default)]
    pub service_id: Option<ServiceId>,
    /// The security server that sent the message, as its TLS certificate proved it.
    #[serde(default)]
    pub peer_server: Option<SecurityServerId>,
    /// The network address of the peer, if known.
    #[serde(default)]
    pub peer_address: Option<String>,
    /// What happened.
    pub reason: String,
}

/// A recorded incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Incident {
    /// Identifier (UUID v7).
    pub id: String,
    /// What kind.
    pub kind: IncidentKind,
    /// When it happened.
    #[serde(with = "crate::lifecycle::timefmt::rfc3339")]
    pub occurred_at: OffsetDateTime,
    /// When it was recorded here.
    #[serde(with = "crate::lifecycle::timefmt::rfc3339")]
    pub reported_at: OffsetDateTime,
    /// The reporting security server.
    pub reporter: SecurityServerId,
    /// The client.
    pub client_id: ClientId,
    /// The service, if known.
    pub service_id: Option<ServiceId>,
    /// The security server that sent the message, if known.
    pub peer_server: Option<SecurityServerId>,
    /// The peer's address, if known.
    pub peer_address: Option<String>,
    /// What happened.
    pub reason: String,
}

/// Which incidents a query returns (all conditions must hold).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IncidentFilter {
    /// Occurred at or after.
    pub since: Option<OffsetDateTime>,
    /// Occurred before.
    pub until: Option<OffsetDateTime>,
    /// Of this kind.
    pub kind: Option<IncidentKind>,
    /// The client or the service provider belongs to this member (a subsystem id means its
    /// member).
    pub member: Option<ClientId>,
    /// Reported by this security server.
    pub reporter: Option<SecurityServerId>,
    /// At most this many ([`DEFAULT_LIMIT`] when absent, capped at [`MAX_LIMIT`]).
    pub limit: Option<u32>,
}

fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// Records an incident (TT-6.8). The identifiers are already checked by their types; the
/// reason must be non-empty and is cut to [`MAX_REASON_CHARS`]; the peer address must be a
/// single line of at most [`MAX_PEER_ADDRESS_CHARS`]; `occurred_at` may not lie more than
/// [`MAX_CLOCK_SKEW`] after `now`.
pub async fn record(
    store: &CentralStore,
    report: &IncidentReport,
    now: OffsetDateTime,
) -> Result<Incident, CentralError> {
    let reason = report.reason.trim();
    if reason.is_empty() {
        return Err(CentralError::Invalid("reason is required".into()));
    }
    let reason = cut(&reason.replace(|c: char| c.is_control() && c != '\n', " "), MAX_REASON_CHARS);
    let peer_address = match report.peer_address.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(a) if a.chars().count() > MAX_PEER_ADDRESS_CHARS || a.chars().any(char::is_control) => {
            return Err(CentralError::Invalid(format!(
                "peer_address '{}' is not an address (one line, at most {MAX_PEER_ADDRESS_CHARS} characters)",
                quote(a)
            )));
        }
        Some(a) => Some(a.to_owned()),
    };
    if report.occurred_at > now + MAX_CLOCK_SKEW {
        return Err(CentralError::Invalid(format!(
            "occurred_at {} is in the future (now {})",
            crate::lifecycle::timefmt::format_instant(report.occurred_at),
            crate::lifecycle::timefmt::format_instant(now)
        )));
    }
    let incident = Incident {
        id: new_id(),
        kind: report.kind,
        occurred_at: whole_seconds(report.occurred_at),
        reported_at: whole_seconds(now),
        reporter: report.reporter.clone(),
        client_id: report.client_id.clone(),
        service_id: report.service_id.clone(),
        peer_server: report.peer_server.clone(),
        peer_address,
        reason,
    };
    let mut tx = store.database().begin_write().await?;
    sqlx::query(
        "INSERT INTO incidents (id, kind, occurred_at, reported_at, reporter, client_id, client_member, service_id, \
         provider_member, peer_server, peer_address, reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&incident.id)
    .bind(incident.kind.as_str())
    .bind(incident.occurred_at.unix_timestamp())
    .bind(incident.reported_at.unix_timestamp())
    .bind(incident.reporter.to_string())
    .bind(incident.client_id.to_string())
    .bind(incident.client_id.member_id().to_string())
    .bind(incident.service_id.as_ref().map(ToString::to_string))
    .bind(incident.service_id.as_ref().map(|s| s.provider().member_id().to_string()))
    .bind(incident.peer_server.as_ref().map(ToString::to_string))
    .bind(incident.peer_address.as_deref())
    .bind(&incident.reason)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(incident)
}

/// The incidents matching `filter`, newest first.
pub async fn query(store: &CentralStore, filter: &IncidentFilter) -> Result<Vec<Incident>, CentralError> {
    let limit = filter.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let rows = sqlx::query(
        "SELECT id, kind, occurred_at, reported_at, reporter, client_id, service_id, peer_address, reason, peer_server \
         FROM incidents WHERE ($1 IS NULL OR occurred_at >= $1) AND ($2 IS NULL OR occurred_at < $2) \
         AND ($3 IS NULL OR kind = $3) AND ($4 IS NULL OR client_member = $4 OR provider_member = $4) \
         AND ($5 IS NULL OR reporter = $5) ORDER BY occurred_at DESC, id DESC LIMIT $6",
    )
    .bind(filter.since.map(OffsetDateTime::unix_timestamp))
    .bind(filter.until.map(OffsetDateTime::unix_timestamp))
    .bind(filter.kind.map(IncidentKind::as_str))
    .bind(filter.member.as_ref().map(|m| m.member_id().to_string()))
    .bind(filter.reporter.as_ref().map(ToString::to_string))
    .bind(i64::from(limit))
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|row| {
            let kind: String = row.try_get(1)?;
            let reporter: String = row.try_get(4)?;
            let client: String = row.try_get(5)?;
            let service: Option<String> = row.try_get(6)?;
            let peer_server: Option<String> = row.try_get(9)?;
            Ok(Incident {
                id: row.try_get(0)?,
                kind: kind.parse().map_err(|e| corrupt("incident kind", e))?,
                occurred_at: from_unix("incident time", row.try_get(2)?)?,
                reported_at: from_unix("incident report time", row.try_get(3)?)?,
                reporter: reporter.parse().map_err(|e| corrupt("incident reporter", e))?,
                client_id: client.parse().map_err(|e| corrupt("incident client", e))?,
                service_id: service.map(|s| s.parse()).transpose().map_err(|e| corrupt("incident service", e))?,
                peer_server: peer_server
                    .map(|s| s.parse())
                    .transpose()
                    .map_err(|e| corrupt("incident peer server", e))?,
                peer_address: row.try_get(7)?,
                reason: row.try_get(8)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn report(kind: IncidentKind, at: OffsetDateTime, client: &str, service: Option<&str>) -> IncidentReport {
        IncidentReport {
            kind,
            occurred_at: at,
            reporter: "AZ/GOV/1400000002/ss1".parse().unwrap(),
            client_id: client.parse().unwrap(),
            service_id: service.map(|s| s.parse().unwrap()),
            peer_server: Some("AZ/GOV/1400000009/ss9".parse().unwrap()),
            peer_address: Some("10.0.0.7:5500".into()),
            reason: "signature does not verify".into(),
        }
    }

    async fn exercise(url: &str) -> CentralStore {
        let store = CentralStore::open(url).await.unwrap();
        let now = datetime!(2026-03-19 12:00 UTC);
        let svc = Some("AZ/GOV/1400000002/registry/getPerson/v1");
        let a = record(
            &store,
            &report(IncidentKind::SignatureFailure, now - Duration::hours(3), "AZ/GOV/1400000001/portal", svc),
            now,
        )
        .await
        .unwrap();
        let b = record(&store, &report(IncidentKind::Replay, now - Duration::hours(2), "AZ/GOV/1400000003", None), now)
            .await
            .unwrap();
        let mut long = report(IncidentKind::AccessDenied, now - Duration::hours(1), "AZ/GOV/1400000003/app", None);
        long.reason = "ə".repeat(MAX_REASON_CHARS + 50);
        long.peer_address = None;
        let c = record(&store, &long, now).await.unwrap();
        assert_eq!(c.reason.chars().count(), MAX_REASON_CHARS + 1); // cut, with the ellipsis

        // refused input, nothing written
        let mut bad = report(IncidentKind::Other, now + Duration::hours(1), "AZ/GOV/1", None);
        assert!(record(&store, &bad, now).await.unwrap_err().to_string().contains("is in the future"));
        bad.occurred_at = now;
        bad.reason = "  ".into();
        assert!(record(&store, &bad, now).await.unwrap_err().to_string().contains("reason is required"));
        bad.reason = "x".into();
        bad.peer_address = Some("a".repeat(300));
        assert!(record(&store, &bad, now).await.unwrap_err().to_string().contains("is not an address"));

        let all = query(&store, &IncidentFilter::default()).await.unwrap();
        assert_eq!(all.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), [&c.id, &b.id, &a.id]);
        assert_eq!(all[2], a);

        // member matches the client's member and the provider's member
        let provider = IncidentFilter { member: Some("AZ/GOV/1400000002".parse().unwrap()), ..Default::default() };
        assert_eq!(query(&store, &provider).await.unwrap(), vec![a.clone()]);
        let client = IncidentFilter { member: Some("AZ/GOV/1400000003/app".parse().unwrap()), ..Default::default() };
        assert_eq!(query(&store, &client).await.unwrap().len(), 2);
        let kind = IncidentFilter { kind: Some(IncidentKind::Replay), ..Default::default() };
        assert_eq!(query(&store, &kind).await.unwrap(), vec![b.clone()]);
        let window = IncidentFilter {
            since: Some(now - Duration::minutes(150)),
            until: Some(now - Duration::minutes(30)),
            ..Default::default()
        };
        assert_eq!(query(&store, &window).await.unwrap().len(), 2);
        let limited = IncidentFilter { limit: Some(1), ..Default::default() };
        assert_eq!(query(&store, &limited).await.unwrap(), vec![c.clone()]);
        let other = IncidentFilter { reporter: Some("AZ/GOV/9/ss".parse().unwrap()), ..Default::default() };
        assert!(query(&store, &other).await.unwrap().is_empty());
        store
    }

    #[tokio::test]
    async fn sqlite_incidents() {
        let dir = tempfile::tempdir().unwrap();
        exercise(&egov_store::sqlite_url(&dir.path().join("central.db"))).await;
    }

    #[tokio::test]
    async fn postgres_incidents() {
        if let Some(url) = egov_store::test_postgres_url("central incidents").await {
            exercise(&url).await.database().close().await;
            egov_store::drop_test_database(&url).await;
        }
    }

    #[test]
    fn json_report_names_bad_fields() {
        let e = serde_json::from_str::<IncidentReport>(
            r#"{"kind":"alien","occurred_at":"2026-03-19T12:00:00Z","reporter":"AZ/GOV/1/ss","client_id":"AZ/GOV/1","reason":"x"}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("unknown variant `alien`"), "{e}");
        let e = serde_json::from_str::<IncidentReport>(
            r#"{"kind":"replay","occurred_at":"2026-03-19T12:00:00Z","reporter":"AZ/GOV/1","client_id":"AZ/GOV/1","reason":"x"}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("security server identifier"), "{e}");
    }
}
