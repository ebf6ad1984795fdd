//! Two `lantern serve` replicas sharing Redis (sessions and results) and one data folder, behind a TCP
//! balancer on loopback; `BENCH_SESSIONS` signed-in sessions load the Cursor Usage dashboard (its page and its
//! data under 15 filter combinations) for `BENCH_SECONDS`; half-way one replica is killed (SIGKILL). Reports
//! requests, errors, resent requests, p50/p99, answers per second, and both replicas' RSS sampled every second.
//!
//!     cargo bench -p lantern --bench replicas
//!     BENCH_ROWS=1000000 BENCH_SESSIONS=16 BENCH_SECONDS=60 cargo bench -p lantern --bench replicas

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lantern_testkit::load::{self, Session};

const BIN: &str = env!("CARGO_BIN_EXE_lantern");
const PASSWORD: &str = "replica-bench-password";

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// A replica once `/healthz` answers.
async fn replica(dir: &Path, env: &[(&str, String)]) -> (Child, std::net::SocketAddr) {
    let port = lantern_testkit::free_port();
    let mut child = Command::new(BIN)
        .args(["serve", "--port", &port.to_string()])
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let probe = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while probe
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await
        .is_err()
    {
        assert!(child.try_wait().unwrap().is_none(), "a replica exited");
        assert!(Instant::now() < deadline, "a replica did not answer");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (child, ([127, 0, 0, 1], port).into())
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1_048_576.0
}

#[tokio::main]
async fn main() {
    let rows = setting("BENCH_ROWS", 1_000_000);
    let sessions = setting("BENCH_SESSIONS", 16) as usize;
    let seconds = setting("BENCH_SECONDS", 60);
    let dir = tempfile::tempdir().unwrap();
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let demo = Command::new(BIN)
        .args(["demo", "--rows", &rows.to_string()])
        .current_dir(dir.path())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(demo.success(), "lantern demo failed");
    let redis = lantern_testkit::RedisServer::start();
    let env = [
        ("LANTERN_ADMIN_PASSWORD", PASSWORD.to_string()),
        ("LANTERN_SESSIONS_STORE", redis.url()),
        ("LANTERN_CACHE_REDIS_URL", redis.url()),
        (
            "LANTERN_DATASETS_DIR",
            repo.join("datasets").display().to_string(),
        ),
        (
            "LANTERN_DASHBOARDS_DIR",
            repo.join("dashboards").display().to_string(),
        ),
    ];
    let (mut a, a_addr) = replica(dir.path(), &env).await;
    let (mut b, b_addr) = replica(dir.path(), &env).await;
    let (a_pid, b_pid) = (a.id(), b.id());
    let balancer = lantern_testkit::Balancer::start(vec![a_addr, b_addr]).await;
    let base = balancer.url();
    let mut signed_in = Vec::new();
    for _ in 0..sessions {
        signed_in.push(Session::sign_in(&base, "admin", PASSWORD).await);
    }

    let started = Instant::now();
    let sampler = tokio::spawn(async move {
        let mut samples = Vec::new();
        while started.elapsed() < Duration::from_secs(seconds) {
            samples.push((
                started.elapsed().as_secs(),
                load::rss_bytes(a_pid),
                load::rss_bytes(b_pid),
            ));
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        samples
    });
    let paths = load::dashboard_paths();
    let run = {
        let base = base.clone();
        tokio::spawn(async move {
            load::run(&base, signed_in, &paths, Duration::from_secs(seconds)).await
        })
    };
    tokio::time::sleep(Duration::from_secs(seconds / 2)).await;
    a.kill().unwrap();
    a.wait().unwrap();
    let killed_at = started.elapsed().as_secs_f64();
    let report = run.await.unwrap();
    let samples = sampler.await.unwrap();
    let _ = b.kill();
    let _ = b.wait();

    println!(
        "replicas: {rows} rows, {sessions} sessions, {seconds} s, replica a killed at {killed_at:.1} s"
    );
    println!(
        "  answered {} ({:.0}/s), errors {}, resent {}, p50 {:.1} ms, p99 {:.1} ms",
        report.ok,
        report.ok as f64 / seconds as f64,
        report.errors.len(),
        report.retried,
        report.quantile(0.5).as_secs_f64() * 1e3,
        report.quantile(0.99).as_secs_f64() * 1e3,
    );
    for e in report.errors.iter().take(5) {
        println!("  error: {e}");
    }
    let half = (seconds / 2) as usize;
    let per_second = &report.per_second[..seconds as usize];
    println!(
        "  answers per second: before the kill min {} max {}, after min {} max {}",
        per_second[1..half].iter().min().unwrap_or(&0),
        per_second[1..half].iter().max().unwrap_or(&0),
        per_second[half + 1..].iter().min().unwrap_or(&0),
        per_second[half + 1..].iter().max().unwrap_or(&0),
    );
    println!("  connections per replica: {:?}", balancer.connections());
    println!("  RSS MB (t s: a, b):");
    for (t, a, b) in &samples {
        if t % 5 == 0 || *t as usize == half || *t as usize == half + 1 {
            println!(
                "    {t:>3}: {:>7} {:>7.1}",
                a.map_or("-".to_string(), |v| format!("{:.1}", mb(v))),
                mb(b.unwrap_or(0))
            );
        }
    }
    let b_rss: Vec<u64> = samples.iter().filter_map(|s| s.2).collect();
    if let (Some(first), Some(last), Some(max)) = (
        b_rss.get(5.min(b_rss.len() - 1)),
        b_rss.last(),
        b_rss.iter().max(),
    ) {
        println!(
            "  survivor b: RSS at 5 s {:.1} MB, at the end {:.1} MB, max {:.1} MB",
            mb(*first),
            mb(*last),
            mb(*max)
        );
    }
}
