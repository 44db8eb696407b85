//! Throttling of password and code guesses: per account (growing delays, hard lock) and per
//! source IP (token buckets that count failures).
//!
//! The account policy is pure arithmetic over what the store keeps (consecutive failures and
//! the time of the last one); the IP limiter keeps its own small in-memory table.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::Mutex;

/// How long to wait before the next attempt, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct RetryAfterMs(pub i64);

impl fmt::Display for RetryAfterMs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "retry after {} ms", self.0)
    }
}

/// Why an account may not try now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Throttled {
    /// Too many recent failures: wait this long.
    #[error("too many failed attempts: {0}")]
    Delayed(RetryAfterMs),
    /// The hard limit of consecutive failures is reached: only a successful sign-in with another
    /// method or an administrator resets it.
    #[error("the account is locked after too many failed attempts")]
    Locked,
}

/// Per-account policy on consecutive failures (NIST SP 800-63B §5.2.2: at most 100).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountThrottle {
    /// Failures allowed without any delay.
    pub free_failures: u32,
    /// Delay after the first failure past `free_failures`; it doubles with each further one.
    pub base_delay_ms: i64,
    /// Longest delay.
    pub max_delay_ms: i64,
    /// Consecutive failures at which the account locks.
    pub lock_after: u32,
}

impl Default for AccountThrottle {
    /// 5 free failures, then 1 s, 2 s, 4 s ... up to 15 min, locked at 100.
    fn default() -> Self {
        Self {
            free_failures: 5,
            base_delay_ms: 1_000,
            max_delay_ms: 15 * 60 * 1_000,
            lock_after: 100,
        }
    }
}

impl AccountThrottle {
    /// The delay that follows `failures` consecutive failures (0 while under `free_failures`).
    pub fn delay_ms(&self, failures: u32) -> i64 {
        if failures < self.free_failures {
            return 0;
        }
        let doublings = failures - self.free_failures;
        // 2^62 ms is far past any cap; stop doubling before overflow.
        let factor = 1i64 << doublings.min(62);
        self.base_delay_ms
            .saturating_mul(factor)
            .min(self.max_delay_ms)
    }

    /// Whether another attempt may be made at `now_ms`, given `failures` consecutive failures
    /// so far, the last at `last_failure_ms`.
    pub fn check(&self, failures: u32, last_failure_ms: i64, now_ms: i64) -> Result<(), Throttled> {
        if failures >= self.lock_after {
            return Err(Throttled::Locked);
        }
        let waited = now_ms.saturating_sub(last_failure_ms);
        let remaining = self.delay_ms(failures).saturating_sub(waited);
        if remaining > 0 {
            return Err(Throttled::Delayed(RetryAfterMs(remaining)));
        }
        Ok(())
    }

    /// The same as [`check`](Self::check) as a number: `None` when an attempt is allowed,
    /// `Some(ms)` to wait, `Some(i64::MAX)` when locked.
    pub fn retry_after_ms(&self, failures: u32, last_failure_ms: i64, now_ms: i64) -> Option<i64> {
        match self.check(failures, last_failure_ms, now_ms) {
            Ok(()) => None,
            Err(Throttled::Delayed(RetryAfterMs(ms))) => Some(ms),
            Err(Throttled::Locked) => Some(i64::MAX),
        }
    }

