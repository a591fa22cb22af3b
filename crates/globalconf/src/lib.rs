//! The federation directory every security server trusts: members and subsystems, security
//! servers with their addresses, registered authentication-certificate hashes and hosted
//! clients, the Certification Centre's certificates and revocations, and federation-wide
//! limits. It is the content of X-Road's global configuration (shared/reference/
//! xroad-protocol.md §7).
//!
//! The central server publishes it signed, with an expiry ([`signed`]); security servers
//! verify it against their configuration anchor before use and stop serving once it has
//! expired (TT-4.1.2, shared/reference/xroad-protocol.md §7). Lookups used on every message
//! are indexed.

#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

use std::collections::HashMap;
use std::path::Path;

use egov_xroad::{ClientId, SecurityServerId};
use serde::{Deserialize, Serialize};

pub mod signed;

pub use signed::{Anchor, SignedConf, VerificationKey};

/// Why a directory was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfError {
    /// The file could not be read.
    #[error("cannot read federation directory {path}: {source}")]
    Read {
        /// File path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The JSON is malformed or has invalid identifiers.
    #[error("federation directory is malformed: {0}")]
    Malformed(String),
    /// The content is inconsistent.
    #[error("federation directory is inconsistent: {0}")]
    Inconsistent(String),
    /// A signed configuration whose signature does not verify against the anchor.
    #[error("global configuration refused: {0}")]
    Signature(String),
    /// A signed configuration that has expired (or one older than the configuration in use).
    #[error("global configuration refused: {0}")]
    Outdated(String),
}

/// Federation-wide limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Largest SOAP request accepted from an information system, in bytes (TT-5.2: 10 KB).
    #[serde(default = "default_max_request_bytes")]
    pub max_request_bytes: usize,
    /// Time a provider's service has to answer, in milliseconds (TT-5.3: 2 s).
    #[serde(default = "default_service_timeout_ms")]
    pub service_timeout_ms: u64,
    /// Accepted clock difference between security servers for replay protection, seconds.
    #[serde(default = "default_replay_window_secs")]
    pub replay_window_secs: u64,
    /// How often security servers download the global configuration, seconds.
    #[serde(default = "default_conf_refresh_secs")]
    pub conf_refresh_secs: u64,
    /// Oldest OCSP response accepted for a peer's certificate, seconds (X-Road's
    /// `ocspFreshnessSeconds`).
    #[serde(default = "default_ocsp_freshness_secs")]
    pub ocsp_freshness_secs: u64,
    /// How often a security server fetches the OCSP status of its own certificates,
    /// seconds (X-Road's `ocspFetchInterval`).
    #[serde(default = "default_ocsp_refresh_secs")]
    pub ocsp_refresh_secs: u64,
}

fn default_max_request_bytes() -> usize {
    10 * 1024
}
fn default_service_timeout_ms() -> u64 {
    2_000
}
fn default_replay_window_secs() -> u64 {
    60
}
fn default_conf_refresh_secs() -> u64 {
    60
}
fn default_ocsp_freshness_secs() -> u64 {
    3_600
}
fn default_ocsp_refresh_secs() -> u64 {
    60
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_request_bytes: default_max_request_bytes(),
            service_timeout_ms: default_service_timeout_ms(),
            replay_window_secs: default_replay_window_secs(),
            conf_refresh_secs: default_conf_refresh_secs(),
            ocsp_freshness_secs: default_ocsp_freshness_secs(),
            ocsp_refresh_secs: default_ocsp_refresh_secs(),
        }
    }
}

/// A member of the federation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    /// `INSTANCE/CLASS/CODE`.
    pub id: ClientId,
    /// Official name.
    pub name: String,
    /// Subsystem codes.
    #[serde(default)]
    pub subsystems: Vec<String>,
    /// Blocked by the operator (TT-3.7): no security server exchanges messages for it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub blocked: bool,
}

/// A global group (X-Road's `globalGroup`), usable as a subject of access rights.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalGroup {
    /// Group code, e.g. `security-server-owners`.
    pub code: String,
    /// What the group is for.
    pub description: String,
    /// Members and subsystems in the group.
    #[serde(default)]
    pub members: Vec<ClientId>,
}

/// Where the operator's central services are reached.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CentralServices {
    /// OCSP responder of the Certification Centre.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocsp_url: Option<String>,
    /// Time-stamping authority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tsa_url: Option<String>,
    /// Where security servers report security incidents (TT-6.8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incidents_url: Option<String>,
}

/// A registered security server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityServer {
    /// `INSTANCE/CLASS/CODE/SERVER`.
    pub id: SecurityServerId,
    /// `host:port` where it accepts other security servers.
    pub address: String,
    /// SHA-256 (hex) of its registered authentication certificate.
    pub auth_cert_sha256: String,
    /// Members and subsystems it hosts.
    #[serde(default)]
    pub clients: Vec<ClientId>,
}

impl SecurityServer {
    /// The registered authentication certificate's SHA-256 (validated when the directory
    /// was built, so `None` only for an entry that never went through [`Directory::new`]).
    pub fn auth_cert_hash(&self) -> Option<[u8; 32]> {
        parse_hash(&self.auth_cert_sha256)
    }
}

