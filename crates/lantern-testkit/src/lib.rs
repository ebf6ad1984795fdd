//! Helpers shared by Lantern's integration tests and benchmarks (dev-dependency only).

pub mod browser;
mod s3;

pub use s3::{S3_KEY, S3_SECRET, start_s3};
