//! Security-server registration (TT-4.1.2, P-4.1.8).
//!
//! A new security server, installed with the configuration anchor, generates its
//! authentication and signing keys and submits certificate requests for them together with
//! its identity and address (`egov ss register`). The operator checks the request out of
//! band and approves it: the Certification Centre issues both certificates, the server and
//! its authentication-certificate hash enter the registry, and the next configuration
//! generation tells every other security server about it. The new server collects its
//! certificates with the request's identifier.
//!
//! **Enrolment codes** (issue 13, item 5). The registration service is public, so without
//! more anyone could submit a request for an active member's server id with keys of their
//! own: the real agency would then be refused ("already pending"), and an approval would
//! hand the member's signing certificate to someone else. So when the operator adds a
//! member's security server, they issue a single-use **enrolment code** for that server id
//! ([`CentralStore::issue_enrolment_code`]), shown once and handed to the agency out of
//! band; only its SHA-256 is stored, with an expiry. A request must carry the code; a
//! request without a valid, unexpired, unused code for its server id is refused, and a
//! successful submission consumes the code. A refused request therefore needs a new code;
//! issuing a new code invalidates the old one. The operator's listing shows the fingerprints
//! of both requested keys ([`egov_pki::csr::key_fingerprint`]), which `egov ss register`
//! prints on the agency's side, so an approval is an informed one.

use std::future::Future;
use std::pin::Pin;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use egov_pki::CertProfile;
use egov_xroad::{ClientId, SecurityServerId};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::registry::{check_address, check_environment};
use crate::store::now;
use crate::{CentralError, CentralStore};

/// A boxed future (the issuer is used behind `dyn`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The Certification Centre as the central server uses it: issue from a request, and tell
/// which certificates are revoked (they go into the global configuration).
pub trait CertificateIssuer: Send + Sync + 'static {
    /// Issues a certificate for `profile` from a PKCS#10 request; returns the DER.
    fn issue<'a>(
        &'a self,
        csr_der: &'a [u8],
        profile: &'a CertProfile,
        days: i64,
    ) -> BoxFuture<'a, Result<Vec<u8>, CentralError>>;
    /// Revokes a certificate (RFC 5280 reason name, e.g. `keyCompromise`).
    fn revoke<'a>(&'a self, serial_hex: &'a str, reason: &'a str) -> BoxFuture<'a, Result<(), CentralError>>;
    /// Serials (lower-case hex) of revoked certificates.
    fn revoked_serials(&self) -> BoxFuture<'_, Result<Vec<String>, CentralError>>;
    /// The CA certificates (PEM) security servers trust.
    fn ca_certs_pem(&self) -> Vec<String>;
}

/// Validity of issued security-server certificates, days.
pub const CERT_VALIDITY_DAYS: i64 = 730;

/// How long an enrolment code stays valid unless the operator chooses otherwise, days:
/// time to hand it to the agency and set the server up.
pub const DEFAULT_ENROLMENT_DAYS: i64 = 7;

/// The longest validity the operator may give an enrolment code, days.
pub const MAX_ENROLMENT_DAYS: i64 = 90;

/// A fresh enrolment code for one security server id. The code itself exists only in this
/// answer (shown once to the operator); the central server keeps its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolmentCode {
    /// `INSTANCE/CLASS/CODE/SERVER`.
    pub server_id: String,
    /// The code: 128 random bits, hex in groups of four.
    pub code: String,
    /// Until when it can be used (Unix seconds).
    pub expires_at: i64,
}

/// SHA-256 (hex) of a code as the agency typed it: separators and blanks dropped, hex
/// digits in lower case, so `AB12-…` and `ab12 …` are the same code.
fn code_sha256(code: &str) -> String {
    let normal: String =
        code.chars().filter(|c| !c.is_whitespace() && *c != '-').map(|c| c.to_ascii_lowercase()).collect();
    egov_globalconf::hash_hex(&egov_pki::sha256(normal.as_bytes()))
}

