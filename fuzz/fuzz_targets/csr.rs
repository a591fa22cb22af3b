//! A certificate request as the registration service receives it (`csr::check_request`).
//!
//! Asserted: never a panic; arbitrary bytes are never a valid self-signed request.

#![no_main]

use egov_pki::CertProfile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let profile = CertProfile::Auth("AZ/GOV/1400000001/ss1".parse().expect("id"));
    let _ = egov_pki::csr::requested_common_name(data);
    let _ = egov_pki::csr::check_request(data, &profile);
});
