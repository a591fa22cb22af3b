//! The operator's Certification Centre (TT-2.3, TT-4.1.2, TT-6.3, P-4.1.8).

#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]
