//! The one error type of `lantern-core`. Every variant says what was wrong and where.

use std::path::PathBuf;

/// Result alias used throughout `lantern-core`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the core layer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration value is missing or invalid; `key` is the dotted config key (`server.port`).
    #[error("invalid configuration `{key}`: {message}")]
    Config { key: String, message: String },

    /// A YAML spec file (dashboard or dataset) is invalid; `field` is the dotted path inside the file.
    #[error("{}:{line}: `{field}`: {message}", file.display())]
    Spec {
        file: PathBuf,
        line: usize,
        field: String,
        message: String,
    },

    /// A filter parameter could not be parsed or does not apply to the dataset.
    #[error("bad filter `{field}`: {message}")]
    Filter { field: String, message: String },

    /// A dataset, dashboard or version does not exist.
    #[error("{kind} `{id}` not found")]
    NotFound { kind: &'static str, id: String },

    /// A dataset exists but its stored files could not be read (for example a corrupt Parquet file).
    #[error("dataset `{dataset}` version {version} cannot be read: {message}")]
    DatasetUnreadable {
        dataset: String,
        version: u64,
        message: String,
    },

    /// Another ETL run of the dataset holds its lease.
    #[error(
        "dataset `{dataset}` is being loaded by another run ({holder}); try again when it has finished"
    )]
    Busy { dataset: String, holder: String },

    /// The object store failed.
    #[error("storage error at `{path}`: {source}")]
    Storage {
        path: String,
        #[source]
        source: object_store::Error,
    },

    /// DataFusion failed while planning or running a query.
    #[error("query error: {0}")]
    Query(#[from] datafusion::error::DataFusionError),

    /// Writing or reading Parquet failed.
    #[error("parquet error: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),

    /// A manifest or other JSON document could not be parsed.
    #[error("invalid JSON in `{path}`: {message}")]
    Json { path: String, message: String },

    /// An error shared by every caller that waited on one computation (a cached query or manifest read): it
    /// keeps the original's kind and cause.
    #[error(transparent)]
    Shared(std::sync::Arc<Error>),

    /// A local file could not be read.
    #[error("cannot read `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// The error one computation failed with, owned when this caller was its only waiter.
    pub fn from_shared(shared: std::sync::Arc<Error>) -> Self {
        std::sync::Arc::try_unwrap(shared).unwrap_or_else(Error::Shared)
    }

    /// This error without the [`Error::Shared`] wrappers, to match on its kind.
    pub fn kind(&self) -> &Error {
        match self {
            Error::Shared(inner) => inner.kind(),
            e => e,
        }
    }

    /// A failure of the object store at `path` (for other crates that read or list the store themselves).
    pub fn storage(path: impl ToString, source: object_store::Error) -> Self {
        Error::Storage {
            path: path.to_string(),
            source,
        }
    }

    /// Whether this is the object store saying the path holds nothing.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self.kind(),
            Error::Storage {
                source: object_store::Error::NotFound { .. },
                ..
            }
        )
    }

    pub(crate) fn config(key: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config {
            key: key.into(),
            message: message.into(),
        }
    }

    pub(crate) fn filter(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Filter {
            field: field.into(),
            message: message.into(),
        }
    }
}
