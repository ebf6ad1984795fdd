//! One ETL run per dataset at a time, across processes and replicas: a run holds `datasets/<id>/_lease.json`,
//! created only if absent (a conditional put on S3, `O_EXCL` on a local folder), and deletes it when it ends.
//!
//! A lease left by a run that died is taken over when it has expired, or at once when it was taken on this host
//! by a process that no longer exists (a killed `lantern etl run`).

use chrono::{DateTime, Duration, Utc};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStoreExt, PutMode, PutOptions};
use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::error::{Error, Result};

/// How long a lease holds without its run finishing (runs do not renew it).
pub const LEASE_HOURS: i64 = 6;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct LeaseFile {
    host: String,
    pid: u32,
    started_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

impl LeaseFile {
    fn describe(&self) -> String {
        format!(
            "pid {} on {} since {}",
            self.pid,
            self.host,
            self.started_at.format("%Y-%m-%d %H:%M:%S UTC")
        )
    }

    /// Whether the run that took it can be known to be gone.
    fn abandoned(&self, now: DateTime<Utc>) -> bool {
        now > self.expires_at
            || (self.host == host_name()
                && self.pid != std::process::id()
                && !std::path::Path::new(&format!("/proc/{}", self.pid)).exists())
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown-host".into())
}

fn lease_path(id: &str) -> ObjectPath {
    ObjectPath::from(format!("datasets/{id}/_lease.json"))
}

/// A held lease; [`Lease::release`] gives it back.
#[derive(Debug)]
pub struct Lease {
    catalog: Catalog,
    dataset: String,
}

impl Catalog {
    /// Takes the dataset's ETL lease, or fails with [`Error::Busy`] naming the run that holds it.
    pub async fn acquire_lease(&self, id: &str) -> Result<Lease> {
        let path = lease_path(id);
        let store = self.storage().store().clone();
        for _ in 0..2 {
            let now = Utc::now();
            let mine = LeaseFile {
                host: host_name(),
                pid: std::process::id(),
                started_at: now,
                expires_at: now + Duration::hours(LEASE_HOURS),
            };
            let body = serde_json::to_vec(&mine).expect("lease serializes");
            let create = PutOptions {
                mode: PutMode::Create,
                ..Default::default()
            };
            match store.put_opts(&path, body.into(), create).await {
                Ok(_) => {
                    return Ok(Lease {
                        catalog: self.clone(),
                        dataset: id.to_string(),
                    });
                }
                Err(object_store::Error::AlreadyExists { .. }) => {
                    let held: Option<LeaseFile> = match store.get(&path).await {
                        Ok(r) => r
                            .bytes()
                            .await
                            .ok()
                            .and_then(|b| serde_json::from_slice(&b).ok()),
                        // Released in between: try again.
                        Err(object_store::Error::NotFound { .. }) => continue,
                        Err(e) => return Err(Error::storage(&path, e)),
                    };
                    match held {
                        Some(h) if !h.abandoned(now) => {
                            return Err(Error::Busy {
                                dataset: id.to_string(),
                                holder: h.describe(),
                            });
                        }
                        _ => {
                            tracing::warn!(dataset = id, lease = ?held, "taking over an abandoned ETL lease");
                            match store.delete(&path).await {
                                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                                Err(e) => return Err(Error::storage(&path, e)),
                            }
                        }
                    }
                }
                Err(e) => return Err(Error::storage(&path, e)),
            }
        }
        Err(Error::Busy {
            dataset: id.to_string(),
            holder: "another run took it at the same moment".into(),
        })
    }
}

impl Lease {
    /// Gives the lease back (best effort: an error is logged, and the lease expires anyway).
    pub async fn release(self) {
        let path = lease_path(&self.dataset);
        match self.catalog.storage().store().delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => {
                tracing::warn!(dataset = %self.dataset, error = %e, "could not release the ETL lease")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Storage;

    #[tokio::test]
    async fn one_holder_at_a_time_and_dead_holders_are_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::new(Storage::local_for_tests(dir.path()));
        let lease = catalog.acquire_lease("sales").await.unwrap();
        let err = catalog
            .acquire_lease("sales")
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`sales` is being loaded")
                && err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        assert!(
            catalog.acquire_lease("other").await.is_ok(),
            "leases are per dataset"
        );
        lease.release().await;
        let again = catalog.acquire_lease("sales").await.unwrap();
        again.release().await;

        // A lease left on this host by a process that is gone is taken over.
        let dead = LeaseFile {
            host: host_name(),
            pid: u32::MAX - 1,
            started_at: Utc::now(),
            expires_at: Utc::now() + Duration::hours(1),
        };
        let store = catalog.storage().store().clone();
        store
            .put(
                &lease_path("sales"),
                serde_json::to_vec(&dead).unwrap().into(),
            )
            .await
            .unwrap();
        catalog
            .acquire_lease("sales")
            .await
            .unwrap()
            .release()
            .await;
        // A live holder elsewhere is respected until its lease expires.
        let elsewhere = LeaseFile {
            host: "another-replica".into(),
            ..dead
        };
        store
            .put(
                &lease_path("sales"),
                serde_json::to_vec(&elsewhere).unwrap().into(),
            )
            .await
            .unwrap();
        assert!(catalog.acquire_lease("sales").await.is_err());
        let expired = LeaseFile {
            expires_at: Utc::now() - Duration::minutes(1),
            ..elsewhere
        };
        store
            .put(
                &lease_path("sales"),
                serde_json::to_vec(&expired).unwrap().into(),
            )
            .await
            .unwrap();
        assert!(catalog.acquire_lease("sales").await.is_ok());
    }
}
