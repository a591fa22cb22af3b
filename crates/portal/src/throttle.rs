//! One throttle for every sign-in of the portal (issue 13, item 13): the back office's staff
//! login now, the citizens' code-password sign-in next. Failed attempts are counted per
//! **source and account**, and after a few free ones each further attempt must wait twice
//! as long as the one before (exponential backoff, capped). So a stranger guessing a known
//! login slows down only themself: the real member, from their own address, is not locked
//! out — the hard lock on the account, which anyone could trigger, is gone.
//!
//! It lives in the portal because the source address is known only there (both sign-ins
//! are portal routes), and in memory: the waits are minutes at most, and a restart is the
//! operator's own act. An attempt counts as failed from the moment it is let through until
//! it is marked [`Attempt::succeeded`], so parallel attempts cannot slip through together.
//!
//! Behind a reverse proxy every request comes from the proxy's address; the throttle then
//! acts per account only (still a backoff, never a lock).

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How the waits grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Failures allowed without waiting.
    pub free: u32,
    /// The first wait, after `free` failures; each further failure doubles it.
    pub first: Duration,
    /// The longest wait.
    pub max: Duration,
    /// A key quiet for this long is forgotten (its failures start again from zero).
    pub forget: Duration,
}

impl Backoff {
    /// For sign-ins: three free attempts, then 1 s, 2 s, 4 s, … up to 15 minutes; forgotten
    /// after an hour without attempts.
    pub const SIGN_IN: Backoff = Backoff {
        free: 3,
        first: Duration::from_secs(1),
        max: Duration::from_secs(15 * 60),
        forget: Duration::from_secs(60 * 60),
    };

    /// The wait after `failures` failures.
    pub fn wait(&self, failures: u32) -> Duration {
        match failures.checked_sub(self.free) {
            None => Duration::ZERO,
            Some(n) => self.first.saturating_mul(1u32.checked_shl(n).unwrap_or(u32::MAX)).min(self.max),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    next: Instant,
    last: Instant,
}

/// The most keys remembered; beyond it the quietest are forgotten first, so a flood of
/// made-up accounts costs bounded memory.
const MAX_KEYS: usize = 65_536;

/// Failed attempts per key, with backoff.
#[derive(Debug)]
pub struct Throttle<K> {
    backoff: Backoff,
    keys: Mutex<HashMap<K, Entry>>,
}

/// Who attempts a sign-in: the source (an IPv6 address by its /64, which one subscriber
/// usually holds whole) and the account as typed (trimmed, lower-case, at most 64 bytes).
pub fn sign_in_key(source: IpAddr, account: &str) -> (IpAddr, String) {
    let source = match source {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    };
    let mut account = account.trim().to_lowercase();
    while account.len() > 64 {
        account.pop();
    }
    (source, account)
}

/// An attempt let through. It stays counted as failed unless [`Attempt::succeeded`] is
/// called; when it is dropped without, the wait starts again from that moment, so it runs
/// from the answer the client saw, however long the check took.
#[must_use = "an attempt must be checked; a success clears the key"]
#[derive(Debug)]
pub struct Attempt<'a, K: Hash + Eq> {
    throttle: &'a Throttle<K>,
    key: Option<K>,
}

impl<K: Hash + Eq> Attempt<'_, K> {
    /// The attempt succeeded: its key's failures are forgotten.
    pub fn succeeded(mut self) {
        if let Some(key) = self.key.take() {
            self.throttle.lock().remove(&key);
        }
    }
}

impl<K: Hash + Eq> Drop for Attempt<'_, K> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let now = Instant::now();
            let backoff = self.throttle.backoff;
            if let Some(entry) = self.throttle.lock().get_mut(&key) {
                entry.next = entry.next.max(now + backoff.wait(entry.failures));
                entry.last = now;
            }
        }
    }
}

