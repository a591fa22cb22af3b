//! The participant's message-log keys (TT-6.3): contents are encrypted with AES-256-GCM under
//! a key that belongs to the security server's owner, so a stolen disk or database dump
//! reveals no message. The keyring file is itself sealed with the server's passphrase
//! (PBKDF2-SHA256 + AES-256-GCM) and never stored in the database. Rotation adds a key and
//! makes it current; older keys stay to read older records (or re-encrypt them).

use std::path::Path;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::MsgLogError;

/// PBKDF2 iterations for new keyring files (OWASP 2023 figure for PBKDF2-SHA256).
pub const DEFAULT_ITERATIONS: u32 = 600_000;

/// One content key.
#[derive(Clone, Serialize, Deserialize)]
struct StoredKey {
    id: String,
    created_ms: i64,
    key: String,
}

#[derive(Serialize, Deserialize)]
struct Plain {
    current: String,
    keys: Vec<StoredKey>,
}

/// The keyring file as stored.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Sealed {
    format: String,
    iterations: u32,
    salt: String,
    nonce: String,
    ciphertext: String,
}

const FORMAT: &str = "egov-msglog-keys-v1";

/// The keys of one participant.
pub struct Keyring {
    current: String,
    keys: Vec<(String, i64, LessSafeKey, [u8; 32])>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|k| k.0.as_str()).collect();
        f.debug_struct("Keyring").field("current", &self.current).field("keys", &ids).finish()
    }
}

fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // aws-lc's RNG does not fail in practice; if it ever did, the zero key is refused below
    let _ = aws_lc_rs::rand::fill(&mut b);
    b
}

fn aead(key: &[u8; 32]) -> Result<LessSafeKey, MsgLogError> {
    if key == &[0u8; 32] {
        return Err(MsgLogError::Crypto("refusing an all-zero key (random generator failed?)".into()));
    }
    UnboundKey::new(&AES_256_GCM, key).map(LessSafeKey::new).map_err(|_| MsgLogError::Crypto("bad AES-256 key".into()))
}

fn derive(passphrase: &str, salt: &[u8], iterations: u32) -> Result<LessSafeKey, MsgLogError> {
    let mut k = [0u8; 32];
    let n = std::num::NonZeroU32::new(iterations).ok_or_else(|| MsgLogError::Invalid("iterations is 0".into()))?;
    aws_lc_rs::pbkdf2::derive(aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA256, n, salt, passphrase.as_bytes(), &mut k);
    aead(&k)
}

impl Keyring {
    /// A new keyring with one random key.
    pub fn generate(now_ms: i64) -> Result<Self, MsgLogError> {
        let mut ring = Self { current: String::new(), keys: Vec::new() };
        ring.rotate(now_ms)?;
        Ok(ring)
    }

    /// Adds a new random key and makes it current; returns its id.
    pub fn rotate(&mut self, now_ms: i64) -> Result<String, MsgLogError> {
        let key: [u8; 32] = random();
        let id = format!("k{}", self.keys.len() + 1);
        self.keys.push((id.clone(), now_ms, aead(&key)?, key));
        self.current = id.clone();
        Ok(id)
    }

    /// Id of the key new records are encrypted with.
    pub fn current_id(&self) -> &str {
        &self.current
    }

    /// Ids of every key, oldest first.
    pub fn ids(&self) -> Vec<String> {
        self.keys.iter().map(|k| k.0.clone()).collect()
    }

    fn key(&self, id: &str) -> Result<&LessSafeKey, MsgLogError> {
        self.keys.iter().find(|k| k.0 == id).map(|k| &k.2).ok_or_else(|| {
            MsgLogError::Crypto(format!("the message log key '{id}' is not in this keyring (wrong keyring file?)"))
        })
    }