/// The directory as published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalConf {
    /// Instance (federation) identifier, e.g. `AZ`.
    pub instance: String,
    /// `production`, or `test` for the test environment (TT-3.8) — a separate
    /// configuration a production server never accepts.
    #[serde(default = "default_environment")]
    pub environment: String,
    /// Generation number; a security server never goes back to an older one.
    #[serde(default)]
    pub serial: u64,
    /// When the central server generated it (Unix seconds).
    #[serde(default)]
    pub generated_at: i64,
    /// After this time (Unix seconds) security servers stop serving with
    /// `OutdatedGlobalConf`. `None` only for a directory built in-process (tests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// Trusted Certification Centre certificates (PEM).
    pub ca_certs_pem: Vec<String>,
    /// Revoked certificate serials (lower-case hex).
    #[serde(default)]
    pub revoked_serials: Vec<String>,
    /// Members.
    pub members: Vec<Member>,
    /// Security servers.
    pub security_servers: Vec<SecurityServer>,
    /// Global groups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub global_groups: Vec<GlobalGroup>,
    /// The operator's central services.
    #[serde(default)]
    pub services: CentralServices,
    /// Limits.
    #[serde(default)]
    pub limits: Limits,
}

fn default_environment() -> String {
    "production".into()
}

impl GlobalConf {
    /// An empty configuration of `instance` (production, never expiring) trusting `ca_certs_pem`.
    pub fn new(instance: &str, ca_certs_pem: Vec<String>) -> Self {
        Self {
            instance: instance.to_owned(),
            environment: default_environment(),
            serial: 0,
            generated_at: 0,
            expires_at: None,
            ca_certs_pem,
            revoked_serials: Vec::new(),
            members: Vec::new(),
            security_servers: Vec::new(),
            global_groups: Vec::new(),
            services: CentralServices::default(),
            limits: Limits::default(),
        }
    }
}

/// An indexed, validated [`GlobalConf`].
#[derive(Debug, Clone)]
pub struct Directory {
    conf: GlobalConf,
    ca_certs_der: Vec<Vec<u8>>,
    by_client: HashMap<ClientId, usize>,
    by_auth_hash: HashMap<[u8; 32], usize>,
    by_id: HashMap<SecurityServerId, usize>,
    blocked: std::collections::HashSet<ClientId>,
}

impl Directory {
    /// Validates and indexes `conf`.
    pub fn new(conf: GlobalConf) -> Result<Self, ConfError> {
        let mut ca_certs_der = Vec::new();
        for pem in &conf.ca_certs_pem {
            ca_certs_der.extend(
                egov_pki::from_pem("CERTIFICATE", pem)
                    .map_err(|e| ConfError::Malformed(format!("CA certificate: {e}")))?,
            );
        }
        if ca_certs_der.is_empty() {
            return Err(ConfError::Inconsistent("no Certification Centre certificate".into()));
        }
        let mut by_client = HashMap::new();
        let mut by_auth_hash = HashMap::new();
        let mut by_id = HashMap::new();
        for (i, ss) in conf.security_servers.iter().enumerate() {
            if ss.id.owner().instance() != conf.instance {
                return Err(ConfError::Inconsistent(format!(
                    "security server {} is not in instance {}",
                    ss.id, conf.instance
                )));
            }
            let hash = ss
                .auth_cert_hash()
                .ok_or_else(|| ConfError::Malformed(format!("auth_cert_sha256 of {} is not 64 hex digits", ss.id)))?;
            if by_auth_hash.insert(hash, i).is_some() {
                return Err(ConfError::Inconsistent(format!(
                    "authentication certificate of {} is registered twice",
                    ss.id
                )));
            }
            if by_id.insert(ss.id.clone(), i).is_some() {
                return Err(ConfError::Inconsistent(format!("security server {} is listed twice", ss.id)));
            }
            for client in &ss.clients {
                let member = conf.members.iter().find(|m| m.id == client.member_id());
                let known = match (member, client.subsystem_code()) {
                    (Some(m), Some(sub)) => m.subsystems.iter().any(|s| s == sub),
                    (Some(_), None) => true,
                    (None, _) => false,
                };
                if !known {
                    return Err(ConfError::Inconsistent(format!("{} hosts unknown client {client}", ss.id)));
                }
                // a client hosted by several servers: the first wins (no clustering yet)
                by_client.entry(client.clone()).or_insert(i);
            }
        }
        let blocked = conf.members.iter().filter(|m| m.blocked).map(|m| m.id.clone()).collect();
        Ok(Self { conf, ca_certs_der, by_client, by_auth_hash, by_id, blocked })
    }

