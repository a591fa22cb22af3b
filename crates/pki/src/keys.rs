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
    pub(crate) fn rcgen(self) -> &'static rcgen::SignatureAlgorithm {
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
        if pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") && !pem.contains("-----BEGIN PRIVATE KEY-----") {
            return Err(PkiError::Key(
                "the key is passphrase-protected (ENCRYPTED PRIVATE KEY): a passphrase is needed".into(),
            ));
        }
        Self::from_pkcs8_der(crate::from_pem("PRIVATE KEY", pem)?.remove(0))
    }

    /// Loads a PKCS#8 DER key, detecting its algorithm.
    pub fn from_pkcs8_der(der: Vec<u8>) -> Result<Self, PkiError> {
        let algorithm = if Ed25519KeyPair::from_pkcs8(&der).is_ok() {
            KeyAlgorithm::Ed25519
        } else if EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &der).is_ok() {
            KeyAlgorithm::EcdsaP256
        } else {
            return Err(PkiError::Key("unsupported private key (expected PKCS#8 Ed25519 or P-256)".into()));
        };
        Ok(Self { algorithm, pkcs8: der })
    }

    /// The key as a passphrase-protected PKCS#8 PEM (`ENCRYPTED PRIVATE KEY`): PBES2 with
    /// PBKDF2-HMAC-SHA256 and AES-256-CBC, the scheme OpenSSL itself writes, so
    /// `openssl pkey -in k.pem -passin pass:…` reads it. The Certification Centre keeps its
    /// CA and TSA keys this way at rest (TT-4.1.2, TT-6.3).
    pub fn to_encrypted_pem(&self, passphrase: &str) -> Result<String, PkiError> {
        Ok(crate::to_pem("ENCRYPTED PRIVATE KEY", &encrypt_pkcs8(&self.pkcs8, passphrase)?))
    }

    /// Loads a key written by [`PrivateKey::to_encrypted_pem`] (or by OpenSSL: PBES2 with
    /// PBKDF2 or scrypt and AES-CBC). A wrong passphrase is reported as such.
    pub fn from_encrypted_pem(pem: &str, passphrase: &str) -> Result<Self, PkiError> {
        let der = crate::from_pem("ENCRYPTED PRIVATE KEY", pem)?.remove(0);
        Self::from_pkcs8_der(decrypt_pkcs8(&der, passphrase)?)
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

/// A private key that signs: the one seam through which the Certification Centre's keys
/// (CA, OCSP responder, TSA) are used (TT-4.1.2). Software keys ([`PrivateKey`],
/// [`MessageSigner`]) implement it today; a PKCS#11 / HSM key plugs in here later without
/// touching the OCSP, time-stamp or issuing code.
pub trait Signer: Send + Sync {
    /// The key's algorithm (decides the signature algorithm identifier written).
    fn algorithm(&self) -> KeyAlgorithm;
    /// The raw public key (the subjectPublicKey bits of a certificate: an uncompressed
    /// P-256 point or 32 Ed25519 bytes).
    fn public_key(&self) -> Vec<u8>;
    /// Signs `message`: ECDSA P-256 over SHA-256 as a DER `Ecdsa-Sig-Value` (what X.509,
    /// CMS and OCSP carry), Ed25519 as its 64 raw bytes.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, PkiError>;
}

impl Signer for MessageSigner {
    fn algorithm(&self) -> KeyAlgorithm {
        MessageSigner::algorithm(self)
    }

    fn public_key(&self) -> Vec<u8> {
        MessageSigner::public_key(self)
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, PkiError> {
        MessageSigner::sign(self, message)
    }
}

/// Convenience for occasional signatures: the key is parsed on every call, so hot paths
/// (the OCSP responder, the TSA) hold a [`MessageSigner`] instead.
impl Signer for PrivateKey {
    fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    fn public_key(&self) -> Vec<u8> {
        self.signer().map(|s| s.public_key()).unwrap_or_default()
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, PkiError> {
        self.signer()?.sign(message)
    }
}

/// PBKDF2 iterations for keys we encrypt: OWASP's 2023 figure for PBKDF2-HMAC-SHA256.
/// Keys are decrypted once when a service starts, so the cost is paid rarely.
const PBKDF2_ITERATIONS: u32 = 600_000;
/// Refuse files demanding more work than this (a corrupted or hostile file must not make
/// start-up hang for hours).
const PBKDF2_MAX_ITERATIONS: u32 = 10_000_000;

fn encrypt_pkcs8(plain: &[u8], passphrase: &str) -> Result<Vec<u8>, PkiError> {
    use aws_lc_rs::cipher::{AES_256, EncryptionContext, PaddedBlockEncryptingKey, UnboundCipherKey};
    use pkcs8::der::Encode;
    if passphrase.is_empty() {
        return Err(PkiError::Key("the passphrase must not be empty".into()));
    }
    let mut salt = [0u8; 16];
    let mut iv = [0u8; 16];
    aws_lc_rs::rand::fill(&mut salt).map_err(|_| PkiError::Key("no randomness".into()))?;
    aws_lc_rs::rand::fill(&mut iv).map_err(|_| PkiError::Key("no randomness".into()))?;
    let mut key = [0u8; 32];
    let iterations = std::num::NonZeroU32::new(PBKDF2_ITERATIONS).ok_or_else(|| PkiError::Key("PBKDF2".into()))?;
    aws_lc_rs::pbkdf2::derive(
        aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        &salt,
        passphrase.as_bytes(),
        &mut key,
    );
    let cipher = UnboundCipherKey::new(&AES_256, &key)
        .and_then(PaddedBlockEncryptingKey::cbc_pkcs7)
        .map_err(|_| PkiError::Key("AES-256-CBC key setup failed".into()))?;
    let mut data = plain.to_vec();
    cipher
        .less_safe_encrypt(&mut data, EncryptionContext::Iv128(iv.into()))
        .map_err(|_| PkiError::Key("AES-256-CBC encryption failed".into()))?;
    let params = pkcs8::pkcs5::pbes2::Parameters::pbkdf2_sha256_aes256cbc(PBKDF2_ITERATIONS, &salt, &iv)
        .map_err(|e| PkiError::Key(format!("PBES2 parameters: {e}")))?;
    let info = pkcs8::EncryptedPrivateKeyInfo { encryption_algorithm: params.into(), encrypted_data: &data };
    info.to_der().map_err(|e| PkiError::Key(format!("encoding the encrypted key: {e}")))
}

fn decrypt_pkcs8(der: &[u8], passphrase: &str) -> Result<Vec<u8>, PkiError> {
    use aws_lc_rs::cipher::{AES_128, AES_192, AES_256, DecryptionContext, PaddedBlockDecryptingKey, UnboundCipherKey};
    use aws_lc_rs::pbkdf2;
    use pkcs8::der::Decode;
    use pkcs8::pkcs5::pbes2::{EncryptionScheme, Kdf, Pbkdf2Prf};
    const WRONG: &str = "wrong passphrase (or the encrypted key file is damaged)";
    let info = pkcs8::EncryptedPrivateKeyInfo::from_der(der)
        .map_err(|e| PkiError::Malformed(format!("encrypted private key: {e}")))?;
    let plain = match info.encryption_algorithm.pbes2().map(|p| (p.kdf.clone(), p.encryption)) {
        // PBKDF2 + AES-CBC (what we and OpenSSL write by default): aws-lc-rs, fast in any build
        Some((Kdf::Pbkdf2(kdf), enc)) => {
            let prf = match kdf.prf {
                Pbkdf2Prf::HmacWithSha1 => pbkdf2::PBKDF2_HMAC_SHA1,
                Pbkdf2Prf::HmacWithSha256 => pbkdf2::PBKDF2_HMAC_SHA256,
                Pbkdf2Prf::HmacWithSha384 => pbkdf2::PBKDF2_HMAC_SHA384,
                Pbkdf2Prf::HmacWithSha512 => pbkdf2::PBKDF2_HMAC_SHA512,
                other => return Err(PkiError::Key(format!("unsupported PBKDF2 function {other:?}"))),
            };
            let (alg, key_len, iv) = match enc {
                EncryptionScheme::Aes128Cbc { iv } => (&AES_128, 16, iv),
                EncryptionScheme::Aes192Cbc { iv } => (&AES_192, 24, iv),
                EncryptionScheme::Aes256Cbc { iv } => (&AES_256, 32, iv),
                other => return Err(PkiError::Key(format!("unsupported key encryption cipher {}", other.oid()))),
            };
            if kdf.key_length.is_some_and(|l| usize::from(l) != key_len) {
                return Err(PkiError::Key("PBKDF2 key length does not match the cipher".into()));
            }
            if kdf.iteration_count > PBKDF2_MAX_ITERATIONS {
                return Err(PkiError::Key(format!(
                    "PBKDF2 iteration count {} is unreasonably high",
                    kdf.iteration_count
                )));
            }
            let iterations = std::num::NonZeroU32::new(kdf.iteration_count)
                .ok_or_else(|| PkiError::Key("PBKDF2 iteration count is zero".into()))?;
            let mut key = vec![0u8; key_len];
            pbkdf2::derive(prf, iterations, kdf.salt, passphrase.as_bytes(), &mut key);
            let cipher = UnboundCipherKey::new(alg, &key)
                .and_then(PaddedBlockDecryptingKey::cbc_pkcs7)
                .map_err(|_| PkiError::Key("AES-CBC key setup failed".into()))?;
            let mut data = info.encrypted_data.to_vec();
            // bad padding after decryption is what a wrong passphrase looks like
            let plain = cipher
                .decrypt(&mut data, DecryptionContext::Iv128((*iv).into()))
                .map_err(|_| PkiError::Key(WRONG.into()))?;
            plain.to_vec()
        }
        // anything else OpenSSL may write (scrypt): RustCrypto's pure-Rust PBES2
        _ => info.decrypt(passphrase.as_bytes()).map_err(|_| PkiError::Key(WRONG.into()))?.as_bytes().to_vec(),
    };
    // one wrong passphrase in ~256 still yields valid padding: the result must be PKCS#8
    if pkcs8::PrivateKeyInfo::from_der(&plain).is_err() {
        return Err(PkiError::Key(WRONG.into()));
    }
    Ok(plain)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::openssl;

    #[test]
    fn encrypted_pem_round_trip_and_wrong_passphrase() {
        for alg in [KeyAlgorithm::EcdsaP256, KeyAlgorithm::Ed25519] {
            let key = PrivateKey::generate(alg).unwrap();
            let pem = key.to_encrypted_pem("correct horse").unwrap();
            assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));
            let back = PrivateKey::from_encrypted_pem(&pem, "correct horse").unwrap();
            assert_eq!(back.algorithm(), alg);
            assert_eq!(back.pkcs8_der(), key.pkcs8_der());
            let wrong = PrivateKey::from_encrypted_pem(&pem, "battery staple");
            assert!(matches!(&wrong, Err(PkiError::Key(m)) if m.contains("wrong passphrase")), "{wrong:?}");
            // the plain loader names the problem instead of "no PEM block"
            assert!(matches!(PrivateKey::from_pem(&pem), Err(PkiError::Key(m)) if m.contains("passphrase")));
        }
        let key = PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap();
        assert!(matches!(key.to_encrypted_pem(""), Err(PkiError::Key(_))));
        assert!(PrivateKey::from_encrypted_pem("junk", "x").is_err());
        let garbage = crate::to_pem("ENCRYPTED PRIVATE KEY", b"\x30\x03\x02\x01\x00");
        assert!(matches!(PrivateKey::from_encrypted_pem(&garbage, "x"), Err(PkiError::Malformed(_))));
    }

    #[test]
    fn random_and_mangled_key_files_are_refused_without_panic() {
        let mut rng = crate::testutil::Rng(3);
        for _ in 0..2000 {
            let junk = rng.bytes(200);
            assert!(PrivateKey::from_pkcs8_der(junk.clone()).is_err());
            let pem = crate::to_pem("ENCRYPTED PRIVATE KEY", &junk);
            assert!(PrivateKey::from_encrypted_pem(&pem, "x").is_err());
            assert!(PrivateKey::from_pem(&crate::to_pem("PRIVATE KEY", &junk)).is_err());
        }
        // each attempt costs a key derivation, so only a few bit flips of a real file
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let der =
            crate::from_pem("ENCRYPTED PRIVATE KEY", &key.to_encrypted_pem("pass phrase").unwrap()).unwrap().remove(0);
        for _ in 0..25 {
            let mut m = der.clone();
            let i = (rng.next() as usize) % m.len();
            m[i] ^= 1 << (rng.next() % 8);
            if let Ok(k) = PrivateKey::from_encrypted_pem(&crate::to_pem("ENCRYPTED PRIVATE KEY", &m), "pass phrase") {
                assert_eq!(k.pkcs8_der(), key.pkcs8_der(), "a flip may only hit bytes that do not matter");
            }
        }
    }

    #[test]
    fn openssl_reads_our_encrypted_keys_and_we_read_its() {
        let dir = tempfile::tempdir().unwrap();
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        std::fs::write(dir.path().join("ours.pem"), key.to_encrypted_pem("s3cret pass").unwrap()).unwrap();
        let Some((ok, out)) = openssl(
            dir.path(),
            &[
                "pkey",
                "-in",
                "ours.pem",
                "-passin",
                "pass:s3cret pass",
                "-pubout",
                "-outform",
                "DER",
                "-out",
                "pub.der",
            ],
        ) else {
            return;
        };
        assert!(ok, "openssl could not read our encrypted key: {out}");
        let spki = std::fs::read(dir.path().join("pub.der")).unwrap();
        assert!(spki.ends_with(&key.signer().unwrap().public_key()), "openssl saw another public key");
        let (ok, _) = openssl(dir.path(), &["pkey", "-in", "ours.pem", "-passin", "pass:wrong", "-noout"]).unwrap();
        assert!(!ok, "openssl accepted a wrong passphrase");

        // OpenSSL's own defaults: PBKDF2 + AES-256-CBC (genpkey), and scrypt (pkcs8 -scrypt)
        let (ok, out) = openssl(
            dir.path(),
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-aes-256-cbc",
                "-pass",
                "pass:theirs",
                "-out",
                "theirs.pem",
            ],
        )
        .unwrap();
        assert!(ok, "{out}");
        let pem = std::fs::read_to_string(dir.path().join("theirs.pem")).unwrap();
        assert_eq!(PrivateKey::from_encrypted_pem(&pem, "theirs").unwrap().algorithm(), KeyAlgorithm::EcdsaP256);
        assert!(
            matches!(PrivateKey::from_encrypted_pem(&pem, "mine"), Err(PkiError::Key(m)) if m.contains("wrong passphrase"))
        );

        let (ok, out) = openssl(dir.path(), &["genpkey", "-algorithm", "ed25519", "-out", "ed.pem"]).unwrap();
        assert!(ok, "{out}");
        let (ok, out) = openssl(
            dir.path(),
            &["pkcs8", "-topk8", "-scrypt", "-in", "ed.pem", "-passout", "pass:scrypted", "-out", "ed.enc.pem"],
        )
        .unwrap();
        assert!(ok, "{out}");
        let pem = std::fs::read_to_string(dir.path().join("ed.enc.pem")).unwrap();
        assert_eq!(PrivateKey::from_encrypted_pem(&pem, "scrypted").unwrap().algorithm(), KeyAlgorithm::Ed25519);
    }
}
