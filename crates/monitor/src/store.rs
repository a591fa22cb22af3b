//! The station's database: operational records by server, idempotent on (server, record id).

use egov_store::{Database, Migrations};
use egov_xroad::opmon::OperationalRecord;
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

/// The last record id stored for `server`.
pub async fn cursor(db: &Database, server: &str) -> Result<i64, MonitorError> {
    let max: Option<i64> = sqlx::query_scalar("SELECT MAX(record_id) FROM op_record WHERE server = $1")
        .bind(server)
        .fetch_one(db.pool())
        .await?;
    Ok(max.unwrap_or(0))
}

/// Stores records of `server` (ones already stored are skipped); returns how many were new.
pub async fn insert(db: &Database, server: &str, records: &[OperationalRecord]) -> Result<u64, MonitorError> {
    let mut new = 0;
    let mut tx = db.begin_write().await?;
    for r in records {
        let n = sqlx::query(
            "INSERT INTO op_record (server, record_id, time_ms, server_type, client, service, succeeded, fault_code, \
             duration_ms, request_size, response_size) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (server, record_id) DO NOTHING",
        )
        .bind(server)
        .bind(r.record_id)
        .bind(r.response_out_ts)
        .bind(match r.security_server_type {
            egov_xroad::opmon::ServerType::Client => "Client",
            egov_xroad::opmon::ServerType::Producer => "Producer",
        })
        .bind(r.client.as_deref())
        .bind(r.service.as_deref())
        .bind(i64::from(r.succeeded))
        .bind(r.fault_code.as_deref())
        .bind(r.duration_ms())
        .bind(r.request_size as i64)
        .bind(r.response_size as i64)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        new += n;
    }
    tx.commit().await?;
    Ok(new)
}

/// Records with `from_ms <= time < to_ms`.
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