    /// Reads and validates a JSON file.
    pub fn load(path: &Path) -> Result<Self, ConfError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfError::Read { path: path.display().to_string(), source })?;
        Self::from_json(&text)
    }

    /// Parses and validates JSON text.
    pub fn from_json(text: &str) -> Result<Self, ConfError> {
        let conf: GlobalConf = serde_json::from_str(text).map_err(|e| ConfError::Malformed(e.to_string()))?;
        Self::new(conf)
    }

    /// The published content.
    pub fn conf(&self) -> &GlobalConf {
        &self.conf
    }

    /// Trusted CA certificates (DER).
    pub fn ca_certs_der(&self) -> &[Vec<u8>] {
        &self.ca_certs_der
    }

    /// Federation-wide limits.
    pub fn limits(&self) -> &Limits {
        &self.conf.limits
    }

    /// Whether the configuration has expired at `now` (Unix seconds); a security server
    /// holding only an expired configuration refuses to exchange messages
    /// (`OutdatedGlobalConf`).
    pub fn expired_at(&self, now: i64) -> Option<i64> {
        self.conf.expires_at.filter(|at| now >= *at)
    }

    /// Whether `client`'s member is blocked by the operator (TT-3.7).
    pub fn is_blocked(&self, client: &ClientId) -> bool {
        self.blocked.contains(&client.member_id())
    }

    /// Whether `client` (or its member) belongs to global group `code`.
    pub fn in_global_group(&self, code: &str, client: &ClientId) -> bool {
        self.conf.global_groups.iter().any(|g| g.code == code && g.members.iter().any(|m| m == client))
    }

    /// The security server hosting `client`.
    pub fn server_of(&self, client: &ClientId) -> Option<&SecurityServer> {
        self.by_client.get(client).map(|i| &self.conf.security_servers[*i])
    }

    /// The security server whose registered authentication certificate has this hash.
    pub fn server_by_auth_cert(&self, sha256: &[u8; 32]) -> Option<&SecurityServer> {
        self.by_auth_hash.get(sha256).map(|i| &self.conf.security_servers[*i])
    }

    /// A security server by id.
    pub fn server(&self, id: &SecurityServerId) -> Option<&SecurityServer> {
        self.by_id.get(id).map(|i| &self.conf.security_servers[*i])
    }

    /// Whether `server` hosts `client` (X-Road's `authCertMatchesMember`).
    pub fn hosts(&self, server: &SecurityServerId, client: &ClientId) -> bool {
        self.server(server).is_some_and(|s| s.clients.contains(client))
    }

    /// A member's record.
    pub fn member(&self, member: &ClientId) -> Option<&Member> {
        let id = member.member_id();
        self.conf.members.iter().find(|m| m.id == id)
    }

    /// Every member and subsystem of the instance (for `listClients`).
    pub fn clients(&self) -> Vec<(ClientId, &str)> {
        let mut out = Vec::new();
        for m in &self.conf.members {
            out.push((m.id.clone(), m.name.as_str()));
            for s in &m.subsystems {
                if let Ok(id) = ClientId::subsystem(m.id.instance(), m.id.member_class(), m.id.member_code(), s) {
                    out.push((id, m.name.as_str()));
                }
            }
        }
        out
    }
}

/// Hex of a SHA-256 digest.
pub fn hash_hex(hash: &[u8; 32]) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

/// A SHA-256 digest from 64 hex digits.
pub fn parse_hash(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf() -> GlobalConf {
        let ca = egov_pki::CertificationAuthority::generate("AZ", "CA").unwrap();
        let mut conf = GlobalConf::new("AZ", vec![ca.certificate_pem()]);
        conf.members = vec![Member {
            id: "AZ/GOV/1".parse().unwrap(),
            name: "Ministry".into(),
            subsystems: vec!["reg".into()],
            blocked: false,
        }];
        conf.security_servers = vec![SecurityServer {
            id: "AZ/GOV/1/ss1".parse().unwrap(),
            address: "127.0.0.1:5500".into(),
            auth_cert_sha256: "ab".repeat(32),
            clients: vec!["AZ/GOV/1/reg".parse().unwrap()],
        }];
        conf
    }

    #[test]
    fn indexes_and_round_trips() {
        let d = Directory::new(conf()).unwrap();
        let client: ClientId = "AZ/GOV/1/reg".parse().unwrap();
        assert_eq!(d.server_of(&client).unwrap().address, "127.0.0.1:5500");
        assert!(d.server_by_auth_cert(&[0xab; 32]).is_some());
        assert_eq!(d.clients().len(), 2);
        let json = serde_json::to_string(d.conf()).unwrap();
        assert_eq!(Directory::from_json(&json).unwrap().conf(), d.conf());
    }

    #[test]
    fn refuses_inconsistent_content() {
        let mut c = conf();
        c.security_servers[0].clients.push("AZ/GOV/1/unknown".parse().unwrap());
        assert!(matches!(Directory::new(c), Err(ConfError::Inconsistent(_))));
        let mut c = conf();
        c.security_servers[0].auth_cert_sha256 = "zz".into();
        assert!(matches!(Directory::new(c), Err(ConfError::Malformed(_))));
        assert!(matches!(Directory::from_json("{\"instance\":1}"), Err(ConfError::Malformed(_))));
        assert!(
            matches!(Directory::from_json(r#"{"instance":"AZ","ca_certs_pem":[],"members":[],"security_servers":[],"bogus":1}"#), Err(ConfError::Malformed(m)) if m.contains("bogus"))
        );
    }
}
