//! Does a runaway chat query hurt the dashboards? The dashboard data endpoint is driven at a fixed
//! concurrency with fresh filters that no rollup covers (raw rows answer each request), first alone, then while
//! hostile sandbox queries run back to back beside it (a cross-join bomb cut by the time limit, a self-join
//! aggregate cut by the memory limit, a sort of every row), as the chat's sandbox runs them: on its own runtime
//! and threads. Prints both runs' latencies side by side, how the hostile queries ended, and the process's RSS
//! sampled every 50 ms (peak per run).
//!
//! `cargo bench -p lantern-web --bench sandbox_load` (env: BENCH_ROWS=1000000, BENCH_CONCURRENCY=4,
//! BENCH_REQUESTS=3000, BENCH_HOSTILE=2 concurrent hostile loops, BENCH_SANDBOX_THREADS=1,
//! BENCH_SANDBOX_TIMEOUT_MS=3000, BENCH_SANDBOX_MB=256).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use lantern_core::access::RowScope;
use lantern_core::sandbox::{Limits, Sandbox, SandboxError};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

mod support;

#[path = "../../lantern/src/allocator.rs"]
mod allocator;
use support::{env_or, login, status_mib};

const HOSTILE: &[&str] = &[
    // A filter the optimizer cannot answer from statistics, so every pair is visited.
    "SELECT count(*) FROM cursor_usage a CROSS JOIN cursor_usage b WHERE a.lines_added > b.lines_added",
    "SELECT a.user_email, b.date, count(*) AS n FROM cursor_usage a JOIN cursor_usage b ON a.team = b.team GROUP BY 1, 2",
    "SELECT * FROM cursor_usage ORDER BY lines_added DESC, user_email, date",
];

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((p * sorted.len() as f64) as usize).min(sorted.len() - 1)]
}

