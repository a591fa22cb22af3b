//! Statistics over stored records: counts, error rates, latency percentiles per service and
//! per client; monthly usage for the statistics bulletin.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::store::{ServiceCount, Usage};

/// The `q`-quantile (0–1) of sorted `values`, nearest rank; `None` when empty.
pub fn percentile(sorted: &[i64], q: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    // rank = ⌈q·n⌉, without letting 0.07·100 = 7.000000000000001 round up to 8
    let exact = q * sorted.len() as f64;
    let rank = if (exact - exact.round()).abs() < 1e-9 { exact.round() } else { exact.ceil() };
    Some(sorted[(rank as usize).clamp(1, sorted.len()) - 1])
}

/// Figures for one group of records.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Figures {
    /// Requests.
    pub count: u64,
    /// Failed requests.
    pub errors: u64,
    /// Sum of the durations (ms).
    pub sum_ms: i64,
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

/// Figures of durations `durations` (sorted here) with `errors` failures.
pub fn figures(durations: &mut [i64], errors: u64) -> Figures {
    durations.sort_unstable();
    Figures {
        count: durations.len() as u64,
        errors,
        sum_ms: durations.iter().sum(),
        p50_ms: percentile(durations, 0.50),
        p95_ms: percentile(durations, 0.95),
        p99_ms: percentile(durations, 0.99),
    }
}

/// What records without a service or client are grouped under.
pub const UNKNOWN: &str = "—";

/// Figures grouped by server and `key` (records without a key are grouped under [`UNKNOWN`]).
/// Each server's records stay apart: the consumer's and the provider's server time different
/// spans of one exchange.
pub fn by<F: Fn(&Usage) -> Option<&str>>(records: &[Usage], key: F) -> BTreeMap<(String, String), Figures> {
    let mut groups: BTreeMap<(String, String), (Vec<i64>, u64)> = BTreeMap::new();
    for r in records {
        let g = groups.entry((r.server.clone(), key(r).unwrap_or(UNKNOWN).to_owned())).or_default();
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

/// The provider member of a service id (`INSTANCE/CLASS/CODE/SUBSYSTEM/SERVICE[/VERSION]`).
pub fn provider_of(service: &str) -> String {
    service.split('/').take(3).collect::<Vec<_>>().join("/")
}

/// Usage rows from the database's counts per service (each exchange counted once, see
/// [`crate::store::service_counts`]).
pub fn monthly(counts: &[ServiceCount]) -> Vec<MonthlyUsage> {
    counts
        .iter()
        .map(|c| MonthlyUsage {
            service: c.service.clone(),
            provider: provider_of(&c.service),
            requests: c.successful + c.failed,
            successful: c.successful,
            failed: c.failed,
            distinct_clients: c.distinct_clients,
        })
        .collect()
}

/// One CSV field (RFC 4180): quoted when it holds a comma, quote or line break. A field that
/// a spreadsheet would take for a formula (starting with `=`, `+`, `-`, `@`, tab or carriage
/// return) is prefixed with `'` and quoted, so opening the bulletin never runs anything.
pub fn csv_field(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("\"'{}\"", s.replace('"', "\"\""))
    } else if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
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
    let b = month.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() != 7 || b[4] != b'-' || !digits(0..4) || !digits(5..7) {
        return Err(bad());
    }
    let (y, m): (i32, u8) = (month[..4].parse().map_err(|_| bad())?, month[5..].parse().map_err(|_| bad())?);
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
        assert_eq!(percentile(&[3, 9], 0.5), Some(3));
        assert_eq!(percentile(&[3, 9], 0.51), Some(9));
    }

    #[test]
    fn percentile_rank_is_exact() {
        // ⌈p·n/100⌉ in integers, against the float computation
        for n in 1..=1000usize {
            let v: Vec<i64> = (1..=n as i64).collect();
            for p in [7usize, 50, 95, 99] {
                let rank = (p * n).div_ceil(100).max(1);
                assert_eq!(percentile(&v, p as f64 / 100.0), Some(rank as i64), "p{p} of {n}");
            }
        }
    }

    #[test]
    fn csv_quotes_what_needs_it() {
        assert_eq!(csv_field("AZ/GOV/1/reg/person"), "AZ/GOV/1/reg/person");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("line\nbreak"), "\"line\nbreak\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("@SUM(A1)"), "\"'@SUM(A1)\"");
        assert_eq!(csv_field(""), "");
    }

    #[test]
    fn months_parse_strictly() {
        let (a, b) = month_range("2026-12").unwrap();
        assert_eq!(b - a, 31 * 86_400_000);
        assert!(month_range("2026-13").is_err());
        assert!(month_range("2026-1").is_err());
        assert!(month_range("november").is_err());
        for bad in ["2026-+1", "+026-11", "2026-00", "2026/11", "2026-11-01", "２０２６-11", ""] {
            assert!(month_range(bad).is_err(), "{bad}");
        }
        let (a, b) = month_range("2024-02").unwrap();
        assert_eq!(b - a, 29 * 86_400_000, "leap February");
        assert_eq!(a, 1_706_745_600_000, "2024-02-01T00:00Z");
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
            let back = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { back.strip_prefix('\'').unwrap().to_owned() } else { back };
            prop_assert_eq!(back, s);
            // a bare field holds no separator, quote or line break
            prop_assert!(f.starts_with('"') || !f.contains([',', '"', '\n', '\r']));
        }
    }
}
