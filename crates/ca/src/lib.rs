//! The operator's Certification Centre (TT-2.3, TT-4.1.2, TT-6.3, P-4.1.8): a CA that
//! issues authentication and signing certificates from CSRs and keeps a register of them,
//! an OCSP responder answering from that register, and a time-stamping authority (TSA)
//! for the security servers' message logs.
//!
//! On disk, a Centre is a directory with `ca.crt.pem`, `ca.key.pem`, `tsa.crt.pem` and
//! `tsa.key.pem`; both keys are passphrase-protected PKCS#8 (readable by OpenSSL). The
//! register lives in a database (SQLite by default, PostgreSQL in production).
//!
//! **Key seam.** The CA and TSA keys are used only through [`CaKey`] (signing and the
//! public key); [`CertificationCentre::create`] and [`CertificationCentre::open`] use
//! software keys from the directory. A PKCS#11 / HSM implementation of [`CaKey`] plugs in
//! through [`CertificationCentre::with_keys`] without touching issuing, OCSP or the TSA.

#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod error;
pub mod http;
pub mod register;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use egov_pki::ocsp::{CertStatus, RevocationReason};
use egov_pki::{CertProfile, CertificationAuthority, KeyAlgorithm, PkiError, PrivateKey, TrustStore};

pub use error::CaError;
pub use http::router;
pub use register::{CertRecord, Register};

/// Access to one of the Centre's private keys: the seam where a PKCS#11 / HSM key plugs in
/// later. Software keys ([`egov_pki::keys::MessageSigner`]) implement it.
pub use egov_pki::Signer as CaKey;

/// The CA certificate file in a Centre's directory.
pub const CA_CERT_FILE: &str = "ca.crt.pem";
/// The CA key file (passphrase-protected PKCS#8).
pub const CA_KEY_FILE: &str = "ca.key.pem";
/// The TSA certificate file.
pub const TSA_CERT_FILE: &str = "tsa.crt.pem";
/// The TSA key file (passphrase-protected PKCS#8).
pub const TSA_KEY_FILE: &str = "tsa.key.pem";
/// The default register database file inside the directory.
pub const DEFAULT_DB_FILE: &str = "ca.db";

/// Default OCSP validity (nextUpdate − thisUpdate), seconds.
pub const DEFAULT_OCSP_VALIDITY_SECS: i64 = 600;
/// Default time-stamp policy: under IANA's documentation enterprise number (RFC 5612)
/// until the operator registers its own arc; set another with
/// [`CertificationCentre::with_tsa_policy`].
pub const DEFAULT_TSA_POLICY: &str = "1.3.6.1.4.1.32473.1.1";
/// Validity of the TSA certificate made by [`CertificationCentre::create`], days.
pub const TSA_CERT_DAYS: i64 = 5 * 365;
/// Longest validity of an issued certificate, days (the CA itself lives ten years).
pub const MAX_CERT_DAYS: i64 = 3650;

/// An issued certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCert {
    /// Serial number, lower-case hex.
    pub serial_hex: String,
    /// The certificate (DER).
    pub der: Vec<u8>,
}

/// The Certification Centre: CA, register, OCSP responder and TSA.
pub struct CertificationCentre {
    ca: CertificationAuthority,
    responder: egov_pki::ocsp::Responder,
    tsa_key: Arc<dyn CaKey>,
    tsa_cert_der: Vec<u8>,
    register: Register,
    ocsp_validity_secs: i64,
    tsa_policy: String,
}

impl std::fmt::Debug for CertificationCentre {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificationCentre")
            .field("ocsp_validity_secs", &self.ocsp_validity_secs)
            .field("tsa_policy", &self.tsa_policy)
            .finish_non_exhaustive()
    }
}

