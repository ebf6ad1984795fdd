//! Sources: each kind is a config struct (in [`crate::config::SourceConfig`]) and a module that turns it into a
//! stream of Arrow record batches.

pub mod csv;
