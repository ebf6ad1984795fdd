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

    /// Whether an attempt for `account` from `address` may go ahead.
    pub fn check(&self, account: &str, address: IpAddr) -> Result<(), Refusal> {
        if let Some(f) = self.accounts.get(&account.to_lowercase())
            && let Some(d) = self.left(
                &f.lock().expect("lock"),
                self.config.max_failures_per_account,
            )
        {
            return Err(Refusal::Account(d));
        }
        if let Some(f) = self.addresses.get(&address)
            && let Some(d) = self.left(
                &f.lock().expect("lock"),
                self.config.max_failures_per_address,
            )
        {
            return Err(Refusal::Address(d));
        }
        Ok(())
    }

    /// Counts a failure; `true` when it reached a limit (the account or address is now locked out).
    pub fn failed(&self, account: &str, address: IpAddr) -> bool {
        let window = self.window();
        let bump = |f: &Mutex<Failures>, limit: u32| {
            let mut f = f.lock().expect("lock");
            if f.since.elapsed() >= window {
                *f = Failures {
                    count: 0,
                    since: Instant::now(),
                };
            }
            f.count += 1;
            f.count == limit
        };
        let fresh = || {
            std::sync::Arc::new(Mutex::new(Failures {
                count: 0,
                since: Instant::now(),
            }))
        };
        let a = bump(
            &self.accounts.get_with(account.to_lowercase(), fresh),
            self.config.max_failures_per_account,
        );
        let b = bump(
            &self.addresses.get_with(address, fresh),
            self.config.max_failures_per_address,
        );
        a || b
    }

    /// A successful sign-in clears the account's failures (not the address's: one good password from an
    /// address does not license guessing others' from it).
    pub fn succeeded(&self, account: &str) {
        self.accounts.invalidate(&account.to_lowercase());
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
        assert!(!t.failed("ana", ip));
        assert!(!t.failed("Ana", ip), "names count case-insensitively");
        assert!(t.check("ana", ip).is_ok());
        assert!(t.failed("ana", ip), "the third failure locks");
        let Err(Refusal::Account(d)) = t.check("ana", ip) else {
            panic!("locked")
        };
        assert!(
            d <= Duration::from_secs(60) && d >= Duration::from_secs(55),
            "{d:?}"
        );
        assert!(t.check("bo", ip).is_ok(), "other accounts are not locked");
    }

    #[test]
    fn locks_an_address_that_tries_many_accounts_and_success_clears_only_the_account() {
        let t = throttle(3, 4);
        let ip: IpAddr = "10.0.0.7".parse().unwrap();
        let other: IpAddr = "10.0.0.8".parse().unwrap();
        for name in ["a", "b", "c"] {
            t.failed(name, ip);
        }
        assert!(t.check("d", ip).is_ok());
        t.failed("d", ip);
        assert!(matches!(t.check("e", ip), Err(Refusal::Address(_))));
        assert!(t.check("e", other).is_ok());
        t.failed("x", other);
        t.failed("x", other);
        t.succeeded("x");
        t.failed("x", other);
        assert!(
            t.check("x", other).is_ok(),
            "the count restarted after the success"
        );
    }
}
