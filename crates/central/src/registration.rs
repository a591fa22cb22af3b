//! Security-server registration (TT-4.1.2, P-4.1.8).
//!
//! A new security server, installed with the configuration anchor, generates its
//! authentication and signing keys and submits certificate requests for them together with
//! its identity and address (`egov ss register`). The operator checks the request out of
//! band and approves it: the Certification Centre issues both certificates, the server and
//! its authentication-certificate hash enter the registry, and the next configuration
//! generation tells every other security server about it. The new server collects its
//! certificates with the request's identifier.

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
    /// Submission time (Unix seconds).
    pub submitted_at: i64,
    /// Decision time (Unix seconds).
    pub decided_at: Option<i64>,
}

fn decode_csr(what: &str, b64: &str) -> Result<Vec<u8>, CentralError> {
    STANDARD.decode(b64.trim()).map_err(|e| CentralError::Invalid(format!("{what}: not base64: {e}")))
}

impl CentralStore {
    /// Records a registration request after checking it: the owner is a registered, active
    /// member; the server is not registered yet and has no pending request; both
    /// certificate requests are self-signed and name the right identity.
    pub async fn submit_registration(&self, req: &RegistrationRequest) -> Result<RegistrationStatus, CentralError> {
        let server: SecurityServerId = req
            .server_id
            .parse()
            .map_err(|e| CentralError::Invalid(format!("security server '{}': {e}", req.server_id)))?;
        check_environment(&req.environment)?;
        check_address(&req.address)?;
        let auth_csr = decode_csr("authentication certificate request", &req.auth_csr)?;
        let sign_csr = decode_csr("signing certificate request", &req.sign_csr)?;
        egov_pki::csr::check_request(&auth_csr, &CertProfile::Auth(server.clone()))
            .map_err(|e| CentralError::Invalid(format!("authentication certificate request: {e}")))?;
        egov_pki::csr::check_request(&sign_csr, &CertProfile::Sign(server.owner().clone()))
            .map_err(|e| CentralError::Invalid(format!("signing certificate request: {e}")))?;
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
        .bind(now())
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
            "SELECT id, server_id, environment, address, state, reason, auth_cert, sign_cert, submitted_at, decided_at \
             FROM registration_requests WHERE ($1 IS NULL OR state = $1) AND ($2 IS NULL OR id = $2) \
             ORDER BY submitted_at DESC, id",
        )
        .bind(state)
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        let pem = |der: Option<Vec<u8>>| der.map(|d| egov_pki::to_pem("CERTIFICATE", &d));
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
        }
    }

    async fn exercise(store: CentralStore) {
        let issuer = TestIssuer(CertificationAuthority::generate("AZ", "CA").unwrap(), Default::default());
        store.add_member(&crate::registry::tests::ministry()).await.unwrap();
        // unknown owner, wrong identity in a CSR, garbage
        assert!(matches!(
            store.submit_registration(&request("AZ/GOV/1400000099/ss1")).await,
            Err(CentralError::NotFound(_))
        ));
        let mut wrong = request("AZ/GOV/1400000002/ss1");
        wrong.auth_csr = request("AZ/GOV/1400000002/ss2").auth_csr;
        assert!(matches!(store.submit_registration(&wrong).await, Err(CentralError::Invalid(m)) if m.contains("ss2")));
        let mut garbage = request("AZ/GOV/1400000002/ss1");
        garbage.sign_csr = "!!".into();
        assert!(matches!(store.submit_registration(&garbage).await, Err(CentralError::Invalid(_))));

        let pending = store.submit_registration(&request("AZ/GOV/1400000002/ss1")).await.unwrap();
        assert_eq!(pending.state, "pending");
        assert!(matches!(
            store.submit_registration(&request("AZ/GOV/1400000002/ss1")).await,
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
        assert!(matches!(
            store.submit_registration(&request("AZ/GOV/1400000002/ss1")).await,
            Err(CentralError::Conflict(m)) if m.contains("already registered")
        ));

        let second = store.submit_registration(&request("AZ/GOV/1400000002/ss2")).await.unwrap();
        assert!(store.refuse_registration(&second.id, " ").await.is_err());
        let refused = store.refuse_registration(&second.id, "address not reachable").await.unwrap();
        assert_eq!(refused.state, "refused");
        assert_eq!(store.registrations(Some("pending"), None).await.unwrap().len(), 0);

        // a blocked member cannot register servers
        store.set_member_state(&"AZ/GOV/1400000002".parse().unwrap(), "blocked", Some("TT-3.7")).await.unwrap();
        assert!(matches!(
            store.submit_registration(&request("AZ/GOV/1400000002/ss3")).await,
            Err(CentralError::Forbidden(_))
        ));
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
