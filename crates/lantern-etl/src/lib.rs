//! Lantern's ETL: sources → transforms → sink, publishing each run as a new dataset version.
//!
//! A dataset's `datasets/<id>.yaml` says where its data comes from (`source:`) and how it is loaded (`load:`);
//! a source yields Arrow record batches a bounded number of rows at a time, and the sink writes them as Parquet
//! through the catalog, which publishes the version atomically (its `current.json` is written last).

pub mod batch;
pub mod config;
pub mod error;
pub mod formats;
pub mod infer;
pub mod pipeline;
pub mod schedule;
pub mod sink;
pub mod sources;
pub mod transforms;

pub use config::EtlConfig;
pub use error::{EtlError, Result};
pub use pipeline::{Progress, RunSummary, Trigger, run, run_recorded};
