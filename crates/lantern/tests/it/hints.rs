//! A column left as text that one option would type is named, with a sample value and the option, in each place a
//! run reports: `lantern etl run`'s output, its `--json`, and the `/datasets` page.

use std::process::Command;

use crate::serve::{BIN, Server, browser};

const PASSWORD: &str = "hints-test-password";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ambiguous_date_column_is_hinted_in_the_cli_its_json_and_the_datasets_page() {
    let dir = tempfile::tempdir().unwrap();
    let (datasets, dashboards) = (dir.path().join("datasets"), dir.path().join("dashboards"));
    std::fs::create_dir(&datasets).unwrap();
    std::fs::create_dir(&dashboards).unwrap();
    // Days and months both up to 12: every value reads day-first and month-first.
    let mut csv = String::from("invoice,due\n");
    for i in 0..200u32 {
        csv.push_str(&format!(
            "{i},{:02}/{:02}/2025\n",
            1 + i * 7 % 12,
            1 + i * 5 % 12
        ));
    }
    std::fs::write(dir.path().join("invoices.csv"), &csv).unwrap();
    std::fs::write(
        datasets.join("invoices.yaml"),
        "id: invoices\nsource: {kind: csv, path: invoices.csv}\n",
    )
    .unwrap();
    let lantern = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .current_dir(dir.path())
            .env_remove("RUST_LOG")
            .output()
            .unwrap()
    };

    let out = lantern(&["etl", "run", "invoices"]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .find(|l| l.starts_with("invoices: hint: "))
        .unwrap_or_else(|| panic!("a hint line in {stderr}"));
    assert!(
        line.contains("column `due` stays text: values like `01/01/2025`")
            && line.contains(r#"`load.formats: {due: "%d/%m/%Y"}`"#),
        "{line}"
    );

    let out = lantern(&["etl", "run", "invoices", "--json"]);
    let runs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let hint = &runs[0]["summary"]["hints"][0];
    assert_eq!(hint["column"], "due");
    assert_eq!(hint["sample"], "01/01/2025");
    assert!(
        hint["option"].as_str().unwrap().contains("%m/%d/%Y"),
        "{hint}"
    );

    let server = Server::start(dir.path(), &[("LANTERN_ADMIN_PASSWORD", PASSWORD)]).await;
    let me = browser();
    assert_eq!(server.sign_in(&me, "admin", PASSWORD).await, 303);
    let page = server.page(&me, "/datasets").await;
    let row = &page[page
        .find(r#"<tr data-dataset="invoices">"#)
        .expect("listed")..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(
        row.contains("data-hint>column <code>due</code> stays text"),
        "{row}"
    );

    // Typed as the hint says, the next run has nothing to hint.
    std::fs::write(
        datasets.join("invoices.yaml"),
        "id: invoices\nsource: {kind: csv, path: invoices.csv}\nload: {formats: {due: \"%d/%m/%Y\"}}\n",
    )
    .unwrap();
    let out = lantern(&["etl", "run", "invoices"]);
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("hint:"));
}
