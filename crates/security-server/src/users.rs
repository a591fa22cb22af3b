//! Who may read what on a security server besides the message path (TT-3.8.4, TT-2.7):
//! named holders of bearer tokens, each with one role. Only SHA-256 hashes of tokens are
//! stored (`users.json` in the server's directory); a token is shown once, when created.
//!
//! - `monitor`: operational and health data only (`/monitoring/v1/*`); never contents.
//! - `archive-reader`: the message log's contents (`/asic`); every read is itself logged.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::shared::Shared;

/// How often a running server reads `users.json` again (a removed token is refused within
/// this, well inside five seconds).
pub const FOLLOW_INTERVAL: Duration = Duration::from_secs(1);

/// Where a server takes its token holders from.
#[derive(Debug, Clone)]
pub enum UsersSource {
    /// A fixed set (tests, and servers built in-process).
    Fixed(Users),
    /// A `users.json` file, read at start and followed while the server runs.
    File(PathBuf),
}

impl UsersSource {
    /// The holders now.
    pub fn load(&self) -> Result<Users, String> {
        match self {
            UsersSource::Fixed(users) => Ok(users.clone()),
            UsersSource::File(path) => Users::load(path),
        }
    }
}

/// Reads `path` every `interval` and swaps the holders in `current` when it changed. A file
/// that cannot be read or parsed leaves no token valid (logged as an error): a removal must
/// never be missed because the file was damaged. Runs until aborted.
pub async fn follow(current: Shared<Users>, path: PathBuf, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    loop {
        ticker.tick().await;
        let next = Users::load(&path).unwrap_or_else(|e| {
            tracing::error!(error = %e, "token holders unreadable: every monitoring and archive token is refused");
            Users::default()
        });
        if *current.get() != next {
            tracing::info!(holders = next.users.len(), file = %path.display(), "token holders reloaded");
            current.set(next);
        }
    }
}

/// A role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Reads monitoring data.
    Monitor,
    /// Reads the message log.
    ArchiveReader,
}

impl Role {
    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Monitor => "monitor",
            Role::ArchiveReader => "archive-reader",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "monitor" => Ok(Role::Monitor),
            "archive-reader" => Ok(Role::ArchiveReader),
            other => Err(format!("unknown role {other:?}: use monitor or archive-reader")),
        }
    }
}

/// One token holder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// Name shown in the read log.
    pub name: String,
    /// The role.
    pub role: Role,
    /// SHA-256 of the token, hex.
    pub token_sha256: String,
}

/// Every token holder of a server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Users {
    /// The holders.
    pub users: Vec<User>,
}

/// Why a caller was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// No or unknown token: HTTP 401.
    Unauthenticated(String),
    /// Known token, other role: HTTP 403.
    Forbidden(String),
}

fn sha256_hex(token: &str) -> String {
    egov_globalconf::hash_hex(&egov_pki::xades::sha256(token.as_bytes()))
}

impl Users {
    /// The holders in the JSON file `path`; none when it does not exist.
    pub fn load(path: &Path) -> Result<Users, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Users::default()),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// Adds a holder with a new random token; returns the token (shown once).
    pub fn add(&mut self, name: &str, role: Role) -> Result<String, String> {
        if name.trim().is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
            return Err("a user name must be 1–100 printable characters".into());
        }
        if self.users.iter().any(|u| u.name == name) {
            return Err(format!("user {name:?} already exists"));
        }
        let mut raw = [0u8; 32];
        aws_lc_rs::rand::fill(&mut raw).map_err(|_| "no randomness for a token".to_owned())?;
        let token = egov_globalconf::hash_hex(&raw);
        self.users.push(User { name: name.to_owned(), role, token_sha256: sha256_hex(&token) });
        Ok(token)
    }

    /// Removes a holder.
    pub fn remove(&mut self, name: &str) -> Result<(), String> {
        let before = self.users.len();
        self.users.retain(|u| u.name != name);
        if self.users.len() == before { Err(format!("no user {name:?}")) } else { Ok(()) }
    }

    /// The holder of the bearer token in `authorization` if it has `role`.
    pub fn authorize(&self, authorization: Option<&str>, role: Role) -> Result<&User, Denied> {
        let token = authorization
            .and_then(|a| a.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Denied::Unauthenticated("send 'Authorization: Bearer <token>'".into()))?;
        let hash = sha256_hex(token);
        let user = self
            .users
            .iter()
            .find(|u| u.token_sha256 == hash)
            .ok_or_else(|| Denied::Unauthenticated("unknown token".into()))?;
        if user.role != role {
            return Err(Denied::Forbidden(format!(
                "{} has the role {}, this needs {}",
                user.name,
                user.role.as_str(),
                role.as_str()
            )));
        }
        Ok(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_grant_only_their_role() {
        let mut users = Users::default();
        let monitor = users.add("station", Role::Monitor).unwrap();
        let auditor = users.add("auditor", Role::ArchiveReader).unwrap();
        assert!(users.add("station", Role::Monitor).is_err());
        let bearer = |t: &str| format!("Bearer {t}");
        assert_eq!(users.authorize(Some(&bearer(&monitor)), Role::Monitor).unwrap().name, "station");
        assert!(matches!(users.authorize(Some(&bearer(&monitor)), Role::ArchiveReader), Err(Denied::Forbidden(_))));
        assert_eq!(users.authorize(Some(&bearer(&auditor)), Role::ArchiveReader).unwrap().name, "auditor");
        assert!(matches!(users.authorize(Some("Bearer nope"), Role::Monitor), Err(Denied::Unauthenticated(_))));
        assert!(matches!(users.authorize(None, Role::Monitor), Err(Denied::Unauthenticated(_))));
        assert!(!serde_json::to_string(&users).unwrap().contains(&monitor), "tokens are not stored");
    }

    /// Issue 13, item 9: a holder removed from the file loses access while the server runs;
    /// a damaged file leaves nobody in.
    #[tokio::test]
    async fn a_followed_file_takes_removals_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.json");
        let mut users = Users::default();
        let token = users.add("auditor", Role::ArchiveReader).unwrap();
        std::fs::write(&path, serde_json::to_string(&users).unwrap()).unwrap();
        let current = Shared::new(UsersSource::File(path.clone()).load().unwrap());
        let task = tokio::spawn(follow(current.clone(), path.clone(), Duration::from_millis(20)));
        let bearer = format!("Bearer {token}");
        assert!(current.get().authorize(Some(&bearer), Role::ArchiveReader).is_ok());
        users.remove("auditor").unwrap();
        std::fs::write(&path, serde_json::to_string(&users).unwrap()).unwrap();
        let refused = async {
            while current.get().authorize(Some(&bearer), Role::ArchiveReader).is_ok() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(2), refused).await.expect("the removal was not picked up");
        // a holder added back, then a damaged file: nobody
        let token = users.add("auditor", Role::ArchiveReader).unwrap();
        std::fs::write(&path, serde_json::to_string(&users).unwrap()).unwrap();
        let bearer = format!("Bearer {token}");
        tokio::time::timeout(Duration::from_secs(2), async {
            while current.get().authorize(Some(&bearer), Role::ArchiveReader).is_err() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .unwrap();
        std::fs::write(&path, "{ not json").unwrap();
        tokio::time::timeout(Duration::from_secs(2), async {
            while current.get().authorize(Some(&bearer), Role::ArchiveReader).is_ok() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .unwrap();
        task.abort();
    }
}
