//! A `META-INF/signatures.xml` read back from a container (`xades::parse_document`,
//! `xades::verify_document`).
//!
//! Asserted: never a panic; arbitrary text never verifies against a fixed key.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = egov_pki::xades::parse_document(&text);
    let _ = egov_pki::xades::parse_signing_time(&text);
    assert!(egov_pki::xades::verify_document(&text, &[7u8; 32], &[4u8; 65]).is_err());
    let _ = egov_pki::xades::ecdsa_der_to_fixed(data);
});