    /// Whether the account is hard-locked.
    pub fn is_locked(&self, failures: u32) -> bool {
        failures >= self.lock_after
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated_ms: i64,
}

/// Per-source-IP token buckets, in memory and shared between threads. Each attempt takes a
/// token ([`check`](Self::check)) and a success gives it back ([`refund`](Self::refund)).
///
/// IPv6 addresses are grouped by /64 (one customer's allocation) and IPv4-mapped IPv6
/// addresses count as their IPv4 address. The table holds at most `max_entries` buckets:
/// full buckets (idle long enough to have refilled) are dropped first, then the oldest.
#[derive(Debug)]
pub struct IpRateLimiter {
    capacity: f64,
    per_ms: f64,
    max_entries: usize,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl Default for IpRateLimiter {
    /// 30 attempts per minute with bursts of 10, at most 100,000 addresses tracked.
    fn default() -> Self {
        Self::new(10, 30, 100_000)
    }
}

impl IpRateLimiter {
    /// Buckets of `burst` attempts, refilled at `per_minute`, tracking at most `max_entries`
    /// addresses (each of those at least 1).
    pub fn new(burst: u32, per_minute: u32, max_entries: usize) -> Self {
        Self {
            capacity: f64::from(burst.max(1)),
            per_ms: f64::from(per_minute.max(1)) / 60_000.0,
            max_entries: max_entries.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Take one attempt for `ip` at `now_ms`, or say how long to wait.
    pub fn check(&self, ip: IpAddr, now_ms: i64) -> Result<(), RetryAfterMs> {
        let key = bucket_key(ip);
        // A poisoned lock only means another thread panicked mid-update of a counter: go on.
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if !buckets.contains_key(&key) && buckets.len() >= self.max_entries {
            self.evict(&mut buckets, now_ms);
        }
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: self.capacity,
            updated_ms: now_ms,
        });
        self.refill(bucket, now_ms);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - bucket.tokens) / self.per_ms).ceil() as i64;
            Err(RetryAfterMs(wait.max(1)))
        }
    }

    /// Gives back the attempt [`check`](Self::check) took for `ip` once that attempt has
    /// succeeded, so that only failures count: many people behind one address (an office, a
    /// carrier's NAT) who sign in correctly never use the limit up. Taking before the attempt
    /// and giving back after a success, rather than counting failures afterwards, keeps
    /// concurrent attempts from one address within the limit too.
    pub fn refund(&self, ip: IpAddr, now_ms: i64) {
        let key = bucket_key(ip);
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(bucket) = buckets.get_mut(&key) {
            self.refill(bucket, now_ms);
            bucket.tokens = (bucket.tokens + 1.0).min(self.capacity);
        }
    }

    fn refill(&self, bucket: &mut Bucket, now_ms: i64) {
        // A clock that steps back adds nothing.
        let elapsed = now_ms.saturating_sub(bucket.updated_ms).max(0) as f64;
        bucket.tokens = (bucket.tokens + elapsed * self.per_ms).min(self.capacity);
        bucket.updated_ms = bucket.updated_ms.max(now_ms);
    }

    /// Addresses currently tracked.
    pub fn len(&self) -> usize {
        self.buckets.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether no address is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn evict(&self, buckets: &mut HashMap<IpAddr, Bucket>, now_ms: i64) {
        // A bucket that has refilled completely is the same as no bucket.
        let refill_ms = (self.capacity / self.per_ms).ceil() as i64;
        buckets.retain(|_, b| now_ms.saturating_sub(b.updated_ms) < refill_ms);
        if buckets.len() >= self.max_entries {
            if let Some(oldest) = buckets
                .iter()
                .min_by_key(|(_, b)| b.updated_ms)
                .map(|(ip, _)| *ip)
            {
                buckets.remove(&oldest);
            }
        }
    }
}