impl CertificationCentre {
    /// Creates a new Centre in `dir` for the federation `instance`: a P-256 CA key and
    /// self-signed certificate, a TSA key and certificate issued by the CA (time-stamping
    /// profile), both keys encrypted with `passphrase`, and the register at `db_url`.
    /// Refuses to touch a directory that already holds a Centre.
    pub async fn create(dir: &Path, instance: &str, passphrase: &str, db_url: &str) -> Result<Self, CaError> {
        let instance = instance.trim();
        if instance.is_empty() || instance.len() > 32 || instance.contains('/') {
            return Err(CaError::Invalid(format!("'{instance}' is not an X-Road instance identifier")));
        }
        if passphrase.chars().count() < 8 {
            return Err(CaError::Invalid("the key passphrase must have at least 8 characters".into()));
        }
        for name in [CA_CERT_FILE, CA_KEY_FILE, TSA_CERT_FILE, TSA_KEY_FILE] {
            if dir.join(name).exists() {
                return Err(CaError::Conflict(format!(
                    "{} already exists: a Certification Centre is already set up in {}; refusing to overwrite it",
                    name,
                    dir.display()
                )));
            }
        }
        std::fs::create_dir_all(dir).map_err(CaError::io(dir))?;
        // the database first: a URL that does not work leaves no half-made Centre behind
        let register = Register::open(db_url).await?;

        let ca = CertificationAuthority::generate(instance, &format!("{instance} Certification Centre"))?;
        let ca_key = ca.private_key().ok_or_else(|| CaError::Invalid("the new CA key is not a software key".into()))?;
        let tsa_key = PrivateKey::generate(KeyAlgorithm::EcdsaP256)?;
        let profile = CertProfile::TimeStamping(format!("{instance} Time-Stamping Authority"));
        let tsa_cert = ca.issue(&tsa_key.certificate_request(&profile)?, &profile, TSA_CERT_DAYS)?;

        // keys first, the CA certificate last: it is what marks the directory as a Centre
        write_new(dir, TSA_KEY_FILE, tsa_key.to_encrypted_pem(passphrase)?.as_bytes(), true)?;
        write_new(dir, CA_KEY_FILE, ca_key.to_encrypted_pem(passphrase)?.as_bytes(), true)?;
        write_new(dir, TSA_CERT_FILE, egov_pki::to_pem("CERTIFICATE", &tsa_cert).as_bytes(), false)?;
        write_new(dir, CA_CERT_FILE, ca.certificate_pem().as_bytes(), false)?;
        sync_dir(dir);
        tracing::info!(dir = %dir.display(), instance, "Certification Centre created");

        let tsa_signer: Arc<dyn CaKey> = Arc::new(tsa_key.signer()?);
        Self::assemble(ca, tsa_cert, tsa_signer, register).await
    }

    /// Opens the Centre in `dir`, decrypting its keys with `passphrase` (a wrong passphrase
    /// is reported as such), with the register at `db_url`.
    pub async fn open(dir: &Path, passphrase: &str, db_url: &str) -> Result<Self, CaError> {
        let ca_cert = read_cert(dir, CA_CERT_FILE)?;
        let tsa_cert = read_cert(dir, TSA_CERT_FILE)?;
        let ca_key = read_key(dir, CA_KEY_FILE, passphrase)?;
        let tsa_key = read_key(dir, TSA_KEY_FILE, passphrase)?;
        let ca = CertificationAuthority::from_key(ca_cert, ca_key)
            .map_err(|cause| CaError::Key { path: dir.join(CA_KEY_FILE), cause })?;
        let tsa_signer: Arc<dyn CaKey> =
            Arc::new(tsa_key.signer().map_err(|cause| CaError::Key { path: dir.join(TSA_KEY_FILE), cause })?);
        let register = Register::open(db_url).await?;
        Self::assemble(ca, tsa_cert, tsa_signer, register).await
    }

    /// A Centre whose keys are reachable only through [`CaKey`] (an HSM): the CA
    /// certificate and key, the TSA certificate and key, and the register at `db_url`.
    pub async fn with_keys(
        ca_cert_der: Vec<u8>,
        ca_key: Arc<dyn CaKey>,
        tsa_cert_der: Vec<u8>,
        tsa_key: Arc<dyn CaKey>,
        db_url: &str,
    ) -> Result<Self, CaError> {
        let ca = CertificationAuthority::from_signer(ca_cert_der, ca_key)?;
        let register = Register::open(db_url).await?;
        Self::assemble(ca, tsa_cert_der, tsa_key, register).await
    }

