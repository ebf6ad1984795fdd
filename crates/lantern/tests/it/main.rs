//! Tests of the `lantern` binary itself, run as real processes.

mod check;
mod etl_kill;
mod users;
