//! The assertions already used, so that none signs anyone in twice (samael keeps no such record). Ids live
//! until the assertion could no longer be accepted anyway; with Redis sessions they live in Redis, so a
//! response used on one replica is refused by the others.

use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;

use crate::session_store::Sessions;

/// Ids remembered in memory at most. Only verified assertions enter, so only the identity provider can fill it.
const MEMORY_IDS_MAX: u64 = 100_000;

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
                    .max_capacity(MEMORY_IDS_MAX)
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
                    .arg(keep.as_secs().max(1))
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
