//! Failing commands print their message and causes, not a crash report, even with `RUST_BACKTRACE=1` set (as
//! it is in many Rust users' shells), and exit with the status of their kind: 2 for bad configuration.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_lantern");

fn lantern(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(dir)
        .env("RUST_BACKTRACE", "1")
        .env("LANTERN_STORAGE_URL", dir.join("data"))
        .env_remove("RUST_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_configuration_is_a_message_and_status_2() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stderr) = lantern(dir.path(), &["check"], &[("LANTERN_PORT", "eighty")]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains("LANTERN_PORT"), "{stderr}");
    assert!(!stderr.to_lowercase().contains("backtrace"), "{stderr}");
    assert!(stderr.lines().count() <= 3, "{stderr}");

    // A misspelt key of a dataset's `source:` names the file and line.
    std::fs::create_dir_all(dir.path().join("datasets")).unwrap();
    std::fs::write(
        dir.path().join("datasets/sales.yaml"),
        "id: sales\nsource:\n  kind: csv\n  paht: data/sales.csv\n",
    )
    .unwrap();
    let (code, stderr) = lantern(dir.path(), &["etl", "list"], &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("sales.yaml") && stderr.contains("paht"),
        "{stderr}"
    );
    assert!(!stderr.to_lowercase().contains("backtrace"), "{stderr}");

    // Asked for, the backtrace follows the message.
    let (_, verbose) = lantern(dir.path(), &["etl", "list", "--verbose"], &[]);
    assert!(verbose.starts_with(stderr.trim_end()), "{verbose}");
    assert!(
        verbose.lines().count() > stderr.lines().count() + 3,
        "{verbose}"
    );
}
