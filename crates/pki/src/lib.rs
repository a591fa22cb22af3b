//! Keys, certificates and signatures for the gateway (TT-2.2.1, TT-2.3, TT-6.3).
//!
//! - [`ca`]: the Certification Centre's issuing path (PKCS#10 CSR in, certificate out),
//!   with certificate profiles that bind a certificate to a security server or member.
//! - [`trust`]: the verifier side: chain to the CA, validity, revocation, profile.
//! - [`keys`] and [`signature`]: key generation and the detached signatures every message
//!   between security servers carries.
//! - [`batch`]: hash trees that let one private-key operation sign many messages.
//!
//! One crypto provider (aws-lc-rs) is used throughout (shared/DESIGN.md decision 6).

#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod batch;
pub mod ca;
pub mod error;
pub mod keys;
pub mod profile;
pub mod signature;
pub mod trust;

pub use ca::CertificationAuthority;
pub use error::PkiError;
pub use keys::{KeyAlgorithm, PrivateKey};
pub use profile::CertProfile;
pub use trust::{TrustStore, VerifiedCert};

/// Current time as seconds since the Unix epoch (the one place the crate reads the clock).
pub fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// SHA-256 of a certificate's DER bytes: how a registered authentication certificate is
/// named in the federation directory (as X-Road's `authCertHash`).
pub fn cert_sha256(der: &[u8]) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// PEM-encodes DER bytes under `label`.
pub fn to_pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Decodes every PEM block labelled `label` in `pem`.
pub fn from_pem(label: &str, pem: &str) -> Result<Vec<Vec<u8>>, PkiError> {
    use base64::Engine;
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut out = Vec::new();
    let mut rest = pem;
    while let Some(start) = rest.find(&begin) {
        let after = &rest[start + begin.len()..];
        let stop =
            after.find(&end).ok_or_else(|| PkiError::Malformed(format!("PEM block {label} is not terminated")))?;
        let body: String = after[..stop].chars().filter(|c| !c.is_whitespace()).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|e| PkiError::Malformed(format!("PEM block {label} is not base64: {e}")))?;
        out.push(der);
        rest = &after[stop + end.len()..];
    }
    if out.is_empty() {
        return Err(PkiError::Malformed(format!("no PEM block labelled {label}")));
    }
    Ok(out)
}
