//! Lantern's core: configuration, storage, the dataset catalog, the semantic layer (dimensions and measures),
//! dashboard specifications, filters, the query engine and its cache.
//!
//! Nothing here knows about HTTP. Data flows one way: storage → catalog → query → (web) charts → pages.

pub mod access;
pub mod cache;
pub mod catalog;
pub mod config;
pub mod dashboard;
pub mod demo;
pub mod error;
mod file_layout;
pub mod filters;
pub mod lease;
pub mod query;
pub mod redis_client;
mod rollup;
pub mod sandbox;
pub mod semantic;
pub mod shape;
pub mod storage;
pub mod telemetry;
pub mod tick_claim;
pub mod yaml_lines;

pub use error::{Error, Result};
