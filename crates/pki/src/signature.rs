//! Verification of detached message signatures.

use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1, ED25519, UnparsedPublicKey};

use crate::{KeyAlgorithm, PkiError};

/// Verifies `signature` over `message` with a raw public key (as found in a certificate's
/// subjectPublicKeyInfo bit string).
pub fn verify(algorithm: KeyAlgorithm, public_key: &[u8], message: &[u8], signature: &[u8]) -> Result<(), PkiError> {
    let result = match algorithm {
        KeyAlgorithm::Ed25519 => UnparsedPublicKey::new(&ED25519, public_key).verify(message, signature),
        KeyAlgorithm::EcdsaP256 => {
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, public_key).verify(message, signature)
        }
    };
    result.map_err(|_| PkiError::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PrivateKey;

    #[test]
    fn sign_and_verify_both_algorithms() {
        for alg in [KeyAlgorithm::Ed25519, KeyAlgorithm::EcdsaP256] {
            let signer = PrivateKey::generate(alg).unwrap().signer().unwrap();
            let sig = signer.sign(b"message").unwrap();
            verify(alg, &signer.public_key(), b"message", &sig).unwrap();
            assert_eq!(verify(alg, &signer.public_key(), b"messagE", &sig), Err(PkiError::BadSignature));
        }
    }
}
