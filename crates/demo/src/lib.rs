//! `egov demo` and the pieces it is made of: a loopback federation builder (used by tests
//! and the benchmark too) and the demo agencies' information systems.

#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod agency;
pub mod demo;
pub mod federation;
pub mod fixture;

pub use demo::{DemoOptions, run};