    async fn assemble(
        ca: CertificationAuthority,
        tsa_cert_der: Vec<u8>,
        tsa_key: Arc<dyn CaKey>,
        register: Register,
    ) -> Result<Self, CaError> {
        // the TSA certificate must be this CA's, for time-stamping, and match the TSA key
        let trust = TrustStore::new(vec![ca.certificate_der().to_vec()]);
        let tsa = trust
            .verify(&tsa_cert_der, egov_pki::unix_now())
            .map_err(|e| CaError::Invalid(format!("the TSA certificate is not usable: {e}")))?;
        if !matches!(tsa.profile, CertProfile::TimeStamping(_)) {
            return Err(CaError::Invalid("the TSA certificate does not have the time-stamping profile".into()));
        }
        if tsa.public_key != tsa_key.public_key() {
            return Err(CaError::Invalid("the TSA key does not belong to the TSA certificate".into()));
        }
        let responder = egov_pki::ocsp::Responder::new(ca.certificate_der(), ca.signer())?;
        let centre = Self {
            ca,
            responder,
            tsa_key,
            tsa_cert_der,
            register,
            ocsp_validity_secs: DEFAULT_OCSP_VALIDITY_SECS,
            tsa_policy: DEFAULT_TSA_POLICY.to_owned(),
        };
        // the TSA certificate is in the register like any other (so it can be revoked)
        centre.record(&centre.tsa_cert_der.clone(), &tsa.profile, egov_pki::unix_now()).await?;
        Ok(centre)
    }

    /// Sets the OCSP validity (nextUpdate − thisUpdate), 1 s to 7 days.
    pub fn with_ocsp_validity(mut self, secs: i64) -> Result<Self, CaError> {
        if !(1..=7 * 86_400).contains(&secs) {
            return Err(CaError::Invalid(format!("OCSP validity {secs} s is outside 1 s to 7 days")));
        }
        self.ocsp_validity_secs = secs;
        Ok(self)
    }

    /// Sets the time-stamp policy OID written into every token.
    pub fn with_tsa_policy(mut self, oid: &str) -> Result<Self, CaError> {
        let valid = oid.split('.').count() >= 2 && oid.split('.').all(|a| !a.is_empty() && a.parse::<u32>().is_ok());
        if !valid {
            return Err(CaError::Invalid(format!("'{oid}' is not an object identifier")));
        }
        self.tsa_policy = oid.to_owned();
        Ok(self)
    }

    /// The OCSP validity, seconds.
    pub fn ocsp_validity_secs(&self) -> i64 {
        self.ocsp_validity_secs
    }

    /// The register.
    pub fn register(&self) -> &Register {
        &self.register
    }

    /// The CA certificate (DER).
    pub fn ca_cert_der(&self) -> &[u8] {
        self.ca.certificate_der()
    }

    /// The CA certificate (PEM).
    pub fn ca_cert_pem(&self) -> String {
        self.ca.certificate_pem()
    }

    /// The TSA certificate (DER).
    pub fn tsa_cert_der(&self) -> &[u8] {
        &self.tsa_cert_der
    }

    /// The TSA certificate (PEM).
    pub fn tsa_cert_pem(&self) -> String {
        egov_pki::to_pem("CERTIFICATE", &self.tsa_cert_der)
    }

    async fn record(&self, der: &[u8], profile: &CertProfile, issued_at: i64) -> Result<String, CaError> {
        let trust = TrustStore::new(vec![self.ca.certificate_der().to_vec()]);
        let v = trust.verify(der, issued_at).map_err(|e| CaError::Invalid(format!("issued certificate: {e}")))?;
        let subject = profile.common_name();
        self.register
            .insert(&register::NewCert {
                serial_hex: &v.serial,
                kind: profile.kind(),
                subject: &subject,
                not_before: v.not_before,
                not_after: v.not_after,
                der,
                issued_at,
            })
            .await?;
        Ok(v.serial.clone())
    }

    /// Issues a certificate for `profile` from a PKCS#10 request (DER), valid for `days`
    /// days, and records it in the register (P-4.1.8, TT-4.1.2).
    pub async fn issue(&self, csr_der: &[u8], profile: &CertProfile, days: i64) -> Result<IssuedCert, CaError> {
        if !(1..=MAX_CERT_DAYS).contains(&days) {
            return Err(CaError::Invalid(format!("validity of {days} days is outside 1 to {MAX_CERT_DAYS}")));
        }
        let der = self.ca.issue(csr_der, profile, days)?;
        let serial_hex = self.record(&der, profile, egov_pki::unix_now()).await?;
        tracing::info!(serial = %serial_hex, kind = profile.kind(), subject = %profile.common_name(), "certificate issued");
        Ok(IssuedCert { serial_hex, der })
    }

