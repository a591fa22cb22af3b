//! The signed global configuration and the configuration anchor (TT-4.1.2; X-Road's
//! PR-GCONF, shared/reference/xroad-protocol.md §1 "Trust model" and §7).
//!
//! The central server signs the JSON of a [`GlobalConf`] with its configuration-signing key;
//! a security server accepts it only if the signature verifies with a key named in its
//! **anchor** (installed out of band when the server is set up), the instance and
//! environment are the anchor's, and the configuration has not expired. Everything else
//! the server trusts (CA certificates, members, peers' addresses and certificate hashes,
//! blocks, limits) then follows from the signed content.
//!
//! Unlike X-Road's multipart directory of separately hashed files, one document carries the
//! whole configuration: it is a few kilobytes even for hundreds of members, so partial
//! downloads would save nothing and cost a second format.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use egov_pki::{KeyAlgorithm, PrivateKey, rfc3339};
use serde::{Deserialize, Serialize};

use crate::{ConfError, GlobalConf};

/// Format tag of a signed configuration; also the signature's domain separator, so a
/// signature made for anything else can never pass as a configuration signature.
pub const FORMAT: &str = "egov-globalconf-v1";

/// Largest signed configuration a security server downloads (bytes).
pub const MAX_DOCUMENT_BYTES: usize = 8 * 1024 * 1024;

/// Accepted difference between the central server's clock and ours when checking that a
/// configuration is not generated in the future, seconds.
const CLOCK_SKEW_SECS: i64 = 300;

/// A public key the anchor trusts for configuration signatures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerificationKey {
    /// SHA-256 (hex) of the raw public key; names the key in signed documents.
    pub key_id: String,
    /// Key algorithm.
    pub algorithm: KeyAlgorithm,
    /// Raw public key, base64.
    pub public_key: String,
}

impl VerificationKey {
    /// The verification key of a configuration-signing key.
    pub fn of(key: &PrivateKey) -> Result<Self, ConfError> {
        let signer = key.signer().map_err(|e| ConfError::Signature(e.to_string()))?;
        let public = signer.public_key();
        Ok(Self {
            key_id: crate::hash_hex(&egov_pki::cert_sha256(&public)),
            algorithm: signer.algorithm(),
            public_key: STANDARD.encode(public),
        })
    }
}

/// The configuration anchor of a security server: which federation and environment it
/// belongs to, where the configuration is downloaded, and which keys sign it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Anchor {
    /// Instance identifier, e.g. `AZ`.
    pub instance: String,
    /// `production` or `test`.
    pub environment: String,
    /// URLs the signed configuration is downloaded from (tried in order).
    pub sources: Vec<String>,
    /// The central server's registration service (`egov ss register`).
    pub registration_url: String,
    /// Keys that sign the configuration (several during a key rotation).
    pub verification_keys: Vec<VerificationKey>,
    /// The Certification Centre's certificates (PEM): the certificates a new server's
    /// registration answer must chain to, before any configuration is downloaded.
    pub ca_certs_pem: Vec<String>,
    /// When the anchor was made (Unix seconds).
    pub generated_at: i64,
}

impl Anchor {
    /// Parses an anchor file's JSON.
    pub fn from_json(text: &str) -> Result<Self, ConfError> {
        let anchor: Anchor =
            serde_json::from_str(text).map_err(|e| ConfError::Malformed(format!("configuration anchor: {e}")))?;
        if anchor.verification_keys.is_empty() {
            return Err(ConfError::Inconsistent("the configuration anchor names no verification key".into()));
        }
        if anchor.sources.is_empty() {
            return Err(ConfError::Inconsistent("the configuration anchor names no download address".into()));
        }
        Ok(anchor)
    }

