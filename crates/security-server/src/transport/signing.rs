//! Signing and verifying transport messages (TT-2.2.1).
//!
//! The signer is a task that takes every digest waiting in its queue, builds a hash tree
//! over them and signs the root once (batch signing, shared/DESIGN.md decision 5). Under
//! light load a batch holds one message and nothing waits; under heavy load one private-key
//! operation covers many messages. The verifier caches verified batch roots, so the other
//! messages of a batch cost only hash computations.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use egov_pki::batch::{self, Digest};
use egov_pki::keys::MessageSigner;
use egov_pki::{CertProfile, KeyAlgorithm, PkiError, TrustStore, VerifiedCert, xades};
use tokio::sync::{mpsc, oneshot};

use super::message::SignatureBlock;
use crate::shared::Shared;

const MAX_BATCH: usize = 512;

/// Signs the XAdES `SignedInfo` over `root` (egov_pki::xades): the value in XML-DSig form,
/// raw r‖s for ECDSA, so the archived `signatures.xml` carries exactly these bytes.
fn sign_root(
    signer: &MessageSigner,
    root: &Digest,
    signing_time: &str,
    cert_sha256: &[u8; 32],
) -> Result<Vec<u8>, PkiError> {
    let algorithm = signer.algorithm();
    let signed = xades::Signed { algorithm, root, signing_time, cert_sha256 };
    let value = signer.sign(signed.signed_info().as_bytes())?;
    match algorithm {
        KeyAlgorithm::EcdsaP256 => xades::ecdsa_der_to_fixed(&value),
        KeyAlgorithm::Ed25519 => Ok(value),
    }
}

type Job = (Digest, oneshot::Sender<Result<SignatureBlock, PkiError>>);

/// Handle to the batch signer task.
#[derive(Debug, Clone)]
pub struct BatchSigner {
    queue: mpsc::Sender<Job>,
}

impl BatchSigner {
    /// Starts the signer for `key` whose certificate is `cert_der`; every block carries the
    /// OCSP response `staple` holds at the time.
    pub fn start(signer: MessageSigner, cert_der: Vec<u8>, staple: Shared<Option<String>>) -> Self {
        let (queue, mut rx) = mpsc::channel::<Job>(4096);
        let certificate = STANDARD.encode(&cert_der);
        let cert_sha256 = egov_pki::cert_sha256(&cert_der);
        let algorithm = signer.algorithm().name().to_owned();
        tokio::spawn(async move {
            let mut jobs: Vec<Job> = Vec::with_capacity(MAX_BATCH);
            while let Some(first) = rx.recv().await {
                jobs.push(first);
                // Let the other exchanges that are ready run first so that under load their
                // digests join this batch: yield while the queue keeps growing (a few turns at
                // most). When idle this costs one scheduler turn, not a timer.
                for _ in 0..4 {
                    tokio::task::yield_now().await;
                    let before = jobs.len();
                    while jobs.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Ok(job) => jobs.push(job),
                            Err(_) => break,
                        }
                    }
                    if jobs.len() == before {
                        break;
                    }
                }
                let digests: Vec<Digest> = jobs.iter().map(|(d, _)| *d).collect();
                let (root, proofs) = batch::build(&digests);
                let signing_time = xades::signing_time(super::message::now_ms());
                let value = sign_root(&signer, &root, &signing_time, &cert_sha256).map(|s| STANDARD.encode(s));
                let ocsp = staple.get();
                for ((_, reply), proof) in jobs.drain(..).zip(proofs) {
                    let block = value.clone().map(|value| SignatureBlock {
                        algorithm: algorithm.clone(),
                        certificate: certificate.clone(),
                        proof,
                        value,
                        signing_time: signing_time.clone(),
                        ocsp: Option::clone(&ocsp),
                    });
                    let _ = reply.send(block);
                }
            }
        });
        Self { queue }
    }

    /// Signs a transport digest.
    pub async fn sign(&self, digest: Digest) -> Result<SignatureBlock, PkiError> {
        let (tx, rx) = oneshot::channel();
        self.queue.send((digest, tx)).await.map_err(|_| PkiError::Key("signer stopped".into()))?;
        rx.await.map_err(|_| PkiError::Key("signer stopped".into()))?
    }
}

