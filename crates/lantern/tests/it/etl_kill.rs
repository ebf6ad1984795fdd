//! A real process kill in the middle of an ETL run: the portal keeps serving the published version, and the next
//! run publishes and removes the killed run's leftovers.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::serve::{BIN, Server};

const PASSWORD: &str = "kill-test-password";

fn lantern(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("LANTERN_ADMIN_PASSWORD", PASSWORD)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

/// `rows` rows with a 400-character random-looking payload, so Parquet output passes the 10 MB upload buffer early.
fn write_csv(path: &Path, rows: usize, seed: u64) {
    use std::fmt::Write as _;
    let mut text = String::with_capacity(rows * 430);
    text.push_str("id,category,payload\n");
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    for i in 0..rows {
        let _ = write!(text, "{i},{},", ["a", "b", "c"][i % 3]);
        for _ in 0..25 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let _ = write!(text, "{:016x}", x);
        }
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

async fn kpi(client: &reqwest::Client, base: &str) -> (u64, u64) {
    let body: serde_json::Value = client
        .get(format!("{base}/api/dashboards/big/data"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (
        body["version"].as_u64().unwrap(),
        body["kpis"][0]["value"].as_u64().unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_run_leaves_the_published_version_served() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for sub in ["datasets", "dashboards", "data"] {
        std::fs::create_dir_all(root.join(sub)).unwrap();
    }
    std::fs::write(
        root.join("datasets/big.yaml"),
        "id: big\nsource: {kind: csv, path: data/big.csv}\nmetrics:\n  dimensions:\n    category:\n  measures:\n    rows: {expr: count(*), format: integer}\n",
    )
    .unwrap();
    std::fs::write(
        root.join("dashboards/big.yaml"),
        "id: big\ntitle: Big\ndataset: big\nfilters:\n  - {dimension: category, type: multi_select}\nkpis: [rows]\n",
    )
    .unwrap();

    write_csv(&root.join("data/big.csv"), 1_000, 1);
    let out = lantern(root, &["etl", "run", "big"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The portal, as its own process.
    let server = Server::start(root, &[("LANTERN_ADMIN_PASSWORD", PASSWORD)]).await;
    let base = server.base.clone();
    let client = crate::serve::browser();
    assert_eq!(server.sign_in(&client, "admin", PASSWORD).await, 303);
    assert_eq!(kpi(&client, &base).await, (1, 1_000));

    // A big run, killed once its first Parquet upload has started in the new version's folder.
    write_csv(&root.join("data/big.csv"), 150_000, 2);
    let mut run = Command::new(BIN)
        .args(["etl", "run", "big"])
        .current_dir(root)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let v2 = root.join("lantern-data/datasets/big/v2");
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let started_writing = std::fs::read_dir(&v2)
            .map(|mut d| d.next().is_some())
            .unwrap_or(false);
        if started_writing {
            break;
        }
        if let Some(status) = run.try_wait().unwrap() {
            panic!("the run ended ({status}) before it could be killed mid-write");
        }
        assert!(Instant::now() < deadline, "the run never started writing");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    run.kill().unwrap();
    let status = run.wait().unwrap();
    assert!(!status.success(), "killed");
    assert!(
        !root
            .join("lantern-data/datasets/big/v2/manifest.json")
            .exists()
    );

    // Still version 1, served as before.
    let current: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root.join("lantern-data/datasets/big/current.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(current["version"], 1);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(kpi(&client, &base).await, (1, 1_000));

    // The next run publishes a new version and removes the killed run's folder.
    write_csv(&root.join("data/big.csv"), 2_000, 3);
    let out = lantern(root, &["etl", "run", "big", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary[0]["summary"]["version"], 3);
    assert_eq!(
        summary[0]["summary"]["pruned_versions"],
        serde_json::json!([2])
    );
    assert!(!v2.exists(), "leftovers of the killed run are cleaned up");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(kpi(&client, &base).await, (3, 2_000));
}
