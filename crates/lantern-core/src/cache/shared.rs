//! The result cache's second level: Redis, shared by every replica, so that a result one replica computed is
//! served by the others.
//!
//! Keys carry what makes a result true: the dataset, its version, a fingerprint of its spec (measures
//! redefined under the same name give new keys), the canonical filters (the user's row rules among them) and
//! the query's shape. A result computed on other data or for other rows can therefore never be served.
//!
//! Redis is an optimisation, never a dependency: every command is bounded by a short timeout, and after a
//! failure the level is skipped for a few seconds (one warning logged), so an outage degrades to the local
//! cache and costs requests nothing but the first timeout.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::CacheKey;
use crate::query::ResultTable;

/// The longest a lookup or write may wait for Redis.
const TIMEOUT: Duration = Duration::from_millis(250);
/// How long the level is skipped after a failure.
const BACKOFF: Duration = Duration::from_secs(5);
/// Bumped when the stored form of a result changes, so replicas of two releases never read each other's.
const FORMAT: &str = "r1";

/// What a lookup found.
#[derive(Debug)]
pub enum Found {
    /// The result and how long Redis keeps it still (the local copy lives no longer).
    Hit(ResultTable, Duration),
    Miss,
    /// Redis did not answer (or is being skipped after a failure).
    Unavailable,
}

pub struct SharedCache {
    client: redis::Client,
    connection: tokio::sync::OnceCell<ConnectionManager>,
    /// Until when the level is skipped after a failure.
    down_until: Mutex<Option<Instant>>,
    /// Results larger than this (serialized) stay local: they would cost more to move than to compute.
    max_entry_bytes: usize,
}

impl std::fmt::Debug for SharedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedCache")
    }
}

impl SharedCache {
    /// A level over the Redis at `url` (`redis://host:port/db`, or `rediss://` over TLS); it connects on first use.
    pub fn open(url: &str, max_entry_bytes: usize) -> crate::Result<Self> {
        let client = crate::redis_client::open(url).map_err(|e| {
            crate::Error::config("cache.redis_url", format!("not a Redis URL: {e}"))
        })?;
        Ok(Self {
            client,
            connection: tokio::sync::OnceCell::new(),
            down_until: Mutex::new(None),
            max_entry_bytes,
        })
    }

    /// The Redis key of `key`'s result. The parts that users or specs choose are hashed, so the key stays
    /// short and no value can pass for a separator.
    pub fn redis_key(key: &CacheKey) -> String {
        let mut hasher = blake3::Hasher::new();
        for part in [&key.spec, &key.filters, &key.item] {
            hasher.update(&(part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
        format!(
            "lantern:result:{FORMAT}:{}:{}:{}",
            key.dataset,
            key.version,
            hasher.finalize().to_hex()
        )
    }

    fn available(&self) -> bool {
        let down = self.down_until.lock().expect("lock");
        down.is_none_or(|until| Instant::now() >= until)
    }

    fn failed(&self, what: &str, error: &dyn std::fmt::Display) {
        let mut down = self.down_until.lock().expect("lock");
        let was_up = down.is_none_or(|until| Instant::now() >= until);
        *down = Some(Instant::now() + BACKOFF);
        if was_up {
            let error = crate::redis_client::explain(error);
            tracing::warn!(%error, backoff_secs = BACKOFF.as_secs(), "shared result cache (Redis) {what} failed: serving from the local cache");
        }
    }

    async fn connection(&self) -> Option<ConnectionManager> {
        if !self.available() {
            return None;
        }
        let made = self
            .connection
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(TIMEOUT))
                    .set_response_timeout(Some(TIMEOUT))
                    .set_number_of_retries(1);
                ConnectionManager::new_lazy_with_config(self.client.clone(), config)
            })
            .await;
        match made {
            Ok(c) => Some(c.clone()),
            Err(e) => {
                self.failed("connection", &e);
                None
            }
        }
    }

    /// Whether Redis answers now (readiness reports it; it does not fail readiness, since the level is optional).
    pub async fn ping(&self) -> Result<(), String> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            .set_number_of_retries(0);
        let mut c = match self.connection.get() {
            Some(c) => c.clone(),
            None => ConnectionManager::new_lazy_with_config(self.client.clone(), config)
                .map_err(|e| e.to_string())?,
        };
        let ping = redis::cmd("PING");
        match tokio::time::timeout(TIMEOUT * 2, ping.query_async::<String>(&mut c)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("no answer within 500 ms".into()),
        }
    }

    /// The stored result of `key`, if any.
    pub async fn get(&self, key: &CacheKey) -> Found {
        let Some(mut c) = self.connection().await else {
            return Found::Unavailable;
        };
        let mut command = redis::pipe();
        command
            .cmd("GET")
            .arg(Self::redis_key(key))
            .cmd("PTTL")
            .arg(Self::redis_key(key));
        let query = command.query_async::<(Option<Vec<u8>>, i64)>(&mut c);
        match tokio::time::timeout(TIMEOUT, query).await {
            Ok(Ok((None, _))) => Found::Miss,
            // Expiring as it was read: as good as gone.
            Ok(Ok((Some(_), left_ms))) if left_ms <= 0 => Found::Miss,
            Ok(Ok((Some(bytes), left_ms))) => match serde_json::from_slice(&bytes) {
                Ok(table) => Found::Hit(table, Duration::from_millis(left_ms as u64)),
                Err(e) => {
                    // Not ours to trust: computed again and overwritten.
                    tracing::warn!(key = %Self::redis_key(key), error = %e, "unreadable shared cache entry");
                    Found::Miss
                }
            },
            Ok(Err(e)) => {
                self.failed("lookup", &e);
                Found::Unavailable
            }
            Err(_) => {
                self.failed("lookup", &"no answer within 250 ms");
                Found::Unavailable
            }
        }
    }

    /// Stores `table` as `key`'s result for `ttl`, in the background (the answer does not wait for it).
    pub fn put(self: &std::sync::Arc<Self>, key: &CacheKey, table: &ResultTable, ttl: Duration) {
        if !self.available() {
            return;
        }
        let bytes = match serde_json::to_vec(table) {
            Ok(b) if b.len() <= self.max_entry_bytes => b,
            _ => return,
        };
        let (this, redis_key) = (self.clone(), Self::redis_key(key));
        let ttl_ms = ttl.as_millis().clamp(1, u64::MAX as u128) as u64;
        tokio::spawn(async move {
            let Some(mut c) = this.connection().await else {
                return;
            };
            let mut command = redis::cmd("SET");
            command.arg(&redis_key).arg(bytes).arg("PX").arg(ttl_ms);
            match tokio::time::timeout(TIMEOUT, command.query_async::<()>(&mut c)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => this.failed("write", &e),
                Err(_) => this.failed("write", &"no answer within 250 ms"),
            }
        });
    }
}
