//! RFC 3161 from the network: the TSA on arbitrary requests (`tsp::stamp`), and a verifier
//! on arbitrary tokens (`tsp::verify`).
//!
//! Asserted: never a panic; the TSA always answers (a rejection for garbage); garbage never
//! verifies as a time-stamp.

#![no_main]

use std::sync::OnceLock;

use egov_pki::{CertProfile, CertificationAuthority, KeyAlgorithm, PrivateKey, tsp};
use libfuzzer_sys::fuzz_target;

struct Tsa {
    ca: CertificationAuthority,
    key: PrivateKey,
    cert: Vec<u8>,
}

fn tsa() -> &'static Tsa {
    static TSA: OnceLock<Tsa> = OnceLock::new();
    TSA.get_or_init(|| {
        let ca = CertificationAuthority::generate("AZ", "Fuzz CA").expect("CA");
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).expect("key");
        let profile = CertProfile::TimeStamping("Fuzz TSA".into());
        let cert = ca.issue(&key.certificate_request(&profile).expect("csr"), &profile, 30).expect("cert");
        Tsa { ca, key, cert }
    })
}

fuzz_target!(|data: &[u8]| {
    let t = tsa();
    let answer = tsp::stamp(data, &t.key, &t.cert, "1.3.6.1.4.1.32473.1.1", 1, 1_800_000_000);
    assert!(!answer.is_empty(), "the TSA must always answer");
    assert!(tsp::verify(data, &[0u8; 32], t.ca.certificate_der()).is_err());
});
