//! Load benchmark of the dashboard data endpoints on the demo data, in the shape of the peers'
//! `../shared/bench/dash_ref/loadtest.py`: cache-miss (fresh random filters each request) and cache-hit
//! (5 repeating filter sets, after a warm-up pass) modes, bounded requests and duration, loopback only.
//!
//! Four filter mixes, each driven at every concurrency:
//! - `team+date`: the peers' generator (0–4 teams and a date range) on Cursor Usage, which the rollups cover;
//! - `user+date`, `version+date`: 1–3 users or 1–2 client versions, which no rollup declares, so the raw rows answer;
//! - `apac`: the APAC DOT page with a random breakdown of its reference pivot (rows × columns), 0–3 countries,
//!   0–2 product lines, 0–1 segment and a due-date range.
//!
//! Prints a Markdown table: client-side p50/p95/p99, the server's own time per request (`elapsed_ms`) p50/p99,
//! requests/s and the items the server reported as missed and hit. Then it fills the result cache to its bound with
//! more misses and reports the process's RSS (current and peak) against the cache's weighed size.
//!
//! `cargo bench -p lantern-web --bench dashboard` (env: BENCH_ROWS=1000000, BENCH_CONCURRENCY=1,16,
//! BENCH_REQUESTS=400, BENCH_SECONDS=60, BENCH_ROLLUPS=1, BENCH_MIXES=team+date,user+date,version+date,apac,
//! BENCH_FILL=1 to fill the cache after the runs).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use lantern_core::demo;
use lantern_web::AppState;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

mod support;

// The allocator and settings `lantern` itself runs with, so memory figures match the binary's.
#[path = "../../lantern/src/allocator.rs"]
mod allocator;
use support::{env_or, login, status_mib};

/// A date range starting in months 1–6 of 2025 and ending after it, as the peers' generator draws it.
fn date_range(rng: &mut StdRng) -> String {
    let m1 = rng.random_range(1..=6);
    let m2 = rng.random_range(m1 + 1..=12);
    let (d1, d2) = (rng.random_range(1..=28), rng.random_range(1..=28));
    format!("2025-{m1:02}-{d1:02}..2025-{m2:02}-{d2:02}")
}

fn pairs<'a>(name: &str, values: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    values
        .into_iter()
        .map(|v| format!("{name}={}", urlencode(v)))
        .collect()
}

fn urlencode(v: &str) -> String {
    url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

/// One filter mix: the page it drives and how it draws a query string.
#[derive(Clone, Copy)]
enum Mix {
    TeamDate,
    UserDate { users: usize },
    VersionDate,
    Apac,
}

impl Mix {
    fn parse(name: &str, rows: usize) -> Option<Mix> {
        Some(match name {
            "team+date" => Mix::TeamDate,
            "user+date" => Mix::UserDate {
                users: demo::cursor_users(rows),
            },
            "version+date" => Mix::VersionDate,
            "apac" => Mix::Apac,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Mix::TeamDate => "team+date",
            Mix::UserDate { .. } => "user+date",
            Mix::VersionDate => "version+date",
            Mix::Apac => "apac",
        }
    }

    fn dashboard(self) -> &'static str {
        match self {
            Mix::Apac => "apac-dot",
            _ => "cursor-usage",
        }
    }

    fn query(self, rng: &mut StdRng) -> String {
        let mut q = match self {
            Mix::TeamDate => {
                let k = rng.random_range(0..=4);
                pairs("team", demo::TEAMS.choose_multiple(rng, k).copied())
            }
            Mix::UserDate { users } => {
                let k = rng.random_range(1..=3);
                let emails: Vec<String> = (0..k)
                    .map(|_| demo::cursor_email(rng.random_range(0..users)))
                    .collect();
                pairs("user", emails.iter().map(String::as_str))
            }
            Mix::VersionDate => {
                let k = rng.random_range(1..=2);
                let versions: Vec<&str> = demo::CLIENT_VERSIONS.iter().map(|v| v.0).collect();
                pairs("client_version", versions.choose_multiple(rng, k).copied())
            }
            Mix::Apac => {
                let rows = ["country", "sub_region", "product_line", "segment"];
                let mut q = vec![
                    format!("_rows.reference-pivot={}", rows.choose(rng).unwrap()),
                    format!(
                        "_cols.reference-pivot={}",
                        ["month", "week"].choose(rng).unwrap()
                    ),
                ];
                let (c, p, s) = (
                    rng.random_range(0..=3),
                    rng.random_range(0..=2),
                    rng.random_range(0..=1),
                );
                q.extend(pairs(
                    "country",
                    demo::COUNTRIES.choose_multiple(rng, c).copied(),
                ));
                q.extend(pairs(
                    "product_line",
                    demo::PRODUCT_LINES.choose_multiple(rng, p).copied(),
                ));
                q.extend(pairs(
                    "segment",
                    demo::SEGMENTS.choose_multiple(rng, s).copied(),
                ));
                q.push(format!("due_date={}", date_range(rng)));
                return q.join("&");
            }
        };
        q.push(format!("date={}", date_range(rng)));
        q.join("&")
    }
}

#[derive(Default)]
struct Run {
    latencies_ms: Vec<f64>,
    server_ms: Vec<f64>,
    misses: usize,
    hits: usize,
    errors: usize,
    wall: Duration,
}

impl Run {
    fn absorb(&mut self, other: Run) {
        self.latencies_ms.extend(other.latencies_ms);
        self.server_ms.extend(other.server_ms);
        self.misses += other.misses;
        self.hits += other.hits;
        self.errors += other.errors;
    }
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((p * sorted.len() as f64) as usize).min(sorted.len() - 1)]
}

