//! The content of a global configuration once its signature has verified: what a security
//! server parses and indexes from a document its anchor accepts (`Anchor::verify`, then
//! `egov_globalconf::Directory::new`). The `signed_globalconf` target cannot reach this
//! code, since arbitrary bytes never carry a valid signature; here every input is signed
//! with the anchor's key first, so a damaged or hostile generation (a compromised or buggy
//! publisher, TT-4.1.2) is fuzzed too.
//!
//! Asserted: never a panic; an accepted configuration is of the anchor's instance and
//! environment, carries an expiry, and re-verifies after being signed again.

#![no_main]

use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use egov_globalconf::signed::FORMAT;
use egov_globalconf::{Anchor, Directory, SignedConf, VerificationKey};
use egov_pki::{KeyAlgorithm, PrivateKey};
use libfuzzer_sys::fuzz_target;

const NOW: i64 = 1_800_000_000;

fn setup() -> &'static (PrivateKey, Anchor) {
    static SETUP: OnceLock<(PrivateKey, Anchor)> = OnceLock::new();
    SETUP.get_or_init(|| {
        let key = PrivateKey::generate(KeyAlgorithm::Ed25519).expect("key");
        let anchor = Anchor {
            instance: "AZ".into(),
            environment: "production".into(),
            sources: vec!["http://127.0.0.1:1/globalconf".into()],
            registration_url: "http://127.0.0.1:1/registration".into(),
            verification_keys: vec![VerificationKey::of(&key).expect("verification key")],
            ca_certs_pem: Vec::new(),
            generated_at: 0,
        };
        (key, anchor)
    })
}

/// A signed document with `content` as it is (the publisher signs the content bytes:
/// `FORMAT || 0x00 || content`, see `egov_globalconf::signed`).
fn sign_raw(key: &PrivateKey, content: &[u8]) -> Vec<u8> {
    let mut signed = FORMAT.as_bytes().to_vec();
    signed.push(0);
    signed.extend_from_slice(content);
    let signature = key.signer().expect("signer").sign(&signed).expect("signature");
    let doc = SignedConf {
        format: FORMAT.into(),
        content: STANDARD.encode(content),
        key_id: VerificationKey::of(key).expect("key id").key_id,
        signature: STANDARD.encode(signature),
    };
    serde_json::to_vec(&doc).expect("JSON")
}

fuzz_target!(|content: &[u8]| {
    let (key, anchor) = setup();
    let document = sign_raw(key, content);
    let Ok(conf) = anchor.verify_signature(&document) else { return };
    assert_eq!((conf.instance.as_str(), conf.environment.as_str()), ("AZ", "production"));
    assert!(conf.expires_at.is_some(), "accepted without an expiry");
    let _ = anchor.verify(&document, NOW);
    // what the publisher would send for this configuration verifies to the same value
    if let Ok(again) = SignedConf::sign(&conf, key) {
        assert_eq!(anchor.verify_signature(again.as_bytes()).expect("re-signed configuration"), conf);
    }
    if let Ok(directory) = Directory::new(conf) {
        let _ = directory.clients();
        let _ = directory.limits();
    }
});
