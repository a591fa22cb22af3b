//! The security-server-to-security-server transport message (`transport::message::decode`),
//! then its metadata and signature frames as JSON.
//!
//! Asserted: decoding is exact, i.e. re-encoding the four frames gives back the input byte
//! for byte (no trailing or skipped bytes are tolerated, which the signature relies on).

#![no_main]

use egov_security_server::transport::message::{RequestMeta, decode, encode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(frames) = decode(data) else { return };
    let _ = frames.meta::<RequestMeta>();
    let _ = frames.signature();
    let again = encode(frames.meta, frames.message, frames.body, frames.signature);
    assert!(again == data, "decode/encode is not the identity on an accepted message");
});