    /// Verifies a signed configuration document at time `now` and returns its content.
    ///
    /// Refused: a document that is not a signed configuration, signed by a key the anchor
    /// does not name, altered after signing, of another instance or environment, without an
    /// expiry, expired, or generated in the future.
    pub fn verify(&self, document: &[u8], now: i64) -> Result<GlobalConf, ConfError> {
        let conf = self.verify_signature(document)?;
        let expires_at = conf.expires_at.unwrap_or(i64::MIN);
        if now >= expires_at {
            return Err(ConfError::Outdated(format!(
                "generation {} expired at {} ({} s ago)",
                conf.serial,
                rfc3339(expires_at),
                now.saturating_sub(expires_at)
            )));
        }
        if conf.generated_at > now + CLOCK_SKEW_SECS {
            return Err(ConfError::Inconsistent(format!(
                "generated at {}, in the future (check the clocks)",
                rfc3339(conf.generated_at)
            )));
        }
        Ok(conf)
    }

    /// Checks everything [`verify`](Self::verify) does except freshness: how a server reads
    /// back the copy it saved, which may have expired while it was down (it then starts and
    /// answers `OutdatedGlobalConf` until a fresh generation arrives).
    pub fn verify_signature(&self, document: &[u8]) -> Result<GlobalConf, ConfError> {
        if document.len() > MAX_DOCUMENT_BYTES {
            return Err(ConfError::Malformed(format!("document larger than {MAX_DOCUMENT_BYTES} bytes")));
        }
        let signed: SignedConf = serde_json::from_slice(document)
            .map_err(|e| ConfError::Malformed(format!("not a signed global configuration: {e}")))?;
        if signed.format != FORMAT {
            return Err(ConfError::Malformed(format!("format '{}', expected '{FORMAT}'", signed.format)));
        }
        let key = self.verification_keys.iter().find(|k| k.key_id == signed.key_id).ok_or_else(|| {
            ConfError::Signature(format!(
                "signed by key {}, which the configuration anchor does not trust",
                signed.key_id
            ))
        })?;
        let content = STANDARD
            .decode(&signed.content)
            .map_err(|e| ConfError::Malformed(format!("content is not base64: {e}")))?;
        let signature = STANDARD
            .decode(&signed.signature)
            .map_err(|e| ConfError::Malformed(format!("signature is not base64: {e}")))?;
        let public = STANDARD.decode(&key.public_key).map_err(|e| ConfError::Malformed(format!("anchor key: {e}")))?;
        egov_pki::signature::verify(key.algorithm, &public, &signed_bytes(&content), &signature).map_err(|_| {
            ConfError::Signature("the signature does not match the content (altered in transit?)".into())
        })?;
        let conf: GlobalConf = serde_json::from_slice(&content).map_err(|e| ConfError::Malformed(e.to_string()))?;
        if conf.instance != self.instance || conf.environment != self.environment {
            return Err(ConfError::Inconsistent(format!(
                "configuration of {}/{}, but this server belongs to {}/{}",
                conf.instance, conf.environment, self.instance, self.environment
            )));
        }
        if conf.expires_at.is_none() {
            return Err(ConfError::Inconsistent("a published configuration must carry an expiry".into()));
        }
        Ok(conf)
    }
}

/// A signed configuration as published by the central server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedConf {
    /// [`FORMAT`].
    pub format: String,
    /// The [`GlobalConf`] JSON, base64 (signed byte for byte).
    pub content: String,
    /// [`VerificationKey::key_id`] of the signing key.
    pub key_id: String,
    /// Signature over `FORMAT || 0x00 || content bytes`, base64.
    pub signature: String,
}

impl SignedConf {
    /// Signs `conf` with the configuration-signing key; returns the document's JSON.
    pub fn sign(conf: &GlobalConf, key: &PrivateKey) -> Result<String, ConfError> {
        if conf.expires_at.is_none() {
            return Err(ConfError::Inconsistent("a published configuration must carry an expiry".into()));
        }
        let content = serde_json::to_vec(conf).map_err(|e| ConfError::Malformed(e.to_string()))?;
        let signer = key.signer().map_err(|e| ConfError::Signature(e.to_string()))?;
        let signature = signer.sign(&signed_bytes(&content)).map_err(|e| ConfError::Signature(e.to_string()))?;
        let doc = SignedConf {
            format: FORMAT.into(),
            content: STANDARD.encode(&content),
            key_id: VerificationKey::of(key)?.key_id,
            signature: STANDARD.encode(signature),
        };
        serde_json::to_string_pretty(&doc).map_err(|e| ConfError::Malformed(e.to_string()))
    }
}

