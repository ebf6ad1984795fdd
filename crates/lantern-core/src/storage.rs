//! The object store that holds every dataset: a local folder by default, S3 (or MinIO) when configured.
//!
//! Everything above this module sees one [`Storage`]: an `ObjectStore` rooted at the configured prefix, plus the
//! URL under which the same store is registered with DataFusion, so a query reads local and S3 data alike.

use std::sync::Arc;

use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt};
use url::Url;

use crate::config::StorageConfig;
use crate::error::{Error, Result};

/// The URL DataFusion knows the store by. Paths under it are relative to the configured prefix.
pub const STORE_URL: &str = "lantern://store/";

/// An object store rooted at Lantern's data prefix.
#[derive(Clone, Debug)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    description: String,
    /// The folder behind a local store, where a killed writer's staging files can remain.
    local_root: Option<std::path::PathBuf>,
    /// Where processes other than this one find the same data (a Ballista cluster's executors).
    shared: Option<SharedLocation>,
}

/// The store as another process reaches it: a real URL instead of [`STORE_URL`], which only this process's
/// DataFusion knows. Ballista's executors read the files at these URLs themselves.
#[derive(Clone, Debug)]
pub struct SharedLocation {
    /// `file:///abs/folder/` or `s3://bucket/prefix/`.
    pub base: Url,
    /// The store to register for `base`'s scheme and bucket in a client context (S3; local files need none).
    pub store: Option<Arc<dyn ObjectStore>>,
}

impl SharedLocation {
    /// The URL of `path` (relative to the data prefix).
    pub fn url_of(&self, path: &ObjectPath) -> Url {
        self.base
            .join(path.as_ref())
            .expect("an object path joins a directory URL")
    }
}

