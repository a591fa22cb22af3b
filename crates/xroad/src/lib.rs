//! The X-Road wire protocol as seen by information systems: identifiers, SOAP 4.0
//! envelopes, REST r1 requests, faults and request hashes (shared/DESIGN.md decision 2).
//!
//! Pure functions over bytes and strings, no I/O, so every parser here can be fuzzed and
//! property-tested on its own. Requirement IDs: TT-5.1 (SOAP), TT-5.2 (size, enforced by the
//! caller), TT-2.2.3 (REST path normalisation for access rights).

#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod fault;
pub mod hash;
pub mod id;
pub mod json;
pub mod mime;
pub mod opmon;
pub mod rest;
pub mod soap;
pub mod wsdl;
pub mod xml;

pub use fault::Fault;
pub use id::{ClientId, IdError, SecurityServerId, ServiceId};
