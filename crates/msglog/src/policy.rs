//! What is archived and for how long, per service (TT-3.8.4), and the log's other settings.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::MsgLogError;

/// The rule for one service, or for every service of a provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServicePolicy {
    /// Whether its messages go to the archive files (otherwise they live only in the
    /// database and are removed when their retention ends).
    pub archive: bool,
    /// Days its messages are kept (in the archive when archived, else in the database).
    pub retention_days: u32,
}

impl Default for ServicePolicy {
    fn default() -> Self {
        // five years: the usual limitation period for administrative claims
        Self { archive: true, retention_days: 5 * 365 }
    }
}

/// Per-service rules; the most specific matching rule wins.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionPolicy {
    /// For services no rule names.
    #[serde(default)]
    pub default: ServicePolicy,
    /// `(pattern, rule)`: the pattern is a service id (`INSTANCE/CLASS/CODE/SUBSYSTEM/SERVICE`,
    /// any version) or a prefix of one ending at a `/` boundary (a provider).
    #[serde(default)]
    pub services: Vec<(String, ServicePolicy)>,
}

impl RetentionPolicy {
    /// The rule for `service`.
    pub fn for_service(&self, service: &str) -> ServicePolicy {
        self.services
            .iter()
            .filter(|(pattern, _)| {
                service == pattern || service.strip_prefix(pattern.as_str()).is_some_and(|rest| rest.starts_with('/'))
            })
            .max_by_key(|(pattern, _)| pattern.len())
            .map_or(self.default, |(_, p)| *p)
    }

    /// Checks the rules: patterns must be non-empty, retention at least one day.
    pub fn validate(&self) -> Result<(), MsgLogError> {
        for (pattern, rule) in
            std::iter::once((&"default".to_owned(), &self.default)).chain(self.services.iter().map(|(p, r)| (p, r)))
        {
            if pattern.trim().is_empty() {
                return Err(MsgLogError::Invalid("a retention rule has an empty service pattern".into()));
            }
            if rule.retention_days == 0 {
                return Err(MsgLogError::Invalid(format!(
                    "retention rule '{pattern}': retention_days must be at least 1"
                )));
            }
        }
        Ok(())
    }
}

/// Settings of one security server's message log.
#[derive(Debug, Clone)]
pub struct LogSettings {
    /// Retention per service.
    pub policy: RetentionPolicy,
    /// How often waiting records are time-stamped (X-Road default: 60 s).
    pub timestamp_interval: Duration,
    /// Most records in one time-stamp (X-Road: 10 000).
    pub timestamp_batch: usize,
    /// After this long without a time-stamp for the oldest record, new messages are refused
    /// (X-Road `acceptable-timestamp-failure-period`, 14 400 s); 0 disables the check.
    pub timestamp_grace_secs: i64,
    /// Where archive files go.
    pub archive_dir: PathBuf,
    /// Where segment files go (a subdirectory per database, named by its log id).
    pub segment_dir: PathBuf,
    /// Size at which a new segment file is started.
    pub segment_max_bytes: u64,
    /// How often records are moved into archive files.
    pub archive_interval: Duration,
    /// Largest archive file (X-Road: 32 MiB).
    pub archive_max_bytes: u64,
    /// Days archived records stay in the database too (X-Road `keep-records-for`: 30).
    pub db_retention_days: u32,
    /// Days operational monitoring records are kept (X-Road: 7).
    pub op_retention_days: u32,
    /// How often the cleaner runs.
    pub clean_interval: Duration,
}

impl LogSettings {
    /// Defaults with archives in `archive_dir` and segments in `segment_dir`.
    pub fn new(archive_dir: PathBuf, segment_dir: PathBuf) -> Self {
        Self {
            policy: RetentionPolicy::default(),
            timestamp_interval: Duration::from_secs(60),
            timestamp_batch: 10_000,
            timestamp_grace_secs: 14_400,
            archive_dir,
            segment_dir,
            segment_max_bytes: 64 * 1024 * 1024,
            archive_interval: Duration::from_secs(6 * 3600),
            archive_max_bytes: 32 * 1024 * 1024,
            db_retention_days: 30,
            op_retention_days: 7,
            clean_interval: Duration::from_secs(12 * 3600),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_specific_rule_wins() {
        let p = RetentionPolicy {
            default: ServicePolicy { archive: true, retention_days: 100 },
            services: vec![
                ("AZ/GOV/1/reg".into(), ServicePolicy { archive: false, retention_days: 10 }),
                ("AZ/GOV/1/reg/person".into(), ServicePolicy { archive: true, retention_days: 20 }),
            ],
        };
        assert_eq!(p.for_service("AZ/GOV/1/reg/person/v1").retention_days, 20);
        assert_eq!(p.for_service("AZ/GOV/1/reg/names").retention_days, 10);
        assert_eq!(p.for_service("AZ/GOV/1/register/x").retention_days, 100, "prefix only at a / boundary");
        assert!(p.validate().is_ok());
        let bad =
            RetentionPolicy { services: vec![("x".into(), ServicePolicy { archive: true, retention_days: 0 })], ..p };
        assert!(bad.validate().unwrap_err().to_string().contains("at least 1"));
    }
}