    /// Revokes a certificate issued here; OCSP answers `revoked` from now on. Unknown serial
    /// → [`CaError::NotFound`]; already revoked → [`CaError::Conflict`].
    pub async fn revoke(&self, serial_hex: &str, reason: RevocationReason) -> Result<(), CaError> {
        self.register.revoke(serial_hex, reason, egov_pki::unix_now()).await?;
        tracing::warn!(serial = %serial_hex, %reason, "certificate revoked");
        Ok(())
    }

    /// The status of a certificate issued here ([`CertStatus::Unknown`] if it was not).
    pub async fn status(&self, serial_hex: &str) -> Result<CertStatus, CaError> {
        self.register.status(serial_hex).await
    }

    /// Every certificate issued here, oldest first.
    pub async fn list(&self) -> Result<Vec<CertRecord>, CaError> {
        self.register.list().await
    }

    /// Serial numbers of the revoked certificates.
    pub async fn revoked_serials(&self) -> Result<Vec<String>, CaError> {
        self.register.revoked_serials().await
    }

    /// Answers an OCSP request (DER) from the register: always a DER OCSPResponse
    /// (`malformedRequest` for a bad request, `tryLater` when the register is unreachable).
    pub async fn ocsp_response(&self, request_der: &[u8]) -> Vec<u8> {
        let mut statuses = std::collections::HashMap::new();
        // a request that does not parse is answered malformedRequest by respond() itself
        for serial in egov_pki::ocsp::requested_serials(request_der)
            .unwrap_or_default()
            .into_iter()
            .take(egov_pki::ocsp::MAX_REQUESTS)
        {
            match self.register.status(&serial).await {
                Ok(status) => {
                    statuses.insert(serial, status);
                }
                Err(e) => {
                    tracing::error!(error = %e, "OCSP: register unreachable");
                    return egov_pki::ocsp::try_later();
                }
            }
        }
        let lookup = |serial: &str| statuses.get(serial).copied().unwrap_or(CertStatus::Unknown);
        self.responder.respond(request_der, lookup, egov_pki::unix_now(), self.ocsp_validity_secs)
    }

    /// Answers a time-stamp request (DER) with a DER TimeStampResp (TT-6.3); serial numbers
    /// are random 122-bit values (UUID v4), so they never repeat in practice.
    pub fn timestamp(&self, request_der: &[u8]) -> Vec<u8> {
        let serial = uuid::Uuid::new_v4().as_u128();
        egov_pki::tsp::stamp(
            request_der,
            self.tsa_key.as_ref(),
            &self.tsa_cert_der,
            &self.tsa_policy,
            serial,
            egov_pki::unix_now(),
        )
    }

    /// Closes the register's database pool.
    pub async fn close(&self) {
        self.register.close().await;
    }
}

fn read_cert(dir: &Path, name: &str) -> Result<Vec<u8>, CaError> {
    let path = dir.join(name);
    let pem = std::fs::read_to_string(&path).map_err(CaError::io(&path))?;
    let mut ders = egov_pki::from_pem("CERTIFICATE", &pem).map_err(|cause| CaError::Key { path, cause })?;
    Ok(ders.remove(0))
}

fn read_key(dir: &Path, name: &str, passphrase: &str) -> Result<PrivateKey, CaError> {
    let path = dir.join(name);
    let pem = std::fs::read_to_string(&path).map_err(CaError::io(&path))?;
    PrivateKey::from_encrypted_pem(&pem, passphrase).map_err(|cause| CaError::Key { path, cause })
}

/// Writes `name` in `dir` atomically and only if it does not exist: the bytes go to a
/// temporary file first (synced), which is then hard-linked into place — a link, unlike a
/// rename, fails when the target exists, so a Centre is never overwritten, even in a race.
fn write_new(dir: &Path, name: &str, contents: &[u8], private: bool) -> Result<(), CaError> {
    let target = dir.join(name);
    let tmp: PathBuf = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let result = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(if private { 0o600 } else { 0o644 });
        }
        #[cfg(not(unix))]
        let _ = private;
        let mut file = options.open(&tmp).map_err(CaError::io(&tmp))?;
        file.write_all(contents).map_err(CaError::io(&tmp))?;
        file.sync_all().map_err(CaError::io(&tmp))?;
        let exists = || CaError::Conflict(format!("{} already exists; refusing to overwrite it", target.display()));
        match std::fs::hard_link(&tmp, &target) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(exists()),
            // a file system without hard links: check, then rename (atomic, but racy)
            Err(_) if target.exists() => Err(exists()),
            Err(_) => std::fs::rename(&tmp, &target).map_err(|cause| CaError::Io { path: target.clone(), cause }),
        }
    })();
    let _ = std::fs::remove_file(&tmp);
    result
}

