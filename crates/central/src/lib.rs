//! The operator's central server (TT-3.x, TT-4.1.2, TT-6.8, P-4.1.8, P-6.1).
//!
//! - [`registry`]: members, subsystems, security servers, global groups.
//! - [`registration`]: a new security server's request (CSRs), the operator's decision, the
//!   certificates issued by the Certification Centre.
//! - [`publish`]: the signed global configuration every security server downloads.
//! - [`lifecycle`]: participant and service lifecycles, deadlines in working days, notices,
//!   the maintenance and retirement calendar.
//! - [`incidents`]: information-security incidents reported by security servers (TT-6.8).
//! - [`api`]: the HTTP interfaces: public (configuration download, registration), and the
//!   operator's admin API (client-certificate authenticated).

#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod api;
pub mod error;
pub mod incidents;
pub mod lifecycle;
pub mod operator;
pub mod publish;
pub mod registration;
pub mod registry;
pub mod service;
pub mod store;

pub use error::CentralError;
pub use store::CentralStore;
