//! Private keys: generated here, stored as PKCS#8, used for TLS and message signatures.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair};

use crate::PkiError;

/// Supported key algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyAlgorithm {
    /// ECDSA over P-256 with SHA-256 (authentication certificates: the widest TLS support).
    EcdsaP256,
    /// Ed25519 (signing certificates: cheapest to sign and verify).
    Ed25519,
}

impl KeyAlgorithm {
    fn rcgen(self) -> &'static rcgen::SignatureAlgorithm {
        match self {
            KeyAlgorithm::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            KeyAlgorithm::Ed25519 => &rcgen::PKCS_ED25519,
        }
    }

    /// Name used in the transport's signature block.
    pub fn name(self) -> &'static str {
        match self {
            KeyAlgorithm::EcdsaP256 => "ecdsa-p256-sha256",
            KeyAlgorithm::Ed25519 => "ed25519",
        }
    }
}

/// A private key (PKCS#8 DER) and its algorithm. Debug output never shows key material.
#[derive(Clone)]
pub struct PrivateKey {
    algorithm: KeyAlgorithm,
    pkcs8: Vec<u8>,
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivateKey").field("algorithm", &self.algorithm).finish_non_exhaustive()
    }
}

impl PrivateKey {
    /// Generates a fresh key.
    pub fn generate(algorithm: KeyAlgorithm) -> Result<Self, PkiError> {
        let kp = rcgen::KeyPair::generate_for(algorithm.rcgen()).map_err(|e| PkiError::Key(e.to_string()))?;
        Ok(Self { algorithm, pkcs8: kp.serialize_der() })
    }

    /// Loads a PKCS#8 PEM key (`PRIVATE KEY`), detecting its algorithm.
    pub fn from_pem(pem: &str) -> Result<Self, PkiError> {
        let der = crate::from_pem("PRIVATE KEY", pem)?.remove(0);
        let algorithm = if Ed25519KeyPair::from_pkcs8(&der).is_ok() {
            KeyAlgorithm::Ed25519
        } else if EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &der).is_ok() {
            KeyAlgorithm::EcdsaP256
        } else {
            return Err(PkiError::Key("unsupported private key (expected PKCS#8 Ed25519 or P-256)".into()));
        };
        Ok(Self { algorithm, pkcs8: der })
    }

    /// PKCS#8 PEM encoding.
    pub fn to_pem(&self) -> String {
        crate::to_pem("PRIVATE KEY", &self.pkcs8)
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// PKCS#8 DER (for rustls).
    pub fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The key as rcgen needs it to sign CSRs and certificates.
    pub fn rcgen_key_pair(&self) -> Result<rcgen::KeyPair, PkiError> {
        let der = rustls::pki_types::PrivatePkcs8KeyDer::from(self.pkcs8.clone());
        rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&der, self.algorithm.rcgen())
            .map_err(|e| PkiError::Key(e.to_string()))
    }

    /// A signer for message signatures.
    pub fn signer(&self) -> Result<MessageSigner, PkiError> {
        Ok(match self.algorithm {
            KeyAlgorithm::Ed25519 => MessageSigner::Ed25519(
                Ed25519KeyPair::from_pkcs8(&self.pkcs8).map_err(|e| PkiError::Key(e.to_string()))?,
            ),
            KeyAlgorithm::EcdsaP256 => MessageSigner::P256(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &self.pkcs8)
                    .map_err(|e| PkiError::Key(e.to_string()))?,
                SystemRandom::new(),
            ),
        })
    }

    /// Builds a PKCS#10 certificate signing request whose subject is `profile`'s identity.
    pub fn certificate_request(&self, profile: &crate::CertProfile) -> Result<Vec<u8>, PkiError> {
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name = profile.distinguished_name();
        let kp = self.rcgen_key_pair()?;
        let csr = params.serialize_request(&kp).map_err(|e| PkiError::Key(e.to_string()))?;
        Ok(csr.der().to_vec())
    }
}

/// A loaded signing key.
pub enum MessageSigner {
    /// Ed25519.
    Ed25519(Ed25519KeyPair),
    /// ECDSA P-256 (needs randomness per signature).
    P256(EcdsaKeyPair, SystemRandom),
}

impl std::fmt::Debug for MessageSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MessageSigner::Ed25519(_) => "MessageSigner(ed25519)",
            MessageSigner::P256(..) => "MessageSigner(ecdsa-p256)",
        })
    }
}

impl MessageSigner {
    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, PkiError> {
        match self {
            MessageSigner::Ed25519(kp) => Ok(kp.sign(message).as_ref().to_vec()),
            MessageSigner::P256(kp, rng) => kp
                .sign(rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| PkiError::Key("ECDSA signing failed".into())),
        }
    }

    /// The algorithm of this signer.
    pub fn algorithm(&self) -> KeyAlgorithm {
        match self {
            MessageSigner::Ed25519(_) => KeyAlgorithm::Ed25519,
            MessageSigner::P256(..) => KeyAlgorithm::EcdsaP256,
        }
    }

    /// The raw public key (for tests and diagnostics).
    pub fn public_key(&self) -> Vec<u8> {
        match self {
            MessageSigner::Ed25519(kp) => kp.public_key().as_ref().to_vec(),
            MessageSigner::P256(kp, _) => kp.public_key().as_ref().to_vec(),
        }
    }
}
