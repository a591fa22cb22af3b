//! How many refused requests from one address are recorded one by one (issue 13, item 11).
//!
//! Every refused `GET /asic` is written to the message log's read record (TT-3.8.4), so that
//! an auditor sees who tried. Unchecked, that turns each unauthenticated request into a
//! database write anyone can repeat. A source gets [`PER_WINDOW`] refusal records per
//! [`WINDOW`]; beyond that it is answered `429 Too Many Requests` without a write, and the
//! number it was refused is added to its next record, so nothing disappears from the count.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Refusal records per source and window.
pub const PER_WINDOW: u32 = 10;
/// The window.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Sources tracked at once; past it, expired windows are dropped first, and a new source
/// that still finds no room is held back (a flood from many addresses writes nothing more).
const MAX_SOURCES: usize = 10_000;

/// What to do with one refused request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Write its refusal record; `suppressed` earlier refusals of this source were not written
    /// one by one and belong in it.
    Record {
        /// Refusals answered with 429 since the source's last record.
        suppressed: u64,
    },
    /// Answer 429 and write nothing; retry after this long.
    Throttled(Duration),
}

#[derive(Debug)]
struct Source {
    window_start: Instant,
    recorded: u32,
    suppressed: u64,
}

/// Counts refusals per source address.
#[derive(Debug, Default)]
pub struct RefusalLimiter {
    sources: Mutex<HashMap<IpAddr, Source>>,
}

impl RefusalLimiter {
    /// Whether the refusal of a request from `source` at `now` is recorded.
    pub fn admit(&self, source: IpAddr, now: Instant) -> Admission {
        let mut sources = self.sources.lock().unwrap_or_else(|p| p.into_inner());
        if sources.len() >= MAX_SOURCES && !sources.contains_key(&source) {
            sources.retain(|_, s| now.duration_since(s.window_start) < WINDOW);
            if sources.len() >= MAX_SOURCES {
                return Admission::Throttled(WINDOW);
            }
        }
        let entry = sources.entry(source).or_insert(Source { window_start: now, recorded: 0, suppressed: 0 });
        if now.duration_since(entry.window_start) >= WINDOW {
            entry.window_start = now;
            entry.recorded = 0;
        }
        if entry.recorded < PER_WINDOW {
            entry.recorded += 1;
            Admission::Record { suppressed: std::mem::take(&mut entry.suppressed) }
        } else {
            entry.suppressed += 1;
            Admission::Throttled(WINDOW.saturating_sub(now.duration_since(entry.window_start)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_gets_a_bounded_number_of_records_and_the_rest_is_counted() {
        let limiter = RefusalLimiter::default();
        let (a, b): (IpAddr, IpAddr) = ("127.0.0.7".parse().unwrap(), "127.0.0.8".parse().unwrap());
        let t0 = Instant::now();
        for _ in 0..PER_WINDOW {
            assert_eq!(limiter.admit(a, t0), Admission::Record { suppressed: 0 });
        }
        for _ in 0..5 {
            assert!(matches!(limiter.admit(a, t0 + Duration::from_secs(1)), Admission::Throttled(d) if d <= WINDOW));
        }
        // another source is not held back by the first
        assert_eq!(limiter.admit(b, t0), Admission::Record { suppressed: 0 });
        // the next window's first record carries the five that were not written
        assert_eq!(limiter.admit(a, t0 + WINDOW), Admission::Record { suppressed: 5 });
        assert_eq!(limiter.admit(a, t0 + WINDOW), Admission::Record { suppressed: 0 });
    }

    #[test]
    fn the_table_of_sources_stays_bounded() {
        let limiter = RefusalLimiter::default();
        let t0 = Instant::now();
        for i in 0..MAX_SOURCES as u32 {
            limiter.admit(IpAddr::from(i.to_be_bytes()), t0);
        }
        let newcomer: IpAddr = "10.255.255.255".parse().unwrap();
        assert!(matches!(limiter.admit(newcomer, t0), Admission::Throttled(_)));
        // once the old windows have passed, room is made
        assert_eq!(limiter.admit(newcomer, t0 + WINDOW), Admission::Record { suppressed: 0 });
        assert!(limiter.sources.lock().unwrap().len() <= MAX_SOURCES);
    }
}
