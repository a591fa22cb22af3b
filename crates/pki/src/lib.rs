//! Keys, certificates and signatures for the gateway (TT-2.2.1, TT-2.3, TT-6.3).
//!
//! - [`ca`]: the Certification Centre's issuing path (PKCS#10 CSR in, certificate out),
//!   with certificate profiles that bind a certificate to a security server or member.
//! - [`trust`]: the verifier side: chain to the CA, validity, revocation, profile.
//! - [`keys`] and [`signature`]: key generation and the detached signatures every message
//!   between security servers carries.
//! - [`batch`]: hash trees that let one private-key operation sign many messages.
//! - [`ocsp`] and [`tsp`]: certificate status (RFC 6960) and time-stamps (RFC 3161), the
//!   Certification Centre's two online services and their verifiers.
//!
//! One crypto provider (aws-lc-rs) is used throughout (shared/DESIGN.md decision 6); the
//! RustCrypto `der` 0.7 crates only encode and decode the OCSP, CMS and PKCS#8 structures.

#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod batch;
pub mod ca;
pub mod csr;
pub mod error;
pub mod files;
pub mod keys;
pub mod ocsp;
pub mod profile;
pub mod signature;
pub mod tls;
pub mod trust;
pub mod tsp;
pub mod xades;

pub use ca::CertificationAuthority;
pub use error::PkiError;
pub use keys::{KeyAlgorithm, PrivateKey, Signer};
pub use profile::CertProfile;
pub use trust::{TrustStore, VerifiedCert};

/// Current time as seconds since the Unix epoch (the one place the crate reads the clock).
pub fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Current time as milliseconds since the Unix epoch (message timestamps, log records).
pub fn unix_now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// Unix seconds as an RFC 3339 UTC time, for messages and listings (the number itself when
/// out of range). The one place times are written this way.
pub fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| unix.to_string())
}

/// SHA-256 of a certificate's DER bytes: how a registered authentication certificate is
/// named in the federation directory (as X-Road's `authCertHash`).
pub fn cert_sha256(der: &[u8]) -> [u8; 32] {
    sha256(der)
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// `N` bytes from the system's cryptographically secure random generator (secrets handed to
/// people, such as enrolment codes).
pub fn random_bytes<const N: usize>() -> Result<[u8; N], PkiError> {
    let mut out = [0u8; N];
    aws_lc_rs::rand::fill(&mut out).map_err(|_| PkiError::Key("no randomness".into()))?;
    Ok(out)
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

/// A certificate serial number (big-endian bytes of the INTEGER) as lower-case hex without
/// leading zero bytes: how the trust store, the CA's register and OCSP name certificates.
pub fn serial_hex(bytes: &[u8]) -> String {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    let hex: String = bytes[start..].iter().map(|b| format!("{b:02x}")).collect();
    if hex.is_empty() { "00".into() } else { hex }
}

/// The signature algorithm identifier (OID) written for a key of `algorithm`.
pub(crate) fn signature_oid(algorithm: KeyAlgorithm) -> der::asn1::ObjectIdentifier {
    match algorithm {
        KeyAlgorithm::EcdsaP256 => der::asn1::ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2"),
        KeyAlgorithm::Ed25519 => der::asn1::ObjectIdentifier::new_unwrap("1.3.101.112"),
    }
}

/// Verifies `signature` over `message` with the key of `spki`, for the signature algorithm
/// `sig_alg` (dotted OID). Covers what a CA, responder or TSA in this federation, or OpenSSL
/// acting as one, signs with: ECDSA (P-256/P-384, SHA-256/384), Ed25519, RSA PKCS#1 v1.5.
pub(crate) fn verify_with_spki(
    sig_alg: &str,
    spki: &x509_parser::x509::SubjectPublicKeyInfo<'_>,
    message: &[u8],
    signature: &[u8],
) -> Result<(), PkiError> {
    use aws_lc_rs::signature as s;
    let key_alg = spki.algorithm.algorithm.to_id_string();
    let curve = spki.algorithm.parameters.as_ref().and_then(|p| p.as_oid().ok()).map(|o| o.to_id_string());
    let verifier: &dyn s::VerificationAlgorithm = match (sig_alg, key_alg.as_str(), curve.as_deref()) {
        ("1.2.840.10045.4.3.2", "1.2.840.10045.2.1", Some("1.2.840.10045.3.1.7")) => &s::ECDSA_P256_SHA256_ASN1,
        ("1.2.840.10045.4.3.3", "1.2.840.10045.2.1", Some("1.2.840.10045.3.1.7")) => &s::ECDSA_P256_SHA384_ASN1,
        ("1.2.840.10045.4.3.2", "1.2.840.10045.2.1", Some("1.3.132.0.34")) => &s::ECDSA_P384_SHA256_ASN1,
        ("1.2.840.10045.4.3.3", "1.2.840.10045.2.1", Some("1.3.132.0.34")) => &s::ECDSA_P384_SHA384_ASN1,
        ("1.3.101.112", "1.3.101.112", _) => &s::ED25519,
        ("1.2.840.113549.1.1.11", "1.2.840.113549.1.1.1", _) => &s::RSA_PKCS1_2048_8192_SHA256,
        ("1.2.840.113549.1.1.12", "1.2.840.113549.1.1.1", _) => &s::RSA_PKCS1_2048_8192_SHA384,
        ("1.2.840.113549.1.1.13", "1.2.840.113549.1.1.1", _) => &s::RSA_PKCS1_2048_8192_SHA512,
        _ => {
            return Err(PkiError::Malformed(format!(
                "unsupported signature algorithm {sig_alg} for a {key_alg} key (curve {curve:?})"
            )));
        }
    };
    s::UnparsedPublicKey::new(verifier, &spki.subject_public_key.data[..])
        .verify(message, signature)
        .map_err(|_| PkiError::BadSignature)
}

/// Hash functions named in OCSP CertIDs, RFC 3161 message imprints and CMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HashAlg {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlg {
    pub(crate) fn from_oid(oid: &str) -> Option<Self> {
        Some(match oid {
            "1.3.14.3.2.26" => Self::Sha1,
            "2.16.840.1.101.3.4.2.1" => Self::Sha256,
            "2.16.840.1.101.3.4.2.2" => Self::Sha384,
            "2.16.840.1.101.3.4.2.3" => Self::Sha512,
            _ => return None,
        })
    }

    pub(crate) fn oid(self) -> der::asn1::ObjectIdentifier {
        der::asn1::ObjectIdentifier::new_unwrap(match self {
            Self::Sha1 => "1.3.14.3.2.26",
            Self::Sha256 => "2.16.840.1.101.3.4.2.1",
            Self::Sha384 => "2.16.840.1.101.3.4.2.2",
            Self::Sha512 => "2.16.840.1.101.3.4.2.3",
        })
    }

    pub(crate) fn len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    pub(crate) fn digest(self, data: &[u8]) -> Vec<u8> {
        use aws_lc_rs::digest;
        let alg = match self {
            Self::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
            Self::Sha256 => &digest::SHA256,
            Self::Sha384 => &digest::SHA384,
            Self::Sha512 => &digest::SHA512,
        };
        digest::digest(alg, data).as_ref().to_vec()
    }
}

/// Parses one DER certificate with nothing after it.
pub(crate) fn parse_cert<'a>(
    der: &'a [u8],
    what: &str,
) -> Result<x509_parser::certificate::X509Certificate<'a>, PkiError> {
    use x509_parser::prelude::FromDer;
    let (rest, cert) = x509_parser::certificate::X509Certificate::from_der(der)
        .map_err(|e| PkiError::Malformed(format!("{what}: not a DER certificate: {e}")))?;
    if !rest.is_empty() {
        return Err(PkiError::Malformed(format!("{what}: trailing bytes after the certificate")));
    }
    Ok(cert)
}

