//! The TTL cache in front of every KPI and chart query.
//!
//! Keys carry the dataset version, so a newly published version can never be answered from an entry computed on
//! an older one; entries expire after their dataset's TTL. Concurrent misses on one key run the query once.
//! With `cache.redis_url` a miss asks Redis ([`shared`]) before computing, and a computed result is stored
//! there for the other replicas.

pub mod shared;

use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::Expiry;

use crate::query::ResultTable;
use crate::telemetry;
use shared::{Found, SharedCache};

/// Identifies one item's result for one filter set on one dataset version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    pub dataset: String,
    pub version: u64,
    /// A fingerprint of the dataset's spec: a measure redefined under the same name must not be answered
    /// from a result computed with its old definition (by another replica, in the shared level).
    pub spec: String,
    /// [`crate::filters::FilterSet::canonical`].
    pub filters: String,
    /// What the item computes (group-by dimensions, measures, order, limit), so equal items share entries.
    pub item: String,
}

#[derive(Clone)]
pub struct CachedResult {
    pub table: Arc<ResultTable>,
    ttl: Duration,
    /// Read from the shared level rather than computed here.
    shared: bool,
}

struct PerEntryTtl;

impl Expiry<CacheKey, CachedResult> for PerEntryTtl {
    fn expire_after_create(
        &self,
        _key: &CacheKey,
        value: &CachedResult,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// Whether a lookup was answered from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    Hit,
    Miss,
}

/// Query results by [`CacheKey`], each living for its dataset's TTL.
#[derive(Clone)]
pub struct ResultCache {
    inner: moka::future::Cache<CacheKey, CachedResult>,
    shared: Option<Arc<SharedCache>>,
}

impl ResultCache {
    /// A cache holding at most about `max_bytes` of results.
    pub fn new(max_bytes: u64) -> Self {
        Self {
            inner: moka::future::Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|k: &CacheKey, v: &CachedResult| {
                    let key = k.dataset.len() + k.spec.len() + k.filters.len() + k.item.len() + 64;
                    u32::try_from(key + v.table.approx_bytes()).unwrap_or(u32::MAX)
                })
                .expire_after(PerEntryTtl)
                .build(),
            shared: None,
        }
    }

    /// The same cache with Redis as its second level.
    pub fn with_shared(mut self, shared: SharedCache) -> Self {
        self.shared = Some(Arc::new(shared));
        self
    }

    /// Returns the cached table for `key`, or runs `compute` (once, however many callers wait) and caches it.
    pub async fn get_or_compute<F>(
        &self,
        key: CacheKey,
        ttl: Duration,
        compute: F,
    ) -> crate::Result<(Arc<ResultTable>, Lookup)>
    where
        F: std::future::Future<Output = crate::Result<ResultTable>>,
    {
        let shared = self.shared.clone();
        let shared_key = shared.as_ref().map(|_| key.clone());
        let entry = self
            .inner
            .entry(key)
            .or_try_insert_with(async move {
                if let (Some(level), Some(key)) = (&shared, &shared_key) {
                    match level.get(key).await {
                        Found::Hit(table, left) => {
                            telemetry::cache_lookup("redis", "hit");
                            return Ok(CachedResult {
                                table: Arc::new(table),
                                ttl: left.min(ttl),
                                shared: true,
                            });
                        }
                        Found::Miss => telemetry::cache_lookup("redis", "miss"),
                        Found::Unavailable => telemetry::cache_lookup("redis", "error"),
                    }
                }
                let table = compute.await?;
                if let (Some(level), Some(key)) = (&shared, &shared_key) {
                    level.put(key, &table, ttl);
                }
                Ok(CachedResult {
                    table: Arc::new(table),
                    ttl,
                    shared: false,
                })
            })
            .await
            .map_err(crate::Error::from_shared)?;
        telemetry::cache_lookup("memory", if entry.is_fresh() { "miss" } else { "hit" });
        // A result another replica computed is a hit too: no query ran here.
        let lookup = if entry.is_fresh() && !entry.value().shared {
            Lookup::Miss
        } else {
            Lookup::Hit
        };
        Ok((entry.into_value().table, lookup))
    }