impl<K: Hash + Eq> Throttle<K> {
    /// An empty throttle.
    pub fn new(backoff: Backoff) -> Self {
        Self { backoff, keys: Mutex::new(HashMap::new()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Entry>> {
        self.keys.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl<K: Hash + Eq + Clone> Throttle<K> {
    /// Lets an attempt for `key` through now, counting it as failed until it succeeds; or
    /// says how long to wait first.
    pub fn attempt(&self, key: K) -> Result<Attempt<'_, K>, Duration> {
        self.attempt_at(key, Instant::now())
    }

    fn attempt_at(&self, key: K, now: Instant) -> Result<Attempt<'_, K>, Duration> {
        let mut keys = self.lock();
        let forget = self.backoff.forget;
        if keys.len() >= MAX_KEYS && !keys.contains_key(&key) {
            keys.retain(|_, e| now.saturating_duration_since(e.last) < forget);
            if keys.len() >= MAX_KEYS
                && let Some(quietest) = keys.iter().min_by_key(|(_, e)| e.last).map(|(k, _)| k.clone())
            {
                keys.remove(&quietest);
            }
        }
        let entry = keys.entry(key.clone()).or_insert(Entry { failures: 0, next: now, last: now });
        if now.saturating_duration_since(entry.last) >= forget {
            *entry = Entry { failures: 0, next: now, last: now };
        }
        if entry.next > now {
            // waiting out the backoff: refused, and not counted (it was not tried)
            return Err(entry.next - now);
        }
        entry.failures = entry.failures.saturating_add(1);
        entry.last = now;
        entry.next = now + self.backoff.wait(entry.failures);
        drop(keys);
        Ok(Attempt { throttle: self, key: Some(key) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_after_the_free_attempts_up_to_the_cap() {
        let b = Backoff::SIGN_IN;
        let waits: Vec<u64> = (0..8).map(|n| b.wait(n).as_secs()).collect();
        assert_eq!(waits, [0, 0, 0, 1, 2, 4, 8, 16]);
        assert_eq!(b.wait(30), b.max);
        assert_eq!(b.wait(u32::MAX), b.max);
    }

    #[test]
    fn a_key_is_slowed_down_alone_and_a_success_clears_it() {
        let ms = Duration::from_millis;
        let quick = Backoff { free: 3, first: ms(100), max: ms(400), forget: ms(2000) };
        let t = Throttle::new(quick);
        let stranger = sign_in_key("192.0.2.7".parse().unwrap(), "l.aliyeva");
        let officer = sign_in_key("198.51.100.1".parse().unwrap(), "l.aliyeva");
        for _ in 0..3 {
            drop(t.attempt(stranger.clone()).unwrap()); // failed
        }
        let wait = t.attempt(stranger.clone()).unwrap_err();
        assert!(wait > ms(50) && wait <= ms(100), "{wait:?}");
        // the same account from another address is not affected
        t.attempt(officer.clone()).unwrap().succeeded();
        // after the wait one more try, then twice as long, counted from its failure
        std::thread::sleep(wait);
        drop(t.attempt(stranger.clone()).unwrap());
        let wait = t.attempt(stranger.clone()).unwrap_err();
        assert!(wait > ms(150) && wait <= ms(200), "{wait:?}");
        // a success forgets the failures
        std::thread::sleep(wait);
        t.attempt(stranger.clone()).unwrap().succeeded();
        for _ in 0..3 {
            drop(t.attempt(stranger.clone()).unwrap());
        }
        assert!(t.attempt(stranger.clone()).is_err());
        // and so does a quiet while
        std::thread::sleep(quick.forget);
        for _ in 0..3 {
            drop(t.attempt(stranger.clone()).unwrap());
        }
    }

    #[test]
    fn parallel_attempts_are_each_counted() {
        let t = Throttle::new(Backoff::SIGN_IN);
        let key = sign_in_key("192.0.2.7".parse().unwrap(), "x");
        let through = std::thread::scope(|s| {
            let handles: Vec<_> = (0..16).map(|_| s.spawn(|| t.attempt(key.clone()).is_ok())).collect();
            handles.into_iter().map(|h| h.join().unwrap()).filter(|ok| *ok).count()
        });
        assert_eq!(through, 3, "only the free attempts pass, however many arrive together");
    }

    #[test]
    fn keys_group_ipv6_by_prefix_and_accounts_by_case() {
        let a = sign_in_key("2001:db8:1:2:aaaa::1".parse().unwrap(), " L.Aliyeva ");
        let b = sign_in_key("2001:db8:1:2:bbbb::9".parse().unwrap(), "l.aliyeva");
        assert_eq!(a, b);
        let mapped = sign_in_key("::ffff:192.0.2.7".parse().unwrap(), "x");
        assert_eq!(mapped.0, "192.0.2.7".parse::<IpAddr>().unwrap());
        assert_eq!(sign_in_key("192.0.2.7".parse().unwrap(), &"a".repeat(500)).1.len(), 64);
    }

    #[test]
    fn memory_is_bounded() {
        let t = Throttle::new(Backoff::SIGN_IN);
        let now = Instant::now();
        for i in 0..(MAX_KEYS as u32 + 10) {
            let _ = t.attempt_at(i, now);
        }
        assert!(t.lock().len() <= MAX_KEYS);
    }
}
