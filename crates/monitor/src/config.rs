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

/// What each field of the file must be, for errors that name the field (serde's own type
/// errors give only a line and column).
fn check_shape(value: &serde_json::Value) -> Result<(), String> {
    use serde_json::Value;
    let Value::Object(top) = value else { return Err("the file must hold one JSON object".into()) };
    match top.get("listen") {
        None => return Err("listen is missing (e.g. \"127.0.0.1:4500\")".into()),
        Some(Value::String(s)) if s.parse::<SocketAddr>().is_ok() => {}
        Some(v) => return Err(format!("listen must be \"IP:PORT\" (e.g. \"127.0.0.1:4500\"), not {v}")),
    }
    match top.get("database") {
        None | Some(Value::Null | Value::String(_)) => {}
        Some(v) => return Err(format!("database must be a database URL string, not {v}")),
    }
    for field in ["poll_interval_secs", "certificate_warning_days"] {
        match top.get(field) {
            None => {}
            Some(v) if v.is_u64() => {}
            Some(v) => return Err(format!("{field} must be a whole number, not {v}")),
        }
    }
    let Some(servers) = top.get("servers") else {
        return Err("servers is missing: list the security servers to watch as [{name, url, token}]".into());
    };
    let Value::Array(servers) = servers else { return Err(format!("servers must be a list, not {servers}")) };
    for (i, server) in servers.iter().enumerate() {
        let Value::Object(fields) = server else {
            return Err(format!("servers[{i}] must be an object {{name, url, token}}, not {server}"));
        };
        for field in ["name", "url", "token"] {
            match fields.get(field) {
                Some(Value::String(_)) => {}
                None => return Err(format!("servers[{i}].{field} is missing")),
                Some(_) => return Err(format!("servers[{i}].{field} must be a string")),
            }
        }
    }
    Ok(())
}

