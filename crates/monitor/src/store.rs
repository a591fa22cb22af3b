//! The station's database: operational records by server (idempotent on server and record
//! id), each server's poll cursor, and the queries the dashboard, metrics and usage export
//! run. Only metadata is stored: the columns below are all there is.

use std::collections::BTreeMap;

use egov_store::{Database, Migrations};
use egov_xroad::opmon::{OperationalRecord, ServerType};
use sqlx::Row;

use crate::MonitorError;

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The schema in both dialects.
pub static MIGRATIONS: Migrations = Migrations { sqlite: &SQLITE, postgres: &POSTGRES };

/// Opens (creating) the database.
pub async fn open(url: &str) -> Result<Database, MonitorError> {
    Ok(Database::open(url, &MIGRATIONS).await?)
}

/// One stored record, as the statistics use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    /// Station name of the server.
    pub server: String,
    /// Response time (ms since the Unix epoch).
    pub time_ms: i64,
    /// `Client` or `Producer`.
    pub server_type: String,
    /// Client id.
    pub client: Option<String>,
    /// Service id.
    pub service: Option<String>,
    /// Succeeded.
    pub succeeded: bool,
    /// Fault code.
    pub fault_code: Option<String>,
    /// Duration (ms).
    pub duration_ms: i64,
}

/// Where polling of one server stands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cursor {
    /// The last record id stored (0 before the first).
    pub after: i64,
    /// The security server that answered under this name, once known.
    pub server_id: Option<String>,
}

/// The cursor of `server`.
pub async fn cursor(db: &Database, server: &str) -> Result<Cursor, MonitorError> {
    let row = sqlx::query("SELECT after_id, server_id FROM poll_cursor WHERE server = $1")
        .bind(server)
        .fetch_optional(db.pool())
        .await?;
    Ok(match row {
        Some(r) => Cursor { after: r.try_get(0)?, server_id: r.try_get(1)? },
        None => Cursor::default(),
    })
}

/// Notes which security server answers under the name `server` (the first time it is seen).
pub async fn set_server_id(db: &Database, server: &str, server_id: &str, now_ms: i64) -> Result<(), MonitorError> {
    let mut tx = db.begin_write().await?;
    let updated = sqlx::query("UPDATE poll_cursor SET server_id = $1 WHERE server = $2 AND server_id IS NULL")
        .bind(server_id)
        .bind(server)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if updated == 0 {
        sqlx::query(
            "INSERT INTO poll_cursor (server, server_id, after_id, updated_ms) VALUES ($1, $2, 0, $3) \
             ON CONFLICT (server) DO NOTHING",
        )
        .bind(server)
        .bind(server_id)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Stores one page of `server`'s records (ones already stored are skipped) and moves its
/// cursor to `after`, in one transaction; returns the records that were new.
pub async fn insert_page<'a>(
    db: &Database,
    server: &str,
    records: &'a [OperationalRecord],
    after: i64,
    now_ms: i64,
) -> Result<Vec<&'a OperationalRecord>, MonitorError> {
    let mut new = Vec::new();
    let mut tx = db.begin_write().await?;
    for r in records {
        let n = sqlx::query(
            "INSERT INTO op_record (server, record_id, time_ms, server_type, client, service, succeeded, fault_code, \
             duration_ms, request_size, response_size, x_request_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (server, record_id) DO NOTHING",
        )
        .bind(server)
        .bind(r.record_id)
        .bind(r.response_out_ts)
        .bind(server_type(r.security_server_type))
        .bind(r.client.as_deref())
        .bind(r.service.as_deref())
        .bind(i64::from(r.succeeded))
        .bind(r.fault_code.as_deref())
        .bind(r.duration_ms())
        .bind(i64::try_from(r.request_size).unwrap_or(i64::MAX))
        .bind(i64::try_from(r.response_size).unwrap_or(i64::MAX))
        .bind(r.x_request_id.as_deref())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n > 0 {
            new.push(r);
        }
    }
    // the cursor only moves forward, whatever the server says
    let moved =
        sqlx::query("UPDATE poll_cursor SET after_id = $1, updated_ms = $2 WHERE server = $3 AND after_id < $1")
            .bind(after)
            .bind(now_ms)
            .bind(server)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    if moved == 0 {
        sqlx::query(
            "INSERT INTO poll_cursor (server, server_id, after_id, updated_ms) VALUES ($1, NULL, $2, $3) \
             ON CONFLICT (server) DO NOTHING",
        )
        .bind(server)
        .bind(after)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(new)
}

fn server_type(t: ServerType) -> &'static str {
    match t {
        ServerType::Client => "Client",
        ServerType::Producer => "Producer",
    }
}

