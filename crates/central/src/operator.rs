//! The operator's central services on disk, and how they are started (P-4.1, P-4.1.8).
//!
//! | path | what |
//! |---|---|
//! | `ca/` | the Certification Centre (CA and TSA keys encrypted, register database) |
//! | `conf-signing.key.pem` | signs the global configuration (encrypted) |
//! | `admin.key.pem`, `admin.crt.pem` | the admin listener's TLS key (encrypted) and certificate |
//! | `operator.json` | the first administrator's credentials for `egov central …` |
//! | `central.json` | instance and admin address |
//! | `central.db` | the central server's database (unless `--db` names another) |

use std::path::{Path, PathBuf};
use std::sync::Arc;

use egov_ca::CertificationCentre;
use egov_pki::{CertProfile, KeyAlgorithm, PrivateKey};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

use crate::api::client::OperatorCredentials;
use crate::registration::{BoxFuture, CertificateIssuer};
use crate::service::{CentralKeys, CentralSettings, RunningCentral, start_on};
use crate::{CentralError, CentralStore};

/// Validity of the admin listener's and the operator's certificates, days.
const ADMIN_CERT_DAYS: i64 = 730;

/// The Certification Centre's refusals keep their kind (400/404/409) at the admin API.
fn ca_error(e: egov_ca::CaError) -> CentralError {
    match e {
        egov_ca::CaError::Invalid(m) => CentralError::Invalid(m),
        egov_ca::CaError::NotFound(m) => CentralError::NotFound(m),
        egov_ca::CaError::Conflict(m) => CentralError::Conflict(m),
        other => CentralError::Ca(other.to_string()),
    }
}

/// The Certification Centre as the central server's issuer.
impl CertificateIssuer for CertificationCentre {
    fn issue<'a>(
        &'a self,
        csr: &'a [u8],
        profile: &'a CertProfile,
        days: i64,
    ) -> BoxFuture<'a, Result<Vec<u8>, CentralError>> {
        Box::pin(
            async move { CertificationCentre::issue(self, csr, profile, days).await.map(|c| c.der).map_err(ca_error) },
        )
    }

    fn revoke<'a>(&'a self, serial: &'a str, reason: &'a str) -> BoxFuture<'a, Result<(), CentralError>> {
        Box::pin(async move {
            let reason = reason.parse().map_err(|e| CentralError::Invalid(format!("revocation reason: {e}")))?;
            CertificationCentre::revoke(self, serial, reason).await.map_err(ca_error)
        })
    }

    fn revoked_serials(&self) -> BoxFuture<'_, Result<Vec<String>, CentralError>> {
        Box::pin(async move { CertificationCentre::revoked_serials(self).await.map_err(ca_error) })
    }

    fn ca_certs_pem(&self) -> Vec<String> {
        vec![self.ca_cert_pem()]
    }
}

/// What `egov central init` needs.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// Instance identifier.
    pub instance: String,
    /// `host:port` of the admin listener (for the operator's credentials).
    pub admin_address: String,
    /// Protects every key file.
    pub passphrase: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CentralFile {
    instance: String,
    admin_address: String,
}

/// The central services' directory, opened.
pub struct CentralDir {
    dir: PathBuf,
    instance: String,
    ca: Arc<CertificationCentre>,
    store: CentralStore,
    keys: CentralKeys,
}

impl std::fmt::Debug for CentralDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CentralDir").field("dir", &self.dir).finish_non_exhaustive()
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> CentralError + '_ {
    move |e| CentralError::Invalid(format!("{}: {e}", path.display()))
}

fn write_private(path: &Path, content: &str) -> Result<(), CentralError> {
    egov_pki::files::write_private(path, content.as_bytes()).map_err(io(path))
}

fn read(path: &Path) -> Result<String, CentralError> {
    std::fs::read_to_string(path).map_err(io(path))
}

fn key(path: &Path, passphrase: &str) -> Result<PrivateKey, CentralError> {
    PrivateKey::from_encrypted_pem(&read(path)?, passphrase)
        .map_err(|e| CentralError::Invalid(format!("{}: {e}", path.display())))
}

fn ca_db(dir: &Path) -> String {
    egov_store::sqlite_url(&dir.join("ca").join("register.db"))
}

