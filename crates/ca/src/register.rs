//! The register of issued certificates (SQLite or PostgreSQL): every certificate the
//! Certification Centre issues, and its revocation, which the OCSP responder answers from
//! (TT-2.3, P-4.1.8).

use egov_pki::ocsp::{CertStatus, RevocationReason};
use egov_store::{Database, Migrations};
use sqlx::Row;

use crate::CaError;

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The register's schema.
pub static MIGRATIONS: Migrations = Migrations { sqlite: &SQLITE, postgres: &POSTGRES };

/// One certificate in the register.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CertRecord {
    /// Serial number, lower-case hex without leading zero bytes.
    pub serial_hex: String,
    /// Profile kind: `auth`, `sign`, `tsa`, `ocsp`, …
    pub kind: String,
    /// The identity the certificate names (its common name).
    pub subject: String,
    /// Start of validity (Unix seconds).
    pub not_before: i64,
    /// End of validity (Unix seconds).
    pub not_after: i64,
    /// When it was issued (Unix seconds).
    pub issued_at: i64,
    /// Good or revoked (never unknown: it is in the register).
    pub status: CertStatus,
}

/// What the register stores about a newly issued certificate.
#[derive(Debug, Clone)]
pub(crate) struct NewCert<'a> {
    pub serial_hex: &'a str,
    pub kind: &'a str,
    pub subject: &'a str,
    pub not_before: i64,
    pub not_after: i64,
    pub der: &'a [u8],
    pub issued_at: i64,
}

/// The register (a database handle).
#[derive(Debug, Clone)]
pub struct Register {
    db: Database,
}

/// Normalises a serial number as typed by an operator: lower case, no `0x`, no colons or
/// spaces (as `openssl x509 -serial` or a certificate viewer print it), no leading zeros.
pub fn normalize_serial(serial: &str) -> Result<String, CaError> {
    let s = serial.trim();
    let s = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")).unwrap_or(s);
    let hex: String = s.chars().filter(|c| !matches!(c, ':' | ' ')).collect::<String>().to_ascii_lowercase();
    if hex.is_empty() || hex.len() > 42 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(CaError::Invalid(format!("'{serial}' is not a certificate serial number (hex)")));
    }
    let trimmed = hex.trim_start_matches('0');
    let mut out = if trimmed.is_empty() { "0".to_owned() } else { trimmed.to_owned() };
    if out.len() % 2 == 1 {
        out.insert(0, '0'); // whole bytes, as serial_hex writes them
    }
    Ok(out)
}

fn status_of(row: &sqlx::any::AnyRow) -> Result<CertStatus, CaError> {
    let status: String = row.try_get("status")?;
    Ok(match status.as_str() {
        "revoked" => CertStatus::Revoked {
            at: row.try_get::<Option<i64>, _>("revoked_at")?.unwrap_or_default(),
            reason: row
                .try_get::<Option<String>, _>("revocation_reason")?
                .and_then(|r| r.parse::<RevocationReason>().ok()),
        },
        _ => CertStatus::Good,
    })
}

impl Register {
    /// Opens the register at `url` (sqlite://FILE or postgres://…), creating and migrating
    /// the schema as needed.
    pub async fn open(url: &str) -> Result<Self, CaError> {
        Ok(Self { db: Database::open(url, &MIGRATIONS).await? })
    }

    /// The database.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Records a newly issued certificate; a serial number already present is left as it
    /// is (`false`).
    pub(crate) async fn insert(&self, cert: &NewCert<'_>) -> Result<bool, CaError> {
        let done = sqlx::query(
            "INSERT INTO issued_certificates (serial, kind, subject, not_before, not_after, der, issued_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (serial) DO NOTHING",
        )
        .bind(cert.serial_hex)
        .bind(cert.kind)
        .bind(cert.subject)
        .bind(cert.not_before)
        .bind(cert.not_after)
        .bind(cert.der.to_vec())
        .bind(cert.issued_at)
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Revokes a certificate at `at`. Unknown serial → [`CaError::NotFound`]; already
    /// revoked → [`CaError::Conflict`].
    pub async fn revoke(&self, serial: &str, reason: RevocationReason, at: i64) -> Result<(), CaError> {
        let serial = normalize_serial(serial)?;
        let mut tx = self.db.begin_write().await?;
        let row =
            sqlx::query("SELECT status, revoked_at, revocation_reason FROM issued_certificates WHERE serial = $1")
                .bind(&serial)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(row) = row else {
            return Err(CaError::NotFound(format!("no certificate with serial number {serial} was issued here")));
        };
        if let CertStatus::Revoked { at, reason } = status_of(&row)? {
            return Err(CaError::Conflict(format!(
                "certificate {serial} is already revoked (at {at}{})",
                reason.map(|r| format!(", {r}")).unwrap_or_default()
            )));
        }
        sqlx::query(
            "UPDATE issued_certificates SET status = 'revoked', revoked_at = $1, revocation_reason = $2 \
             WHERE serial = $3 AND status = 'good'",
        )
        .bind(at)
        .bind(reason.rfc_name())
        .bind(&serial)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The status of one certificate: [`CertStatus::Unknown`] when it is not in the register.
    pub async fn status(&self, serial: &str) -> Result<CertStatus, CaError> {
        let Ok(serial) = normalize_serial(serial) else { return Ok(CertStatus::Unknown) };
        let row =
            sqlx::query("SELECT status, revoked_at, revocation_reason FROM issued_certificates WHERE serial = $1")
                .bind(&serial)
                .fetch_optional(self.db.pool())
                .await?;
        match row {
            Some(row) => status_of(&row),
            None => Ok(CertStatus::Unknown),
        }
    }

    /// One certificate (DER), when issued here.
    pub async fn certificate(&self, serial: &str) -> Result<Option<Vec<u8>>, CaError> {
        let serial = normalize_serial(serial)?;
        let row = sqlx::query("SELECT der FROM issued_certificates WHERE serial = $1")
            .bind(&serial)
            .fetch_optional(self.db.pool())
            .await?;
        Ok(match row {
            Some(row) => Some(row.try_get::<Vec<u8>, _>("der")?),
            None => None,
        })
    }

    /// Every certificate, oldest first.
    pub async fn list(&self) -> Result<Vec<CertRecord>, CaError> {
        let rows = sqlx::query(
            "SELECT serial, kind, subject, not_before, not_after, issued_at, status, revoked_at, revocation_reason \
             FROM issued_certificates ORDER BY issued_at, serial",
        )
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(CertRecord {
                    serial_hex: row.try_get("serial")?,
                    kind: row.try_get("kind")?,
                    subject: row.try_get("subject")?,
                    not_before: row.try_get("not_before")?,
                    not_after: row.try_get("not_after")?,
                    issued_at: row.try_get("issued_at")?,
                    status: status_of(row)?,
                })
            })
            .collect()
    }

