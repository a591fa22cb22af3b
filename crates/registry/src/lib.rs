//! The registries behind the portal's informative part:
//!
//! - the **e-services registry** (R-9, R-10): every e-service with its administrative
//!   regulation, registered, amended and deregistered on application within the legal
//!   deadlines in working days ([`workdays`]), with a unique registry number and its whole
//!   history ([`store`]);
//! - the **registry of state information resources** (P-3.4): the bodies and systems of
//!   Decision No. 118, annex 1 ([`seed`]), with a duplicate check for proposed systems.
//!
//! [`text`] folds Azerbaijani, English and Russian text for search and similarity.

#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod catalogue_seed;
pub mod model;
pub mod seed;
pub mod staff;
pub mod store;
pub mod text;
pub mod workdays;

/// Why a registry operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// Invalid input; the message names the field.
    #[error("{0}")]
    Invalid(String),
    /// Something that must exist does not.
    #[error("{0}")]
    NotFound(String),
    /// The operation does not fit the current state (e.g. an application already decided).
    #[error("{0}")]
    Conflict(String),
    /// A proposed information system looks like existing ones.
    #[error("similar information systems exist: {}", .0.iter().map(|(c, n, s)| format!("{c} \"{n}\" ({:.0}%)", s * 100.0)).collect::<Vec<_>>().join("; "))]
    Similar(Vec<(String, String, f64)>),
    /// A deadline cannot be computed.
    #[error(transparent)]
    Calendar(#[from] workdays::CalendarError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] egov_store::StoreError),
}

impl From<sqlx::Error> for RegistryError {
    fn from(e: sqlx::Error) -> Self {
        RegistryError::Store(egov_store::StoreError::Query(e))
    }
}

impl From<serde_json::Error> for RegistryError {
    fn from(e: serde_json::Error) -> Self {
        RegistryError::Invalid(format!("stored record is unreadable: {e}"))
    }
}