/// The dashboard load: `requests` in all over `concurrency` signed-in clients; latencies in ms.
async fn drive(
    base: &str,
    concurrency: usize,
    requests: usize,
    seed: u64,
) -> (Vec<f64>, f64, usize) {
    let next = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..concurrency {
        let (base, next, errors) = (base.to_string(), next.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let client = login(&base).await;
            let mut rng = StdRng::seed_from_u64(seed + c as u64);
            let mut times = Vec::new();
            while next.fetch_add(1, Ordering::SeqCst) < requests {
                // One to three users and a date range: no rollup declares users, so raw rows answer.
                let users: Vec<String> = (0..rng.random_range(1..=3))
                    .map(|_| {
                        format!(
                            "user={}",
                            lantern_core::demo::cursor_email(rng.random_range(0..100))
                        )
                    })
                    .collect();
                let m = rng.random_range(1..=6);
                let url = format!(
                    "{base}/api/dashboards/cursor-usage/data?{}&date=2025-{m:02}-01..2025-{:02}-28",
                    users.join("&").replace('@', "%40"),
                    m + 6
                );
                let t = Instant::now();
                let res = client.get(&url).send().await;
                match res {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                    }
                    _ => {
                        errors.fetch_add(1, Ordering::SeqCst);
                    }
                }
                times.push(t.elapsed().as_secs_f64() * 1e3);
            }
            times
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_by(f64::total_cmp);
    (
        all,
        started.elapsed().as_secs_f64(),
        errors.load(Ordering::SeqCst),
    )
}

/// Samples RSS every 50 ms until `stop`; returns the peak in MiB.
fn sample_rss(stop: Arc<AtomicBool>) -> std::thread::JoinHandle<f64> {
    std::thread::spawn(move || {
        let mut peak: f64 = 0.0;
        while !stop.load(Ordering::SeqCst) {
            peak = peak.max(status_mib("VmRSS:"));
            std::thread::sleep(Duration::from_millis(50));
        }
        peak
    })
}

#[tokio::main]
async fn main() {
    let rows: usize = env_or("BENCH_ROWS", 1_000_000);
    let concurrency: usize = env_or("BENCH_CONCURRENCY", 4);
    let requests: usize = env_or("BENCH_REQUESTS", 3000);
    let hostile_loops: usize = env_or("BENCH_HOSTILE", 2);
    let limits = Limits {
        timeout: Duration::from_millis(env_or("BENCH_SANDBOX_TIMEOUT_MS", 3000)),
        memory_bytes: env_or::<usize>("BENCH_SANDBOX_MB", 256) << 20,
        ..Limits::default()
    };
    let server = support::start(rows, true).await;
    let sandbox =
        Arc::new(Sandbox::new(limits.clone(), env_or("BENCH_SANDBOX_THREADS", 1)).unwrap());
    // Warm the raw-row path once.
    let _ = drive(&server.base, 1, 20, 99).await;

    let stop = Arc::new(AtomicBool::new(false));
    let rss = sample_rss(stop.clone());
    let (alone, alone_s, alone_errors) = drive(&server.base, concurrency, requests, 1).await;
    stop.store(true, Ordering::SeqCst);
    let alone_rss = rss.join().unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let rss = sample_rss(stop.clone());
    let outcomes: Arc<std::sync::Mutex<Vec<(usize, String, f64)>>> = Arc::default();
    let mut hostile = Vec::new();
    for h in 0..hostile_loops {
        let (stop, sandbox, outcomes) = (stop.clone(), sandbox.clone(), outcomes.clone());
        let source = server
            .state
            .engine()
            .sandbox_source("cursor_usage", &RowScope::All)
            .await
            .unwrap();
        hostile.push(tokio::spawn(async move {
            let mut i = h;
            while !stop.load(Ordering::SeqCst) {
                let which = i % HOSTILE.len();
                let t = Instant::now();
                let how = match sandbox.run(source.clone(), HOSTILE[which]).await {
                    Ok(a) => format!(
                        "ran ({} rows{})",
                        a.rows,
                        if a.truncated { ", capped" } else { "" }
                    ),
                    Err(SandboxError::Limit(m)) => {
                        format!("stopped: {}", m.split(':').next().unwrap_or(&m))
                    }
                    Err(e) => format!("{e}"),
                };
                outcomes
                    .lock()
                    .unwrap()
                    .push((which, how, t.elapsed().as_secs_f64()));
                i += 1;
            }
        }));
    }
    // Other filters than the first run's, so both runs miss the result cache alike.
    let (beside, beside_s, beside_errors) = drive(&server.base, concurrency, requests, 1_000).await;
    stop.store(true, Ordering::SeqCst);
    for h in hostile {
        h.await.unwrap();
    }
    let beside_rss = rss.join().unwrap();

    println!(
        "\n{rows} rows, {concurrency} clients, {requests} dashboard requests per run (user + date filters, raw rows), \
         {hostile_loops} hostile loops, sandbox on {} thread(s), limits {:?} / {} MiB\n",
        env_or("BENCH_SANDBOX_THREADS", 1usize),
        limits.timeout,
        limits.memory_bytes >> 20
    );
    println!("| run | p50 ms | p95 ms | p99 ms | max ms | req/s | errors | peak RSS MiB |");
    println!("|---|---|---|---|---|---|---|---|");
    for (name, t, s, e, r) in [
        ("dashboards alone", &alone, alone_s, alone_errors, alone_rss),
        (
            "beside hostile chat SQL",
            &beside,
            beside_s,
            beside_errors,
            beside_rss,
        ),
    ] {
        println!(
            "| {name} | {:.1} | {:.1} | {:.1} | {:.1} | {:.0} | {e} | {r:.0} |",
            percentile(t, 0.5),
            percentile(t, 0.95),
            percentile(t, 0.99),
            t.last().copied().unwrap_or(0.0),
            t.len() as f64 / s
        );
    }
    println!(
        "\nratio beside/alone: p50 {:.2}×, p99 {:.2}×\n",
        percentile(&beside, 0.5) / percentile(&alone, 0.5),
        percentile(&beside, 0.99) / percentile(&alone, 0.99)
    );
    println!("| hostile query | runs | how they ended | mean s |\n|---|---|---|---|");
    let outcomes = outcomes.lock().unwrap();
    for (i, sql) in HOSTILE.iter().enumerate() {
        let mine: Vec<&(usize, String, f64)> = outcomes.iter().filter(|o| o.0 == i).collect();
        let mut hows: Vec<&str> = mine.iter().map(|o| o.1.as_str()).collect();
        hows.sort_unstable();
        hows.dedup();
        let mean = mine.iter().map(|o| o.2).sum::<f64>() / mine.len().max(1) as f64;
        println!(
            "| `{sql}` | {} | {} | {mean:.1} |",
            mine.len(),
            hows.join("; ")
        );
    }
}