    /// Serial numbers of every revoked certificate (for trust stores and the directory).
    pub async fn revoked_serials(&self) -> Result<Vec<String>, CaError> {
        let rows = sqlx::query("SELECT serial FROM issued_certificates WHERE status = 'revoked' ORDER BY serial")
            .fetch_all(self.db.pool())
            .await?;
        rows.iter().map(|r| Ok(r.try_get::<String, _>(0)?)).collect()
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.db.close().await;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn serials_are_normalised() {
        assert_eq!(normalize_serial("0x0A:BC").unwrap(), "0abc");
        assert_eq!(normalize_serial(" 00FF ").unwrap(), "ff");
        assert_eq!(normalize_serial("5500cf0bb58147d2b0ed202190a73897").unwrap(), "5500cf0bb58147d2b0ed202190a73897");
        assert_eq!(normalize_serial("0").unwrap(), "00");
        assert!(matches!(normalize_serial(""), Err(CaError::Invalid(_))));
        assert!(matches!(normalize_serial("xyz"), Err(CaError::Invalid(_))));
        assert!(matches!(normalize_serial(&"a".repeat(43)), Err(CaError::Invalid(_))));
    }

    async fn exercise(url: &str) {
        let reg = Register::open(url).await.unwrap();
        let cert = |serial: &'static str| NewCert {
            serial_hex: serial,
            kind: "sign",
            subject: "AZ/GOV/1",
            not_before: 10,
            not_after: 20,
            der: b"\x30\x00",
            issued_at: 15,
        };
        assert!(reg.insert(&cert("0abc")).await.unwrap());
        assert!(!reg.insert(&cert("0abc")).await.unwrap(), "a serial is recorded once");
        assert!(reg.insert(&cert("ff01")).await.unwrap());
        assert_eq!(reg.status("0ABC").await.unwrap(), CertStatus::Good);
        assert_eq!(reg.status("beef").await.unwrap(), CertStatus::Unknown);
        assert_eq!(reg.status("not hex").await.unwrap(), CertStatus::Unknown);
        assert_eq!(reg.certificate("abc").await.unwrap(), Some(b"\x30\x00".to_vec()));
        assert_eq!(reg.certificate("beef").await.unwrap(), None);

        reg.revoke("0a:bc", RevocationReason::KeyCompromise, 17).await.unwrap();
        let revoked = CertStatus::Revoked { at: 17, reason: Some(RevocationReason::KeyCompromise) };
        assert_eq!(reg.status("abc").await.unwrap(), revoked);
        assert!(matches!(reg.revoke("0abc", RevocationReason::Superseded, 18).await, Err(CaError::Conflict(_))));
        assert!(matches!(reg.revoke("beef", RevocationReason::Superseded, 18).await, Err(CaError::NotFound(_))));
        assert_eq!(reg.revoked_serials().await.unwrap(), vec!["0abc".to_owned()]);
        let list = reg.list().await.unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].serial_hex, "0abc");
        assert_eq!(list[0].status, revoked);
        assert_eq!(
            (list[1].kind.as_str(), list[1].subject.as_str(), list[1].status),
            ("sign", "AZ/GOV/1", CertStatus::Good)
        );
        reg.close().await;
    }

    #[tokio::test]
    async fn register_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        exercise(&egov_store::sqlite_url(&dir.path().join("ca.db"))).await;
    }

    #[tokio::test]
    async fn register_on_postgres() {
        let Some(url) = egov_store::test_postgres_url("ca_register").await else { return };
        exercise(&url).await;
        egov_store::drop_test_database(&url).await;
    }
}
