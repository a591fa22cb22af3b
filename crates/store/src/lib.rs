//! Storage for every component (shared/DESIGN.md decision 4): embedded SQLite by default,
//! PostgreSQL when a `postgres://` URL is configured. One schema per component, written
//! twice where the dialects differ (`migrations/sqlite`, `migrations/postgres`), applied
//! with sqlx's migrator at start-up.

#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

use std::str::FromStr;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, ConnectOptions};

/// Storage errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The URL names no supported database.
    #[error("unsupported database URL '{0}': use sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    /// Could not connect.
    #[error("cannot open database {url}: {source}")]
    Connect {
        /// The URL (without credentials).
        url: String,
        /// The cause.
        source: sqlx::Error,
    },
    /// A migration failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A query failed.
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
}

/// Which database engine a [`Database`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite (a file beside the component's data).
    Sqlite,
    /// PostgreSQL (production).
    Postgres,
}

/// A connection pool and its backend.
#[derive(Debug, Clone)]
pub struct Database {
    pool: AnyPool,
    backend: Backend,
}

/// The migrations of one component, in both dialects.
#[derive(Debug)]
pub struct Migrations {
    /// SQLite dialect.
    pub sqlite: &'static Migrator,
    /// PostgreSQL dialect.
    pub postgres: &'static Migrator,
}

impl Database {
    /// Opens (creating if needed) the database at `url` and applies `migrations`.
    pub async fn open(url: &str, migrations: &Migrations) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(redact(url)));
        };
        let connect_err = |source| StoreError::Connect { url: redact(url), source };
        let url = match backend {
            // create the file if missing; WAL so readers never block the writer
            Backend::Sqlite if !url.contains('?') => format!("{url}?mode=rwc"),
            _ => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&url).map_err(connect_err)?.disable_statement_logging();
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 4 } else { 8 })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        sqlx::query("PRAGMA busy_timeout = 5000").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA journal_mode = WAL").execute(&mut *conn).await?;
                        // a commit is durable only once the WAL is flushed: the message log
                        // answers "logged" after its commit (TT-2.2.2)
                        sqlx::query("PRAGMA synchronous = FULL").execute(&mut *conn).await?;
                        // pages from memory, not a read() system call each (measured: a third of
                        // the message log writer's time went to kernel copies of pages)
                        sqlx::query("PRAGMA mmap_size = 268435456").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA cache_size = -16384").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA foreign_keys = ON").execute(&mut *conn).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(connect_err)?;
        let db = Self { pool, backend };
        match backend {
            Backend::Sqlite => migrations.sqlite.run(&db.pool).await?,
            Backend::Postgres => migrations.postgres.run(&db.pool).await?,
        }
        Ok(db)
    }

    /// Begins a transaction that will write. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`): a deferred transaction that reads first and writes later can fail
    /// at once with "database is locked" when another connection wrote in between, without
    /// waiting for the busy timeout.
    pub async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }

    /// [`Database::begin_write`] on a connection the caller holds, e.g. to set a
    /// per-connection option that SQLite refuses to change inside a transaction.
    pub async fn begin_write_on<'c>(
        &self,
        conn: &'c mut sqlx::AnyConnection,
    ) -> Result<sqlx::Transaction<'c, sqlx::Any>, sqlx::Error> {
        use sqlx::Connection;
        match self.backend {
            Backend::Sqlite => conn.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => conn.begin().await,
        }
    }

    /// The pool.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The URL of a SQLite file at `path`.
pub fn sqlite_url(path: &std::path::Path) -> String {
    format!("sqlite://{}", path.display())
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}://…@{}", &url[..scheme], &url[at + 1..]),
        _ => url.to_owned(),
    }
}

/// For tests: a fresh, empty PostgreSQL database on the server named by the
/// `EGOV_TEST_POSTGRES_URL` environment variable, or `None` (with a loud notice) when the
/// variable is not set. The database is named uniquely so tests can run in parallel.
pub async fn test_postgres_url(test_name: &str) -> Option<String> {
    let Ok(base) = std::env::var("EGOV_TEST_POSTGRES_URL") else {
        eprintln!(
            "\n*** SKIPPED (PostgreSQL part of {test_name}): EGOV_TEST_POSTGRES_URL is not set; \
             .ci/run sets it to the local PostgreSQL server ***\n"
        );
        return None;
    };
    sqlx::any::install_default_drivers();
    let name = format!("egov_test_{}", uuid::Uuid::new_v4().simple());
    // the variable is set: PostgreSQL is expected, so failing to reach it fails the test
    let mut admin = <sqlx::AnyConnection as sqlx::Connection>::connect(&base)
        .await
        .unwrap_or_else(|e| panic!("EGOV_TEST_POSTGRES_URL is set but PostgreSQL is unreachable: {e}"));
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
    let (prefix, _) = base.rsplit_once('/').expect("EGOV_TEST_POSTGRES_URL ends with /DATABASE");
    Some(format!("{prefix}/{name}"))
}

/// For tests: drops a database made by [`test_postgres_url`] (all its pools must be closed).
pub async fn drop_test_database(url: &str) {
    let (Ok(base), Some((_, name))) = (std::env::var("EGOV_TEST_POSTGRES_URL"), url.rsplit_once('/')) else {
        return;
    };
    if !name.starts_with("egov_test_") || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return; // only ever drop what test_postgres_url made
    }
    if let Ok(mut admin) = <sqlx::AnyConnection as sqlx::Connection>::connect(&base).await {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}"))).execute(&mut admin).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_credentials() {
        assert_eq!(redact("postgres://u:secret@h:5432/db"), "postgres://…@h:5432/db");
        assert_eq!(redact("sqlite:///x.db"), "sqlite:///x.db");
    }

    #[tokio::test]
    async fn refuses_unknown_url() {
        static M: Migrator = Migrator::DEFAULT;
        let m = Migrations { sqlite: &M, postgres: &M };
        assert!(matches!(Database::open("mysql://x", &m).await, Err(StoreError::UnsupportedUrl(_))));
    }
}
