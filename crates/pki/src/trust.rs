//! The verifier's side: is this certificate issued by a trusted Certification Centre, valid
//! now, not revoked, and of the expected profile? (TT-2.2.1, TT-2.3, TT-6.3)
//!
//! Parsing and the CA signature check run once per certificate; the result is cached by the
//! certificate's SHA-256, while validity and revocation are re-checked on every use, so a
//! revocation takes effect immediately.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use x509_parser::prelude::{FromDer, X509Certificate};

use crate::{CertProfile, KeyAlgorithm, PkiError};

const OID_ED25519: &str = "1.3.101.112";
const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";

/// What a verified certificate says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCert {
    /// The identity and purpose the certificate is bound to.
    pub profile: CertProfile,
    /// Serial number, lower-case hex.
    pub serial: String,
    /// Start of validity (Unix seconds).
    pub not_before: i64,
    /// End of validity (Unix seconds).
    pub not_after: i64,
    /// Public key algorithm.
    pub key_algorithm: KeyAlgorithm,
    /// Raw public key.
    pub public_key: Vec<u8>,
    /// SHA-256 of the certificate DER.
    pub sha256: [u8; 32],
}

/// Trusted CA certificates, revoked serials, and a cache of verified certificates.
#[derive(Debug, Default)]
pub struct TrustStore {
    ca_certs: Vec<Vec<u8>>,
    revoked: RwLock<HashSet<String>>,
    cache: RwLock<HashMap<[u8; 32], Arc<VerifiedCert>>>,
}

impl TrustStore {
    /// A store trusting the given CA certificates (DER).
    pub fn new(ca_certs: Vec<Vec<u8>>) -> Self {
        Self { ca_certs, ..Default::default() }
    }

    /// The trusted CA certificates (DER).
    pub fn ca_certs(&self) -> &[Vec<u8>] {
        &self.ca_certs
    }

    /// Marks a serial number (lower-case hex) as revoked, effective at the next check.
    pub fn revoke(&self, serial_hex: &str) {
        if let Ok(mut r) = self.revoked.write() {
            r.insert(serial_hex.to_ascii_lowercase());
        }
    }

    /// Replaces the set of revoked serials.
    pub fn set_revoked(&self, serials: impl IntoIterator<Item = String>) {
        if let Ok(mut r) = self.revoked.write() {
            *r = serials.into_iter().map(|s| s.to_ascii_lowercase()).collect();
        }
    }

    /// Verifies `der` at time `now` (Unix seconds).
    pub fn verify(&self, der: &[u8], now: i64) -> Result<Arc<VerifiedCert>, PkiError> {
        let hash = crate::cert_sha256(der);
        let cached = self.cache.read().ok().and_then(|c| c.get(&hash).cloned());
        let verified = match cached {
            Some(v) => v,
            None => {
                let v = Arc::new(self.verify_uncached(der, hash)?);
                if let Ok(mut c) = self.cache.write() {
                    if c.len() > 10_000 {
                        c.clear(); // bounded: certificates are few, this only guards against floods
                    }
                    c.insert(hash, v.clone());
                }
                v
            }
        };
        if now < verified.not_before || now > verified.not_after {
            return Err(PkiError::NotValidNow(format!(
                "valid from {} to {}, now {now}",
                verified.not_before, verified.not_after
            )));
        }
        if self.revoked.read().map(|r| r.contains(&verified.serial)).unwrap_or(true) {
            return Err(PkiError::Revoked(verified.serial.clone()));
        }
        Ok(verified)
    }

    fn verify_uncached(&self, der: &[u8], sha256: [u8; 32]) -> Result<VerifiedCert, PkiError> {
        let (rest, cert) =
            X509Certificate::from_der(der).map_err(|e| PkiError::Malformed(format!("certificate: {e}")))?;
        if !rest.is_empty() {
            return Err(PkiError::Malformed("trailing bytes after the certificate".into()));
        }
        let mut issuer_found = false;
        for ca_der in &self.ca_certs {
            let Ok((_, ca)) = X509Certificate::from_der(ca_der) else { continue };
            if ca.subject().as_raw() != cert.issuer().as_raw() {
                continue;
            }
            issuer_found = true;
            if cert.verify_signature(Some(ca.public_key())).is_ok() {
                return describe(&cert, sha256);
            }
        }
        Err(PkiError::UntrustedIssuer(if issuer_found {
            "the CA's signature on it does not verify".into()
        } else {
            format!("issuer '{}' is not a trusted CA", cert.issuer())
        }))
    }
}

fn describe(cert: &X509Certificate<'_>, sha256: [u8; 32]) -> Result<VerifiedCert, PkiError> {
    let subject = cert.subject();
    let ou = subject.iter_organizational_unit().next().and_then(|a| a.as_str().ok());
    let cn = subject.iter_common_name().next().and_then(|a| a.as_str().ok());
    let profile = CertProfile::from_subject(ou, cn)?;
    let spki = cert.public_key();
    let key_algorithm = match spki.algorithm.algorithm.to_id_string().as_str() {
        OID_ED25519 => KeyAlgorithm::Ed25519,
        OID_EC_PUBLIC_KEY => {
            let curve = spki.algorithm.parameters.as_ref().and_then(|p| p.as_oid().ok()).map(|o| o.to_id_string());
            if curve.as_deref() != Some(OID_P256) {
                return Err(PkiError::WrongProfile(format!("unsupported elliptic curve {curve:?}, expected P-256")));
            }
            KeyAlgorithm::EcdsaP256
        }
        other => return Err(PkiError::WrongProfile(format!("unsupported public key algorithm {other}"))),
    };
    Ok(VerifiedCert {
        profile,
        serial: cert
            .raw_serial()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
            .trim_start_matches("00")
            .to_owned(),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        key_algorithm,
        public_key: spki.subject_public_key.data.to_vec(),
        sha256,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CertificationAuthority, PrivateKey};

    fn issue(ca: &CertificationAuthority) -> (Vec<u8>, CertProfile) {
        let key = PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap();
        let profile = CertProfile::Sign("AZ/GOV/1400000001".parse().unwrap());
        (ca.issue(&key.certificate_request(&profile).unwrap(), &profile, 10).unwrap(), profile)
    }

    #[test]
    fn refuses_foreign_ca_revoked_and_expired() {
        let ca = CertificationAuthority::generate("AZ", "CA").unwrap();
        let rogue = CertificationAuthority::generate("AZ", "CA").unwrap(); // same name, other key
        let other = CertificationAuthority::generate("AZ", "Other CA").unwrap();
        let trust = TrustStore::new(vec![ca.certificate_der().to_vec()]);
        let now = crate::unix_now();

        let (good, _) = issue(&ca);
        let v = trust.verify(&good, now).unwrap();
        assert!(
            matches!(trust.verify(&issue(&rogue).0, now), Err(PkiError::UntrustedIssuer(m)) if m.contains("does not verify"))
        );
        assert!(matches!(trust.verify(&issue(&other).0, now), Err(PkiError::UntrustedIssuer(_))));
        assert!(matches!(trust.verify(&good, now + 11 * 86_400), Err(PkiError::NotValidNow(_))));
        assert!(matches!(trust.verify(b"junk", now), Err(PkiError::Malformed(_))));

        trust.revoke(&v.serial);
        assert!(matches!(trust.verify(&good, now), Err(PkiError::Revoked(_))));
    }
}