/// Is `cert` issued by `ca`: issuer name equals the CA's subject and the CA's signature on
/// it verifies.
pub(crate) fn issued_by(
    cert: &x509_parser::certificate::X509Certificate<'_>,
    ca: &x509_parser::certificate::X509Certificate<'_>,
) -> Result<(), PkiError> {
    if cert.issuer().as_raw() != ca.subject().as_raw() {
        return Err(PkiError::UntrustedIssuer(format!("issuer '{}' is not the CA '{}'", cert.issuer(), ca.subject())));
    }
    verify_with_spki(
        &cert.signature_algorithm.algorithm.to_id_string(),
        ca.public_key(),
        cert.tbs_certificate.as_ref(),
        &cert.signature_value.data,
    )
    .map_err(|_| PkiError::UntrustedIssuer("the CA's signature on the certificate does not verify".into()))
}

/// Unix seconds to an ASN.1 GeneralizedTime (whole seconds, as OCSP and RFC 3161 use).
pub(crate) fn generalized_time(unix: i64) -> Result<der::asn1::GeneralizedTime, PkiError> {
    let secs = u64::try_from(unix).map_err(|_| PkiError::Malformed(format!("time {unix} is before 1970")))?;
    der::asn1::GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(secs))
        .map_err(|e| PkiError::Malformed(format!("time {unix} cannot be encoded: {e}")))
}

/// An ASN.1 GeneralizedTime as Unix seconds.
pub(crate) fn unix_time(t: &der::asn1::GeneralizedTime) -> i64 {
    i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
}

/// Test helpers shared by the modules' tests.
#[cfg(test)]
pub(crate) mod testutil {
    use std::path::Path;

    /// Runs `openssl ARGS` in `dir` and returns (success, stdout + stderr), or `None` (with a
    /// notice) when the openssl CLI is not installed: the OpenSSL oracles then skip.
    pub(crate) fn openssl(dir: &Path, args: &[&str]) -> Option<(bool, String)> {
        match std::process::Command::new("openssl").args(args).current_dir(dir).output() {
            Ok(out) => Some((
                out.status.success(),
                format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
            )),
            Err(e) => {
                eprintln!("*** SKIPPED OpenSSL oracle (openssl {}): {e} ***", args.join(" "));
                None
            }
        }
    }

    /// A small deterministic generator for the fuzz-ish tests (xorshift64*).
    pub(crate) struct Rng(pub(crate) u64);

    impl Rng {
        pub(crate) fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        pub(crate) fn bytes(&mut self, max_len: usize) -> Vec<u8> {
            let len = (self.next() as usize) % (max_len + 1);
            (0..len).map(|_| self.next() as u8).collect()
        }
    }
}