/// Proof that a message's signature verified; whoever forwards or accepts a message must
/// hold one.
#[derive(Debug)]
pub struct SignatureVerified {
    signer: Arc<VerifiedCert>,
    signer_der: Vec<u8>,
}

impl SignatureVerified {
    /// The verified signing certificate.
    pub fn signer(&self) -> &VerifiedCert {
        &self.signer
    }

    /// Its DER bytes.
    pub fn signer_der(&self) -> &[u8] {
        &self.signer_der
    }
}

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureError {
    /// The block cannot be decoded.
    Malformed(String),
    /// The certificate is not trusted, not valid now, or revoked.
    CertPath(String),
    /// The certificate belongs to another member.
    WrongSigner(String),
    /// The signature value does not verify.
    BadValue,
}

/// A batch root whose signature verified, with the signer's certificate hash; the map value
/// is the signature value that verified.
#[derive(Debug, PartialEq, Eq, Hash)]
struct VerifiedRoot {
    certificate: [u8; 32],
    root: Digest,
    signing_time: String,
}

/// Verifies signature blocks against the trust store.
#[derive(Debug)]
pub struct SignatureVerifier {
    trust: Arc<TrustStore>,
    verified_roots: Mutex<HashMap<VerifiedRoot, Vec<u8>>>,
}

impl SignatureVerifier {
    /// A verifier trusting `trust`.
    pub fn new(trust: Arc<TrustStore>) -> Self {
        Self { trust, verified_roots: Mutex::new(HashMap::new()) }
    }

    /// Verifies that `block` signs `digest` with a valid signing certificate of `member`.
    pub fn verify(
        &self,
        digest: &Digest,
        block: &SignatureBlock,
        member: &egov_xroad::ClientId,
        now: i64,
    ) -> Result<SignatureVerified, SignatureError> {
        let cert =
            STANDARD.decode(&block.certificate).map_err(|e| SignatureError::Malformed(format!("certificate: {e}")))?;
        let value = STANDARD.decode(&block.value).map_err(|e| SignatureError::Malformed(format!("value: {e}")))?;
        let signer = self.trust.verify(&cert, now).map_err(|e| SignatureError::CertPath(e.to_string()))?;
        match &signer.profile {
            CertProfile::Sign(m) if *m == member.member_id() => {}
            CertProfile::Sign(m) => {
                return Err(SignatureError::WrongSigner(format!("signed by {m}, expected {}", member.member_id())));
            }
            CertProfile::Auth(_) => {
                return Err(SignatureError::WrongSigner("an authentication certificate cannot sign messages".into()));
            }
            CertProfile::TimeStamping(_)
            | CertProfile::OcspSigning(_)
            | CertProfile::Operator(_)
            | CertProfile::CentralServer(_) => {
                return Err(SignatureError::WrongSigner("only a member's signing certificate signs messages".into()));
            }
        }
        if block.algorithm != signer.key_algorithm.name() {
            return Err(SignatureError::Malformed(format!(
                "algorithm '{}' does not match the certificate",
                block.algorithm
            )));
        }
        if block.proof.len() > 32 {
            return Err(SignatureError::Malformed("batch proof is too long".into()));
        }
        let root =
            batch::root_from_proof(digest, &block.proof).ok_or(SignatureError::Malformed("bad batch proof".into()))?;
        xades::parse_signing_time(&block.signing_time).map_err(|e| SignatureError::Malformed(e.to_string()))?;
        let key = VerifiedRoot { certificate: signer.sha256, root, signing_time: block.signing_time.clone() };
        let cached = self.verified_roots.lock().ok().and_then(|c| c.get(&key).map(|v| *v == value)).unwrap_or(false);
        if !cached {
            let signed = xades::Signed {
                algorithm: signer.key_algorithm,
                root: &root,
                signing_time: &block.signing_time,
                cert_sha256: &signer.sha256,
            };
            xades::verify_value(signer.key_algorithm, &signer.public_key, signed.signed_info().as_bytes(), &value)
                .map_err(|_| SignatureError::BadValue)?;
            if let Ok(mut c) = self.verified_roots.lock() {
                if c.len() >= 4096 {
                    c.clear();
                }
                c.insert(key, value);
            }
        }
        Ok(SignatureVerified { signer, signer_der: cert })
    }
}

/// Which algorithm a certificate's key uses (for diagnostics).
pub fn algorithm_name(alg: KeyAlgorithm) -> &'static str {
    alg.name()
}
