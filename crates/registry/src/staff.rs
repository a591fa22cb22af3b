//! The operator's staff who decide registry applications in the back office. They
//! log in with a password and a one-time code from an authenticator app (TOTP, RFC 6238):
//! each code is accepted once, and five failed attempts lock the account for 15 minutes.
//! A refusal never says which of the three was wrong.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use sqlx::Row;
use totp_rs::{Algorithm, Secret, Totp};

use crate::RegistryError;
use crate::store::Registry;

/// Failed attempts before the account is locked.
pub const MAX_FAILURES: i32 = 5;
/// How long a locked account stays locked, in seconds.
pub const LOCK_SECS: i64 = 15 * 60;

/// What a new staff member receives, once.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The login.
    pub login: String,
    /// A generated password.
    pub password: String,
    /// The one-time-code secret (base32) for an authenticator app.
    pub totp_secret: String,
    /// The same as an `otpauth://` URL (for a QR code).
    pub otpauth_url: String,
}

/// A logged-in staff member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffMember {
    /// Login.
    pub login: String,
    /// Name.
    pub name: String,
}

/// Why a login was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    /// Wrong login, password or code (deliberately not saying which).
    #[error("the login, password or one-time code is wrong")]
    Wrong,
    /// Too many failures: locked until this Unix time.
    #[error("too many failed attempts: the account is locked for 15 minutes")]
    Locked(i64),
}

fn totp(secret_b32: &str, login: &str) -> Result<Totp, RegistryError> {
    let bytes = Secret::try_from_base32(secret_b32)
        .map_err(|_| RegistryError::Invalid("stored one-time-code secret is unreadable".into()))?;
    totp_rs::Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(bytes)
        .with_account_name(login)
        .with_issuer(Some("egov registry back office"))
        .build()
        .map_err(|e| RegistryError::Invalid(format!("one-time codes: {e}")))
}

fn random_password() -> Result<String, RegistryError> {
    let mut bytes = [0u8; 15];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| RegistryError::Invalid("no randomness".into()))?;
    use base64::Engine;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

impl Registry {
    /// Adds a staff member; returns the password and code secret to hand over, once.
    pub async fn add_staff(&self, login: &str, name: &str) -> Result<Credentials, RegistryError> {
        if login.is_empty()
            || login.len() > 64
            || !login.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            return Err(RegistryError::Invalid("login: 1–64 letters, digits, '.', '_' or '-'".into()));
        }
        if name.trim().is_empty() {
            return Err(RegistryError::Invalid("name is required".into()));
        }
        let password = random_password()?;
        let hash = Argon2::default()
            .hash_password(password.as_bytes())
            .map_err(|e| RegistryError::Invalid(format!("password hashing: {e}")))?
            .to_string();
        let secret = Secret::generate().to_base32();
        let otpauth_url = totp(&secret, login)?.to_url().map_err(|e| RegistryError::Invalid(e.to_string()))?;
        let mut tx = self.database().begin_write().await?;
        let added = sqlx::query(
            "INSERT INTO staff (login, name, password_hash, totp_secret) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(login)
        .bind(name.trim())
        .bind(&hash)
        .bind(&secret)
        .execute(&mut *tx)
        .await?;
        if added.rows_affected() == 0 {
            return Err(RegistryError::Conflict(format!("staff member {login} exists")));
        }
        tx.commit().await?;
        Ok(Credentials { login: login.to_owned(), password, totp_secret: secret, otpauth_url })
    }

    /// Checks a login at Unix time `now`: password (Argon2id) and a one-time code not used
    /// before. Failures count towards the lock; success resets them.
    pub async fn log_in(&self, login: &str, password: &str, code: &str, now: i64) -> Result<StaffMember, LoginError> {
        let failed = |reason: &str| {
            tracing::info!(login, reason, "back-office login refused");
            LoginError::Wrong
        };
        let row = sqlx::query(
            "SELECT name, password_hash, totp_secret, last_totp_step, failed_logins, locked_until FROM staff WHERE login = $1",
        )
        .bind(login)
        .fetch_optional(self.database().pool())
        .await
        .map_err(|_| failed("database"))?;
        let Some(row) = row else {
            // spend the same time as for a real account, so the answer says nothing
            let _ = Argon2::default().verify_password(password.as_bytes(), dummy_hash());
            return Err(failed("no such login"));
        };
        let get = |i| row.try_get::<i64, _>(i).map_err(|_| failed("row"));
        let (last_step, failures, locked_until) =
            (get(3)?, row.try_get::<i32, _>(4).map_err(|_| failed("row"))?, get(5)?);
        if locked_until > now {
            return Err(LoginError::Locked(locked_until));
        }
        let name: String = row.try_get(0).map_err(|_| failed("row"))?;
        let hash: String = row.try_get(1).map_err(|_| failed("row"))?;
        let secret: String = row.try_get(2).map_err(|_| failed("row"))?;
        let password_ok = Argon2::default().verify_password(password.as_bytes(), hash.as_str()).is_ok();
        let code = code.trim();
        let step = (code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()))
            .then(|| totp(&secret, login).ok().and_then(|t| t.check(code, now.max(0) as u64)))
            .flatten();
        match (password_ok, step) {
            (true, Some(step)) if step as i64 > last_step => {
                let _ = sqlx::query(
                    "UPDATE staff SET last_totp_step = $1, failed_logins = 0, locked_until = 0 WHERE login = $2",
                )
                .bind(step as i64)
                .bind(login)
                .execute(self.database().pool())
                .await;
                Ok(StaffMember { login: login.to_owned(), name })
            }
            _ => {
                let failures = failures + 1;
                let lock = if failures >= MAX_FAILURES { now + LOCK_SECS } else { 0 };
                let _ = sqlx::query("UPDATE staff SET failed_logins = $1, locked_until = $2 WHERE login = $3")
                    .bind(if lock > 0 { 0 } else { failures })
                    .bind(lock)
                    .bind(login)
                    .execute(self.database().pool())
                    .await;
                if lock > 0 { Err(LoginError::Locked(lock)) } else { Err(failed("password or code")) }
            }
        }
    }
}

/// A real Argon2id hash, verified against when the login does not exist.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        Argon2::default().hash_password(b"no such staff member").map(|h| h.to_string()).unwrap_or_default()
    })
}

/// The current one-time code for a secret (tests and the demo's helper).
pub fn current_code(secret_b32: &str, now: i64) -> Result<String, RegistryError> {
    Ok(totp(secret_b32, "code")?.generate(now.max(0) as u64).to_string())
}
