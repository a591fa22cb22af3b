//! An archive file handed to `egov msglog verify` (`archive::open`, `verify_archive`).
//!
//! Asserted: never a panic; arbitrary bytes never decrypt under a fresh key.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn keys() -> &'static egov_msglog::Keyring {
    static KEYS: OnceLock<egov_msglog::Keyring> = OnceLock::new();
    KEYS.get_or_init(|| egov_msglog::Keyring::generate(0).expect("keyring"))
}

fuzz_target!(|data: &[u8]| {
    assert!(egov_msglog::archive::open(keys(), data).is_err());
    assert!(egov_msglog::archive::verify_archive("fuzz", data, keys(), &[], None).is_err());
    let _ = egov_msglog::record::unframe_contents(data);
});