impl CentralDir {
    /// Creates the central services in `dir` (refuses a directory that holds them already).
    pub async fn init(dir: &Path, options: &InitOptions) -> Result<InitResult, CentralError> {
        if dir.join("central.json").exists() {
            return Err(CentralError::Conflict(format!("{} already holds a central server", dir.display())));
        }
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let ca = CertificationCentre::create(&dir.join("ca"), &options.instance, &options.passphrase, &ca_db(dir))
            .await
            .map_err(|e| CentralError::Ca(e.to_string()))?;
        let issue = async |profile: CertProfile| -> Result<(PrivateKey, Vec<u8>), CentralError> {
            let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).map_err(|e| CentralError::Ca(e.to_string()))?;
            let csr = key.certificate_request(&profile).map_err(|e| CentralError::Ca(e.to_string()))?;
            let cert = ca.issue(&csr, &profile, ADMIN_CERT_DAYS).await.map_err(|e| CentralError::Ca(e.to_string()))?;
            Ok((key, cert.der))
        };
        let enc = |k: &PrivateKey| k.to_encrypted_pem(&options.passphrase).map_err(|e| CentralError::Ca(e.to_string()));
        let conf_signing =
            PrivateKey::generate(KeyAlgorithm::EcdsaP256).map_err(|e| CentralError::Ca(e.to_string()))?;
        write_private(&dir.join("conf-signing.key.pem"), &enc(&conf_signing)?)?;
        let (admin_key, admin_cert) =
            issue(CertProfile::CentralServer(format!("{} central server", options.instance))).await?;
        write_private(&dir.join("admin.key.pem"), &enc(&admin_key)?)?;
        write_private(&dir.join("admin.crt.pem"), &egov_pki::to_pem("CERTIFICATE", &admin_cert))?;
        let (op_key, op_cert) = issue(CertProfile::Operator("operator-admin".into())).await?;
        let creds = OperatorCredentials {
            admin_address: options.admin_address.clone(),
            admin_cert_sha256: egov_globalconf::hash_hex(&egov_pki::cert_sha256(&admin_cert)),
            cert_pem: egov_pki::to_pem("CERTIFICATE", &op_cert),
            key_pem: op_key.to_pem(),
        };
        write_private(&dir.join("operator.json"), &to_json(&creds)?)?;
        write_private(
            &dir.join("central.json"),
            &to_json(&CentralFile {
                instance: options.instance.clone(),
                admin_address: options.admin_address.clone(),
            })?,
        )?;
        ca.close().await;
        Ok(InitResult { dir: dir.to_owned() })
    }

    /// Opens the central services in `dir`; the database is `db_url`, or `central.db` there.
    pub async fn open(dir: &Path, passphrase: &str, db_url: Option<&str>) -> Result<Self, CentralError> {
        let file: CentralFile = serde_json::from_str(&read(&dir.join("central.json"))?)
            .map_err(|e| CentralError::Invalid(format!("central.json: {e}")))?;
        let ca = CertificationCentre::open(&dir.join("ca"), passphrase, &ca_db(dir))
            .await
            .map_err(|e| CentralError::Ca(e.to_string()))?;
        let keys = CentralKeys {
            conf_signing: key(&dir.join("conf-signing.key.pem"), passphrase)?,
            admin_cert: egov_pki::from_pem("CERTIFICATE", &read(&dir.join("admin.crt.pem"))?)
                .map_err(|e| CentralError::Invalid(format!("admin.crt.pem: {e}")))?
                .remove(0),
            admin_key: key(&dir.join("admin.key.pem"), passphrase)?,
        };
        let url = db_url.map(str::to_owned).unwrap_or_else(|| egov_store::sqlite_url(&dir.join("central.db")));
        let store = CentralStore::open(&url).await?;
        Ok(Self { dir: dir.to_owned(), instance: file.instance, ca: Arc::new(ca), store, keys })
    }

    /// Instance identifier.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// The central server's store.
    pub fn store(&self) -> &CentralStore {
        &self.store
    }

    /// The Certification Centre.
    pub fn ca(&self) -> &Arc<CertificationCentre> {
        &self.ca
    }

    /// Starts the central server with the Certification Centre's OCSP responder and TSA on
    /// the public listener.
    pub async fn start(
        &self,
        public: TcpListener,
        admin: TcpListener,
        settings: CentralSettings,
    ) -> Result<RunningCentral, CentralError> {
        let issuer: Arc<dyn CertificateIssuer> = self.ca.clone();
        start_on(
            public,
            admin,
            self.store.clone(),
            issuer,
            self.keys.clone(),
            settings,
            Some(egov_ca::router(self.ca.clone())),
        )
        .await
    }
}

/// What `init` made.
#[derive(Debug)]
pub struct InitResult {
    dir: PathBuf,
}

impl InitResult {
    /// The operator's credentials file.
    pub fn operator_file(&self) -> PathBuf {
        self.dir.join("operator.json")
    }
}

fn to_json<T: Serialize>(v: &T) -> Result<String, CentralError> {
    serde_json::to_string_pretty(v).map_err(|e| CentralError::Invalid(e.to_string()))
}