/// What a new security server submits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrationRequest {
    /// `INSTANCE/CLASS/CODE/SERVER`.
    pub server_id: String,
    /// `production` (default) or `test`.
    #[serde(default = "production")]
    pub environment: String,
    /// `host:port` where it will accept other security servers.
    pub address: String,
    /// PKCS#10 request for the authentication key (DER, base64).
    pub auth_csr: String,
    /// PKCS#10 request for the owner's signing key (DER, base64).
    pub sign_csr: String,
    /// The enrolment code the operator issued for this server id. Optional in the format
    /// only so that its absence is refused with a message saying what is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrolment_code: Option<String>,
}

/// A registration request whose content checked out; what the registry then decides on.
#[derive(Debug, Clone)]
pub struct CheckedRegistration {
    /// The security server.
    pub server: SecurityServerId,
    /// PKCS#10 request for the authentication key (DER), self-signed, for `server`.
    pub auth_csr: Vec<u8>,
    /// PKCS#10 request for the signing key (DER), self-signed, for the owner.
    pub sign_csr: Vec<u8>,
    /// SHA-256 (hex) of the enrolment code given.
    pub code_sha256: String,
}

impl RegistrationRequest {
    /// Checks everything that does not need the registry: the server id, environment and
    /// address, both certificate requests (self-signed, for the right identity), and that an
    /// enrolment code is given. The fuzz target `registration_request` drives this.
    pub fn check(&self) -> Result<CheckedRegistration, CentralError> {
        let server: SecurityServerId = self
            .server_id
            .parse()
            .map_err(|e| CentralError::Invalid(format!("security server '{}': {e}", self.server_id)))?;
        check_environment(&self.environment)?;
        check_address(&self.address)?;
        let auth_csr = decode_csr("authentication certificate request", &self.auth_csr)?;
        let sign_csr = decode_csr("signing certificate request", &self.sign_csr)?;
        egov_pki::csr::check_request(&auth_csr, &CertProfile::Auth(server.clone()))
            .map_err(|e| CentralError::Invalid(format!("authentication certificate request: {e}")))?;
        egov_pki::csr::check_request(&sign_csr, &CertProfile::Sign(server.owner().clone()))
            .map_err(|e| CentralError::Invalid(format!("signing certificate request: {e}")))?;
        let code = self.enrolment_code.as_deref().map(str::trim).filter(|c| !c.is_empty()).ok_or_else(|| {
            CentralError::Forbidden(format!(
                "a registration request for {server} needs the enrolment code the operator issued for it \
                 (egov ss register --enrolment-code)"
            ))
        })?;
        Ok(CheckedRegistration { server, auth_csr, sign_csr, code_sha256: code_sha256(code) })
    }
}

fn production() -> String {
    "production".into()
}

/// A registration request and, once decided, its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationStatus {
    /// Request identifier.
    pub id: String,
    /// The security server.
    pub server_id: String,
    /// Environment.
    pub environment: String,
    /// Address.
    pub address: String,
    /// `pending`, `approved` or `refused`.
    pub state: String,
    /// Why it was refused.
    pub reason: Option<String>,
    /// Issued authentication certificate (PEM), once approved.
    pub auth_cert_pem: Option<String>,
    /// Issued signing certificate (PEM), once approved.
    pub sign_cert_pem: Option<String>,
    /// Fingerprint of the requested authentication key: SHA-256 of its SubjectPublicKeyInfo,
    /// hex pairs with colons (what `egov ss register` prints on the agency's side).
    pub auth_key_sha256: String,
    /// Fingerprint of the requested signing key, the same way.
    pub sign_key_sha256: String,
    /// Submission time (Unix seconds).
    pub submitted_at: i64,
    /// Decision time (Unix seconds).
    pub decided_at: Option<i64>,
}

fn decode_csr(what: &str, b64: &str) -> Result<Vec<u8>, CentralError> {
    STANDARD.decode(b64.trim()).map_err(|e| CentralError::Invalid(format!("{what}: not base64: {e}")))
}

