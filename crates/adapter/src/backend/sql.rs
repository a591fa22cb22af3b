//! The SQL back end: one named, parameterised query per service, run read-only against
//! SQLite or PostgreSQL. Values are bound, never spliced into the text; SQLite files are
//! opened read-only and PostgreSQL queries run in a `READ ONLY` transaction with a
//! statement timeout, so even a query the mapping's checks let through cannot write.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};

use super::{Answer, Entry};
use crate::AdapterError;
use crate::fields::{Value, Values};
use crate::mapping::{ServiceMapping, SqlBackend};

/// Most rows one answer may carry; a query that returns more is refused, not cut short
/// (a silently truncated register extract would mislead).
pub const MAX_ROWS: usize = 1000;

/// Connection pools, one per database URL, opened on first use so an adapter starts even
/// while a database is down.
#[derive(Debug, Default)]
pub struct SqlPools {
    pools: Mutex<HashMap<String, AnyPool>>,
}

impl SqlPools {
    fn pool(&self, database: &str) -> Result<AnyPool, AdapterError> {
        let mut pools = self.pools.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = pools.get(database) {
            return Ok(p.clone());
        }
        sqlx::any::install_default_drivers();
        let pool = AnyPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(2))
            .connect_lazy(&read_only_url(database))
            .map_err(|_| AdapterError::Mapping("the database URL cannot be used".into()))?;
        pools.insert(database.to_owned(), pool.clone());
        Ok(pool)
    }

    /// Runs `sql` for `service` with checked `values`.
    pub async fn call(
        &self,
        service: &ServiceMapping,
        sql: &SqlBackend,
        values: &Values,
    ) -> Result<Answer, AdapterError> {
        let pool = self.pool(&sql.database)?;
        let rows = tokio::time::timeout(sql.timeout, query(&pool, sql, values))
            .await
            .map_err(|_| AdapterError::Timeout(sql.timeout))??;
        if rows.len() > MAX_ROWS {
            return Err(AdapterError::Failed(format!(
                "the query returned more than {MAX_ROWS} rows; narrow the request"
            )));
        }
        let entries = rows.iter().map(|row| entry(service, row)).collect::<Result<Vec<_>, _>>()?;
        Ok(Answer { entries, repeat: service.repeat.clone() })
    }

    /// Closes every pool.
    pub async fn close(&self) {
        let pools: Vec<AnyPool> =
            self.pools.lock().unwrap_or_else(|p| p.into_inner()).drain().map(|(_, p)| p).collect();
        for p in pools {
            p.close().await;
        }
    }
}

/// SQLite files open read-only whatever the URL says.
fn read_only_url(database: &str) -> String {
    if !database.starts_with("sqlite:") {
        return database.to_owned();
    }
    let (path, query) = database.split_once('?').unwrap_or((database, ""));
    let mut params: Vec<&str> = query.split('&').filter(|p| !p.is_empty() && !p.starts_with("mode=")).collect();
    params.push("mode=ro");
    format!("{path}?{}", params.join("&"))
}

async fn query(pool: &AnyPool, sql: &SqlBackend, values: &Values) -> Result<Vec<AnyRow>, AdapterError> {
    let db_error = |e| db_error(e, sql.timeout);
    let mut tx = pool.begin().await.map_err(db_error)?;
    if !sql.database.starts_with("sqlite:") {
        let ms = sql.timeout.as_millis();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("SET TRANSACTION READ ONLY; SET LOCAL statement_timeout = {ms}")))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
    }
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.statement.clone()));
    for name in &sql.params {
        q = match values.get(name) {
            None => q.bind(None::<String>),
            Some(Value::Integer(i)) => q.bind(*i),
            Some(Value::Boolean(b)) => q.bind(*b),
            Some(v) => q.bind(v.text()),
        };
    }
    // a read-only transaction: nothing to commit; dropping it rolls back
    let rows = q.fetch_all(&mut *tx).await.map_err(db_error)?;
    Ok(rows)
}

/// A database error as a cause a caller can act on; connection details stay in the log.
fn db_error(e: sqlx::Error, timeout: Duration) -> AdapterError {
    match e {
        // PostgreSQL's statement_timeout (query_canceled)
        sqlx::Error::Database(d) if d.code().as_deref() == Some("57014") => AdapterError::Timeout(timeout),
        sqlx::Error::Database(d) => AdapterError::Failed(format!("the database refused the query: {}", d.message())),
        other => {
            tracing::warn!(error = %other, "SQL back end unreachable");
            AdapterError::Unavailable
        }
    }
}

/// One row as a response entry; each mapped column read as the first type that fits.
fn entry(service: &ServiceMapping, row: &AnyRow) -> Result<Entry, AdapterError> {
    service
        .response
        .iter()
        .map(|(element, column)| {
            if row.try_column(column.as_str()).is_err() {
                return Err(AdapterError::Garbage(format!("the query has no column '{column}'")));
            }
            let value = if let Ok(v) = row.try_get::<Option<i64>, _>(column.as_str()) {
                v.map(Into::into)
            } else if let Ok(v) = row.try_get::<Option<f64>, _>(column.as_str()) {
                v.and_then(|f| serde_json::Number::from_f64(f).map(serde_json::Value::Number))
            } else if let Ok(v) = row.try_get::<Option<bool>, _>(column.as_str()) {
                v.map(Into::into)
            } else if let Ok(v) = row.try_get::<Option<String>, _>(column.as_str()) {
                v.map(Into::into)
            } else {
                return Err(AdapterError::Garbage(format!(
                    "column '{column}' has a type the adapter cannot read; cast it in the query, e.g. CAST({column} AS TEXT)"
                )));
            };
            Ok((element.clone(), value.unwrap_or(serde_json::Value::Null)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_become_read_only() {
        assert_eq!(read_only_url("sqlite:///d/p.db"), "sqlite:///d/p.db?mode=ro");
        assert_eq!(read_only_url("sqlite:///d/p.db?mode=rwc&cache=shared"), "sqlite:///d/p.db?cache=shared&mode=ro");
        assert_eq!(read_only_url("postgres://h/d"), "postgres://h/d");
    }
}
