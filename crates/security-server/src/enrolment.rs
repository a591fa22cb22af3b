//! Setting up a new security server (TT-4.1.2): install the configuration anchor, generate
//! the authentication and signing keys, make certificate requests, hand them to the central
//! server's registration service, and collect the certificates once the operator approved.
//!
//! Everything lives in one **server directory**:
//!
//! | file | what |
//! |---|---|
//! | `anchor.json` | the configuration anchor (installed out of band) |
//! | `server.json` | this server's identifier |
//! | `auth.key.pem`, `sign.key.pem` | keys, PKCS#8, encrypted when a passphrase is set |
//! | `auth.csr.pem`, `sign.csr.pem` | the certificate requests |
//! | `registration.json` | the registration request's identifier and address |
//! | `registration.refused.json` | the last request the operator refused |
//! | `auth.crt.pem`, `sign.crt.pem` | the issued certificates |
//! | `globalconf.json` | the last verified global configuration |
//! | `msglog-keys.json` | the message log's content keys, sealed with the passphrase (server_files.rs) |
//! | `msglog.json` | optional: message log retention and intervals |
//! | `msglog.db`, `archive/` | the message log and its archive files |
//! | `users.json` | holders of monitoring and archive-reading tokens (hashes only) |

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use egov_globalconf::Anchor;
use egov_pki::{CertProfile, KeyAlgorithm, PrivateKey, TrustStore};
use egov_xroad::SecurityServerId;
use serde::{Deserialize, Serialize};

use crate::central_http::CentralHttp;
use crate::conf_client::ConfClient;
use crate::transport::tls::ServerKeys;

/// Why a set-up step failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnrolmentError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// A file's content is invalid.
    #[error("{0}")]
    Invalid(String),
    /// The step does not fit the directory's state (e.g. keys already generated).
    #[error("{0}")]
    State(String),
    /// The central server refused or could not be reached.
    #[error("central server: {0}")]
    Central(String),
}

/// This server's identity as recorded at set-up.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerFile {
    id: SecurityServerId,
}

/// The registration request as the new server remembers it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistrationFile {
    request_id: String,
    address: String,
}

/// The central server's answer about a registration request (the fields this side uses).
#[derive(Debug, Clone, Deserialize)]
pub struct RegistrationState {
    /// Request identifier.
    pub id: String,
    /// `pending`, `approved` or `refused`.
    pub state: String,
    /// Why it was refused.
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    auth_cert_pem: Option<String>,
    #[serde(default)]
    sign_cert_pem: Option<String>,
}

/// Fingerprints of a server's requested keys: SHA-256 of each SubjectPublicKeyInfo, hex
/// pairs with colons (`egov_pki::csr::key_fingerprint`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFingerprints {
    /// The authentication key.
    pub auth: String,
    /// The signing key.
    pub sign: String,
}

/// Whether private keys may be written without a passphrase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStorage {
    /// Keys are encrypted with the server passphrase; without one, `init` refuses.
    Encrypted,
    /// Keys may be written in clear when no passphrase is given (`--insecure-keys`).
    ClearAllowed,
}

/// A security server's directory of keys, certificates and trust.
#[derive(Debug, Clone)]
pub struct ServerDir {
    path: PathBuf,
    passphrase: Option<String>,
}

impl ServerDir {
    /// The directory at `path`; keys are encrypted with `passphrase` when one is given.
    pub fn new(path: &Path, passphrase: Option<String>) -> Self {
        Self { path: path.to_owned(), passphrase: passphrase.filter(|p| !p.is_empty()) }
    }

    /// Path of the file `name` in the directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// The passphrase keys are sealed with, if any.
    pub(crate) fn passphrase(&self) -> Option<&str> {
        self.passphrase.as_deref()
    }

    /// Whether a passphrase was given (keys written by `init` are then encrypted).
    pub fn passphrase_set(&self) -> bool {
        self.passphrase.is_some()
    }

