//! One scheduled ETL run per schedule tick across replicas. Every replica's scheduler wakes at the same cron
//! time; the first to create `datasets/<id>/_ticks/<unix seconds>.json` (a conditional put: `If-None-Match` on
//! S3, `O_EXCL` on a local folder) runs it, the others let it pass. The ETL lease ([`crate::lease`]) is not
//! enough on its own: it keeps two runs from overlapping, but a replica that wakes after a quick run has
//! released it would run the same tick a second time.

use std::collections::VecDeque;

use chrono::{DateTime, Duration, Utc};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStoreExt, PutMode, PutOptions};

use crate::catalog::Catalog;
use crate::error::{Error, Result};

/// How long a claim is kept: longer than any replica's scheduler can lag behind another's (a clock set
/// wrong by more than this could run a tick twice).
pub const RETENTION_MINUTES: i64 = 10;

/// The claims of one dataset's scheduler in this process; it deletes its own claims once they are older than
/// the retention, so the folder holds about one retention's worth of ticks.
#[derive(Debug)]
pub struct TickClaims {
    catalog: Catalog,
    dataset: String,
    retention: Duration,
    mine: VecDeque<(DateTime<Utc>, ObjectPath)>,
}

impl TickClaims {
    pub fn new(catalog: Catalog, dataset: &str) -> Self {
        Self::with_retention(catalog, dataset, Duration::minutes(RETENTION_MINUTES))
    }

    /// As [`TickClaims::new`], claims kept for `retention`.
    pub fn with_retention(catalog: Catalog, dataset: &str, retention: Duration) -> Self {
        Self {
            catalog,
            dataset: dataset.to_string(),
            retention,
            mine: VecDeque::new(),
        }
    }

    /// Whether this process runs `tick`: true for exactly one of the replicas that ask.
    pub async fn claim(&mut self, tick: DateTime<Utc>) -> Result<bool> {
        let path = ObjectPath::from(format!(
            "datasets/{}/_ticks/{}.json",
            self.dataset,
            tick.timestamp()
        ));
        let body = serde_json::json!({
            "pid": std::process::id(),
            "claimed_at": Utc::now(),
        });
        let create = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        let store = self.catalog.storage().store().clone();
        match store
            .put_opts(&path, body.to_string().into_bytes().into(), create)
            .await
        {
            Ok(_) => {
                self.mine.push_back((tick, path));
                self.forget_old(tick).await;
                Ok(true)
            }
            Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(e) => Err(Error::storage(&path, e)),
        }
    }

    async fn forget_old(&mut self, now: DateTime<Utc>) {
        let store = self.catalog.storage().store().clone();
        while let Some((tick, _)) = self.mine.front()
            && now - *tick > self.retention
        {
            let (_, path) = self.mine.pop_front().expect("front exists");
            match store.delete(&path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => {
                    tracing::warn!(dataset = %self.dataset, error = %e, "could not delete an old schedule claim")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Storage;

    #[tokio::test]
    async fn each_tick_is_claimed_once_and_old_claims_are_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::new(Storage::local_for_tests(dir.path()));
        let mut a = TickClaims::with_retention(catalog.clone(), "sales", Duration::seconds(90));
        let mut b = TickClaims::new(catalog.clone(), "sales");
        let t0 = DateTime::parse_from_rfc3339("2026-12-03T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert!(a.claim(t0).await.unwrap());
        assert!(!b.claim(t0).await.unwrap(), "a has it");
        assert!(
            !a.claim(t0).await.unwrap(),
            "not twice by its claimer either"
        );
        let t1 = t0 + Duration::minutes(1);
        assert!(b.claim(t1).await.unwrap(), "the next tick is free");
        assert!(
            TickClaims::new(catalog.clone(), "other")
                .claim(t0)
                .await
                .unwrap(),
            "claims are per dataset"
        );

        let ticks = dir.path().join("datasets/sales/_ticks");
        let files = || {
            let mut names: Vec<String> = std::fs::read_dir(&ticks)
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            names.sort();
            names
        };
        assert_eq!(files().len(), 2);
        // Two minutes on, a's claim of t0 is past its 90 s retention and goes; b's claim of t1 stays.
        assert!(a.claim(t0 + Duration::minutes(2)).await.unwrap());
        let expected = [t1, t0 + Duration::minutes(2)].map(|t| format!("{}.json", t.timestamp()));
        assert_eq!(files(), expected);
    }
}
