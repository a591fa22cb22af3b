//! Protection against replayed ("counter") requests between security servers (TT-6.2).
//!
//! Every request carries a random nonce and the sender's timestamp, both signed. A request is
//! refused when its timestamp is outside ±W (the window) of our clock, or when its nonce was
//! already seen. A message first received at t has a timestamp of at least t − W, so a replay
//! is acceptable by timestamp only until t + 2W. Nonces are kept in three generations that
//! rotate every W, so each is remembered for at least 2W: every replay is caught, and memory
//! is bounded by the traffic of three windows. (The nonce sets live in memory: after a
//! restart, replays of messages younger than 2W cannot be told apart; issue 4's message log
//! is where they would be found.)

use std::collections::HashSet;
use std::sync::Mutex;

/// The replay guard.
#[derive(Debug)]
pub struct ReplayGuard {
    window_ms: i64,
    state: Mutex<Generations>,
}

#[derive(Debug, Default)]
struct Generations {
    started_ms: i64,
    current: HashSet<String>,
    previous: HashSet<String>,
    oldest: HashSet<String>,
}

impl ReplayGuard {
    /// A guard accepting timestamps within ±`window_secs`.
    pub fn new(window_secs: u64) -> Self {
        Self { window_ms: (window_secs as i64).max(1) * 1000, state: Mutex::new(Generations::default()) }
    }

    /// Records the nonce, or says why the message is refused.
    pub fn check(&self, nonce: &str, timestamp_ms: i64, now_ms: i64) -> Result<(), String> {
        if nonce.len() < 16 || nonce.len() > 64 {
            return Err("nonce has the wrong length".into());
        }
        // abs_diff: the timestamp comes from the peer and may be anything (no overflow)
        let skew = now_ms.abs_diff(timestamp_ms);
        if skew > self.window_ms.unsigned_abs() {
            return Err(format!(
                "timestamp is {} s away from this server's clock (allowed ±{} s)",
                skew / 1000,
                self.window_ms / 1000
            ));
        }
        let mut g = self.state.lock().map_err(|_| "replay guard unavailable".to_owned())?;
        if now_ms - g.started_ms >= self.window_ms {
            g.oldest = std::mem::take(&mut g.previous);
            g.previous = std::mem::take(&mut g.current);
            g.started_ms = now_ms;
        }
        if g.oldest.contains(nonce) || g.previous.contains(nonce) || !g.current.insert(nonce.to_owned()) {
            return Err("this message was already received (same nonce)".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_repeats_and_stale_messages() {
        let g = ReplayGuard::new(60);
        let now = 1_000_000_000;
        g.check("AAAAAAAAAAAAAAAAAAAAAA==", now, now).unwrap();
        assert!(g.check("AAAAAAAAAAAAAAAAAAAAAA==", now, now + 10).unwrap_err().contains("already"));
        // still remembered after a rotation
        assert!(g.check("AAAAAAAAAAAAAAAAAAAAAA==", now + 50_000, now + 61_000).is_err());
        // the worst case: timestamped a window ahead, replayed two windows after first receipt,
        // with other traffic rotating the generations in between
        let g = ReplayGuard::new(60);
        let ahead = "CCCCCCCCCCCCCCCCCCCCCC==";
        g.check(ahead, now + 60_000, now).unwrap();
        g.check("DDDDDDDDDDDDDDDDDDDDDD==", now + 60_500, now + 60_500).unwrap();
        g.check("EEEEEEEEEEEEEEEEEEEEEE==", now + 119_000, now + 121_000).unwrap();
        assert!(g.check(ahead, now + 60_000, now + 119_999).unwrap_err().contains("already"));
        assert!(g.check("BBBBBBBBBBBBBBBBBBBBBB==", now - 61_000, now).unwrap_err().contains("clock"));
        assert!(g.check("short", now, now).is_err());
        // extreme timestamps from a peer neither overflow nor pass
        assert!(g.check("FFFFFFFFFFFFFFFFFFFFFF==", i64::MIN, now).is_err());
        assert!(g.check("GGGGGGGGGGGGGGGGGGGGGG==", i64::MAX, now).is_err());
        assert!(g.check("HHHHHHHHHHHHHHHHHHHHHH==", now.wrapping_add(i64::MIN), now).is_err());
    }
}
