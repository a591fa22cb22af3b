//! The message log of a security server (TT-2.2.2, TT-3.8.4, TT-6.3, P-2.1.7).
//!
//! Every request and response that passes the security server is stored with its signature
//! before the answer is released ([`MessageLog::log`], group-committed), chained to the
//! record before it ([`record::RecordHeader::hash`]), time-stamped in batches by the
//! operator's TSA ([`timestamper`]), encrypted at rest under the participant's key
//! ([`keys`]), moved into linked, encrypted archive files ([`archive`]), removed when its
//! retention ends ([`cleaner`]), and exported as an ASiC-E container in X-Road's layout
//! ([`asic`]) that [`verify`] checks offline. docs/msglog.md describes the formats.

#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod archive;
pub mod asic;
pub mod cleaner;
mod error;
pub mod keys;
mod log;
pub mod policy;
pub mod record;
pub mod segment;
pub mod stored;
pub mod timestamper;
pub mod verify;

pub use error::MsgLogError;
pub use keys::Keyring;
pub use log::{LogStats, MIGRATIONS, MessageLog, Pending, ReadRecord};
pub use policy::{LogSettings, RetentionPolicy, ServicePolicy};
pub use record::{Direction, Entry, Side};
pub use timestamper::TimeStampAuthority;