fn signed_bytes(content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(FORMAT.len() + 1 + content.len());
    out.extend_from_slice(FORMAT.as_bytes());
    out.push(0);
    out.extend_from_slice(content);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(now: i64) -> (PrivateKey, Anchor, GlobalConf) {
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let ca = egov_pki::CertificationAuthority::generate("AZ", "CA").unwrap();
        let anchor = Anchor {
            instance: "AZ".into(),
            environment: "production".into(),
            sources: vec!["http://127.0.0.1:1/globalconf".into()],
            registration_url: "http://127.0.0.1:1/registration".into(),
            verification_keys: vec![VerificationKey::of(&key).unwrap()],
            ca_certs_pem: vec![ca.certificate_pem()],
            generated_at: now,
        };
        let mut conf = GlobalConf::new("AZ", vec![ca.certificate_pem()]);
        conf.serial = 7;
        conf.generated_at = now;
        conf.expires_at = Some(now + 600);
        (key, anchor, conf)
    }

    #[test]
    fn signs_and_verifies() {
        let now = 1_800_000_000;
        let (key, anchor, conf) = setup(now);
        let doc = SignedConf::sign(&conf, &key).unwrap();
        assert_eq!(anchor.verify(doc.as_bytes(), now + 10).unwrap(), conf);
        let anchor2 = Anchor::from_json(&serde_json::to_string(&anchor).unwrap()).unwrap();
        assert_eq!(anchor2, anchor);
    }

    #[test]
    fn refuses_unknown_key_alteration_expiry_and_other_environment() {
        let now = 1_800_000_000;
        let (key, anchor, mut conf) = setup(now);
        let doc = SignedConf::sign(&conf, &key).unwrap();

        // signed by a key the anchor does not name
        let rogue = PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap();
        let forged = SignedConf::sign(&conf, &rogue).unwrap();
        assert!(
            matches!(anchor.verify(forged.as_bytes(), now), Err(ConfError::Signature(m)) if m.contains("does not trust"))
        );

        // altered in transit: another content under the original signature
        let mut altered: SignedConf = serde_json::from_str(&doc).unwrap();
        let mut other = conf.clone();
        other.revoked_serials.clear();
        other.limits.max_request_bytes = 1 << 30;
        altered.content = STANDARD.encode(serde_json::to_vec(&other).unwrap());
        let altered = serde_json::to_vec(&altered).unwrap();
        assert!(matches!(anchor.verify(&altered, now), Err(ConfError::Signature(m)) if m.contains("altered")));

        // replayed after expiry
        assert!(
            matches!(anchor.verify(doc.as_bytes(), now + 600), Err(ConfError::Outdated(m)) if m.contains("expired"))
        );

        // a test-environment configuration offered to a production server
        conf.environment = "test".into();
        let test_doc = SignedConf::sign(&conf, &key).unwrap();
        assert!(
            matches!(anchor.verify(test_doc.as_bytes(), now), Err(ConfError::Inconsistent(m)) if m.contains("AZ/test"))
        );

        // from the future, no expiry, not a document
        conf.environment = "production".into();
        conf.generated_at = now + 3_600;
        conf.expires_at = Some(now + 7_200);
        let future = SignedConf::sign(&conf, &key).unwrap();
        assert!(
            matches!(anchor.verify(future.as_bytes(), now), Err(ConfError::Inconsistent(m)) if m.contains("future"))
        );
        conf.expires_at = None;
        assert!(SignedConf::sign(&conf, &key).is_err());
        assert!(matches!(anchor.verify(b"<xml/>", now), Err(ConfError::Malformed(_))));
        assert!(
            matches!(anchor.verify(br#"{"format":"x","content":"","key_id":"","signature":""}"#, now), Err(ConfError::Malformed(m)) if m.contains("format"))
        );
    }

    #[test]
    fn anchor_without_keys_or_sources_is_refused() {
        let (_, mut anchor, _) = setup(0);
        anchor.verification_keys.clear();
        assert!(Anchor::from_json(&serde_json::to_string(&anchor).unwrap()).is_err());
        assert!(Anchor::from_json("{}").is_err());
    }
}
