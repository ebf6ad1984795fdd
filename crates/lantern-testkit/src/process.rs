//! Running a command the way a test feeds it: `input` on its standard input, its output kept.

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// Runs `command` with `input` piped to its standard input and returns its status and output.
pub fn run_with_input(command: &mut Command, input: &[u8]) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}