/// Records with `from_ms <= time < to_ms`, oldest first.
pub async fn usage(db: &Database, from_ms: i64, to_ms: i64) -> Result<Vec<Usage>, MonitorError> {
    let rows = sqlx::query(
        "SELECT server, time_ms, server_type, client, service, succeeded, fault_code, duration_ms FROM op_record \
         WHERE time_ms >= $1 AND time_ms < $2 ORDER BY time_ms",
    )
    .bind(from_ms)
    .bind(to_ms)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Usage {
                server: r.try_get(0)?,
                time_ms: r.try_get(1)?,
                server_type: r.try_get(2)?,
                client: r.try_get(3)?,
                service: r.try_get(4)?,
                succeeded: r.try_get::<i64, _>(5)? != 0,
                fault_code: r.try_get(6)?,
                duration_ms: r.try_get(7)?,
            })
        })
        .collect()
}

/// The key of the request counter: server, service, client, succeeded.
pub type CounterKey = (String, String, String, bool);

/// Every stored record counted by server, service, client and outcome (the start value of
/// `egov_requests_total`).
pub async fn totals(db: &Database) -> Result<BTreeMap<CounterKey, u64>, MonitorError> {
    let rows = sqlx::query(
        "SELECT server, COALESCE(service, ''), COALESCE(client, ''), succeeded, COUNT(*) FROM op_record \
         GROUP BY server, service, client, succeeded",
    )
    .fetch_all(db.pool())
    .await?;
    let mut out = BTreeMap::new();
    for r in &rows {
        let key = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get::<i64, _>(3)? != 0);
        *out.entry(key).or_default() += u64::try_from(r.try_get::<i64, _>(4)?).unwrap_or(0);
    }
    Ok(out)
}

/// Usage of one service over a period, counted in the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceCount {
    /// The service id.
    pub service: String,
    /// Successful exchanges.
    pub successful: u64,
    /// Failed exchanges.
    pub failed: u64,
    /// Distinct clients.
    pub distinct_clients: u64,
}

/// Exchanges per service with `from_ms <= time < to_ms`, each counted once: the provider's
/// record (`Producer`) when the station has it, else the consumer's (`Client`) — matched by
/// the `xRequestId` both sides share.
pub async fn service_counts(db: &Database, from_ms: i64, to_ms: i64) -> Result<Vec<ServiceCount>, MonitorError> {
    let rows = sqlx::query(
        "SELECT r.service, \
                COUNT(CASE WHEN r.succeeded <> 0 THEN 1 END), \
                COUNT(CASE WHEN r.succeeded = 0 THEN 1 END), \
                COUNT(DISTINCT r.client) \
         FROM op_record r \
         WHERE r.time_ms >= $1 AND r.time_ms < $2 AND r.service IS NOT NULL \
           AND (r.server_type = 'Producer' OR r.x_request_id IS NULL OR NOT EXISTS ( \
                SELECT 1 FROM op_record p WHERE p.x_request_id = r.x_request_id AND p.server_type = 'Producer')) \
         GROUP BY r.service ORDER BY r.service",
    )
    .bind(from_ms)
    .bind(to_ms)
    .fetch_all(db.pool())
    .await?;
    let count = |r: &sqlx::any::AnyRow, i: usize| -> Result<u64, sqlx::Error> {
        Ok(u64::try_from(r.try_get::<i64, _>(i)?).unwrap_or(0))
    };
    let mut out = rows
        .iter()
        .map(|r| {
            Ok(ServiceCount {
                service: r.try_get(0)?,
                successful: count(r, 1)?,
                failed: count(r, 2)?,
                distinct_clients: count(r, 3)?,
            })
        })
        .collect::<Result<Vec<_>, MonitorError>>()?;
    // the same order on every backend, whatever its collation
    out.sort_by(|a, b| a.service.cmp(&b.service));
    Ok(out)
}
