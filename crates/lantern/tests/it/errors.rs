//! Failing commands print their message and causes, not a crash report, even with `RUST_BACKTRACE=1` set (as
//! it is in many Rust users' shells), and exit with the status of their kind: 2 for bad configuration, 3 for bad
//! data.

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
        stderr.contains("sales.yaml:4: `source.paht`: unknown field `paht`"),
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

#[test]
fn spec_faults_are_found_when_specs_load_and_missing_input_is_bad_data() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("datasets")).unwrap();
    // An option out of range: reported by `etl list`, which only loads the specs, with its file and line.
    let spec = "id: orders\nsource:\n  kind: sql\n  url: postgres://127.0.0.1/shop\n  query: SELECT 1\n  decimal_scale: 99\n";
    std::fs::write(dir.path().join("datasets/orders.yaml"), spec).unwrap();
    let (code, stderr) = lantern(dir.path(), &["etl", "list"], &[]);
    assert_eq!(code, Some(2), "{stderr}");
    let line = spec
        .lines()
        .position(|l| l.contains("decimal_scale"))
        .unwrap()
        + 1;
    assert!(
        stderr.contains(&format!("orders.yaml:{line}: `source.decimal_scale`")),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    // A glob that matches nothing: the message names the path, once, without a backtrace.
    std::fs::write(
        dir.path().join("datasets/orders.yaml"),
        "id: orders\nsource: {kind: csv, path: drops/orders-*.csv}\n",
    )
    .unwrap();
    let (code, stderr) = lantern(dir.path(), &["etl", "run", "orders"], &[]);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(
        stderr.starts_with("error: ")
            && stderr.contains("drops/orders-*.csv")
            && stderr.contains("no file matches"),
        "{stderr}"
    );
    assert!(!stderr.to_lowercase().contains("backtrace"), "{stderr}");
    assert!(stderr.lines().count() <= 2, "{stderr}");
}