    /// The shared level, when configured.
    pub fn shared(&self) -> Option<&Arc<SharedCache>> {
        self.shared.as_ref()
    }

    pub fn entry_count(&self) -> u64 {
        self.inner.entry_count()
    }

    /// The weighed size of what is cached, in bytes (after pending evictions run).
    pub async fn weighted_bytes(&self) -> u64 {
        self.inner.run_pending_tasks().await;
        self.inner.weighted_size()
    }

    pub fn clear(&self) {
        self.inner.invalidate_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn key(version: u64) -> CacheKey {
        CacheKey {
            dataset: "d".into(),
            version,
            spec: "s".into(),
            filters: "team=Web".into(),
            item: "kpis".into(),
        }
    }

    fn table(n: i64) -> ResultTable {
        ResultTable {
            columns: vec!["n".into()],
            rows: vec![vec![serde_json::json!(n)]],
        }
    }

    #[tokio::test]
    async fn hits_misses_versions_and_ttl() {
        let cache = ResultCache::new(1 << 20);
        let runs = AtomicUsize::new(0);
        let compute = |n| {
            runs.fetch_add(1, Ordering::SeqCst);
            async move { Ok(table(n)) }
        };
        let (t, l) = cache
            .get_or_compute(key(1), Duration::from_secs(60), compute(1))
            .await
            .unwrap();
        assert_eq!((l, t.rows[0][0].as_i64()), (Lookup::Miss, Some(1)));
        let (t, l) = cache
            .get_or_compute(key(1), Duration::from_secs(60), compute(2))
            .await
            .unwrap();
        assert_eq!((l, t.rows[0][0].as_i64()), (Lookup::Hit, Some(1)));
        // A new version is a new key: never answered from the old entry.
        let (t, l) = cache
            .get_or_compute(key(2), Duration::from_secs(60), compute(3))
            .await
            .unwrap();
        assert_eq!((l, t.rows[0][0].as_i64()), (Lookup::Miss, Some(3)));

        let (_, l) = cache
            .get_or_compute(key(9), Duration::from_millis(50), compute(4))
            .await
            .unwrap();
        assert_eq!(l, Lookup::Miss);
        tokio::time::sleep(Duration::from_millis(120)).await;
        let (t, l) = cache
            .get_or_compute(key(9), Duration::from_millis(50), compute(5))
            .await
            .unwrap();
        assert_eq!((l, t.rows[0][0].as_i64()), (Lookup::Miss, Some(5)));
    }

    #[tokio::test]
    async fn errors_are_not_cached() {
        let cache = ResultCache::new(1 << 20);
        let err = cache
            .get_or_compute(key(1), Duration::from_secs(60), async {
                Err(crate::Error::NotFound {
                    kind: "dataset",
                    id: "x".into(),
                })
            })
            .await
            .unwrap_err();
        assert!(err.to_string().contains("not found"));
        let (_, l) = cache
            .get_or_compute(key(1), Duration::from_secs(60), async { Ok(table(1)) })
            .await
            .unwrap();
        assert_eq!(l, Lookup::Miss);
    }

    #[tokio::test]
    async fn bounded_by_bytes() {
        let cache = ResultCache::new(200_000);
        let big = || ResultTable {
            columns: vec!["s".into()],
            rows: (0..1000)
                .map(|i| vec![serde_json::json!(format!("value {i:>20}"))])
                .collect(),
        };
        for v in 0..20 {
            cache
                .get_or_compute(key(v), Duration::from_secs(60), async { Ok(big()) })
                .await
                .unwrap();
        }
        let bytes = cache.weighted_bytes().await;
        assert!(bytes <= 200_000, "{bytes}");
        assert!(cache.entry_count() < 20, "{}", cache.entry_count());
    }
}
