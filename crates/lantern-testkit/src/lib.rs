//! Helpers shared by Lantern's integration tests and benchmarks (dev-dependency only).

pub mod browser;
mod forms;
mod s3;

pub use forms::csrf_token;
pub use s3::{S3_KEY, S3_SECRET, start_s3};
