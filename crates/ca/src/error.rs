//! The one error type of the Certification Centre.

use std::path::PathBuf;

use egov_pki::PkiError;
use egov_store::StoreError;

/// Why a Certification Centre operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaError {
    /// Database failure.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A certificate, request or key the PKI layer refused (e.g. a CSR for another identity).
    #[error(transparent)]
    Pki(#[from] PkiError),
    /// A key file that cannot be loaded (a wrong passphrase names itself here).
    #[error("cannot load {path}: {cause}")]
    Key {
        /// The key file.
        path: PathBuf,
        /// The cause (in the message, so not repeated as an error source).
        cause: PkiError,
    },
    /// A file that cannot be read or written.
    #[error("{path}: {cause}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause (in the message, so not repeated as an error source).
        cause: std::io::Error,
    },
    /// Invalid input, with a message naming the problem.
    #[error("{0}")]
    Invalid(String),
    /// Something that must exist does not (an unknown serial number).
    #[error("{0}")]
    NotFound(String),
    /// The change conflicts with the current state (already revoked, CA already exists).
    #[error("{0}")]
    Conflict(String),
}

impl From<sqlx::Error> for CaError {
    fn from(e: sqlx::Error) -> Self {
        CaError::Store(StoreError::Query(e))
    }
}

impl CaError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> CaError {
        let path = path.into();
        move |cause| CaError::Io { path, cause }
    }
}
