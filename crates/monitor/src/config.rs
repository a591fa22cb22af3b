//! The station's configuration file (JSON).

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::MonitorError;

/// One security server to watch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerEntry {
    /// A short name shown on the dashboard.
    pub name: String,
    /// Base URL of its monitoring interface, e.g. `http://10.0.0.5:8091`.
    pub url: String,
    /// Its `monitor` token (`egov ss user add --role monitor`).
    pub token: String,
}

/// `monitor.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StationConfig {
    /// Where the dashboard listens.
    pub listen: SocketAddr,
    /// Database URL; default `monitor.db` beside the configuration file.
    #[serde(default)]
    pub database: Option<String>,
    /// Seconds between polls (default 10).
    #[serde(default = "default_poll")]
    pub poll_interval_secs: u64,
    /// Days before a certificate's expiry that it is flagged (default 30).
    #[serde(default = "default_warn_days")]
    pub certificate_warning_days: i64,
    /// The servers.
    pub servers: Vec<ServerEntry>,
    /// Directory of the configuration file (set when loaded).
    #[serde(skip)]
    pub base_dir: PathBuf,
}

fn default_poll() -> u64 {
    10
}

fn default_warn_days() -> i64 {
    30
}

impl StationConfig {
    /// Reads and checks `path`.
    pub fn load(path: &std::path::Path) -> Result<Self, MonitorError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| MonitorError::Config(format!("cannot read {}: {e}", path.display())))?;
        let mut config: StationConfig =
            serde_json::from_str(&text).map_err(|e| MonitorError::Config(format!("{}: {e}", path.display())))?;
        config.base_dir = path.parent().map(|p| p.to_owned()).unwrap_or_default();
        config.validate()?;
        Ok(config)
    }

    /// The database URL to use.
    pub fn database_url(&self) -> String {
        self.database.clone().unwrap_or_else(|| egov_store::sqlite_url(&self.base_dir.join("monitor.db")))
    }

    /// Checks every field, naming the first bad one.
    pub fn validate(&self) -> Result<(), MonitorError> {
        let bad = |m: String| Err(MonitorError::Config(m));
        if self.poll_interval_secs == 0 {
            return bad("poll_interval_secs must be at least 1".into());
        }
        if self.servers.is_empty() {
            return bad("servers: name at least one security server to watch".into());
        }
        for (i, s) in self.servers.iter().enumerate() {
            if s.name.trim().is_empty() || s.name.len() > 64 {
                return bad(format!("servers[{i}].name must be 1–64 characters"));
            }
            if self.servers[..i].iter().any(|o| o.name == s.name) {
                return bad(format!("servers[{i}].name {:?} is used twice", s.name));
            }
            let url =
                reqwest::Url::parse(&s.url).map_err(|e| MonitorError::Config(format!("servers[{i}].url: {e}")))?;
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                return bad(format!("servers[{i}].url must be an http(s) URL with a host, not {:?}", s.url));
            }
            if s.token.trim().is_empty() {
                return bad(format!("servers[{i}].token is empty (egov ss user add --role monitor prints one)"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> Result<StationConfig, MonitorError> {
        let c: StationConfig = serde_json::from_str(json).map_err(|e| MonitorError::Config(e.to_string()))?;
        c.validate().map(|_| c)
    }

    #[test]
    fn validation_names_the_field() {
        let ok = r#"{"listen":"127.0.0.1:0","servers":[{"name":"a","url":"http://127.0.0.1:1","token":"t"}]}"#;
        assert_eq!(config(ok).unwrap().poll_interval_secs, 10);
        let e = |j: &str| config(j).unwrap_err().to_string();
        assert!(e(r#"{"listen":"127.0.0.1:0","servers":[]}"#).contains("servers"));
        assert!(
            e(r#"{"listen":"127.0.0.1:0","servers":[{"name":"a","url":"ftp://x","token":"t"}]}"#)
                .contains("servers[0].url")
        );
        assert!(
            e(r#"{"listen":"127.0.0.1:0","servers":[{"name":"a","url":"http://x","token":" "}]}"#).contains("token")
        );
        assert!(e(r#"{"listen":"127.0.0.1:0","servers":[{"name":"a","url":"http://x","token":"t"},{"name":"a","url":"http://y","token":"t"}]}"#).contains("twice"));
        assert!(e(r#"{"listen":"127.0.0.1:0","servers":[],"extra":1}"#).contains("extra"));
    }
}