impl CentralStore {
    /// Issues a fresh enrolment code for `server` (the operator adds a member's security
    /// server), valid for `valid_days`; a code issued before for the same id stops working.
    /// The owner must be an active member and the server not registered yet.
    pub async fn issue_enrolment_code(
        &self,
        server: &SecurityServerId,
        valid_days: i64,
    ) -> Result<EnrolmentCode, CentralError> {
        if !(1..=MAX_ENROLMENT_DAYS).contains(&valid_days) {
            return Err(CentralError::Invalid(format!(
                "enrolment code validity {valid_days} days: between 1 and {MAX_ENROLMENT_DAYS} days"
            )));
        }
        let owner = self.member(server.owner()).await?;
        if owner.state != "active" {
            return Err(CentralError::Forbidden(format!(
                "member {} is {}: it cannot register security servers",
                owner.id, owner.state
            )));
        }
        let random = egov_pki::random_bytes::<16>().map_err(|e| CentralError::Ca(e.to_string()))?;
        let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let code =
            hex.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join("-");
        let issued_at = now();
        let expires_at = issued_at + valid_days * 86_400;
        let mut tx = self.database().begin_write().await?;
        let registered = sqlx::query("SELECT 1 FROM security_servers WHERE id = $1")
            .bind(server.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        if registered.is_some() {
            return Err(CentralError::Conflict(format!("security server {server} is already registered")));
        }
        sqlx::query(
            "INSERT INTO enrolment_codes (server_id, code_sha256, issued_at, expires_at, used_at, used_by) \
             VALUES ($1, $2, $3, $4, NULL, NULL) ON CONFLICT (server_id) DO UPDATE SET \
             code_sha256 = excluded.code_sha256, issued_at = excluded.issued_at, expires_at = excluded.expires_at, \
             used_at = NULL, used_by = NULL",
        )
        .bind(server.to_string())
        .bind(code_sha256(&code))
        .bind(issued_at)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::info!(server = %server, expires_at, "enrolment code issued");
        Ok(EnrolmentCode { server_id: server.to_string(), code, expires_at })
    }

    /// Records a registration request after checking it: the owner is a registered, active
    /// member; the server is not registered yet and has no pending request; both
    /// certificate requests are self-signed and name the right identity; the request
    /// carries the valid, unexpired, unused enrolment code issued for this server id, which
    /// it consumes.
    pub async fn submit_registration(&self, req: &RegistrationRequest) -> Result<RegistrationStatus, CentralError> {
        let CheckedRegistration { server, auth_csr, sign_csr, code_sha256: given } = req.check()?;
        let owner = self.member(server.owner()).await?;
        if owner.state != "active" {
            return Err(CentralError::Forbidden(format!(
                "member {} is {}: it cannot register security servers",
                owner.id, owner.state
            )));
        }
        let id = uuid::Uuid::new_v4().to_string();
        let mut tx = self.database().begin_write().await?;
        let registered = sqlx::query("SELECT 1 FROM security_servers WHERE id = $1")
            .bind(server.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        if registered.is_some() {
            return Err(CentralError::Conflict(format!("security server {server} is already registered")));
        }
        let pending = sqlx::query("SELECT id FROM registration_requests WHERE server_id = $1 AND state = 'pending'")
            .bind(server.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(p) = pending {
            return Err(CentralError::Conflict(format!(
                "security server {server} already has a pending registration request {}",
                p.try_get::<String, _>(0)?
            )));
        }
        let submitted_at = now();
        consume_enrolment_code(&mut tx, &server, &given, &id, submitted_at).await?;
        sqlx::query(
            "INSERT INTO registration_requests (id, server_id, environment, address, auth_csr, sign_csr, state, submitted_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7)",
        )
        .bind(&id)
        .bind(server.to_string())
        .bind(&req.environment)
        .bind(&req.address)
        .bind(auth_csr)
        .bind(sign_csr)
        .bind(submitted_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::info!(request = %id, server = %server, "registration request submitted");
        self.registration(&id).await
    }

    /// One registration request.
    pub async fn registration(&self, id: &str) -> Result<RegistrationStatus, CentralError> {
        self.registrations(None, Some(id))
            .await?
            .pop()
            .ok_or_else(|| CentralError::NotFound(format!("no registration request {id}")))
    }

    /// Registration requests, newest first, optionally only those in `state`.
    pub async fn registrations(
        &self,
        state: Option<&str>,
        id: Option<&str>,
    ) -> Result<Vec<RegistrationStatus>, CentralError> {
        let rows = sqlx::query(
            "SELECT id, server_id, environment, address, state, reason, auth_cert, sign_cert, submitted_at, decided_at, \
             auth_csr, sign_csr \
             FROM registration_requests WHERE ($1 IS NULL OR state = $1) AND ($2 IS NULL OR id = $2) \
             ORDER BY submitted_at DESC, id",
        )
        .bind(state)
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        let pem = |der: Option<Vec<u8>>| der.map(|d| egov_pki::to_pem("CERTIFICATE", &d));
        // stored requests were checked at submission: a failure here is a damaged database
        let fingerprint = |csr: Vec<u8>| {
            egov_pki::csr::key_fingerprint(&csr).map_err(|e| CentralError::Invalid(format!("stored request: {e}")))
        };
        rows.into_iter()
            .map(|r| {
                Ok(RegistrationStatus {
                    id: r.try_get(0)?,
                    server_id: r.try_get(1)?,
                    environment: r.try_get(2)?,
                    address: r.try_get(3)?,
                    state: r.try_get(4)?,
                    reason: r.try_get(5)?,
                    auth_cert_pem: pem(r.try_get(6)?),
                    sign_cert_pem: pem(r.try_get(7)?),
                    auth_key_sha256: fingerprint(r.try_get(10)?)?,
                    sign_key_sha256: fingerprint(r.try_get(11)?)?,
                    submitted_at: r.try_get(8)?,
                    decided_at: r.try_get(9)?,
                })
            })
            .collect()
    }

    /// Approves a pending request: the Certification Centre issues both certificates and
    /// the server enters the registry, hosting its owner member.
    pub async fn approve_registration(
        &self,
        id: &str,
        issuer: &dyn CertificateIssuer,
    ) -> Result<RegistrationStatus, CentralError> {
        let row = sqlx::query(
            "SELECT server_id, environment, address, auth_csr, sign_csr, state FROM registration_requests WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| CentralError::NotFound(format!("no registration request {id}")))?;
        let state: String = row.try_get(5)?;
        if state != "pending" {
            return Err(CentralError::Conflict(format!("registration request {id} is already {state}")));
        }
        let server: SecurityServerId = row
            .try_get::<String, _>(0)?
            .parse()
            .map_err(|e| CentralError::Invalid(format!("stored server id: {e}")))?;
        let environment: String = row.try_get(1)?;
        let address: String = row.try_get(2)?;
        let owner = self.member(server.owner()).await?;
        if owner.state != "active" {
            return Err(CentralError::Forbidden(format!(
                "member {} is {} and cannot be approved",
                owner.id, owner.state
            )));
        }
        let auth_csr: Vec<u8> = row.try_get(3)?;
        let sign_csr: Vec<u8> = row.try_get(4)?;
        let auth_cert = issuer.issue(&auth_csr, &CertProfile::Auth(server.clone()), CERT_VALIDITY_DAYS).await?;
        let sign_cert = issuer.issue(&sign_csr, &CertProfile::Sign(server.owner().clone()), CERT_VALIDITY_DAYS).await?;
        let auth_hash = egov_globalconf::hash_hex(&egov_pki::cert_sha256(&auth_cert));

        let mut tx = self.database().begin_write().await?;
        // decided by someone else meanwhile? the state check and the update are one step
        let claimed = sqlx::query(
            "UPDATE registration_requests SET state = 'approved', auth_cert = $1, sign_cert = $2, decided_at = $3 \
             WHERE id = $4 AND state = 'pending'",
        )
        .bind(&auth_cert)
        .bind(&sign_cert)
        .bind(now())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if claimed.rows_affected() == 0 {
            return Err(CentralError::Conflict(format!("registration request {id} was decided meanwhile")));
        }
        sqlx::query(
            "INSERT INTO security_servers (id, owner_id, environment, address, auth_cert_sha256, auth_cert, registered_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(server.to_string())
        .bind(server.owner().to_string())
        .bind(&environment)
        .bind(&address)
        .bind(&auth_hash)
        .bind(&auth_cert)
        .bind(now())
        .execute(&mut *tx)
        .await
        .map_err(|e| match e {
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                CentralError::Conflict(format!("security server {server} or its certificate is already registered"))
            }
            other => other.into(),
        })?;
        let owner_id: ClientId = server.owner().clone();
        sqlx::query("INSERT INTO server_clients (server_id, client_id) VALUES ($1, $2)")
            .bind(server.to_string())
            .bind(owner_id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(request = %id, server = %server, "security server registered");
        self.registration(id).await
    }

    /// Refuses a pending request with the operator's reason.
    pub async fn refuse_registration(&self, id: &str, reason: &str) -> Result<RegistrationStatus, CentralError> {
        if reason.trim().is_empty() {
            return Err(CentralError::Invalid("a refusal needs a reason".into()));
        }
        let done = sqlx::query(
            "UPDATE registration_requests SET state = 'refused', reason = $1, decided_at = $2 WHERE id = $3 AND state = 'pending'",
        )
        .bind(reason.trim())
        .bind(now())
        .bind(id)
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 0 {
            let current = self.registration(id).await?;
            return Err(CentralError::Conflict(format!("registration request {id} is already {}", current.state)));
        }
        self.registration(id).await
    }
}

/// Checks the enrolment code given for `server` against the one issued and marks it used by
/// `request`, inside the submission's transaction (so two submissions cannot both use it).
/// A wrong code is refused before anything is said about the issued one.
async fn consume_enrolment_code(
    tx: &mut sqlx::AnyConnection,
    server: &SecurityServerId,
    given_sha256: &str,
    request: &str,
    now: i64,
) -> Result<(), CentralError> {
    let ask = "ask the operator for a new enrolment code";
    let issued = sqlx::query("SELECT code_sha256, expires_at, used_by FROM enrolment_codes WHERE server_id = $1")
        .bind(server.to_string())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| {
            CentralError::Forbidden(format!(
                "no enrolment code was issued for security server {server}: the operator issues one when adding \
                 the server (egov central servers add)"
            ))
        })?;
    let stored: String = issued.try_get(0)?;
    if !constant_time_eq(stored.as_bytes(), given_sha256.as_bytes()) {
        return Err(CentralError::Forbidden(format!("the enrolment code is not the one issued for {server}")));
    }
    if let Some(by) = issued.try_get::<Option<String>, _>(2)? {
        return Err(CentralError::Forbidden(format!(
            "the enrolment code for {server} was already used (registration request {by}): {ask}"
        )));
    }
    let expires_at: i64 = issued.try_get(1)?;
    if expires_at <= now {
        let until = time::OffsetDateTime::from_unix_timestamp(expires_at)
            .map(crate::lifecycle::timefmt::format_instant)
            .unwrap_or_else(|_| expires_at.to_string());
        return Err(CentralError::Forbidden(format!("the enrolment code for {server} expired at {until}: {ask}")));
    }
    let used = sqlx::query(
        "UPDATE enrolment_codes SET used_at = $1, used_by = $2 \
         WHERE server_id = $3 AND code_sha256 = $4 AND used_at IS NULL AND expires_at > $1",
    )
    .bind(now)
    .bind(request)
    .bind(server.to_string())
    .bind(given_sha256)
    .execute(&mut *tx)
    .await?;
    if used.rows_affected() != 1 {
        return Err(CentralError::Conflict(format!("the enrolment code for {server} was used meanwhile: {ask}")));
    }
    Ok(())
}

/// Compares without an early exit (the stored value is a hash, but it costs nothing).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use egov_pki::{CertificationAuthority, KeyAlgorithm, PrivateKey};

    /// An issuer over a bare CA, for tests.
    pub(crate) struct TestIssuer(pub CertificationAuthority, pub std::sync::Mutex<Vec<String>>);

    impl CertificateIssuer for TestIssuer {
        fn issue<'a>(
            &'a self,
            csr: &'a [u8],
            p: &'a CertProfile,
            days: i64,
        ) -> BoxFuture<'a, Result<Vec<u8>, CentralError>> {
            Box::pin(async move { self.0.issue(csr, p, days).map_err(|e| CentralError::Ca(e.to_string())) })
        }
        fn revoke<'a>(&'a self, serial: &'a str, _reason: &'a str) -> BoxFuture<'a, Result<(), CentralError>> {
            Box::pin(async move {
                self.1.lock().unwrap().push(serial.to_owned());
                Ok(())
            })
        }
        fn revoked_serials(&self) -> BoxFuture<'_, Result<Vec<String>, CentralError>> {
            Box::pin(async move { Ok(self.1.lock().unwrap().clone()) })
        }
        fn ca_certs_pem(&self) -> Vec<String> {
            vec![self.0.certificate_pem()]
        }
    }

    pub(crate) fn request(server: &str) -> RegistrationRequest {
        let id: SecurityServerId = server.parse().unwrap();
        let auth = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let sign = PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap();
        RegistrationRequest {
            server_id: server.into(),
            environment: "production".into(),
            address: "127.0.0.1:5500".into(),
            auth_csr: STANDARD.encode(auth.certificate_request(&CertProfile::Auth(id.clone())).unwrap()),
            sign_csr: STANDARD.encode(sign.certificate_request(&CertProfile::Sign(id.owner().clone())).unwrap()),
            enrolment_code: None,
        }
    }

    /// A request for `server` carrying a fresh enrolment code the operator issued for it.
    pub(crate) async fn enrolled(store: &CentralStore, server: &str) -> RegistrationRequest {
        let code = store.issue_enrolment_code(&server.parse().unwrap(), DEFAULT_ENROLMENT_DAYS).await.unwrap();
        RegistrationRequest { enrolment_code: Some(code.code), ..request(server) }
    }

    async fn exercise(store: CentralStore) {
        let issuer = TestIssuer(CertificationAuthority::generate("AZ", "CA").unwrap(), Default::default());
        store.add_member(&crate::registry::tests::ministry()).await.unwrap();
        // unknown owner, wrong identity in a CSR, garbage
        let mut unknown = request("AZ/GOV/1400000099/ss1");
        unknown.enrolment_code = Some("00".into());
        assert!(matches!(store.submit_registration(&unknown).await, Err(CentralError::NotFound(_))));
        let mut wrong = request("AZ/GOV/1400000002/ss1");
        wrong.auth_csr = request("AZ/GOV/1400000002/ss2").auth_csr;
        assert!(matches!(store.submit_registration(&wrong).await, Err(CentralError::Invalid(m)) if m.contains("ss2")));
        let mut garbage = request("AZ/GOV/1400000002/ss1");
        garbage.sign_csr = "!!".into();
        assert!(matches!(store.submit_registration(&garbage).await, Err(CentralError::Invalid(_))));

        let pending = store.submit_registration(&enrolled(&store, "AZ/GOV/1400000002/ss1").await).await.unwrap();
        assert_eq!(pending.state, "pending");
        assert!(matches!(
            store.submit_registration(&enrolled(&store, "AZ/GOV/1400000002/ss1").await).await,
            Err(CentralError::Conflict(m)) if m.contains("pending")
        ));
        let approved = store.approve_registration(&pending.id, &issuer).await.unwrap();
        assert_eq!(approved.state, "approved");
        let cert = egov_pki::from_pem("CERTIFICATE", approved.auth_cert_pem.as_deref().unwrap()).unwrap().remove(0);
        let servers = store.servers(Some("production")).await.unwrap();
        assert_eq!(servers.len(), 1);
        assert_eq!(servers[0].auth_cert_sha256, egov_globalconf::hash_hex(&egov_pki::cert_sha256(&cert)));
        assert_eq!(servers[0].clients, vec!["AZ/GOV/1400000002".parse().unwrap()]);
        assert!(matches!(store.approve_registration(&pending.id, &issuer).await, Err(CentralError::Conflict(_))));
        // a registered server gets no new code, and no second registration
        assert!(matches!(
            store.issue_enrolment_code(&"AZ/GOV/1400000002/ss1".parse().unwrap(), 7).await,
            Err(CentralError::Conflict(m)) if m.contains("already registered")
        ));
        let mut again = request("AZ/GOV/1400000002/ss1");
        again.enrolment_code = Some("00".into());
        assert!(matches!(
            store.submit_registration(&again).await,
            Err(CentralError::Conflict(m)) if m.contains("already registered")
        ));

        let second = store.submit_registration(&enrolled(&store, "AZ/GOV/1400000002/ss2").await).await.unwrap();
        assert!(store.refuse_registration(&second.id, " ").await.is_err());
        let refused = store.refuse_registration(&second.id, "address not reachable").await.unwrap();
        assert_eq!(refused.state, "refused");
        assert_eq!(store.registrations(Some("pending"), None).await.unwrap().len(), 0);
        // after a refusal the agency needs a new code: the one it had was consumed
        assert!(store.submit_registration(&enrolled(&store, "AZ/GOV/1400000002/ss2").await).await.is_ok());

        // a blocked member cannot register servers, nor be given codes
        store.set_member_state(&"AZ/GOV/1400000002".parse().unwrap(), "blocked", Some("TT-3.7")).await.unwrap();
        let mut blocked = request("AZ/GOV/1400000002/ss3");
        blocked.enrolment_code = Some("00".into());
        assert!(matches!(store.submit_registration(&blocked).await, Err(CentralError::Forbidden(_))));
        assert!(matches!(
            store.issue_enrolment_code(&"AZ/GOV/1400000002/ss3".parse().unwrap(), 7).await,
            Err(CentralError::Forbidden(_))
        ));
    }

    /// Issue 13, item 5: a request must carry the enrolment code issued for its server id;
    /// one without it, with a wrong one, a used one, an expired one or a replaced one is
    /// refused with a message saying which, and nothing is recorded; the right one works
    /// once. The listing shows both keys' fingerprints.
    async fn enrolment_codes(store: CentralStore) {
        store.add_member(&crate::registry::tests::ministry()).await.unwrap();
        let server = "AZ/GOV/1400000002/ss1";
        let id: SecurityServerId = server.parse().unwrap();
        let refused = |r: Result<RegistrationStatus, CentralError>, what: &str| match r {
            Err(CentralError::Forbidden(m)) => assert!(m.contains(what), "{m}"),
            other => panic!("expected a refusal naming '{what}', got {other:?}"),
        };
        // no code issued, none given
        refused(store.submit_registration(&request(server)).await, "needs the enrolment code");
        let mut blank = request(server);
        blank.enrolment_code = Some("  ".into());
        refused(store.submit_registration(&blank).await, "needs the enrolment code");
        let mut guessed = request(server);
        guessed.enrolment_code = Some("0000-0000".into());
        refused(store.submit_registration(&guessed).await, "no enrolment code was issued");
        // issued: validity bounds; the code is 128 bits, stored hashed
        assert!(matches!(store.issue_enrolment_code(&id, 0).await, Err(CentralError::Invalid(_))));
        assert!(matches!(store.issue_enrolment_code(&id, MAX_ENROLMENT_DAYS + 1).await, Err(CentralError::Invalid(_))));
        assert!(matches!(
            store.issue_enrolment_code(&"AZ/GOV/1400000099/ss1".parse().unwrap(), 7).await,
            Err(CentralError::NotFound(_))
        ));
        let first = store.issue_enrolment_code(&id, DEFAULT_ENROLMENT_DAYS).await.unwrap();
        assert_eq!(first.code.replace('-', "").len(), 32);
        assert!((first.expires_at - now() - 7 * 86_400).abs() < 60);
        let stored: Vec<String> =
            sqlx::query_scalar("SELECT code_sha256 FROM enrolment_codes").fetch_all(store.pool()).await.unwrap();
        assert_eq!(stored, vec![code_sha256(&first.code)]);
        assert!(!stored[0].contains(&first.code.replace('-', "")));
        // without the code, or with a wrong one
        refused(store.submit_registration(&request(server)).await, "needs the enrolment code");
        refused(store.submit_registration(&guessed).await, "not the one issued");
        // a fresh code replaces the old one
        let second = store.issue_enrolment_code(&id, DEFAULT_ENROLMENT_DAYS).await.unwrap();
        assert_ne!(first.code, second.code);
        let mut old = request(server);
        old.enrolment_code = Some(first.code.clone());
        refused(store.submit_registration(&old).await, "not the one issued");
        // expired
        sqlx::query("UPDATE enrolment_codes SET expires_at = $1").bind(now() - 1).execute(store.pool()).await.unwrap();
        let mut late = request(server);
        late.enrolment_code = Some(second.code.clone());
        refused(store.submit_registration(&late).await, "expired");
        assert!(store.registrations(None, None).await.unwrap().is_empty(), "a refused request was recorded");

        // the right code, typed in upper case without dashes: accepted, and consumed
        let third = store.issue_enrolment_code(&id, 1).await.unwrap();
        let good =
            RegistrationRequest { enrolment_code: Some(third.code.replace('-', "").to_uppercase()), ..request(server) };
        let pending = store.submit_registration(&good).await.unwrap();
        let listed = store.registrations(Some("pending"), None).await.unwrap();
        assert_eq!(listed.len(), 1);
        let fingerprint = |b64: &str| egov_pki::csr::key_fingerprint(&STANDARD.decode(b64).unwrap()).unwrap();
        assert_eq!(listed[0].auth_key_sha256, fingerprint(&good.auth_csr));
        assert_eq!(listed[0].sign_key_sha256, fingerprint(&good.sign_csr));
        assert_ne!(listed[0].auth_key_sha256, listed[0].sign_key_sha256);
        // used: refused even once the pending request is decided
        store.refuse_registration(&pending.id, "not ours").await.unwrap();
        let replay = RegistrationRequest { enrolment_code: Some(third.code.clone()), ..request(server) };
        refused(store.submit_registration(&replay).await, "already used");
        assert_eq!(store.registrations(None, None).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn enrolment_codes_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        enrolment_codes(CentralStore::open(&egov_store::sqlite_url(&dir.path().join("c.db"))).await.unwrap()).await;
    }

    #[tokio::test]
    async fn enrolment_codes_on_postgres() {
        let Some(url) = egov_store::test_postgres_url("central_enrolment").await else { return };
        let store = CentralStore::open(&url).await.unwrap();
        enrolment_codes(store.clone()).await;
        store.database().close().await;
        egov_store::drop_test_database(&url).await;
    }

    #[tokio::test]
    async fn registration_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        exercise(CentralStore::open(&egov_store::sqlite_url(&dir.path().join("c.db"))).await.unwrap()).await;
    }

    #[tokio::test]
    async fn registration_on_postgres() {
        let Some(url) = egov_store::test_postgres_url("central_registration").await else { return };
        let store = CentralStore::open(&url).await.unwrap();
        exercise(store.clone()).await;
        store.database().close().await;
        egov_store::drop_test_database(&url).await;
    }
}
