//! `query.engine: ballista://…`: an app whose queries run on a Ballista cluster (a real scheduler and executor,
//! gRPC and Flight on loopback) answers dashboards, row-restricted users, CSV exports and dataset profiles as an
//! embedded app over the same store does.

use lantern_core::storage::Storage;
use serde_json::Value;

use crate::access::{configure, signed_in};
use crate::support::{TestApp, base_config, publish_demo};

/// The answer without its cache figures and timing (how it was answered, not what).
fn data(mut body: Value) -> Value {
    let fields = body.as_object_mut().unwrap();
    fields.remove("cache");
    fields.remove("elapsed_ms");
    body
}

/// The first place where `a` and `b` differ (numbers within rounding count as equal), as a JSON path with both values (whole answers would bury it).
fn first_difference(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => x.keys().chain(y.keys()).find_map(|k| {
            first_difference(
                &x[k],
                y.get(k).unwrap_or(&Value::Null),
                &format!("{path}.{k}"),
            )
        }),
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (p, q))| first_difference(p, q, &format!("{path}[{i}]"))),
        // Sums of floats added in another order (other partitions) agree to rounding, and show the same text.
        (Value::Number(x), Value::Number(y))
            if (x.as_f64().unwrap() - y.as_f64().unwrap()).abs()
                <= 1e-9 * x.as_f64().unwrap().abs().max(1.0) =>
        {
            None
        }
        _ if a == b => None,
        _ => Some(format!("{path}: {a} vs {b}")),
    }
}

/// Two apps over one store holding the demo: the embedded engine's, and one whose queries run on `engine`.
async fn embedded_and_cluster(engine: String) -> (TestApp, TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = base_config(&dir.path().join("data").display().to_string());
    configure(&mut config);
    let storage = Storage::open(&config.storage).unwrap();
    publish_demo(&storage).await;
    let embedded = TestApp::start_with(config.clone(), storage.clone(), Some(dir)).await;
    config.query.engine = engine;
    let cluster = TestApp::start_with(config, storage, None).await;
    (embedded, cluster)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_ballista_cluster_answers_as_the_embedded_engine() {
    let engine = lantern_testkit::start_ballista(1, 2).await;
    let (embedded, cluster) = embedded_and_cluster(engine).await;

    for (user, path) in [
        ("admin", "/api/dashboards/cursor-usage/data"),
        (
            "admin",
            "/api/dashboards/cursor-usage/data?team=Web&team=ML&date=2025-03-01..2025-08-31",
        ),
        (
            "admin",
            "/api/dashboards/cursor-usage/data?user=user00003%40example.com",
        ),
        (
            "admin",
            "/api/dashboards/apac-dot/data?sub_region=North%20Asia",
        ),
        // Row rules travel with the plan: the analyst's own rows, on the cluster too.
        ("analyst", "/api/dashboards/apac-dot/data"),
    ] {
        let (a, b) = (
            signed_in(&embedded, user).await,
            signed_in(&cluster, user).await,
        );
        let ((sa, da), (sb, db)) = (a.get_json(path).await, b.get_json(path).await);
        assert_eq!((sa, sb), (200, 200), "{path}: {db}");
        let (da, db) = (data(da), data(db));
        assert_eq!(first_difference(&da, &db, ""), None, "{user} {path}");
    }

    // The rows behind a chart, streamed from the cluster.
    let export = "/api/dashboards/cursor-usage/charts/top-users/export.csv?team=Web";
    let (a, b) = (
        signed_in(&embedded, "admin").await,
        signed_in(&cluster, "admin").await,
    );
    let (ea, eb) = (a.page(export).await, b.page(export).await);
    assert!(ea.lines().count() > 1, "{ea}");
    assert_eq!(ea.lines().count(), eb.lines().count());
    for (la, lb) in ea.lines().zip(eb.lines()) {
        let (ca, cb): (Vec<&str>, Vec<&str>) = (la.split(',').collect(), lb.split(',').collect());
        assert_eq!(ca.len(), cb.len(), "{la} / {lb}");
        for (x, y) in ca.iter().zip(&cb) {
            match (x.parse::<f64>(), y.parse::<f64>()) {
                (Ok(p), Ok(q)) => assert!((p - q).abs() <= 1e-9 * p.abs().max(1.0), "{la} / {lb}"),
                _ => assert_eq!(x, y, "{la} / {lb}"),
            }
        }
    }
    // The dataset page's profile (row count and column summaries).
    let (pa, pb) = (
        a.page("/datasets/cursor_usage").await,
        b.page("/datasets/cursor_usage").await,
    );
    assert!(
        pb.contains("user_email") && pb.contains("20,000"),
        "the profile on the cluster"
    );
    assert_eq!(pa.matches("<tr").count(), pb.matches("<tr").count());
}

/// Kills a cluster process when the test ends.
struct Process(std::process::Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The real `ballista-scheduler` and `ballista-executor` binaries (55.0.0), run as their own processes on
/// loopback. Building them takes about an hour here, so they are not installed by the test command; where they
/// are absent the test says so and how to install them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_ballista_binaries_answer_as_the_embedded_engine() {
    let bin = std::env::var_os("LANTERN_BALLISTA_BIN").map_or_else(
        || {
            std::path::PathBuf::from(std::env::var_os("HOME").unwrap())
                .join(".cache/lantern-ballista/bin")
        },
        std::path::PathBuf::from,
    );
    let (scheduler_bin, executor_bin) = (
        bin.join("ballista-scheduler"),
        bin.join("ballista-executor"),
    );
    if !scheduler_bin.exists() || !executor_bin.exists() {
        eprintln!(
            "SKIPPED the Ballista binaries test: no ballista-scheduler and ballista-executor in {} (install them with \
             `cargo install --locked --root ~/.cache/lantern-ballista ballista-scheduler@55.0.0 ballista-executor@55.0.0`, \
             or set LANTERN_BALLISTA_BIN)",
            bin.display()
        );
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let port = lantern_testkit::free_port();
    let _scheduler = Process(
        std::process::Command::new(&scheduler_bin)
            .args(["--bind-host", "127.0.0.1", "--external-host", "127.0.0.1"])
            .args(["--bind-port", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the scheduler did not listen"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let health = lantern_testkit::free_port();
    let _executor = Process(
        std::process::Command::new(&executor_bin)
            .args([
                "--scheduler-host",
                "127.0.0.1",
                "--scheduler-port",
                &port.to_string(),
            ])
            .args(["--bind-host", "127.0.0.1", "--external-host", "127.0.0.1"])
            .args(["--bind-port", &lantern_testkit::free_port().to_string()])
            .args([
                "--bind-grpc-port",
                &lantern_testkit::free_port().to_string(),
            ])
            .args(["--bind-health-port", &health.to_string()])
            .args(["--vcores", "2", "--work-dir"])
            .arg(work.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let probe = reqwest::Client::new();
    while !probe
        .get(format!("http://127.0.0.1:{health}/readyz"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the executor did not become ready"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }

    let (embedded, cluster) = embedded_and_cluster(format!("ballista://127.0.0.1:{port}")).await;
    let path = "/api/dashboards/cursor-usage/data?team=Web&date=2025-03-01..2025-08-31";
    let (a, b) = (
        signed_in(&embedded, "admin").await,
        signed_in(&cluster, "admin").await,
    );
    let ((sa, da), (sb, db)) = (a.get_json(path).await, b.get_json(path).await);
    assert_eq!((sa, sb), (200, 200), "{db}");
    assert_eq!(first_difference(&data(da), &data(db), ""), None);
}
