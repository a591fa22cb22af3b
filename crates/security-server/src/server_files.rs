//! The message log's and the token holders' files in the server directory (see
//! enrolment.rs for the directory's layout): the participant's content keys sealed with the
//! server's passphrase (TT-6.3), retention and intervals (TT-3.8.4), and `users.json`.

use std::path::PathBuf;
use std::time::Duration;

use egov_msglog::{Keyring, LogSettings, MessageLog, RetentionPolicy};
use serde::{Deserialize, Serialize};

use crate::enrolment::{EnrolmentError, ServerDir};
use crate::users::Users;

/// File of the message log's keys.
pub const KEYS_FILE: &str = "msglog-keys.json";
/// File of the message log's settings.
pub const SETTINGS_FILE: &str = "msglog.json";
/// File of the token holders.
pub const USERS_FILE: &str = "users.json";

/// `msglog.json`: everything optional; absent values take X-Road's defaults.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MsgLogFile {
    /// Database URL (`sqlite://…` or `postgres://…`); default `msglog.db` in the directory.
    pub database: Option<String>,
    /// Directory of the log's segment files (the records themselves; the database indexes
    /// them); default `msglog-segments` in the directory. Keep it on a local disk with the
    /// same backups as the database.
    pub segment_dir: Option<std::path::PathBuf>,
    /// Retention per service.
    #[serde(default)]
    pub retention: RetentionPolicy,
    /// Seconds between time-stamping runs.
    pub timestamp_interval_secs: Option<u64>,
    /// Seconds without time-stamps before traffic is refused (0: never).
    pub timestamp_grace_secs: Option<i64>,
    /// Seconds between archiving runs.
    pub archive_interval_secs: Option<u64>,
    /// Largest archive file in bytes.
    pub archive_max_bytes: Option<u64>,
    /// Days archived records stay in the database.
    pub db_retention_days: Option<u32>,
    /// Days operational monitoring records are kept.
    pub op_retention_days: Option<u32>,
    /// Seconds between cleaning runs.
    pub clean_interval_secs: Option<u64>,
}

fn invalid(e: impl std::fmt::Display) -> EnrolmentError {
    EnrolmentError::Invalid(e.to_string())
}

impl ServerDir {
    fn msglog_passphrase(&self) -> Result<&str, EnrolmentError> {
        self.passphrase().ok_or_else(|| {
            EnrolmentError::Invalid(
                "the message log's keys are sealed with the server passphrase: set EGOV_SS_PASSPHRASE".into(),
            )
        })
    }

    /// The message log's keyring, created with one key on first use.
    pub fn msglog_keys(&self) -> Result<Keyring, EnrolmentError> {
        let path = self.file(KEYS_FILE);
        let passphrase = self.msglog_passphrase()?;
        if path.exists() {
            return Keyring::load(&path, passphrase).map_err(invalid);
        }
        let keys = Keyring::generate(crate::transport::message::now_ms()).map_err(invalid)?;
        keys.save(&path, passphrase, egov_msglog::keys::DEFAULT_ITERATIONS).map_err(invalid)?;
        tracing::info!(file = %path.display(), "message log key created");
        Ok(keys)
    }

    /// Adds a new content key and makes it current (older keys stay, to read older
    /// records); returns its id. A running server picks it up at its next start.
    pub fn rotate_msglog_key(&self) -> Result<String, EnrolmentError> {
        let mut keys = self.msglog_keys()?;
        let id = keys.rotate(crate::transport::message::now_ms()).map_err(invalid)?;
        keys.save(&self.file(KEYS_FILE), self.msglog_passphrase()?, egov_msglog::keys::DEFAULT_ITERATIONS)
            .map_err(invalid)?;
        Ok(id)
    }

    /// `msglog.json`, or defaults.
    pub fn msglog_file(&self) -> Result<MsgLogFile, EnrolmentError> {
        self.read_json_or_default(SETTINGS_FILE)
    }

    /// The message log's settings and database URL.
    pub fn msglog_settings(&self) -> Result<(LogSettings, String), EnrolmentError> {
        let file = self.msglog_file()?;
        let segments = file.segment_dir.clone().unwrap_or_else(|| self.file("msglog-segments"));
        let mut s = LogSettings::new(self.archive_dir(), segments);
        s.policy = file.retention;
        let secs = |v: Option<u64>, d: Duration| v.map_or(d, Duration::from_secs);
        s.timestamp_interval = secs(file.timestamp_interval_secs, s.timestamp_interval);
        s.archive_interval = secs(file.archive_interval_secs, s.archive_interval);
        s.clean_interval = secs(file.clean_interval_secs, s.clean_interval);
        s.timestamp_grace_secs = file.timestamp_grace_secs.unwrap_or(s.timestamp_grace_secs);
        s.archive_max_bytes = file.archive_max_bytes.unwrap_or(s.archive_max_bytes);
        s.db_retention_days = file.db_retention_days.unwrap_or(s.db_retention_days);
        s.op_retention_days = file.op_retention_days.unwrap_or(s.op_retention_days);
        if s.timestamp_interval.is_zero() || s.archive_interval.is_zero() || s.clean_interval.is_zero() {
            return Err(invalid(format!("{SETTINGS_FILE}: intervals must be at least one second")));
        }
        s.policy.validate().map_err(|e| invalid(format!("{SETTINGS_FILE}: {e}")))?;
        let url = file.database.unwrap_or_else(|| egov_store::sqlite_url(&self.file("msglog.db")));
        Ok((s, url))
    }

    /// The JSON file `name`, or the type's default when the file does not exist.
    fn read_json_or_default<T: Default + serde::de::DeserializeOwned>(&self, name: &str) -> Result<T, EnrolmentError> {
        match self.read_optional(name)? {
            Some(text) => {
                serde_json::from_str(&text).map_err(|e| invalid(format!("{}: {e}", self.file(name).display())))
            }
            None => Ok(T::default()),
        }
    }

    /// Where archive files go.
    pub fn archive_dir(&self) -> PathBuf {
        self.file("archive")
    }

    /// Opens the message log (keys, settings, database).
    pub async fn message_log(&self) -> Result<MessageLog, EnrolmentError> {
        let keys = self.msglog_keys()?;
        let (settings, url) = self.msglog_settings()?;
        MessageLog::open(&url, keys, settings).await.map_err(invalid)
    }

    /// The token holders (none when the file is absent).
    pub fn users(&self) -> Result<Users, EnrolmentError> {
        self.read_json_or_default(USERS_FILE)
    }

    /// Saves the token holders.
    pub fn save_users(&self, users: &Users) -> Result<(), EnrolmentError> {
        self.write(USERS_FILE, &serde_json::to_string_pretty(users).map_err(invalid)?)
    }
}
