//! The adapter server (TT-2.4, TT-4.1.4, TT-4.2): an agency joins an existing REST/JSON
//! service or SQL database to the gateway by writing a mapping file, not code.
//!
//! A request goes: [`server`] (HTTP or HTTPS listener, routes) → [`front`] (SOAP envelope or
//! REST request → checked [`fields`]) → [`backend`] (a REST call or a read-only SQL query,
//! within the 2 s budget of TT-5.3) → [`backend::Answer`] (response elements) → back as a
//! SOAP envelope echoing the X-Road header, or JSON. [`describe`] generates the WSDL and
//! OpenAPI documents the security server hands to clients; [`mapping`] reads the file.

#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod backend;
pub mod describe;
mod error;
pub mod fields;
pub mod front;
pub mod mapping;
pub mod server;

pub use error::AdapterError;
pub use mapping::{AdapterMapping, Backend, FieldType, ServiceMapping};
pub use server::{AdapterOptions, RunningAdapter, push, start};
