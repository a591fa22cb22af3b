//! The central server's database (SQLite or PostgreSQL) and its migrations.

use egov_store::{Database, Migrations};

use crate::CentralError;

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The central server schema.
pub static MIGRATIONS: Migrations = Migrations { sqlite: &SQLITE, postgres: &POSTGRES };

/// The central server's store: one database for the registry, lifecycles and incidents.
#[derive(Debug, Clone)]
pub struct CentralStore {
    db: Database,
}

impl CentralStore {
    /// Opens the store at `url`, creating and migrating the schema as needed.
    pub async fn open(url: &str) -> Result<Self, CentralError> {
        Ok(Self { db: Database::open(url, &MIGRATIONS).await? })
    }

    /// The database.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// The pool.
    pub fn pool(&self) -> &sqlx::AnyPool {
        self.db.pool()
    }
}

/// Current time in seconds since the Unix epoch.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
