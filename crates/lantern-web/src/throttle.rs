//! Login throttling: failed sign-ins are counted per account and per client address over a window; past the
//! limit, further attempts are refused before any password is checked, with `Retry-After`, until the window
//! that began with the first failure ends. A success clears the account's count.

use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lantern_core::config::ThrottleConfig;

#[derive(Clone, Copy)]
struct Failures {
    count: u32,
    since: Instant,
}

/// Counts of recent failures; old entries expire on their own.
pub struct Throttle {
    config: ThrottleConfig,
    accounts: moka::sync::Cache<String, std::sync::Arc<Mutex<Failures>>>,
    addresses: moka::sync::Cache<IpAddr, std::sync::Arc<Mutex<Failures>>>,
}

/// Why an attempt is refused, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Account(Duration),
    Address(Duration),
}

impl Refusal {
    pub fn retry_after(self) -> Duration {
        match self {
            Refusal::Account(d) | Refusal::Address(d) => d,
        }
    }
}

impl Throttle {
    pub fn new(config: ThrottleConfig) -> Self {
        let window = Duration::from_secs(config.window_secs);
        Self {
            accounts: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(window)
                .build(),
            addresses: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(window)
                .build(),
            config,
        }
    }

    fn window(&self) -> Duration {
        Duration::from_secs(self.config.window_secs)
    }

    fn left(&self, f: &Failures, limit: u32) -> Option<Duration> {
        let left = self.window().checked_sub(f.since.elapsed())?;
        (f.count >= limit).then_some(left.max(Duration::from_secs(1)))
    }

    /// Counts an attempt for `account` from `address` as failed before its password is checked, or refuses
    /// it when either has reached its limit. Checking and counting happen under one lock per key, so attempts
    /// sent in parallel cannot all pass before any is counted. `Ok(true)` when this attempt reaches a limit
    /// (the account or address is locked out if it fails).
    pub fn attempt(&self, account: &str, address: IpAddr) -> Result<bool, Refusal> {
        let window = self.window();
        let fresh = || {
            std::sync::Arc::new(Mutex::new(Failures {
                count: 0,
                since: Instant::now(),
            }))
        };
        let account = self.accounts.get_with(account.to_lowercase(), fresh);
        let address = self.addresses.get_with(address_key(address), fresh);
        // Always in this order (account, then address), so two attempts never wait on each other's lock.
        let mut a = account.lock().expect("lock");
        let mut b = address.lock().expect("lock");
        for f in [&mut *a, &mut *b] {
            if f.since.elapsed() >= window {
                *f = Failures {
                    count: 0,
                    since: Instant::now(),
                };
            }
        }
        if let Some(d) = self.left(&a, self.config.max_failures_per_account) {
            return Err(Refusal::Account(d));
        }
        if let Some(d) = self.left(&b, self.config.max_failures_per_address) {
            return Err(Refusal::Address(d));
        }
        a.count += 1;
        b.count += 1;
        Ok(a.count == self.config.max_failures_per_account
            || b.count == self.config.max_failures_per_address)
    }

    /// A successful sign-in: the account's failures are cleared, and this attempt is taken off the address's
    /// count (the address's earlier failures stay: one good password does not license guessing others').
    pub fn succeeded(&self, account: &str, address: IpAddr) {
        self.accounts.invalidate(&account.to_lowercase());
        if let Some(f) = self.addresses.get(&address_key(address)) {
            let mut f = f.lock().expect("lock");
            f.count = f.count.saturating_sub(1);
        }
    }
}

/// The key an address counts under: IPv4 as is, IPv6 by its /64 (one subscriber's block, whose addresses an
/// attacker can cycle through freely).
fn address_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::from([s[0], s[1], s[2], s[3], 0, 0, 0, 0])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle(per_account: u32, per_address: u32) -> Throttle {
        Throttle::new(ThrottleConfig {
            max_failures_per_account: per_account,
            max_failures_per_address: per_address,
            window_secs: 60,
        })
    }

    #[test]
    fn locks_an_account_after_its_limit_until_the_window_ends() {
        let t = throttle(3, 100);
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(t.attempt("ana", ip), Ok(false));
        assert_eq!(
            t.attempt("Ana", ip),
            Ok(false),
            "names count case-insensitively"
        );
        assert_eq!(
            t.attempt("ana", ip),
            Ok(true),
            "the third attempt reaches the limit"
        );
        let Err(Refusal::Account(d)) = t.attempt("ana", ip) else {
            panic!("locked")
        };
        assert!(
            d <= Duration::from_secs(60) && d >= Duration::from_secs(55),
            "{d:?}"
        );
        assert!(t.attempt("bo", ip).is_ok(), "other accounts are not locked");
    }

    #[test]
    fn parallel_attempts_cannot_pass_the_limit() {
        let t = std::sync::Arc::new(throttle(5, 1000));
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let passed: usize = (0..8)
            .map(|_| {
                let t = t.clone();
                std::thread::spawn(move || (0..50).filter(|_| t.attempt("ana", ip).is_ok()).count())
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .sum();
        assert_eq!(passed, 5);
    }

    #[test]
    fn locks_an_address_block_that_tries_many_accounts_and_success_clears_only_the_account() {
        let t = throttle(3, 4);
        let ip: IpAddr = "2001:db8::1".parse().unwrap();
        let same_block: IpAddr = "2001:db8::ffff:2".parse().unwrap();
        let other: IpAddr = "10.0.0.8".parse().unwrap();
        for name in ["a", "b", "c", "d"] {
            assert!(t.attempt(name, ip).is_ok());
        }
        assert!(matches!(
            t.attempt("e", same_block),
            Err(Refusal::Address(_))
        ));
        assert!(t.attempt("e", other).is_ok());
        for _ in 0..2 {
            t.attempt("x", other).unwrap();
        }
        t.attempt("x", other).unwrap();
        t.succeeded("x", other);
        assert!(
            t.attempt("x", other).is_ok(),
            "the count restarted after the success"
        );
    }
}
