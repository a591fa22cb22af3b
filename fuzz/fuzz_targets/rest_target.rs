//! REST r1: request targets (`RestTarget::parse`), access-right path normalisation
//! (`normalize_path`) and the serialised header part carried between security servers
//! (`parse_header_part`).
//!
//! Asserted: a normalised path starts with '/' and has no "." or ".." segment (what keeps
//! access rights from being bypassed by traversal, XRDDEV-3054).

#![no_main]

use egov_xroad::rest::{RestTarget, normalize_path, parse_header_part};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse_header_part(data);
    let Ok(s) = std::str::from_utf8(data) else { return };
    let _ = RestTarget::parse(s);
    if let Ok(p) = normalize_path(s) {
        assert!(p.starts_with('/'), "normalized path {p:?} does not start with '/'");
        assert!(
            p.split('/').all(|segment| segment != "." && segment != ".."),
            "normalized path {p:?} has a dot segment"
        );
    }
});
