//! The operator's staff who decide registry applications in the back office. They
//! log in with a password and a one-time code from an authenticator app (TOTP, RFC 6238):
//! each code is accepted once (RFC 6238 §5.2) — the step is claimed by one conditional
//! UPDATE, so two concurrent logins with the same code cannot both win. A refusal never says
//! which of the three was wrong. Failed attempts are counted exactly (one atomic UPDATE …
//! RETURNING) for the operator's log; slowing down guessing is the portal's throttle, per
//! source and account, not a lock on the account that anyone could trigger (issue 13,
//! item 13).
//!
//! The one-time-code secrets are sealed at rest (AES-256-GCM, the login as associated data)
//! under a [`StaffKey`] kept in the portal's data directory, not in the database: a copy of
//! the database alone does not give anyone the codes (issue 13, item 10).

use std::io::Write;
use std::path::{Path, PathBuf};

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine;
use sqlx::Row;
use totp_rs::{Algorithm, Secret, Totp};

use crate::RegistryError;
use crate::store::Registry;

/// Failed attempts since the last success from which each further one is logged as a
/// warning (someone may be guessing; the portal's throttle slows them down).
pub const WARN_FAILURES: i32 = 5;

/// The key file's name in the data directory.
pub const KEY_FILE: &str = "staff-codes.key";

/// How a sealed secret starts in the `totp_secret` column (anything else is a secret an
/// older version stored in clear, sealed by [`Registry::seal_clear_secrets`]).
const SEALED: &str = "sealed:v1:";

/// The key that seals the staff's one-time-code secrets at rest. Staff operations take it
/// as an argument, so none can read or write a secret without it.
pub struct StaffKey {
    key: LessSafeKey,
    path: PathBuf,
}

impl std::fmt::Debug for StaffKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // never the key itself
        f.debug_struct("StaffKey").field("path", &self.path).finish_non_exhaustive()
    }
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

impl StaffKey {
    /// The key in `dir/staff-codes.key`, made (32 random bytes, mode 0600 from creation —
    /// never written first and chmod'ed after) when there is none. An existing key file that
    /// others may read is refused: the secrets are only as private as this file.
    pub fn open_or_create(dir: &Path) -> Result<Self, RegistryError> {
        let path = dir.join(KEY_FILE);
        let invalid = |what: String| RegistryError::Invalid(format!("{}: {what}", path.display()));
        match std::fs::read(&path) {
            Ok(text) => return Self::from_file(path.clone(), &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(invalid(format!("cannot read the staff-code key: {e}"))),
        }
        std::fs::create_dir_all(dir).map_err(|e| invalid(format!("cannot create its directory: {e}")))?;
        let mut bytes = [0u8; 32];
        aws_lc_rs::rand::fill(&mut bytes).map_err(|_| invalid("no randomness for a key".into()))?;
        // written whole under a temporary name, then linked into place: a second process
        // starting at the same moment reads either no key or the whole key, and the first
        // link wins
        let temp = dir.join(format!(".{KEY_FILE}.{}.tmp", std::process::id()));
        let written = (|| {
            let mut file = private_file(&temp)?;
            file.write_all(format!("{}\n", b64().encode(bytes)).as_bytes())?;
            file.sync_all()?;
            match std::fs::hard_link(&temp, &path) {
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
                other => other,
            }
        })();
        let _ = std::fs::remove_file(&temp);
        written.map_err(|e| invalid(format!("cannot write the staff-code key: {e}")))?;
        let text = std::fs::read(&path).map_err(|e| invalid(format!("cannot read the staff-code key: {e}")))?;
        Self::from_file(path, &text)
    }

    fn from_file(path: PathBuf, text: &[u8]) -> Result<Self, RegistryError> {
        let invalid = |what: &str| RegistryError::Invalid(format!("{}: {what}", path.display()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).map_err(|e| invalid(&e.to_string()))?.permissions().mode();
            if mode & 0o077 != 0 {
                return Err(invalid(&format!(
                    "the staff-code key is readable by others (mode {:o}); make it 0600",
                    mode & 0o777
                )));
            }
        }
        let bytes = std::str::from_utf8(text)
            .ok()
            .and_then(|t| b64().decode(t.trim()).ok())
            .filter(|b| b.len() == 32)
            .ok_or_else(|| invalid("not a staff-code key (32 bytes, base64)"))?;
        let key = UnboundKey::new(&AES_256_GCM, &bytes).map_err(|_| invalid("not an AES-256 key"))?;
        Ok(Self { key: LessSafeKey::new(key), path })
    }

    /// Seals `secret` for `login` (the login is bound in, so a sealed secret copied to
    /// another row does not open).
    fn seal(&self, login: &str, secret: &str) -> Result<String, RegistryError> {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| RegistryError::Invalid("no randomness".into()))?;
        let mut buf = secret.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(login.as_bytes()), &mut buf)
            .map_err(|_| RegistryError::Invalid("the one-time-code secret cannot be sealed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(format!("{SEALED}{}", b64().encode(out)))
    }

    /// Opens what [`StaffKey::seal`] sealed for `login`.
    fn open(&self, login: &str, sealed: &str) -> Result<String, RegistryError> {
        let unreadable = || {
            RegistryError::Invalid(format!(
                "the one-time-code secret of {login} does not open with {} (another portal's key?)",
                self.path.display()
            ))
        };
        let bytes = sealed.strip_prefix(SEALED).and_then(|s| b64().decode(s).ok()).ok_or_else(unreadable)?;
        if bytes.len() < NONCE_LEN {
            return Err(unreadable());
        }
        let (nonce, body) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| unreadable())?;
        let mut buf = body.to_vec();
        let plain = self.key.open_in_place(nonce, Aad::from(login.as_bytes()), &mut buf).map_err(|_| unreadable())?;
        String::from_utf8(plain.to_vec()).map_err(|_| unreadable())
    }
}

