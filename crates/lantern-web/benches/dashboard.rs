//! Load benchmark of the dashboard data endpoint on the demo data, in the shape of the peers'
//! `../shared/bench/dash_ref/loadtest.py`: the same filter generator, cache-miss (fresh random filters each
//! request) and cache-hit (5 repeating filter sets, after a warm-up pass) modes, bounded requests and duration,
//! loopback only. Prints p50/p95/p99 latency and requests/s as a Markdown table.
//!
//! `cargo bench -p lantern-web --bench dashboard` (env: BENCH_ROWS=1000000, BENCH_CONCURRENCY=1,16,
//! BENCH_REQUESTS=400, BENCH_SECONDS=60, BENCH_ROLLUPS=1).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use lantern_core::catalog::Catalog;
use lantern_core::config::Config;
use lantern_core::storage::Storage;
use lantern_web::AppState;
use lantern_web::auth::Users;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

const TEAMS: [&str; 12] = [
    "Platform", "Payments", "Search", "Mobile", "Web", "Data", "ML", "Infra", "Security", "Growth",
    "Ads", "Support",
];

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The peers' filter generator: 0–4 teams, a date range starting in months 1–6 and ending after it.
fn filters(rng: &mut StdRng) -> String {
    let k = rng.random_range(0..=4);
    let teams: Vec<&&str> = TEAMS.choose_multiple(rng, k).collect();
    let m1 = rng.random_range(1..=6);
    let m2 = rng.random_range(m1 + 1..=12);
    let (d1, d2) = (rng.random_range(1..=28), rng.random_range(1..=28));
    let mut q: Vec<String> = teams.iter().map(|t| format!("team={t}")).collect();
    q.push(format!("date=2025-{m1:02}-{d1:02}..2025-{m2:02}-{d2:02}"));
    q.join("&")
}

struct Run {
    latencies_ms: Vec<f64>,
    misses: usize,
    hits: usize,
    errors: usize,
    wall: Duration,
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((p * sorted.len() as f64) as usize).min(sorted.len() - 1)]
}

async fn login(base: &str) -> reqwest::Client {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = client
        .post(format!("{base}/login"))
        .form(&[("username", "admin"), ("password", "bench")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    client
}

async fn run(
    base: &str,
    hit: bool,
    concurrency: usize,
    requests: usize,
    seconds: u64,
    seed: u64,
) -> Run {
    let fixed: Vec<String> = (0..5)
        .map(|i| filters(&mut StdRng::seed_from_u64(i)))
        .collect();
    let next = Arc::new(AtomicUsize::new(0));
    let inflight = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|w| {
            let (base, fixed, next) = (base.to_string(), fixed.clone(), next.clone());
            let (inflight, peak) = (inflight.clone(), peak.clone());
            tokio::spawn(async move {
                let client = login(&base).await;
                let url = |q: &str| format!("{base}/api/dashboards/cursor-usage/data?{q}");
                if hit {
                    for f in &fixed {
                        client
                            .get(url(f))
                            .send()
                            .await
                            .unwrap()
                            .bytes()
                            .await
                            .unwrap();
                    }
                }
                let mut rng = StdRng::seed_from_u64(seed * 10_000 + w as u64);
                let mut out = Run {
                    latencies_ms: vec![],
                    misses: 0,
                    hits: 0,
                    errors: 0,
                    wall: Duration::ZERO,
                };
                while Instant::now() < deadline {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= requests {
                        break;
                    }
                    let q = if hit {
                        fixed[i % 5].clone()
                    } else {
                        filters(&mut rng)
                    };
                    let t = Instant::now();
                    let now = inflight.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    let res = client.get(url(&q)).send().await.unwrap();
                    let ok = res.status().is_success();
                    let body: serde_json::Value = res.json().await.unwrap_or_default();
                    out.latencies_ms.push(t.elapsed().as_secs_f64() * 1000.0);
                    inflight.fetch_sub(1, Ordering::SeqCst);
                    if !ok {
                        out.errors += 1;
                    }
                    out.misses += body["cache"]["misses"].as_u64().unwrap_or(0) as usize;
                    out.hits += body["cache"]["hits"].as_u64().unwrap_or(0) as usize;
                }
                out
            })
        })
        .collect();
    let mut total = Run {
        latencies_ms: vec![],
        misses: 0,
        hits: 0,
        errors: 0,
        wall: Duration::ZERO,
    };
    for w in workers {
        let r = w.await.unwrap();
        total.latencies_ms.extend(r.latencies_ms);
        total.misses += r.misses;
        total.hits += r.hits;
        total.errors += r.errors;
    }
    total.wall = started.elapsed();
    eprintln!("peak requests in flight: {}", peak.load(Ordering::SeqCst));
    total.latencies_ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    total
}

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .map(|l| l.to_string())
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; this harness takes its settings from the environment instead.
    let rows: usize = env_or("BENCH_ROWS", 1_000_000);
    let requests: usize = env_or("BENCH_REQUESTS", 400);
    let seconds: u64 = env_or("BENCH_SECONDS", 60);
    let rollups: u8 = env_or("BENCH_ROLLUPS", 1);
    let concurrency: Vec<usize> = std::env::var("BENCH_CONCURRENCY")
        .unwrap_or_else(|_| "1,16".into())
        .split(',')
        .filter_map(|c| c.trim().parse().ok())
        .collect();

    let dir = tempfile::tempdir().unwrap();
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut config = Config::default();
    config.storage.url = dir.path().display().to_string();
    config.datasets_dir = root.join("datasets");
    config.dashboards_dir = root.join("dashboards");
    config.auth.admin_password = Some("bench".into());
    config.query.rollups = rollups != 0;
    config.log.level = "warn".into();
    let storage = Storage::open(&config.storage).unwrap();
    let t = Instant::now();
    let catalog = Catalog::new(storage.clone());
    lantern_core::demo::publish(&catalog, "cursor_usage", rows, &|_| {})
        .await
        .unwrap();
    lantern_core::demo::publish(&catalog, "apac_dot", rows, &|_| {})
        .await
        .unwrap();
    eprintln!(
        "published 2 x {rows} rows in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let (users, _) = Users::from_config(&config.auth).unwrap();
    let state = AppState::build_with_storage(config, users, storage)
        .await
        .unwrap();
    eprintln!(
        "loaded and warmed (rollups: {}) in {:.2} s; RSS {:.0} MiB",
        rollups != 0,
        t.elapsed().as_secs_f64(),
        rss_mib()
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(lantern_web::serve(listener, state, std::future::pending()));

    println!(
        "| mode | concurrency | requests | p50 ms | p95 ms | p99 ms | req/s | items missed / hit | errors |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (i, &c) in concurrency.iter().enumerate() {
        for hit in [false, true] {
            let r = run(
                &base,
                hit,
                c,
                if hit { requests * 5 } else { requests },
                seconds,
                1 + i as u64,
            )
            .await;
            let l = &r.latencies_ms;
            println!(
                "| {} | {c} | {} | {:.2} | {:.2} | {:.2} | {:.1} | {} / {} | {} |",
                if hit { "hit" } else { "miss" },
                l.len(),
                pct(l, 0.50),
                pct(l, 0.95),
                pct(l, 0.99),
                l.len() as f64 / r.wall.as_secs_f64(),
                r.misses,
                r.hits,
                r.errors
            );
        }
    }
    eprintln!("RSS after the runs: {:.0} MiB", rss_mib());
}