impl Storage {
    /// Opens the store that `config.url` names, creating a local folder if needed.
    pub fn open(config: &StorageConfig) -> Result<Self> {
        let url = config.url.trim();
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(Error::config(
                    "storage.url",
                    format!("`{url}` names no bucket"),
                ));
            }
            let mut builder = AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .with_virtual_hosted_style_request(!config.path_style);
            if let Some(endpoint) = &config.endpoint {
                builder = builder.with_endpoint(endpoint);
                let allow = config.allow_http.unwrap_or(endpoint.starts_with("http://"));
                builder = builder.with_allow_http(allow);
            } else if let Some(allow) = config.allow_http {
                builder = builder.with_allow_http(allow);
            }
            if let Some(region) = &config.region {
                builder = builder.with_region(region);
            }
            if let Some(key) = &config.access_key_id {
                builder = builder.with_access_key_id(key);
            }
            if let Some(secret) = &config.secret_access_key {
                builder = builder.with_secret_access_key(secret);
            }
            if let Some(token) = &config.session_token {
                builder = builder.with_token(token);
            }
            let s3 = builder
                .build()
                .map_err(|e| Error::config("storage.url", format!("cannot open `{url}`: {e}")))?;
            let prefix = prefix.trim_matches('/');
            let shared = Url::parse(&if prefix.is_empty() {
                format!("s3://{bucket}/")
            } else {
                format!("s3://{bucket}/{prefix}/")
            })
            .map(|base| SharedLocation {
                base,
                store: Some(Arc::new(s3.clone()) as Arc<dyn ObjectStore>),
            })
            .ok();
            let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
                Arc::new(s3)
            } else {
                Arc::new(PrefixStore::new(s3, prefix))
            };
            Ok(Self {
                store,
                description: url.to_string(),
                local_root: None,
                shared,
            })
        } else if url.contains("://") && !url.starts_with("file://") {
            Err(Error::config(
                "storage.url",
                format!("`{url}`: use a local folder, file:///path or s3://bucket/prefix"),
            ))
        } else {
            let dir = url.strip_prefix("file://").unwrap_or(url);
            std::fs::create_dir_all(dir).map_err(|source| Error::Io {
                path: dir.into(),
                source,
            })?;
            let local = LocalFileSystem::new_with_prefix(dir)
                .map_err(|e| Error::config("storage.url", format!("cannot open `{dir}`: {e}")))?
                .with_automatic_cleanup(true);
            let canonical = std::fs::canonicalize(dir).ok();
            let shared = canonical
                .as_ref()
                .and_then(|p| Url::from_directory_path(p).ok())
                .map(|base| SharedLocation { base, store: None });
            Ok(Self {
                store: Arc::new(local),
                description: canonical
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| dir.to_string()),
                local_root: Some(dir.into()),
                shared,
            })
        }
    }

    /// A local store in `dir`, for tests.
    #[cfg(test)]
    pub(crate) fn local_for_tests(dir: &std::path::Path) -> Self {
        Self::open(&StorageConfig {
            url: dir.display().to_string(),
            ..Default::default()
        })
        .expect("a temporary folder opens")
    }

    /// Wraps an existing store (tests, embedding).
    pub fn from_store(store: Arc<dyn ObjectStore>, description: impl Into<String>) -> Self {
        Self {
            store,
            description: description.into(),
            local_root: None,
            shared: None,
        }
    }

    /// Removes what a killed writer may have left under `prefix` that the object store API does not list
    /// (a local store's multipart staging files). On S3, abort incomplete multipart uploads with a bucket
    /// lifecycle rule instead.
    pub fn remove_unlisted(&self, prefix: &ObjectPath) -> Result<()> {
        if let Some(root) = &self.local_root {
            let dir = root.join(prefix.as_ref());
            match std::fs::remove_dir_all(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(Error::Io { path: dir, source }),
            }
        }
        Ok(())
    }

    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// Where another process reads this store; `None` for a store wrapped with [`Storage::from_store`].
    pub fn shared_location(&self) -> Option<&SharedLocation> {
        self.shared.as_ref()
    }

    /// Where the data lives, for logs and the UI.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The DataFusion URL of a path in this store.
    pub fn url_of(path: &ObjectPath) -> Url {
        Url::parse(STORE_URL)
            .and_then(|base| base.join(path.as_ref()))
            .expect("store URL is valid")
    }

    /// Reads a whole object.
    pub async fn get_bytes(&self, path: &ObjectPath) -> Result<bytes::Bytes> {
        let got = self
            .store
            .get(path)
            .await
            .map_err(|e| Error::storage(path, e))?;
        got.bytes().await.map_err(|e| Error::storage(path, e))
    }

    /// Whether the store answers: one listing of its root (a single request on S3), for readiness checks.
    pub async fn reachable(&self) -> Result<()> {
        let root = ObjectPath::from("");
        self.store
            .list_with_delimiter(None)
            .await
            .map(|_| ())
            .map_err(|e| Error::storage(&root, e))
    }

    /// Writes a whole object atomically (local: temp file + rename; S3: a single PUT).
    pub async fn put_bytes(&self, path: &ObjectPath, data: bytes::Bytes) -> Result<()> {
        self.store
            .put(path, data.into())
            .await
            .map(|_| ())
            .map_err(|e| Error::storage(path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_unknown_schemes_naming_the_key() {
        let cfg = StorageConfig {
            url: "gs://bucket".into(),
            ..Default::default()
        };
        let err = Storage::open(&cfg).unwrap_err().to_string();
        assert!(err.contains("storage.url"), "{err}");
    }

    #[tokio::test]
    async fn local_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = StorageConfig {
            url: dir.path().join("data").display().to_string(),
            ..Default::default()
        };
        let storage = Storage::open(&cfg).unwrap();
        let p = ObjectPath::from("a/b.txt");
        storage
            .put_bytes(&p, bytes::Bytes::from_static(b"hi"))
            .await
            .unwrap();
        assert_eq!(&storage.get_bytes(&p).await.unwrap()[..], b"hi");
        assert!(dir.path().join("data/a/b.txt").exists());
        assert_eq!(Storage::url_of(&p).as_str(), "lantern://store/a/b.txt");
    }
}
