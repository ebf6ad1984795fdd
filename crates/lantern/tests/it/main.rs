//! Tests of the `lantern` binary itself, run as real processes.

mod etl_kill;
