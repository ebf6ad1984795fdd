//! `lantern check` as a team's CI runs it: the shipped specs pass against published demo data; a broken one fails
//! with exit status 1 and names its file, line and field.

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_lantern");

fn lantern(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("LANTERN_STORAGE_URL", dir.join("data"))
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

#[test]
fn check_passes_the_shipped_specs_and_names_a_broken_one() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&root.join("datasets"), &dir.path().join("datasets"));
    copy_dir(&root.join("dashboards"), &dir.path().join("dashboards"));

    // Before any data is published, the check says what to load.
    let out = lantern(dir.path(), &["check"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("has no published version"), "{text}");

    let demo = lantern(dir.path(), &["demo", "--rows", "5000"]);
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    let out = lantern(dir.path(), &["check"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains(
            "ok     dashboards/cursor_usage.yaml: dashboard `cursor-usage`: 6 KPIs and 6 charts"
        ),
        "{text}"
    );
    assert!(text.ends_with("all specs check out\n"), "{text}");

    // A typo in a chart option, and a histogram of a text column: both reported, with their lines.
    let path = dir.path().join("dashboards/cursor_usage.yaml");
    let spec = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        spec.replace("sort: -total_requests", "sort: -total_request"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("dashboards/extra.yaml"),
        "id: extra\ntitle: Extra\ndataset: apac_dot\ncharts:\n  - id: h\n    type: histogram\n    x: status\n",
    )
    .unwrap();
    let out = lantern(dir.path(), &["check"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let line = spec
        .lines()
        .position(|l| l.contains("sort: -total_requests"))
        .unwrap()
        + 1;
    assert!(
        text.contains(&format!("error  dashboards/cursor_usage.yaml:{line}: `charts[5].sort`: `total_request` is not one of the table's columns")),
        "{text}"
    );
    assert!(
        text.contains("error  dashboards/extra.yaml:7: `charts[0].x`"),
        "{text}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("2 problems found") && !stderr.contains("backtrace"),
        "{stderr}"
    );
}