/// Creates `path` for writing with mode 0600 from the start (it must not exist).
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

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
    /// Wrong login, password or code, or a code already used (deliberately not saying which).
    #[error("the login, password or one-time code is wrong")]
    Wrong,
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
    /// Adds a staff member; returns the password and code secret to hand over, once. The
    /// secret is stored sealed under `key`.
    pub async fn add_staff(&self, key: &StaffKey, login: &str, name: &str) -> Result<Credentials, RegistryError> {
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
        let sealed = key.seal(login, &secret)?;
        let mut tx = self.database().begin_write().await?;
        let added = sqlx::query(
            "INSERT INTO staff (login, name, password_hash, totp_secret) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(login)
        .bind(name.trim())
        .bind(&hash)
        .bind(&sealed)
        .execute(&mut *tx)
        .await?;
        if added.rows_affected() == 0 {
            return Err(RegistryError::Conflict(format!("staff member {login} exists")));
        }
        tx.commit().await?;
        Ok(Credentials { login: login.to_owned(), password, totp_secret: secret, otpauth_url })
    }

    /// Seals, under `key`, the one-time-code secrets an older version stored in clear (the
    /// portal does this when it starts); returns how many.
    pub async fn seal_clear_secrets(&self, key: &StaffKey) -> Result<usize, RegistryError> {
        let mut tx = self.database().begin_write().await?;
        let rows = sqlx::query("SELECT login, totp_secret FROM staff").fetch_all(&mut *tx).await?;
        let mut sealed = 0;
        for row in rows {
            let (login, secret): (String, String) = (row.try_get(0)?, row.try_get(1)?);
            if secret.starts_with(SEALED) {
                continue;
            }
            sqlx::query("UPDATE staff SET totp_secret = $1 WHERE login = $2 AND totp_secret = $3")
                .bind(key.seal(&login, &secret)?)
                .bind(&login)
                .bind(&secret)
                .execute(&mut *tx)
                .await?;
            sealed += 1;
        }
        tx.commit().await?;
        Ok(sealed)
    }

    /// Failed logins of `login` since its last successful one (`None`: no such login).
    pub async fn failed_logins(&self, login: &str) -> Result<Option<i64>, RegistryError> {
        let row = sqlx::query("SELECT failed_logins FROM staff WHERE login = $1")
            .bind(login)
            .fetch_optional(self.database().pool())
            .await?;
        Ok(match row {
            Some(r) => Some(i64::from(r.try_get::<i32, _>(0)?)),
            None => None,
        })
    }

    /// Checks a login at Unix time `now`: password (Argon2id) and a one-time code not used
    /// before. A failure is counted; success resets the count. Throttling repeated attempts
    /// is the caller's (the portal's per-source throttle), so that a stranger's guesses
    /// cannot lock the real member out.
    pub async fn log_in(
        &self,
        key: &StaffKey,
        login: &str,
        password: &str,
        code: &str,
        now: i64,
    ) -> Result<StaffMember, LoginError> {
        let failed = |reason: &str| {
            tracing::info!(login, reason, "back-office login refused");
            LoginError::Wrong
        };
        let row = sqlx::query("SELECT name, password_hash, totp_secret FROM staff WHERE login = $1")
            .bind(login)
            .fetch_optional(self.database().pool())
            .await
            .map_err(|_| failed("database"))?;
        let Some(row) = row else {
            // spend the same time as for a real account, so the answer says nothing
            let _ = verify_password(password, dummy_hash().to_owned()).await;
            return Err(failed("no such login"));
        };
        let name: String = row.try_get(0).map_err(|_| failed("row"))?;
        let hash: String = row.try_get(1).map_err(|_| failed("row"))?;
        let sealed: String = row.try_get(2).map_err(|_| failed("row"))?;
        let secret = key.open(login, &sealed).map_err(|e| {
            tracing::error!(error = %e, "a one-time-code secret does not open");
            LoginError::Wrong
        })?;
        let password_ok = verify_password(password, hash).await;
        let code = code.trim();
        let step = (code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()))
            .then(|| totp(&secret, login).ok().and_then(|t| t.check(code, now.max(0) as u64)))
            .flatten()
            .and_then(|s| i64::try_from(s).ok());
        if let (true, Some(step)) = (password_ok, step) {
            // the step is claimed by this one statement: of two logins with the same code at
            // the same moment, exactly one changes the row (RFC 6238 §5.2)
            let claimed = sqlx::query(
                "UPDATE staff SET last_totp_step = $1, failed_logins = 0 WHERE login = $2 AND last_totp_step < $1",
            )
            .bind(step)
            .bind(login)
            .execute(self.database().pool())
            .await
            .map_err(|_| failed("database"))?;
            if claimed.rows_affected() == 1 {
                return Ok(StaffMember { login: login.to_owned(), name });
            }
        }
        // counted by the database itself, so parallel failures are each counted once
        let failures: Result<Option<i32>, _> = sqlx::query_scalar(
            "UPDATE staff SET failed_logins = failed_logins + 1 WHERE login = $1 RETURNING failed_logins",
        )
        .bind(login)
        .fetch_optional(self.database().pool())
        .await;
        match failures {
            Ok(Some(n)) if n >= WARN_FAILURES => {
                tracing::warn!(login, failures = n, "repeated failed back-office logins since the last success");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(login, error = %e, "a failed back-office login could not be counted"),
        }
        Err(failed(if password_ok && step.is_some() { "code already used" } else { "password or code" }))
    }
}

/// Checks `password` against an Argon2id PHC string on a blocking thread: a verification
/// takes a while by design, and logins arriving together must not stall the async workers
/// (nor the database connections they hold).
async fn verify_password(password: &str, hash: String) -> bool {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || Argon2::default().verify_password(password.as_bytes(), hash.as_str()).is_ok())
        .await
        .unwrap_or(false)
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