    fn read(&self, name: &str) -> Result<String, EnrolmentError> {
        let path = self.file(name);
        std::fs::read_to_string(&path).map_err(|source| EnrolmentError::Io { path: path.display().to_string(), source })
    }

    /// The file `name`, or `None` when it does not exist.
    pub(crate) fn read_optional(&self, name: &str) -> Result<Option<String>, EnrolmentError> {
        match std::fs::read_to_string(self.file(name)) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(EnrolmentError::Io { path: self.file(name).display().to_string(), source }),
        }
    }

    /// Writes `name` atomically (a temporary file renamed over it), readable by the owner
    /// only from its creation on.
    pub(crate) fn write(&self, name: &str, content: &str) -> Result<(), EnrolmentError> {
        let path = self.file(name);
        egov_pki::files::write_private(&path, content.as_bytes())
            .map_err(|source| EnrolmentError::Io { path: path.display().to_string(), source })
    }

    /// Installs the anchor, generates both keys and writes the certificate requests
    /// (`egov ss init`). Refuses a directory that already holds keys, and — unless `keys` is
    /// [`KeyStorage::ClearAllowed`] — a directory opened without a passphrase: private keys
    /// are not written in clear without the administrator saying so (TT-6.3).
    pub fn init(&self, anchor_json: &str, id: &SecurityServerId, keys: KeyStorage) -> Result<(), EnrolmentError> {
        let anchor = Anchor::from_json(anchor_json).map_err(|e| EnrolmentError::Invalid(e.to_string()))?;
        if id.owner().instance() != anchor.instance {
            return Err(EnrolmentError::Invalid(format!(
                "{id} is not in instance {} of the configuration anchor",
                anchor.instance
            )));
        }
        if self.file("auth.key.pem").exists() || self.file("sign.key.pem").exists() {
            return Err(EnrolmentError::State(format!(
                "{} already holds keys; use a new directory for a new server",
                self.path.display()
            )));
        }
        if self.passphrase.is_none() && keys != KeyStorage::ClearAllowed {
            return Err(EnrolmentError::Invalid(
                "no passphrase: the private keys would be written in clear. Set EGOV_SS_PASSPHRASE \
                 (it also seals the message log's keys), or pass --insecure-keys for a throwaway test server"
                    .into(),
            ));
        }
        std::fs::create_dir_all(&self.path)
            .map_err(|source| EnrolmentError::Io { path: self.path.display().to_string(), source })?;
        let key_err = |e: egov_pki::PkiError| EnrolmentError::Invalid(e.to_string());
        // P-256 for both: TLS (widest support) and message signatures, which the message log
        // keeps as XML-DSig that stock xmlsec1 (Debian 12: 1.2.37, no EdDSA) must verify (TT-2.2.2)
        let auth = PrivateKey::generate(KeyAlgorithm::EcdsaP256).map_err(key_err)?;
        let sign = PrivateKey::generate(KeyAlgorithm::EcdsaP256).map_err(key_err)?;
        let auth_csr = auth.certificate_request(&CertProfile::Auth(id.clone())).map_err(key_err)?;
        let sign_csr = sign.certificate_request(&CertProfile::Sign(id.owner().clone())).map_err(key_err)?;
        self.write("anchor.json", anchor_json)?;
        self.write("server.json", &to_json(&ServerFile { id: id.clone() })?)?;
        self.write("auth.key.pem", &self.key_pem(&auth)?)?;
        self.write("sign.key.pem", &self.key_pem(&sign)?)?;
        self.write("auth.csr.pem", &egov_pki::to_pem("CERTIFICATE REQUEST", &auth_csr))?;
        self.write("sign.csr.pem", &egov_pki::to_pem("CERTIFICATE REQUEST", &sign_csr))?;
        Ok(())
    }

    fn key_pem(&self, key: &PrivateKey) -> Result<String, EnrolmentError> {
        match &self.passphrase {
            Some(p) => key.to_encrypted_pem(p).map_err(|e| EnrolmentError::Invalid(e.to_string())),
            None => Ok(key.to_pem()),
        }
    }

    fn load_key(&self, name: &str) -> Result<PrivateKey, EnrolmentError> {
        let pem = self.read(name)?;
        let key = if pem.contains("ENCRYPTED PRIVATE KEY") {
            let p = self.passphrase.as_deref().ok_or_else(|| {
                EnrolmentError::Invalid(format!("{name} is encrypted: give the passphrase (EGOV_SS_PASSPHRASE)"))
            })?;
            PrivateKey::from_encrypted_pem(&pem, p)
        } else {
            PrivateKey::from_pem(&pem)
        };
        key.map_err(|e| EnrolmentError::Invalid(format!("{name}: {e}")))
    }

    /// The anchor.
    pub fn anchor(&self) -> Result<Anchor, EnrolmentError> {
        Anchor::from_json(&self.read("anchor.json")?).map_err(|e| EnrolmentError::Invalid(e.to_string()))
    }

    /// This server's identifier.
    pub fn id(&self) -> Result<SecurityServerId, EnrolmentError> {
        let f: ServerFile = serde_json::from_str(&self.read("server.json")?)
            .map_err(|e| EnrolmentError::Invalid(format!("server.json: {e}")))?;
        Ok(f.id)
    }

    /// Fingerprints of the keys in this server's certificate requests, as the operator's
    /// listing of registration requests shows them: compared out of band, they tell the
    /// operator that the request they approve is this server's (issue 13, item 5).
    pub fn key_fingerprints(&self) -> Result<KeyFingerprints, EnrolmentError> {
        let fingerprint = |name: &str| -> Result<String, EnrolmentError> {
            let der = egov_pki::from_pem("CERTIFICATE REQUEST", &self.read(name)?)
                .map_err(|e| EnrolmentError::Invalid(format!("{name}: {e}")))?
                .remove(0);
            egov_pki::csr::key_fingerprint(&der).map_err(|e| EnrolmentError::Invalid(format!("{name}: {e}")))
        };
        Ok(KeyFingerprints { auth: fingerprint("auth.csr.pem")?, sign: fingerprint("sign.csr.pem")? })
    }

    /// Submits the registration request (`egov ss register`) with the enrolment code the
    /// operator issued for this server id, or, when one was submitted already, asks for its
    /// state; once approved, checks and installs the certificates. A refused request is
    /// set aside (`registration.refused.json`), so the next call submits anew, with a new
    /// code: the central server consumed the old one.
    pub async fn register(
        &self,
        address: &str,
        environment: &str,
        enrolment_code: Option<&str>,
    ) -> Result<RegistrationState, EnrolmentError> {
        let anchor = self.anchor()?;
        let http = CentralHttp::new();
        let state = match self.read("registration.json") {
            Ok(text) => {
                let reg: RegistrationFile = serde_json::from_str(&text)
                    .map_err(|e| EnrolmentError::Invalid(format!("registration.json: {e}")))?;
                let url = format!("{}/{}", anchor.registration_url.trim_end_matches('/'), reg.request_id);
                answer(http.get(&url, 256 * 1024).await)?
            }
            Err(_) => {
                let csr = |name: &str| -> Result<String, EnrolmentError> {
                    let der = egov_pki::from_pem("CERTIFICATE REQUEST", &self.read(name)?)
                        .map_err(|e| EnrolmentError::Invalid(format!("{name}: {e}")))?
                        .remove(0);
                    Ok(STANDARD.encode(der))
                };
                let body = serde_json::json!({
                    "server_id": self.id()?.to_string(),
                    "environment": environment,
                    "address": address,
                    "auth_csr": csr("auth.csr.pem")?,
                    "sign_csr": csr("sign.csr.pem")?,
                    "enrolment_code": enrolment_code,
                });
                let state = answer(http.post_json(&anchor.registration_url, &body, 256 * 1024).await)?;
                self.write(
                    "registration.json",
                    &to_json(&RegistrationFile { request_id: state.id.clone(), address: address.to_owned() })?,
                )?;
                state
            }
        };
        match state.state.as_str() {
            "approved" => self.install_certificates(&anchor, &state)?,
            "refused" => {
                let (from, to) = (self.file("registration.json"), self.file("registration.refused.json"));
                std::fs::rename(&from, &to)
                    .map_err(|source| EnrolmentError::Io { path: from.display().to_string(), source })?;
            }
            _ => {}
        }
        Ok(state)
    }

    /// Checks the issued certificates (chain to the anchor's CA, this server's identity,
    /// this server's keys) and writes them.
    fn install_certificates(&self, anchor: &Anchor, state: &RegistrationState) -> Result<(), EnrolmentError> {
        let id = self.id()?;
        let mut ca = Vec::new();
        for pem in &anchor.ca_certs_pem {
            ca.extend(egov_pki::from_pem("CERTIFICATE", pem).map_err(|e| EnrolmentError::Invalid(e.to_string()))?);
        }
        let trust = TrustStore::new(ca);
        for (name, pem, key_file, profile) in [
            ("auth.crt.pem", &state.auth_cert_pem, "auth.key.pem", CertProfile::Auth(id.clone())),
            ("sign.crt.pem", &state.sign_cert_pem, "sign.key.pem", CertProfile::Sign(id.owner().clone())),
        ] {
            let pem = pem.as_deref().ok_or_else(|| {
                EnrolmentError::Central(format!("the approved request carries no certificate for {name}"))
            })?;
            let der = egov_pki::from_pem("CERTIFICATE", pem)
                .map_err(|e| EnrolmentError::Invalid(format!("{name}: {e}")))?
                .remove(0);
            let verified = trust
                .verify(&der, egov_pki::unix_now())
                .map_err(|e| EnrolmentError::Invalid(format!("issued {name} does not verify with the anchor: {e}")))?;
            if verified.profile != profile {
                return Err(EnrolmentError::Invalid(format!(
                    "issued {name} names {:?}, not {profile:?}",
                    verified.profile
                )));
            }
            let key = self.load_key(key_file)?;
            let own = key.signer().map_err(|e| EnrolmentError::Invalid(e.to_string()))?.public_key();
            if verified.public_key != own {
                return Err(EnrolmentError::Invalid(format!("issued {name} is not for this server's {key_file}")));
            }
            self.write(name, pem)?;
        }
        Ok(())
    }

    /// Keys and certificates, once registration is complete.
    pub fn keys(&self) -> Result<ServerKeys, EnrolmentError> {
        let cert = |name: &str| -> Result<Vec<u8>, EnrolmentError> {
            let text = self.read(name).map_err(|e| {
                EnrolmentError::State(format!("{e} (is the server registered? run `egov ss register`)"))
            })?;
            Ok(egov_pki::from_pem("CERTIFICATE", &text)
                .map_err(|e| EnrolmentError::Invalid(format!("{name}: {e}")))?
                .remove(0))
        };
        Ok(ServerKeys {
            auth_key: self.load_key("auth.key.pem")?,
            auth_cert: cert("auth.crt.pem")?,
            sign_key: self.load_key("sign.key.pem")?,
            sign_cert: cert("sign.crt.pem")?,
        })
    }

    /// The global-configuration client of this server.
    pub fn conf_client(&self) -> Result<ConfClient, EnrolmentError> {
        Ok(ConfClient::new(self.anchor()?, &self.file("globalconf.json")))
    }
}

fn answer(result: Result<(http::StatusCode, bytes::Bytes), String>) -> Result<RegistrationState, EnrolmentError> {
    let (status, body) = result.map_err(EnrolmentError::Central)?;
    if !status.is_success() {
        let msg = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
        return Err(EnrolmentError::Central(format!("HTTP {status}: {msg}")));
    }
    serde_json::from_slice(&body).map_err(|e| EnrolmentError::Central(format!("unreadable answer: {e}")))
}

fn to_json<T: Serialize>(v: &T) -> Result<String, EnrolmentError> {
    serde_json::to_string_pretty(v).map_err(|e| EnrolmentError::Invalid(e.to_string()))
}
