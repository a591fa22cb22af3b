//! OCSP from the network: the Certification Centre's responder on arbitrary requests
//! (`ocsp::requested_serials`, `Responder::respond`), and a security server checking an
//! arbitrary stapled response (`ocsp::verify_response`).
//!
//! Asserted: never a panic; the responder always answers with a DER OCSPResponse that the
//! verifier can read (malformedRequest for garbage); garbage is never a valid response.

#![no_main]

use std::sync::OnceLock;

use egov_pki::CertificationAuthority;
use egov_pki::ocsp::{self, CertStatus, Responder};
use libfuzzer_sys::fuzz_target;

fn ca() -> &'static (CertificationAuthority, Responder) {
    static CA: OnceLock<(CertificationAuthority, Responder)> = OnceLock::new();
    CA.get_or_init(|| {
        let ca = CertificationAuthority::generate("AZ", "Fuzz CA").expect("CA");
        let responder = Responder::new(ca.certificate_der(), ca.signer()).expect("responder");
        (ca, responder)
    })
}

fuzz_target!(|data: &[u8]| {
    let (ca, responder) = ca();
    let _ = ocsp::requested_serials(data);
    let answer = responder.respond(data, |_| CertStatus::Good, 1_800_000_000, 600);
    assert!(!answer.is_empty(), "the responder must always answer");
    assert!(ocsp::verify_response(data, ca.certificate_der(), 1_800_000_000, 3600).is_err());
});