fn bucket_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut seg = v6.segments();
                seg[4..].fill(0);
                IpAddr::V6(seg.into())
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_then_cap() {
        let t = AccountThrottle::default();
        for f in 0..5 {
            assert_eq!(t.delay_ms(f), 0);
        }
        assert_eq!(t.delay_ms(5), 1_000);
        assert_eq!(t.delay_ms(6), 2_000);
        assert_eq!(t.delay_ms(9), 16_000);
        assert_eq!(t.delay_ms(14), 512_000);
        assert_eq!(t.delay_ms(15), 900_000);
        assert_eq!(t.delay_ms(99), 900_000);
        assert_eq!(t.delay_ms(u32::MAX), 900_000);
    }

    #[test]
    fn retry_after_counts_down_from_the_last_failure() {
        let t = AccountThrottle::default();
        assert_eq!(t.retry_after_ms(4, 10_000, 10_000), None);
        assert_eq!(t.retry_after_ms(5, 10_000, 10_000), Some(1_000));
        assert_eq!(t.retry_after_ms(5, 10_000, 10_400), Some(600));
        assert_eq!(t.retry_after_ms(5, 10_000, 11_000), None);
        assert_eq!(
            t.check(7, 0, 1_000),
            Err(Throttled::Delayed(RetryAfterMs(3_000)))
        );
    }

    #[test]
    fn hard_lock_at_one_hundred_whatever_the_time() {
        let t = AccountThrottle::default();
        assert!(t.check(99, 0, 900_000).is_ok());
        assert_eq!(t.check(100, 0, i64::MAX), Err(Throttled::Locked));
        assert_eq!(t.retry_after_ms(100, 0, i64::MAX), Some(i64::MAX));
        assert!(t.is_locked(100) && !t.is_locked(99));
    }

    #[test]
    fn never_more_than_one_hundred_guesses() {
        // Simulate an attacker who retries as soon as allowed.
        let t = AccountThrottle::default();
        let (mut failures, mut last, mut now) = (0u32, 0i64, 0i64);
        let mut guesses = 0;
        while now < 10 * 365 * 24 * 3_600_000 {
            match t.check(failures, last, now) {
                Ok(()) => {
                    guesses += 1;
                    failures += 1;
                    last = now;
                }
                Err(Throttled::Delayed(RetryAfterMs(ms))) => now += ms,
                Err(Throttled::Locked) => break,
            }
        }
        assert_eq!(guesses, 100);
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn burst_then_refill() {
        let l = IpRateLimiter::default();
        let a = ip("192.0.2.1");
        for _ in 0..10 {
            assert!(l.check(a, 0).is_ok());
        }
        assert_eq!(l.check(a, 0), Err(RetryAfterMs(2_000)));
        // Another address has its own bucket.
        assert!(l.check(ip("192.0.2.2"), 0).is_ok());
        // 30 per minute: one token every 2 s.
        assert_eq!(l.check(a, 1_000), Err(RetryAfterMs(1_000)));
        assert!(l.check(a, 2_000).is_ok());
        assert!(l.check(a, 2_000).is_err());
        // After a minute, full burst again (not more).
        for _ in 0..10 {
            assert!(l.check(a, 62_000).is_ok());
        }
        assert!(l.check(a, 62_000).is_err());
    }

    #[test]
    fn successes_are_given_back_and_only_failures_count() {
        let l = IpRateLimiter::default();
        let a = ip("192.0.2.1");
        // A hundred people behind one address sign in correctly at the same instant.
        for _ in 0..100 {
            assert!(l.check(a, 0).is_ok());
            l.refund(a, 0);
        }
        // The whole burst is still there for failures, and no more.
        for _ in 0..10 {
            assert!(l.check(a, 0).is_ok());
        }
        assert!(l.check(a, 0).is_err());
        // A refund never lifts a bucket over its capacity.
        for _ in 0..20 {
            l.refund(a, 0);
        }
        assert_eq!((0..12).filter(|_| l.check(a, 0).is_ok()).count(), 10);
        // Nothing to give back for an address never seen.
        l.refund(ip("192.0.2.77"), 0);
        assert_eq!(l.len(), 1);
    }

    #[test]
    fn sustained_rate_is_thirty_per_minute() {
        let l = IpRateLimiter::default();
        let a = ip("198.51.100.7");
        let allowed = (0..6_000)
            .filter(|i| l.check(a, i64::from(*i) * 100).is_ok())
            .count();
        // Ten minutes at 10 tries a second: the burst plus 30 a minute.
        assert!((300..=311).contains(&allowed), "{allowed}");
    }

    #[test]
    fn ipv6_is_grouped_by_64_and_mapped_v4_is_v4() {
        let l = IpRateLimiter::new(2, 30, 100);
        assert!(l.check(ip("2001:db8:1:2::1"), 0).is_ok());
        assert!(l.check(ip("2001:db8:1:2:ffff::9"), 0).is_ok());
        assert!(l.check(ip("2001:db8:1:2::3"), 0).is_err());
        assert!(l.check(ip("2001:db8:1:3::1"), 0).is_ok());
        assert!(l.check(ip("203.0.113.5"), 0).is_ok());
        assert!(l.check(ip("::ffff:203.0.113.5"), 0).is_ok());
        assert!(l.check(ip("203.0.113.5"), 0).is_err());
    }

    #[test]
    fn memory_stays_bounded() {
        let l = IpRateLimiter::new(10, 30, 1_000);
        for i in 0..5_000u32 {
            let a = IpAddr::V4(i.to_be_bytes().into());
            assert!(l.check(a, i64::from(i)).is_ok());
            assert!(l.len() <= 1_000);
        }
        // Idle (refilled) entries are dropped when room is needed.
        let later = 10_000_000;
        assert!(l.check(ip("192.0.2.200"), later).is_ok());
        assert_eq!(l.len(), 1);
    }

    #[test]
    fn shared_between_threads() {
        let l = std::sync::Arc::new(IpRateLimiter::default());
        let a = ip("192.0.2.9");
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let l = l.clone();
                std::thread::spawn(move || (0..10).filter(|_| l.check(a, 0).is_ok()).count())
            })
            .collect();
        let total: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(total, 10);
    }
}
