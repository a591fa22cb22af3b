//! Statistics over stored records: counts, error rates, latency percentiles per service and
//! per client; monthly usage for the statistics bulletin.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::store::Usage;

/// The `q`-quantile (0–1) of sorted `values`, nearest rank; `None` when empty.
pub fn percentile(sorted: &[i64], q: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Figures for one group of records.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Figures {
    /// Requests.
    pub count: u64,
    /// Failed requests.
    pub errors: u64,
    /// Median duration (ms).
    pub p50_ms: Option<i64>,
    /// 95th percentile (ms).
    pub p95_ms: Option<i64>,
    /// 99th percentile (ms).
    pub p99_ms: Option<i64>,
}

impl Figures {
    /// Errors per request, 0–1.
    pub fn error_rate(&self) -> f64 {
        if self.count == 0 { 0.0 } else { self.errors as f64 / self.count as f64 }
    }
}

fn figures(durations: &mut [i64], errors: u64) -> Figures {
    durations.sort_unstable();
    Figures {
        count: durations.len() as u64,
        errors,
        p50_ms: percentile(durations, 0.50),
        p95_ms: percentile(durations, 0.95),
        p99_ms: percentile(durations, 0.99),
    }
}

/// Figures grouped by `key` (records without a key are grouped under "—").
pub fn by<F: Fn(&Usage) -> Option<&str>>(records: &[Usage], key: F) -> BTreeMap<String, Figures> {
    let mut groups: BTreeMap<String, (Vec<i64>, u64)> = BTreeMap::new();
    for r in records {
        let g = groups.entry(key(r).unwrap_or("—").to_owned()).or_default();
        g.0.push(r.duration_ms);
        g.1 += u64::from(!r.succeeded);
    }
    groups.into_iter().map(|(k, (mut d, e))| (k, figures(&mut d, e))).collect()
}

/// One row of the monthly usage statistics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MonthlyUsage {
    /// Service id.
    pub service: String,
    /// The provider member (`INSTANCE/CLASS/CODE`).
    pub provider: String,
    /// Requests.
    pub requests: u64,
    /// Succeeded.
    pub successful: u64,
    /// Failed.
    pub failed: u64,
    /// Distinct clients.
    pub distinct_clients: u64,
}

/// Usage per service, counted once per exchange: on the provider's side (`Producer`
/// records), so an exchange watched on both its servers is not counted twice.
pub fn monthly(records: &[Usage]) -> Vec<MonthlyUsage> {
    let mut rows: BTreeMap<String, (u64, u64, BTreeSet<String>)> = BTreeMap::new();
    for r in records.iter().filter(|r| r.server_type == "Producer") {
        let Some(service) = &r.service else { continue };
        let row = rows.entry(service.clone()).or_default();
        if r.succeeded {
            row.0 += 1;
        } else {
            row.1 += 1;
        }
        if let Some(c) = &r.client {
            row.2.insert(c.clone());
        }
    }
    rows.into_iter()
        .map(|(service, (ok, failed, clients))| MonthlyUsage {
            provider: service.split('/').take(3).collect::<Vec<_>>().join("/"),
            service,
            requests: ok + failed,
            successful: ok,
            failed,
            distinct_clients: clients.len() as u64,
        })
        .collect()
}

/// One CSV field (RFC 4180): quoted when it holds a comma, quote or line break.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_owned() }
}

/// The monthly usage as CSV with a header row.
pub fn monthly_csv(rows: &[MonthlyUsage]) -> String {
    let mut out = String::from("service,provider,requests,successful,failed,distinct_clients\r\n");
    for r in rows {
        out.push_str(&format!(
            "{},{},{},{},{},{}\r\n",
            csv_field(&r.service),
            csv_field(&r.provider),
            r.requests,
            r.successful,
            r.failed,
            r.distinct_clients
        ));
    }
    out
}

/// `YYYY-MM` → [first ms of the month, first ms of the next).
pub fn month_range(month: &str) -> Result<(i64, i64), String> {
    let bad = || format!("month must be YYYY-MM (e.g. 2026-11), not {month:?}");
    let (y, m) = month.split_once('-').ok_or_else(bad)?;
    let (y, m): (i32, u8) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if y.to_string().len() != 4 || month.len() != 7 {
        return Err(bad());
    }
    let month_of = |y: i32, m: u8| -> Result<i64, String> {
        let month = time::Month::try_from(m).map_err(|_| bad())?;
        let date = time::Date::from_calendar_date(y, month, 1).map_err(|_| bad())?;
        Ok(date.midnight().assume_utc().unix_timestamp() * 1000)
    };
    let start = month_of(y, m)?;
    let end = if m == 12 { month_of(y + 1, 1)? } else { month_of(y, m + 1)? };
    Ok((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let v: Vec<i64> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.5), Some(50));
        assert_eq!(percentile(&v, 0.99), Some(99));
        assert_eq!(percentile(&v, 1.0), Some(100));
        assert_eq!(percentile(&[7], 0.99), Some(7));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn csv_quotes_what_needs_it() {
        assert_eq!(csv_field("AZ/GOV/1/reg/person"), "AZ/GOV/1/reg/person");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn months_parse_strictly() {
        let (a, b) = month_range("2026-12").unwrap();
        assert_eq!(b - a, 31 * 86_400_000);
        assert!(month_range("2026-13").is_err());
        assert!(month_range("2026-1").is_err());
        assert!(month_range("november").is_err());
    }

    proptest! {
        #[test]
        fn percentile_is_an_element_and_monotone(mut v in proptest::collection::vec(0i64..10_000, 1..200)) {
            v.sort_unstable();
            let (p50, p99) = (percentile(&v, 0.5).unwrap(), percentile(&v, 0.99).unwrap());
            prop_assert!(v.contains(&p50) && p50 <= p99);
        }

        #[test]
        fn csv_fields_round_trip(s in ".*") {
            let f = csv_field(&s);
            let back = if f.starts_with('"') && f.len() >= 2 { f[1..f.len()-1].replace("\"\"", "\"") } else { f.clone() };
            prop_assert_eq!(back, s);
        }
    }
}
