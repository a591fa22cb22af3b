//! A security server's registration request as the central server's public listener
//! receives it (`POST /registration`, TT-4.1.2): the JSON body, then
//! `RegistrationRequest::check` (server id, environment, address, both PKCS#10 requests,
//! the enrolment code being present, issue 13), and the key fingerprints the operator's
//! listing shows.
//!
//! The first byte picks the mode: even, the rest is the JSON body; odd, the rest is DER
//! given as both certificate requests of an otherwise well-formed request (so the CSR
//! checks are reached without the fuzzer having to find base64 inside JSON).
//!
//! Asserted: never a panic; an accepted request names its server exactly as given, both of
//! its requests have a fingerprint (32 hex pairs with colons), and its enrolment code
//! digest is 64 hex digits; arbitrary DER is never accepted as both requests.

#![no_main]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use egov_central::registration::RegistrationRequest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let _ = egov_pki::csr::key_fingerprint(rest);
    let request = if mode % 2 == 0 {
        let Ok(request) = serde_json::from_slice::<RegistrationRequest>(rest) else { return };
        request
    } else {
        let der = STANDARD.encode(rest);
        RegistrationRequest {
            server_id: "AZ/GOV/1400000001/ss1".into(),
            environment: "production".into(),
            address: "127.0.0.1:5500".into(),
            auth_csr: der.clone(),
            sign_csr: der,
            enrolment_code: Some("0123-4567".into()),
        }
    };
    let Ok(checked) = request.check() else { return };
    assert_eq!(mode % 2, 0, "one DER blob accepted as both the authentication and the signing request");
    assert_eq!(checked.server.to_string(), request.server_id, "the server id is not the one given");
    for csr in [&checked.auth_csr, &checked.sign_csr] {
        let fingerprint = egov_pki::csr::key_fingerprint(csr).expect("an accepted request has a fingerprint");
        assert_eq!(fingerprint.len(), 95, "{fingerprint}");
    }
    assert!(checked.code_sha256.len() == 64 && checked.code_sha256.bytes().all(|b| b.is_ascii_hexdigit()));
});
