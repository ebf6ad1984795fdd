//! The embedded engine against Ballista clusters of one and two executors, side by side in one run, on the same
//! Cursor Usage data: each request refreshes the whole dashboard (KPIs, charts, table) with 1–3 users and a date
//! range, a filter no rollup covers, so every item scans the raw rows (hot in memory for the embedded engine up to
//! `query.hot_rows_limit`, Parquet otherwise; always Parquet on a cluster, where nothing is held in memory).
//! Requests one at a time, fresh filters each, so every answer is computed.
//!
//! The clusters run in this process (a real gRPC scheduler and Flight executors on loopback): on one machine they
//! share its cores with everything else, so this measures what Ballista costs, not where more machines pay.
//!
//! `cargo bench -p lantern-web --bench engines` (env: BENCH_ROWS=10000000, BENCH_REQUESTS=30, BENCH_SECONDS=120,
//! BENCH_ENGINES=embedded,ballista:1,ballista:2, BENCH_VCORES=2 task slots per executor).

use std::time::{Duration, Instant};

use lantern_core::demo;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

mod support;

#[path = "../../lantern/src/allocator.rs"]
mod allocator;
use support::{env_or, login};

fn query(rng: &mut StdRng, users: usize) -> String {
    let mut parts: Vec<String> = (0..rng.random_range(1..=3))
        .map(|_| {
            let user = demo::cursor_email(rng.random_range(0..users));
            format!(
                "user={}",
                url::form_urlencoded::byte_serialize(user.as_bytes()).collect::<String>()
            )
        })
        .collect();
    let m1 = rng.random_range(1..=6);
    let m2 = rng.random_range(m1 + 1..=12);
    parts.push(format!("date=2025-{m1:02}-01..2025-{m2:02}-28"));
    parts.join("&")
}

fn pct(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let rows: usize = env_or("BENCH_ROWS", 10_000_000);
    let requests: usize = env_or("BENCH_REQUESTS", 30);
    let seconds: u64 = env_or("BENCH_SECONDS", 120);
    let vcores: usize = env_or("BENCH_VCORES", 2);
    let engines: Vec<String> = std::env::var("BENCH_ENGINES")
        .unwrap_or_else(|_| "embedded,ballista:1,ballista:2".into())
        .split(',')
        .map(|s| s.trim().to_string())
        .collect();
    // The APAC dashboard is not asked; its dataset is there so that every spec loads.
    let data = support::publish(&[("cursor_usage", rows), ("apac_dot", 1000)]).await;
    let users = demo::cursor_users(rows);

    println!(
        "| engine | rows | requests | p50 ms | p99 ms | mean ms | server p50 / p99 ms | errors |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for engine in &engines {
        let mut config = data.config.clone();
        config.query.engine = match engine.strip_prefix("ballista:") {
            None => "embedded".into(),
            Some(n) => {
                lantern_testkit::start_ballista(n.parse().expect("ballista:<executors>"), vcores)
                    .await
            }
        };
        let server = support::serve(data.clone(), config).await;
        let client = login(&server.base).await;
        let mut rng = StdRng::seed_from_u64(7);
        // One refresh first: the version loads (and, embedded, goes hot) outside the measured requests.
        let warm = format!(
            "{}/api/dashboards/cursor-usage/data?{}",
            server.base,
            query(&mut rng, users)
        );
        client
            .get(&warm)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let (mut took, mut server_ms, mut errors) = (Vec::new(), Vec::new(), 0);
        let started = Instant::now();
        while took.len() + errors < requests && started.elapsed() < Duration::from_secs(seconds) {
            let url = format!(
                "{}/api/dashboards/cursor-usage/data?{}",
                server.base,
                query(&mut rng, users)
            );
            let t = Instant::now();
            match client.get(&url).send().await {
                Ok(r) if r.status().is_success() => {
                    let body: serde_json::Value = r.json().await.unwrap();
                    took.push(t.elapsed().as_secs_f64() * 1e3);
                    server_ms.push(body["elapsed_ms"].as_f64().unwrap_or(f64::NAN));
                    let misses = body["cache"]["misses"].as_u64().unwrap_or(0);
                    assert!(misses > 0, "{engine}: a fresh filter is computed");
                }
                Ok(r) => {
                    errors += 1;
                    eprintln!(
                        "{engine}: {} {}",
                        r.status(),
                        r.text().await.unwrap_or_default()
                    );
                }
                Err(e) => {
                    errors += 1;
                    eprintln!("{engine}: {e}");
                }
            }
        }
        let mean = took.iter().sum::<f64>() / took.len().max(1) as f64;
        took.sort_by(|a, b| a.total_cmp(b));
        server_ms.sort_by(|a, b| a.total_cmp(b));
        println!(
            "| {engine} | {rows} | {} | {:.1} | {:.1} | {mean:.1} | {:.1} / {:.1} | {errors} |",
            took.len(),
            pct(&took, 0.5),
            pct(&took, 0.99),
            pct(&server_ms, 0.5),
            pct(&server_ms, 0.99),
        );
    }
}