/// Sends one request and records it; the server reports its own time and the items it missed and hit.
async fn one(client: &reqwest::Client, url: &str, out: &mut Run) {
    let t = Instant::now();
    let res = client.get(url).send().await.unwrap();
    let ok = res.status().is_success();
    let body: serde_json::Value = res.json().await.unwrap_or_default();
    out.latencies_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    if !ok {
        out.errors += 1;
        eprintln!("error from {url}: {body}");
    }
    if let Some(ms) = body["elapsed_ms"].as_f64() {
        out.server_ms.push(ms);
    }
    out.misses += body["cache"]["misses"].as_u64().unwrap_or(0) as usize;
    out.hits += body["cache"]["hits"].as_u64().unwrap_or(0) as usize;
}

struct Load {
    mix: Mix,
    hit: bool,
    concurrency: usize,
    requests: usize,
    seconds: u64,
    seed: u64,
}

async fn run(base: &str, load: Load) -> Run {
    let Load {
        mix,
        hit,
        concurrency,
        requests,
        seconds,
        seed,
    } = load;
    let fixed: Vec<String> = (0..5)
        .map(|i| mix.query(&mut StdRng::seed_from_u64(i)))
        .collect();
    let next = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|w| {
            let (base, fixed, next) = (base.to_string(), fixed.clone(), next.clone());
            tokio::spawn(async move {
                let client = login(&base).await;
                let url = |q: &str| format!("{base}/api/dashboards/{}/data?{q}", mix.dashboard());
                if hit {
                    let mut warm = Run::default();
                    for f in &fixed {
                        one(&client, &url(f), &mut warm).await;
                    }
                }
                let mut rng = StdRng::seed_from_u64(seed * 10_000 + w as u64);
                let mut out = Run::default();
                while Instant::now() < deadline {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= requests {
                        break;
                    }
                    let q = if hit {
                        fixed[i % 5].clone()
                    } else {
                        mix.query(&mut rng)
                    };
                    one(&client, &url(&q), &mut out).await;
                }
                out
            })
        })
        .collect();
    let mut total = Run::default();
    for w in workers {
        total.absorb(w.await.unwrap());
    }
    total.wall = started.elapsed();
    total.latencies_ms.sort_by(|a, b| a.total_cmp(b));
    total.server_ms.sort_by(|a, b| a.total_cmp(b));
    total
}

