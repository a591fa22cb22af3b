//! The adapter server (TT-2.4, TT-4.1.4, TT-4.2): an agency joins an existing REST/JSON
//! service or SQL database to the gateway by writing a mapping file, not code.
//!
//! Built so far: the mapping file ([`mapping`]) — parsed and validated with errors that name
//! the line and the problem. Serving SOAP and REST from it, generated WSDL and OpenAPI, and
//! the back-end calls follow (issue 5).

#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod error;
pub mod mapping;

pub use error::AdapterError;
pub use mapping::{AdapterMapping, Backend, FieldType, ServiceMapping};