/// Makes the new directory entries durable (best effort: not every platform can).
fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Whether `e` is a wrong passphrase (for callers that want to say so plainly).
pub fn is_wrong_passphrase(e: &CaError) -> bool {
    matches!(e, CaError::Key { cause: PkiError::Key(m), .. } if m.contains("wrong passphrase"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csr(profile: &CertProfile) -> Vec<u8> {
        PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap().certificate_request(profile).unwrap()
    }

    async fn lifecycle(db_url: &str) {
        let dir = tempfile::tempdir().unwrap();
        let ca_dir = dir.path().join("centre");
        let cc = CertificationCentre::create(&ca_dir, "AZ", "passphrase!", db_url).await.unwrap();
        for name in [CA_CERT_FILE, CA_KEY_FILE, TSA_CERT_FILE, TSA_KEY_FILE] {
            assert!(ca_dir.join(name).is_file(), "{name}");
        }
        let key_pem = std::fs::read_to_string(ca_dir.join(CA_KEY_FILE)).unwrap();
        assert!(key_pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(ca_dir.join(CA_KEY_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "the key file is private");
        }
        let listed = cc.list().await.unwrap();
        assert_eq!(listed.len(), 1, "the TSA certificate is in the register");
        assert_eq!((listed[0].kind.as_str(), listed[0].subject.as_str()), ("tsa", "AZ Time-Stamping Authority"));

        let server: egov_xroad::SecurityServerId = "AZ/GOV/1400000001/ss1".parse().unwrap();
        let auth = CertProfile::Auth(server);
        let issued = cc.issue(&csr(&auth), &auth, 365).await.unwrap();
        assert_eq!(cc.status(&issued.serial_hex).await.unwrap(), CertStatus::Good);
        assert!(matches!(cc.issue(&csr(&auth), &auth, 0).await, Err(CaError::Invalid(_))));
        let other = CertProfile::Sign("AZ/GOV/1400000009".parse().unwrap());
        assert!(matches!(cc.issue(&csr(&auth), &other, 30).await, Err(CaError::Pki(PkiError::CsrRejected(_)))));

        cc.revoke(&issued.serial_hex, RevocationReason::Superseded).await.unwrap();
        assert!(matches!(
            cc.status(&issued.serial_hex).await.unwrap(),
            CertStatus::Revoked { reason: Some(RevocationReason::Superseded), .. }
        ));
        assert!(matches!(
            cc.revoke(&issued.serial_hex, RevocationReason::KeyCompromise).await,
            Err(CaError::Conflict(_))
        ));
        assert!(matches!(cc.revoke("abcdef", RevocationReason::KeyCompromise).await, Err(CaError::NotFound(_))));
        assert_eq!(cc.revoked_serials().await.unwrap(), vec![issued.serial_hex.clone()]);
        let ca_der = cc.ca_cert_der().to_vec();
        cc.close().await;

        // a second create refuses; open with the wrong passphrase says so; the right one works
        let again = CertificationCentre::create(&ca_dir, "AZ", "passphrase!", db_url).await;
        assert!(matches!(again, Err(CaError::Conflict(_))), "{again:?}");
        let wrong = CertificationCentre::open(&ca_dir, "not the passphrase", db_url).await;
        let err = wrong.unwrap_err();
        assert!(is_wrong_passphrase(&err), "{err}");
        assert!(err.to_string().contains("wrong passphrase") && err.to_string().contains(CA_KEY_FILE), "{err}");
        let cc = CertificationCentre::open(&ca_dir, "passphrase!", db_url).await.unwrap();
        assert_eq!(cc.ca_cert_der(), ca_der.as_slice());
        assert_eq!(cc.list().await.unwrap().len(), 2, "reopening does not record the TSA twice");
        assert!(matches!(cc.status(&issued.serial_hex).await.unwrap(), CertStatus::Revoked { .. }));

        // OCSP and TSA answer through the register
        let req = egov_pki::ocsp::request(&[&issued.der], cc.ca_cert_der()).unwrap();
        let info =
            egov_pki::ocsp::verify_response(&cc.ocsp_response(&req).await, cc.ca_cert_der(), egov_pki::unix_now(), 60)
                .unwrap();
        assert!(matches!(info.status_of(&issued.der), Some(CertStatus::Revoked { .. })));
        assert_eq!(info.statuses[0].next_update, Some(info.statuses[0].this_update + DEFAULT_OCSP_VALIDITY_SECS));
        let digest = egov_pki::cert_sha256(b"log");
        let stamp = cc.timestamp(&egov_pki::tsp::request(&digest));
        let ts = egov_pki::tsp::verify(&stamp, &digest, cc.ca_cert_der()).unwrap();
        assert_eq!(ts.tsa_cert_der, cc.tsa_cert_der());
        cc.close().await;
    }

    #[tokio::test]
    async fn lifecycle_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        lifecycle(&egov_store::sqlite_url(&dir.path().join("ca.db"))).await;
    }

    #[tokio::test]
    async fn lifecycle_on_postgres() {
        let Some(url) = egov_store::test_postgres_url("ca_lifecycle").await else { return };
        lifecycle(&url).await;
        egov_store::drop_test_database(&url).await;
    }

    #[tokio::test]
    async fn create_refuses_bad_input_and_options_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let db = egov_store::sqlite_url(&dir.path().join("ca.db"));
        assert!(matches!(CertificationCentre::create(dir.path(), "AZ", "short", &db).await, Err(CaError::Invalid(_))));
        assert!(matches!(
            CertificationCentre::create(dir.path(), "A/Z", "long enough", &db).await,
            Err(CaError::Invalid(_))
        ));
        assert!(matches!(
            CertificationCentre::create(dir.path(), "AZ", "long enough", "mysql://x").await,
            Err(CaError::Store(_))
        ));
        assert!(!dir.path().join(CA_CERT_FILE).exists(), "nothing written on a bad database URL");
        let missing = CertificationCentre::open(&dir.path().join("nowhere"), "long enough", &db).await;
        assert!(matches!(&missing, Err(CaError::Io { path, .. }) if path.ends_with(CA_CERT_FILE)), "{missing:?}");

        let cc = CertificationCentre::create(dir.path(), "AZ", "long enough", &db).await.unwrap();
        let cc = cc.with_ocsp_validity(60).unwrap().with_tsa_policy("1.2.3.4").unwrap();
        assert_eq!(cc.ocsp_validity_secs(), 60);
        assert!(cc.with_tsa_policy("not.an.oid").is_err());
    }

    #[tokio::test]
    async fn hsm_seam_takes_keys_behind_the_trait() {
        let dir = tempfile::tempdir().unwrap();
        let db = egov_store::sqlite_url(&dir.path().join("ca.db"));
        let cc = CertificationCentre::create(&dir.path().join("c"), "AZ", "long enough", &db).await.unwrap();
        let ca_key = PrivateKey::from_encrypted_pem(
            &std::fs::read_to_string(dir.path().join("c").join(CA_KEY_FILE)).unwrap(),
            "long enough",
        )
        .unwrap();
        let tsa_key = PrivateKey::from_encrypted_pem(
            &std::fs::read_to_string(dir.path().join("c").join(TSA_KEY_FILE)).unwrap(),
            "long enough",
        )
        .unwrap();
        let (ca_der, tsa_der) = (cc.ca_cert_der().to_vec(), cc.tsa_cert_der().to_vec());
        cc.close().await;
        let hsm = CertificationCentre::with_keys(
            ca_der.clone(),
            Arc::new(ca_key.signer().unwrap()),
            tsa_der.clone(),
            Arc::new(tsa_key.signer().unwrap()),
            &db,
        )
        .await
        .unwrap();
        let profile = CertProfile::Sign("AZ/GOV/1400000001".parse().unwrap());
        let issued = hsm.issue(&csr(&profile), &profile, 30).await.unwrap();
        assert_eq!(hsm.status(&issued.serial_hex).await.unwrap(), CertStatus::Good);
        // the TSA key must be the TSA certificate's
        let swapped = CertificationCentre::with_keys(
            ca_der,
            Arc::new(ca_key.signer().unwrap()),
            tsa_der,
            Arc::new(ca_key.signer().unwrap()),
            &db,
        )
        .await;
        assert!(matches!(swapped, Err(CaError::Invalid(_))));
    }
}
