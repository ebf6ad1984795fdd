//! The kinds `source: {kind: …}` can name. Each kind is a config struct in its own module implementing
//! [`Source`], registered by one line in [`register!`]'s list below.

use super::{StageContext, Staged};
use crate::error::Result;

/// A fault the spec alone shows (a value out of range, a URL of the wrong kind): found when the spec loads,
/// before anything is fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// The option under `source.`, e.g. `decimal_scale`.
    pub field: String,
    pub message: String,
}

impl Fault {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// What every source kind does.
#[async_trait::async_trait]
pub trait Source: Send + Sync {
    /// Faults visible in the spec itself. Values written as `${VAR}` are checked once expanded, when staging.
    fn check(&self) -> std::result::Result<(), Fault> {
        Ok(())
    }

    /// One line for listings (`lantern etl list`); never credentials.
    fn describe(&self) -> String;

    /// Whether the rows arrive as text, so that `load.locale` and `load.formats` apply to them.
    fn reads_text(&self) -> bool {
        false
    }

    /// Fetches the rows: remote sources download into `ctx.staging`, databases open a stream.
    async fn stage(&self, ctx: &StageContext<'_>) -> Result<Staged>;
}

/// Declares [`SourceConfig`] from one `Kind(ConfigType)` line per source kind.
macro_rules! register {
    ($($(#[$doc:meta])* $kind:ident($config:ty),)*) => {
        /// Where a dataset's rows come from (`source: {kind: csv, …}`).
        #[derive(Debug, Clone, serde::Deserialize)]
        #[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
        pub enum SourceConfig {
            $($(#[$doc])* $kind($config),)*
        }

        impl SourceConfig {
            /// The configured source, whatever its kind.
            pub fn source(&self) -> &dyn Source {
                match self {
                    $(Self::$kind(c) => c,)*
                }
            }
        }
    };
}

register! {
    /// Local files or `s3://` objects, by path or glob.
    Csv(super::csv::CsvConfig),
    /// A REST API, page by page.
    Api(super::api::ApiConfig),
    /// Objects under an S3 prefix: CSV, JSON lines or Parquet.
    S3(super::s3::S3Config),
    /// A PostgreSQL or MySQL query.
    Sql(super::sql::SqlConfig),
    /// A DOMO dataset's export.
    Domo(super::domo::DomoConfig),
}
