//! An ASiC-E container handed to `egov msglog verify` (zip, XML, JSON, DER inside).
//!
//! Asserted: never a panic; arbitrary bytes never verify; the hash-chain parser never panics.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let cas = vec![b"not a certificate".to_vec()];
    assert!(egov_msglog::verify::verify_container(data, &cas).is_err());
    let _ = egov_msglog::asic::parse_hashchain_xml(&String::from_utf8_lossy(data));
});
