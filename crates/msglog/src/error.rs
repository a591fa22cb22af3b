//! The message log's one error type; the security server maps it to X-Road faults
//! (`LoggingFailed`, `TimestamperFailed`) at its edge.

/// What went wrong in the message log.
#[derive(Debug, thiserror::Error)]
pub enum MsgLogError {
    /// The database refused a write or read.
    #[error("message log database: {0}")]
    Store(#[from] egov_store::StoreError),
    /// A query failed.
    #[error("message log database: {0}")]
    Query(#[from] sqlx::Error),
    /// The disk or database is full: the message was not logged, so it must not be sent.
    #[error("the message log is full ({0}); nothing was logged — free space and retry")]
    Full(String),
    /// Time-stamping has failed for longer than the allowed grace period.
    #[error(
        "messages cannot be time-stamped: the oldest unstamped message is {age_secs} s old (limit {limit_secs} s); last TSA error: {last_error}"
    )]
    TimestampingFailed {
        /// Age of the oldest unstamped record.
        age_secs: i64,
        /// The configured grace period.
        limit_secs: i64,
        /// Why the last attempt failed.
        last_error: String,
    },
    /// Encryption or decryption failed (wrong key, altered ciphertext).
    #[error("{0}")]
    Crypto(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Input that cannot be handled (bad container, bad key file, bad argument).
    #[error("{0}")]
    Invalid(String),
    /// Verification found a broken link.
    #[error("{0}")]
    Broken(String),
    /// Nothing matches.
    #[error("{0}")]
    NotFound(String),
    /// The writer task has stopped.
    #[error("the message log writer has stopped")]
    Stopped,
}

/// "No space left on device" (Linux).
const ENOSPC: i32 = 28;

impl MsgLogError {
    /// A file error; "no space left" (`ENOSPC`) becomes [`MsgLogError::Full`].
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        if source.raw_os_error() == Some(ENOSPC) {
            return Self::Full(format!("{}: {source}", path.display()));
        }
        Self::Io { path: path.display().to_string(), source }
    }

    /// A database error that means "no space" (SQLite `SQLITE_FULL`, PostgreSQL class 53)
    /// becomes [`MsgLogError::Full`].
    pub(crate) fn from_write(e: sqlx::Error) -> Self {
        let text = e.to_string();
        let full = match &e {
            sqlx::Error::Database(db) => {
                db.code().is_some_and(|c| c == "13" || c.starts_with("53")) || text.contains("full")
            }
            sqlx::Error::Io(io) => io.raw_os_error() == Some(ENOSPC),
            _ => false,
        };
        if full { Self::Full(text) } else { Self::Query(e) }
    }
}
