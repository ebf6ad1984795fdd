//! ETL integration tests: messy files generated here, loaded through the real pipeline, read back as Parquet.

mod api;
mod csv;
mod cursor_export;
mod locales;
mod s3;
mod schedule;
mod sql;
mod support;