    /// Encrypts `plaintext` under the current key; `context` (the record's position) is bound
    /// as associated data so ciphertexts cannot be swapped between records.
    pub fn seal(&self, context: &[u8], plaintext: &[u8]) -> Result<(String, [u8; NONCE_LEN], Vec<u8>), MsgLogError> {
        let nonce: [u8; NONCE_LEN] = random();
        let mut data = plaintext.to_vec();
        self.key(&self.current)?
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(context), &mut data)
            .map_err(|_| MsgLogError::Crypto("encryption failed".into()))?;
        Ok((self.current.clone(), nonce, data))
    }

    /// Decrypts what [`Keyring::seal`] produced.
    pub fn open(&self, key_id: &str, nonce: &[u8], context: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, MsgLogError> {
        let nonce: [u8; NONCE_LEN] =
            nonce.try_into().map_err(|_| MsgLogError::Crypto("stored nonce has the wrong length".into()))?;
        let mut data = ciphertext.to_vec();
        let plain = self
            .key(key_id)?
            .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(context), &mut data)
            .map_err(|_| {
                MsgLogError::Crypto(format!(
                    "cannot decrypt with key '{key_id}': wrong key, or the stored contents were altered"
                ))
            })?;
        Ok(plain.to_vec())
    }

    /// Seals the keyring with `passphrase` for storage.
    pub fn to_sealed_json(&self, passphrase: &str, iterations: u32) -> Result<String, MsgLogError> {
        let plain = Plain {
            current: self.current.clone(),
            keys: self
                .keys
                .iter()
                .map(|(id, created_ms, _, raw)| StoredKey {
                    id: id.clone(),
                    created_ms: *created_ms,
                    key: STANDARD.encode(raw),
                })
                .collect(),
        };
        let salt: [u8; 16] = random();
        let nonce: [u8; NONCE_LEN] = random();
        let mut data = serde_json::to_vec(&plain).map_err(|e| MsgLogError::Invalid(e.to_string()))?;
        derive(passphrase, &salt, iterations)?
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(FORMAT.as_bytes()), &mut data)
            .map_err(|_| MsgLogError::Crypto("encryption failed".into()))?;
        let sealed = Sealed {
            format: FORMAT.into(),
            iterations,
            salt: STANDARD.encode(salt),
            nonce: STANDARD.encode(nonce),
            ciphertext: STANDARD.encode(data),
        };
        serde_json::to_string_pretty(&sealed).map_err(|e| MsgLogError::Invalid(e.to_string()))
    }

    /// Opens a keyring sealed by [`Keyring::to_sealed_json`].
    pub fn from_sealed_json(json: &str, passphrase: &str) -> Result<Self, MsgLogError> {
        let bad = |m: String| MsgLogError::Invalid(format!("message log keyring: {m}"));
        let sealed: Sealed = serde_json::from_str(json).map_err(|e| bad(e.to_string()))?;
        if sealed.format != FORMAT {
            return Err(bad(format!("unknown format {:?}", sealed.format)));
        }
        let b64 = |s: &str| STANDARD.decode(s).map_err(|e| bad(e.to_string()));
        let (salt, nonce, mut data) = (b64(&sealed.salt)?, b64(&sealed.nonce)?, b64(&sealed.ciphertext)?);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| bad("bad nonce".into()))?;
        let plain = derive(passphrase, &salt, sealed.iterations)?
            .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(FORMAT.as_bytes()), &mut data)
            .map_err(|_| MsgLogError::Crypto("cannot open the message log keyring: wrong passphrase".into()))?;
        let plain: Plain = serde_json::from_slice(plain).map_err(|e| bad(e.to_string()))?;
        let mut keys = Vec::new();
        for k in plain.keys {
            let raw: [u8; 32] = b64(&k.key)?.try_into().map_err(|_| bad(format!("key {} is not 32 bytes", k.id)))?;
            keys.push((k.id, k.created_ms, aead(&raw)?, raw));
        }
        if !keys.iter().any(|k| k.0 == plain.current) {
            return Err(bad(format!("current key {:?} is missing", plain.current)));
        }
        Ok(Self { current: plain.current, keys })
    }

    /// Reads the keyring file at `path`.
    pub fn load(path: &Path, passphrase: &str) -> Result<Self, MsgLogError> {
        let json = std::fs::read_to_string(path).map_err(|e| MsgLogError::io(path, e))?;
        Self::from_sealed_json(&json, passphrase)
    }

    /// Writes the keyring to `path` (atomically: a temporary file renamed over it).
    pub fn save(&self, path: &Path, passphrase: &str, iterations: u32) -> Result<(), MsgLogError> {
        let json = self.to_sealed_json(passphrase, iterations)?;
        // owner-only from creation on: the ring is sealed, but its file is still a secret
        egov_pki::files::write_private(path, json.as_bytes()).map_err(|e| MsgLogError::io(path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 13, item 10: the sealed ring's file is the owner's only.
    #[test]
    fn saved_rings_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("msglog-keys.json");
        Keyring::generate(1).unwrap().save(&path, "pass", 1000).unwrap();
        assert!(Keyring::load(&path, "pass").is_ok());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }

    #[test]
    fn seals_opens_and_rotates() {
        let mut ring = Keyring::generate(1).unwrap();
        let (id, nonce, ct) = ring.seal(b"seq 1", b"secret message").unwrap();
        assert!(!ct.windows(6).any(|w| w == b"secret"));
        assert_eq!(ring.open(&id, &nonce, b"seq 1", &ct).unwrap(), b"secret message");
        assert!(ring.open(&id, &nonce, b"seq 2", &ct).unwrap_err().to_string().contains("altered"));
        let new = ring.rotate(2).unwrap();
        assert_ne!(new, id);
        assert_eq!(ring.open(&id, &nonce, b"seq 1", &ct).unwrap(), b"secret message", "old key still opens");
        let json = ring.to_sealed_json("pass", 1000).unwrap();
        let again = Keyring::from_sealed_json(&json, "pass").unwrap();
        assert_eq!(again.current_id(), new);
        assert_eq!(again.open(&id, &nonce, b"seq 1", &ct).unwrap(), b"secret message");
        assert!(Keyring::from_sealed_json(&json, "wrong").unwrap_err().to_string().contains("wrong passphrase"));
        let other = Keyring::generate(1).unwrap();
        assert!(other.open(&id, &nonce, b"seq 1", &ct).is_err(), "another participant's key does not open it");
    }
}
