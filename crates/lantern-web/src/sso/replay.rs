//! The assertions already used, so that none signs anyone in twice (samael keeps no such record). Ids live
//! until the assertion could no longer be accepted anyway; with Redis sessions they live in Redis, so a
//! response used on one replica is refused by the others.

use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;

use crate::session_store::Sessions;

/// Ids remembered in memory at most (about 100 MB). Only verified assertions enter, and each leaves when its
/// time window closes; past this, responses are refused rather than an id forgotten while it could be replayed.
const MEMORY_IDS_MAX: u64 = 1_000_000;

/// Assertion ids longer than this are refused rather than stored.
pub const ID_MAX_LEN: usize = 256;

/// Where used assertion ids are kept: beside the sessions.
#[derive(Clone)]
pub enum UsedAssertions {
    Memory(moka::future::Cache<String, Instant>),
    Redis(ConnectionManager),
}

/// Each id expires at the instant stored with it.
struct UntilStored;

impl moka::Expiry<String, Instant> for UntilStored {
    fn expire_after_create(&self, _: &String, until: &Instant, now: Instant) -> Option<Duration> {
        Some(until.saturating_duration_since(now))
    }
}

impl UsedAssertions {
    /// In Redis when the sessions are, else in this process.
    pub fn beside(sessions: &Sessions) -> Self {
        match sessions {
            Sessions::Memory(_) => Self::Memory(
                moka::future::Cache::builder()
                    .expire_after(UntilStored)
                    .build(),
            ),
            Sessions::Redis(store) => Self::Redis(store.connection()),
        }
    }

    /// Records `id` as used for `keep` from now; false when it was used before (a replay).
    pub async fn first_use(&self, id: &str, keep: Duration) -> Result<bool, String> {
        let keep = keep.max(Duration::from_secs(1));
        match self {
            Self::Memory(ids) => {
                if ids.entry_count() >= MEMORY_IDS_MAX {
                    ids.run_pending_tasks().await;
                    if ids.entry_count() >= MEMORY_IDS_MAX {
                        return Err(format!(
                            "{MEMORY_IDS_MAX} assertions are remembered already"
                        ));
                    }
                }
                let entry = ids
                    .entry(id.to_string())
                    .or_insert(Instant::now() + keep)
                    .await;
                Ok(entry.is_fresh())
            }
            Self::Redis(connection) => {
                let mut c = connection.clone();
                let set: Option<String> = redis::cmd("SET")
                    .arg(format!("lantern:saml-assertion:{id}"))
                    .arg(1)
                    .arg("NX")
                    .arg("EX")
                    // Rounded up: never forgotten before the assertion's window closes.
                    .arg(keep.as_millis().div_ceil(1000).max(1) as u64)
                    .query_async(&mut c)
                    .await
                    .map_err(|e| format!("redis: {e}"))?;
                Ok(set.is_some())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_id_is_used_once_until_it_expires() {
        let used = UsedAssertions::beside(&Sessions::open("memory").await.unwrap());
        assert!(used.first_use("_a", Duration::from_secs(60)).await.unwrap());
        assert!(!used.first_use("_a", Duration::from_secs(60)).await.unwrap());
        assert!(used.first_use("_b", Duration::from_secs(60)).await.unwrap());
        let UsedAssertions::Memory(ids) = &used else {
            unreachable!()
        };
        ids.insert("_old".into(), Instant::now()).await;
        ids.run_pending_tasks().await;
        assert!(
            used.first_use("_old", Duration::from_secs(60))
                .await
                .unwrap(),
            "an expired id is forgotten"
        );
    }
}