async fn memory_line(state: &AppState, when: &str) {
    let cache = state.engine().cache();
    eprintln!(
        "{when}: RSS {:.0} MiB (peak {:.0} MiB); result cache {} entries, {:.1} of {} MiB",
        status_mib("VmRSS:"),
        status_mib("VmHWM:"),
        cache.entry_count(),
        cache.weighted_bytes().await as f64 / 1048576.0,
        state.config().cache.max_mb
    );
    for dataset in lantern_core::demo::DATASETS {
        if let Ok(v) = state.engine().version(dataset).await {
            let m = v.memory().await;
            let mib = |b: u64| b as f64 / 1048576.0;
            eprintln!(
                "  {dataset}: hot rows {:.1} MiB, rollups {:.1} MiB, row indexes {:.1} MiB",
                mib(m.hot),
                mib(m.rollups),
                mib(m.indexes)
            );
        }
    }
}

/// Misses of every mix, two at a time, until the cache holds 98% of its bound (or a bounded number of requests).
async fn fill(base: &str, state: &AppState, mixes: &[Mix]) {
    let bound = state.config().cache.max_mb as f64 * 1048576.0 * 0.98;
    let client = login(base).await;
    let mut rng = StdRng::seed_from_u64(99);
    let mut sent = 0;
    while sent < 40_000 && (state.engine().cache().weighted_bytes().await as f64) < bound {
        let batch: Vec<_> = (0..200)
            .map(|i| {
                let mix = mixes[i % mixes.len()];
                format!(
                    "{base}/api/dashboards/{}/data?{}",
                    mix.dashboard(),
                    mix.query(&mut rng)
                )
            })
            .collect();
        for pair in batch.chunks(2) {
            let mut out = Run::default();
            let jobs = pair.iter().map(|u| {
                let client = client.clone();
                let u = u.clone();
                async move {
                    let mut r = Run::default();
                    one(&client, &u, &mut r).await;
                    r
                }
            });
            for r in futures::future::join_all(jobs).await {
                out.absorb(r);
            }
            sent += pair.len();
        }
    }
    eprintln!("filled the cache with {sent} more requests");
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; this harness takes its settings from the environment instead.
    let rows: usize = env_or("BENCH_ROWS", 1_000_000);
    let requests: usize = env_or("BENCH_REQUESTS", 400);
    let seconds: u64 = env_or("BENCH_SECONDS", 60);
    let rollups: u8 = env_or("BENCH_ROLLUPS", 1);
    let fill_cache: u8 = env_or("BENCH_FILL", 1);
    let list = |name: &str, default: &str| -> Vec<String> {
        std::env::var(name)
            .unwrap_or_else(|_| default.into())
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let concurrency: Vec<usize> = list("BENCH_CONCURRENCY", "1,16")
        .iter()
        .filter_map(|c| c.parse().ok())
        .collect();
    let mixes: Vec<Mix> = list("BENCH_MIXES", "team+date,user+date,version+date,apac")
        .iter()
        .map(|m| Mix::parse(m, rows).unwrap_or_else(|| panic!("BENCH_MIXES: unknown mix {m}")))
        .collect();

    let server = support::start(rows, rollups != 0).await;
    let (state, base) = (&server.state, server.base.as_str());
    memory_line(state, "after start").await;

    println!(
        "| mix | mode | concurrency | requests | p50 ms | p95 ms | p99 ms | server p50 / p99 ms | req/s | items missed / hit | errors |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for &mix in &mixes {
        for (i, &c) in concurrency.iter().enumerate() {
            for hit in [false, true] {
                let r = run(
                    base,
                    Load {
                        mix,
                        hit,
                        concurrency: c,
                        requests: if hit { requests * 5 } else { requests },
                        seconds,
                        seed: 1 + i as u64,
                    },
                )
                .await;
                let (l, s) = (&r.latencies_ms, &r.server_ms);
                println!(
                    "| {} | {} | {c} | {} | {:.2} | {:.2} | {:.2} | {:.2} / {:.2} | {:.1} | {} / {} | {} |",
                    mix.name(),
                    if hit { "hit" } else { "miss" },
                    l.len(),
                    pct(l, 0.50),
                    pct(l, 0.95),
                    pct(l, 0.99),
                    pct(s, 0.50),
                    pct(s, 0.99),
                    l.len() as f64 / r.wall.as_secs_f64(),
                    r.misses,
                    r.hits,
                    r.errors
                );
            }
        }
    }
    memory_line(state, "after the runs").await;
    if fill_cache != 0 {
        fill(base, state, &mixes).await;
        memory_line(state, "with a full cache").await;
    }
}
