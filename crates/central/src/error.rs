//! The central server's one error type; the HTTP edge maps it to status codes.

use egov_store::StoreError;

/// Why a central-server operation was refused or failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CentralError {
    /// Invalid input, with a message naming the problem (HTTP 400).
    #[error("{0}")]
    Invalid(String),
    /// Something that must exist does not (HTTP 404).
    #[error("{0}")]
    NotFound(String),
    /// The operation conflicts with the current state (HTTP 409).
    #[error("{0}")]
    Conflict(String),
    /// The caller is not allowed (HTTP 403).
    #[error("{0}")]
    Forbidden(String),
    /// The Certification Centre refused or failed.
    #[error("Certification Centre: {0}")]
    Ca(String),
    /// Database failure (HTTP 500).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for CentralError {
    fn from(e: sqlx::Error) -> Self {
        CentralError::Store(StoreError::Query(e))
    }
}

impl CentralError {
    /// The HTTP status this error is reported with.
    pub fn status(&self) -> u16 {
        match self {
            CentralError::Invalid(_) => 400,
            CentralError::Forbidden(_) => 403,
            CentralError::NotFound(_) => 404,
            CentralError::Conflict(_) => 409,
            CentralError::Ca(_) | CentralError::Store(_) => 500,
        }
    }
}
