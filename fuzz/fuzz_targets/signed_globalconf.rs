//! A downloaded global configuration (`egov_globalconf::Anchor::verify_signature` and
//! `verify`), as a security server reads it from the central server's public listener.
//!
//! Asserted: never a panic; whatever is accepted is signed by the anchor's key, so arbitrary
//! bytes (which cannot carry a valid signature) are never accepted.

#![no_main]

use std::sync::OnceLock;

use egov_globalconf::{Anchor, VerificationKey};
use egov_pki::{KeyAlgorithm, PrivateKey};
use libfuzzer_sys::fuzz_target;

fn anchor() -> &'static Anchor {
    static ANCHOR: OnceLock<Anchor> = OnceLock::new();
    ANCHOR.get_or_init(|| {
        let key = PrivateKey::generate(KeyAlgorithm::Ed25519).expect("key");
        Anchor {
            instance: "AZ".into(),
            environment: "production".into(),
            sources: vec!["http://127.0.0.1:1/globalconf".into()],
            registration_url: "http://127.0.0.1:1/registration".into(),
            verification_keys: vec![VerificationKey::of(&key).expect("verification key")],
            ca_certs_pem: Vec::new(),
            generated_at: 0,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let a = anchor();
    assert!(a.verify_signature(data).is_err(), "unsigned bytes accepted as a configuration");
    assert!(a.verify(data, 1_800_000_000).is_err());
    let _ = Anchor::from_json(&String::from_utf8_lossy(data));
});
