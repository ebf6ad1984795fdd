//! Tests of the `lantern` binary itself, run as real processes.

mod check;
mod compose;
mod container;
mod deployment;
mod errors;
mod etl_kill;
mod hints;
mod operations;
mod redis_tls;
mod replicas;
mod serve;
mod users;
