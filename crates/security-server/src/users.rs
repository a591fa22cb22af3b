//! Who may read what on a security server besides the message path (TT-3.8.4, TT-2.7):
//! named holders of bearer tokens, each with one role. Only SHA-256 hashes of tokens are
//! stored (`users.json` in the server's directory); a token is shown once, when created.
//!
//! - `monitor`: operational and health data only (`/monitoring/v1/*`); never contents.
//! - `archive-reader`: the message log's contents (`/asic`); every read is itself logged.

use serde::{Deserialize, Serialize};

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
}
