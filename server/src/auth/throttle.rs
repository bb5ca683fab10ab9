//! Login throttling, per account and per client address, in memory.
//!
//! - Per account: the first 5 failures cost nothing; after them, each attempt must wait a delay
//!   after the last failure that doubles with every failure (1 s, 2 s, 4 s, ...) up to 15 s.
//!   The account is never locked: its owner waits at most 15 s, an attacker gets one guess per
//!   15 s. A success clears the count.
//! - Per address: a bucket of 20 attempts that refills one every 3 seconds, whatever the
//!   accounts tried (password spraying).
//!
//! Throttled attempts are refused before the password is checked, so they cost no argon2.
//! An attempt counts as a failure from the moment it is let through until it succeeds, so
//! that guesses sent in parallel cannot all pass while the first ones are still being checked.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const FREE_FAILURES: u32 = 5;
const MAX_DELAY: Duration = Duration::from_secs(15);
const ADDRESS_BURST: f64 = 20.0;
const ADDRESS_REFILL_EVERY: Duration = Duration::from_secs(3);
/// Entries older than this are forgotten (bounded memory).
const FORGET_AFTER: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, Copy)]
struct Account {
    failures: u32,
    last_failure: Instant,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

#[derive(Debug, Default)]
struct Inner {
    accounts: HashMap<String, Account>,
    addresses: HashMap<IpAddr, Bucket>,
}

/// The login throttle.
#[derive(Debug, Default)]
pub struct Throttle {
    inner: Mutex<Inner>,
}

/// The delay an account must wait after its last failure, having failed `failures` times.
pub fn account_delay(failures: u32) -> Duration {
    if failures < FREE_FAILURES {
        return Duration::ZERO;
    }
    let exp = (failures - FREE_FAILURES).min(10);
    Duration::from_secs(1u64 << exp).min(MAX_DELAY)
}

impl Throttle {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether an attempt on `account` from `addr` may go on now; if not, how long to wait.
    /// An allowed attempt takes a token from the address's bucket and counts as a failure of
    /// the account until [`Throttle::succeeded`] clears it.
    pub fn check(&self, account: &str, addr: IpAddr, now: Instant) -> Result<(), Duration> {
        let mut g = self.lock();
        if g.accounts.len() + g.addresses.len() > 100_000 {
            g.accounts
                .retain(|_, a| now.duration_since(a.last_failure) < FORGET_AFTER);
            g.addresses
                .retain(|_, b| now.duration_since(b.at) < FORGET_AFTER);
        }
        if let Some(a) = g.accounts.get(account) {
            let ready = a.last_failure + account_delay(a.failures);
            if now < ready {
                return Err(ready - now);
            }
        }
        let b = g.addresses.entry(addr).or_insert(Bucket {
            tokens: ADDRESS_BURST,
            at: now,
        });
        let refill = now.duration_since(b.at).as_secs_f64() / ADDRESS_REFILL_EVERY.as_secs_f64();
        b.tokens = (b.tokens + refill).min(ADDRESS_BURST);
        b.at = now;
        if b.tokens < 1.0 {
            let wait = (1.0 - b.tokens) * ADDRESS_REFILL_EVERY.as_secs_f64();
            return Err(Duration::from_secs_f64(wait));
        }
        b.tokens -= 1.0;
        let a = g.accounts.entry(account.to_owned()).or_insert(Account {
            failures: 0,
            last_failure: now,
        });
        a.failures += 1;
        a.last_failure = now;
        Ok(())
    }

    /// An attempt let through by `check` failed: the account's delay runs from `now`.
    pub fn failed(&self, account: &str, now: Instant) {
        if let Some(a) = self.lock().accounts.get_mut(account) {
            a.last_failure = a.last_failure.max(now);
        }
    }

    pub fn succeeded(&self, account: &str) {
        self.lock().accounts.remove(account);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_after_five_failures_and_stop_at_15_s() {
        assert_eq!(account_delay(4), Duration::ZERO);
        assert_eq!(account_delay(5), Duration::from_secs(1));
        assert_eq!(account_delay(6), Duration::from_secs(2));
        assert_eq!(account_delay(8), Duration::from_secs(8));
        assert_eq!(account_delay(9), Duration::from_secs(15));
        assert_eq!(account_delay(1000), Duration::from_secs(15));
    }

    #[test]
    fn an_account_waits_and_a_success_clears_it() {
        let t = Throttle::default();
        let ip: IpAddr = [10, 0, 0, 1].into();
        let t0 = Instant::now();
        for _ in 0..5 {
            assert!(t.check("a", ip, t0).is_ok());
            t.failed("a", t0);
        }
        let wait = t.check("a", ip, t0).unwrap_err();
        assert_eq!(wait, Duration::from_secs(1));
        // Another account from another address is not held up.
        assert!(t.check("b", [10, 0, 0, 2].into(), t0).is_ok());
        let later = t0 + Duration::from_secs(1);
        assert!(t.check("a", ip, later).is_ok());
        t.succeeded("a");
        assert!(t.check("a", ip, later).is_ok());
    }

    #[test]
    fn guesses_in_flight_count_before_they_are_answered() {
        let t = Throttle::default();
        let t0 = Instant::now();
        // Sixteen guesses at once, from sixteen addresses, none answered yet: five go through.
        let through = (0..16u8)
            .filter(|i| t.check("a", [10, 0, 0, *i].into(), t0).is_ok())
            .count();
        assert_eq!(through, 5);
        // The delay runs from when the last of them is known to have failed.
        let answered = t0 + Duration::from_millis(500);
        t.failed("a", answered);
        assert_eq!(
            t.check("a", [10, 0, 1, 0].into(), answered),
            Err(Duration::from_secs(1))
        );
    }

    #[test]
    fn an_address_gets_a_burst_then_one_attempt_every_3_s() {
        let t = Throttle::default();
        let ip: IpAddr = [10, 0, 0, 9].into();
        let t0 = Instant::now();
        for i in 0..20 {
            assert!(t.check(&format!("user{i}"), ip, t0).is_ok(), "attempt {i}");
        }
        let wait = t.check("user20", ip, t0).unwrap_err();
        assert_eq!(wait, Duration::from_secs(3));
        assert!(t.check("user20", ip, t0 + Duration::from_secs(3)).is_ok());
        assert!(t.check("user21", ip, t0 + Duration::from_secs(3)).is_err());
    }
}