impl StationConfig {
    /// Reads and checks `path`; the default database is `monitor.db` beside it.
    pub fn load(path: &std::path::Path) -> Result<Self, MonitorError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| MonitorError::Config(format!("cannot read {}: {e}", path.display())))?;
        let base_dir = path.parent().map(|p| p.to_owned()).unwrap_or_default();
        Self::from_json(&text, base_dir).map_err(|e| match e {
            MonitorError::Config(m) => MonitorError::Config(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    /// Parses and checks a configuration; `base_dir` is where the default database goes.
    pub fn from_json(text: &str, base_dir: PathBuf) -> Result<Self, MonitorError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| MonitorError::Config(format!("not JSON: {e}")))?;
        check_shape(&value).map_err(MonitorError::Config)?;
        let mut config: StationConfig =
            serde_json::from_value(value).map_err(|e| MonitorError::Config(e.to_string()))?;
        config.base_dir = base_dir;
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
        if self.poll_interval_secs == 0 || self.poll_interval_secs > 86_400 {
            return bad(format!("poll_interval_secs must be 1–86400, not {}", self.poll_interval_secs));
        }
        if !(0..=3650).contains(&self.certificate_warning_days) {
            return bad(format!("certificate_warning_days must be 0–3650, not {}", self.certificate_warning_days));
        }
        if let Some(db) = &self.database
            && !(db.starts_with("sqlite:") || db.starts_with("postgres://") || db.starts_with("postgresql://"))
        {
            return bad("database must be a sqlite:PATH or postgres://… URL".into());
        }
        if self.servers.is_empty() {
            return bad("servers: name at least one security server to watch".into());
        }
        for (i, s) in self.servers.iter().enumerate() {
            if s.name.trim().is_empty() || s.name.chars().count() > 64 || s.name.chars().any(char::is_control) {
                return bad(format!("servers[{i}].name must be 1–64 characters without control characters"));
            }
            if let Some(j) = self.servers[..i].iter().position(|o| o.name == s.name) {
                return bad(format!("servers[{i}].name {:?} is used twice (also servers[{j}])", s.name));
            }
            let url =
                reqwest::Url::parse(&s.url).map_err(|e| MonitorError::Config(format!("servers[{i}].url: {e}")))?;
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                return bad(format!("servers[{i}].url must be an http(s) URL with a host, not {:?}", s.url));
            }
            if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
                return bad(format!(
                    "servers[{i}].url must be the monitoring listener's base URL, without user, query or fragment"
                ));
            }
            if let Some(j) =
                self.servers[..i].iter().position(|o| o.url.trim_end_matches('/') == s.url.trim_end_matches('/'))
            {
                return bad(format!("servers[{i}].url {:?} is watched twice (also servers[{j}])", s.url));
            }
            if s.token.trim().is_empty() {
                return bad(format!("servers[{i}].token is empty (egov ss user add --role monitor prints one)"));
            }
            if !s.token.bytes().all(|b| b.is_ascii_graphic()) {
                return bad(format!("servers[{i}].token must be printable ASCII without spaces"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> Result<StationConfig, MonitorError> {
        StationConfig::from_json(json, PathBuf::from("/etc/egov"))
    }

    fn error(json: &str) -> String {
        config(json).unwrap_err().to_string()
    }

    const SERVER: &str = r#"{"name":"a","url":"http://127.0.0.1:1","token":"t"}"#;

    fn with(fields: &str, servers: &str) -> String {
        format!(r#"{{"listen":"127.0.0.1:0",{fields}"servers":[{servers}]}}"#)
    }

    #[test]
    fn defaults() {
        let c = config(&with("", SERVER)).unwrap();
        assert_eq!(c.poll_interval_secs, 10);
        assert_eq!(c.certificate_warning_days, 30);
        assert_eq!(c.database_url(), egov_store::sqlite_url(std::path::Path::new("/etc/egov/monitor.db")));
        let c = config(&with(r#""database":"postgres://u@h/db","poll_interval_secs":2,"#, SERVER)).unwrap();
        assert_eq!((c.database_url().as_str(), c.poll_interval_secs), ("postgres://u@h/db", 2));
    }

    #[test]
    fn validation_names_the_field() {
        let cases: &[(String, &str)] = &[
            (with("", ""), "servers"),
            (r#"{"servers":[]}"#.into(), "listen is missing"),
            (r#"{"listen":"localhost","servers":[]}"#.into(), "listen must be"),
            (r#"{"listen":4500,"servers":[]}"#.into(), "listen must be"),
            (r#"{"listen":"127.0.0.1:0"}"#.into(), "servers is missing"),
            (r#"{"listen":"127.0.0.1:0","servers":{}}"#.into(), "servers must be a list"),
            (with(r#""poll_interval_secs":"10","#, SERVER), "poll_interval_secs must be a whole number"),
            (with(r#""poll_interval_secs":0,"#, SERVER), "poll_interval_secs must be 1"),
            (with(r#""certificate_warning_days":-1,"#, SERVER), "certificate_warning_days"),
            (with(r#""database":"mysql://x","#, SERVER), "database must be"),
            (with(r#""database":5,"#, SERVER), "database must be"),
            (with(r#""extra":1,"#, SERVER), "unknown field `extra`"),
            (with("", r#"{"name":"a","url":"ftp://x","token":"t"}"#), "servers[0].url"),
            (with("", r#"{"name":"a","url":"not a url","token":"t"}"#), "servers[0].url"),
            (with("", r#"{"name":"a","url":"http://x/?a=1","token":"t"}"#), "servers[0].url"),
            (with("", r#"{"name":"a","url":"http://x","token":" "}"#), "servers[0].token is empty"),
            (with("", r#"{"name":"a","url":"http://x","token":"a b"}"#), "servers[0].token must be printable"),
            (with("", r#"{"name":"a","url":"http://x"}"#), "servers[0].token is missing"),
            (with("", r#"{"name":"","url":"http://x","token":"t"}"#), "servers[0].name"),
            (with("", r#"{"name":"a","url":"http://x","token":"t","role":"x"}"#), "unknown field `role`"),
            (
                with("", &format!(r#"{SERVER},{{"name":"a","url":"http://y","token":"t"}}"#)),
                "servers[1].name \"a\" is used twice",
            ),
            (
                with("", &format!(r#"{SERVER},{{"name":"b","url":"http://127.0.0.1:1/","token":"t"}}"#)),
                "servers[1].url",
            ),
            ("[]".into(), "one JSON object"),
            ("{".into(), "not JSON"),
        ];
        for (json, expected) in cases {
            let e = error(json);
            assert!(e.contains(expected), "{json}: {e:?} should contain {expected:?}");
        }
    }

    #[test]
    fn load_names_the_file_and_places_the_database_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("monitor.json");
        std::fs::write(&path, with("", SERVER)).unwrap();
        let c = StationConfig::load(&path).unwrap();
        assert_eq!(c.database_url(), egov_store::sqlite_url(&dir.path().join("monitor.db")));
        std::fs::write(&path, with(r#""poll_interval_secs":0,"#, SERVER)).unwrap();
        let e = StationConfig::load(&path).unwrap_err().to_string();
        assert!(e.contains("monitor.json") && e.contains("poll_interval_secs"), "{e}");
        let e = StationConfig::load(&dir.path().join("missing.json")).unwrap_err().to_string();
        assert!(e.contains("cannot read"), "{e}");
    }
}
