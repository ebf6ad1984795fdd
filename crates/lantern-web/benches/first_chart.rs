//! Time to the first chart drawn, in headless Chromium: from navigation start to the page's own performance marks
//! `lantern:first-chart` (the first Plotly figure drawn) and `lantern:page-drawn` (every chart of the first render
//! drawn), on both demo dashboards, each navigation with fresh random filters (so the server misses its cache)
//! and then the same URL again (a hit, and the browser's asset cache warm).
//!
//! `cargo bench -p lantern-web --bench first_chart` (env: BENCH_ROWS=1000000, BENCH_NAVIGATIONS=20).

use fantoccini::{Client, Locator};
use lantern_testkit::browser::{start_browser, wait_js};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

mod support;

// The allocator and settings `lantern` itself runs with, so memory figures match the binary's.
#[path = "../../lantern/src/allocator.rs"]
mod allocator;
use support::{PASSWORD, env_or};

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((p * sorted.len() as f64) as usize).min(sorted.len() - 1)]
}

/// Random filters for a page: 0–3 teams or countries and a date range, as a user would pick them.
fn filters(dashboard: &str, rng: &mut StdRng) -> String {
    let (name, values, date): (&str, &[&str], &str) = match dashboard {
        "apac-dot" => ("country", &lantern_core::demo::COUNTRIES, "due_date"),
        _ => ("team", &lantern_core::demo::TEAMS, "date"),
    };
    let k = rng.random_range(0..=3);
    let mut q: Vec<String> = values
        .choose_multiple(rng, k)
        .map(|v| format!("{name}={}", v.replace(' ', "+")))
        .collect();
    let m1 = rng.random_range(1..=6);
    let m2 = rng.random_range(m1 + 1..=12);
    q.push(format!(
        "{date}=2025-{m1:02}-{:02}..2025-{m2:02}-{:02}",
        rng.random_range(1..=28),
        rng.random_range(1..=28)
    ));
    q.join("&")
}

/// Navigates to `url` and returns the page's (first chart, page drawn) marks in ms since navigation start.
async fn visit(client: &Client, url: &str) -> (f64, f64) {
    client.goto(url).await.unwrap();
    let marks = wait_js(
        client,
        "(() => { const f = performance.getEntriesByName('lantern:first-chart')[0], \
         p = performance.getEntriesByName('lantern:page-drawn')[0]; \
         return f && p ? [f.startTime, p.startTime] : null; })()",
        "the page's charts drawn",
    )
    .await;
    (
        marks[0].as_f64().unwrap_or(f64::NAN),
        marks[1].as_f64().unwrap_or(f64::NAN),
    )
}

#[tokio::main]
async fn main() {
    let rows: usize = env_or("BENCH_ROWS", 1_000_000);
    let navigations: usize = env_or("BENCH_NAVIGATIONS", 20);
    let server = support::start(rows, true).await;
    let (_driver, client) = start_browser().await;
    client
        .goto(&format!("{}/login", server.base))
        .await
        .unwrap();
    for (css, text) in [("#username", "admin"), ("#password", PASSWORD)] {
        let field = client.find(Locator::Css(css)).await.unwrap();
        field.send_keys(text).await.unwrap();
    }
    client
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_js(&client, "location.pathname === '/'", "home after login").await;

    println!(
        "| page | server cache | navigations | first chart p50 / p95 / max ms | page drawn p50 / p95 / max ms |"
    );
    println!("|---|---|---|---|---|");
    let mut rng = StdRng::seed_from_u64(7);
    for dashboard in ["cursor-usage", "apac-dot"] {
        // One visit first so that the browser has the page's assets, as a returning user does.
        visit(&client, &format!("{}/d/{dashboard}", server.base)).await;
        let (mut miss, mut hit) = (vec![], vec![]);
        for _ in 0..navigations {
            let url = format!(
                "{}/d/{dashboard}?{}",
                server.base,
                filters(dashboard, &mut rng)
            );
            miss.push(visit(&client, &url).await);
            hit.push(visit(&client, &url).await);
        }
        for (label, runs) in [("miss", miss), ("hit", hit)] {
            let mut first: Vec<f64> = runs.iter().map(|r| r.0).collect();
            let mut page: Vec<f64> = runs.iter().map(|r| r.1).collect();
            first.sort_by(|a, b| a.total_cmp(b));
            page.sort_by(|a, b| a.total_cmp(b));
            println!(
                "| {dashboard} | {label} | {} | {:.0} / {:.0} / {:.0} | {:.0} / {:.0} / {:.0} |",
                first.len(),
                pct(&first, 0.5),
                pct(&first, 0.95),
                first[first.len() - 1],
                pct(&page, 0.5),
                pct(&page, 0.95),
                page[page.len() - 1],
            );
        }
    }
    client.close().await.unwrap();
}
