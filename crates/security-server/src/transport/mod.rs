//! Security server to security server: the transport format, its signatures, replay
//! protection, mutual TLS and the connection pool (TT-2.2.1, TT-2.2.4, TT-6.2, TT-6.3).
//! The format is specified in docs/transport.md.

pub mod client;
pub mod message;
pub mod ocsp;
pub mod replay;
pub mod signing;
pub mod tls;
