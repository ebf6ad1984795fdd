//! The ETL's error type: every variant names the file, row, column or field at fault.

use std::path::PathBuf;

pub type Result<T, E = EtlError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum EtlError {
    /// The dataset's ETL config is invalid.
    #[error("{}:{line}: `{field}`: {message}", file.display())]
    Config {
        file: PathBuf,
        line: usize,
        field: String,
        message: String,
    },
    /// A source file could not be read or parsed; `row` is 1-based and counts the header line.
    #[error("{file}{}{}: {message}", row.map(|r| format!(": row {r}")).unwrap_or_default(), column.as_ref().map(|c| format!(", column `{c}`")).unwrap_or_default())]
    Source {
        file: String,
        row: Option<u64>,
        column: Option<String>,
        message: String,
    },
    /// A value does not fit the type its column was given from a sample: the run starts again with types
    /// inferred over every row (never seen by users unless that fails too).
    #[error(
        "{file}: row {row}, column `{column}`: {message} (the type inferred from the first rows does not hold)"
    )]
    TypeChanged {
        file: String,
        row: u64,
        column: String,
        message: String,
    },
    /// Reading, writing or fetching failed below the ETL (a file, the network, a database); `what` names the
    /// file, URL or source, and the cause is kept.
    #[error("{what}: {cause}")]
    Failed {
        what: String,
        #[source]
        cause: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    #[error(transparent)]
    Core(#[from] lantern_core::Error),
    #[error("arrow error: {0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
}

impl EtlError {
    pub(crate) fn failed(
        what: impl Into<String>,
        cause: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        EtlError::Failed {
            what: what.into(),
            cause: cause.into(),
        }
    }

    pub(crate) fn source(file: impl Into<String>, message: impl Into<String>) -> Self {
        EtlError::Source {
            file: file.into(),
            row: None,
            column: None,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_keeps_its_cause() {
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "permission denied");
        let e = EtlError::failed("data/orders.csv", io);
        assert_eq!(e.to_string(), "data/orders.csv: permission denied");
        let cause = std::error::Error::source(&e).expect("the cause is kept");
        let io = cause.downcast_ref::<std::io::Error>().expect("as itself");
        assert_eq!(io.kind(), std::io::ErrorKind::PermissionDenied);
    }
}
