//! The chart library end to end: pivots with subtotals, previous-period KPIs, CSV exports, filter options and
//! "view rows", each checked against values computed here from the Parquet files themselves.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Datelike, NaiveDate};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{Date32Type, Float64Type, Int64Type};
use serde_json::Value;

use crate::api::{figure, kpi};
use crate::support::{TestApp, read_dataset};

fn date(days: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap() + chrono::Duration::days(days as i64)
}

struct Order {
    country: String,
    region: String,
    segment: String,
    due: NaiveDate,
    on_time: Option<bool>,
}

async fn orders(app: &TestApp) -> Vec<Order> {
    let mut out = Vec::new();
    for b in read_dataset(&app.storage, "apac_dot", 1).await {
        let s = |n: &str| b.column_by_name(n).unwrap().as_string::<i32>().clone();
        let (country, region, segment) = (s("country"), s("sub_region"), s("customer_segment"));
        let due = b
            .column_by_name("due_date")
            .unwrap()
            .as_primitive::<Date32Type>()
            .clone();
        let on_time = b.column_by_name("on_time").unwrap().as_boolean().clone();
        for i in 0..b.num_rows() {
            out.push(Order {
                country: country.value(i).to_string(),
                region: region.value(i).to_string(),
                segment: segment.value(i).to_string(),
                due: date(due.value(i)),
                on_time: on_time.is_valid(i).then(|| on_time.value(i)),
            });
        }
    }
    out
}

/// On-time rate as the measure defines it: on-time lines over delivered lines.
fn rate<'a>(rows: impl Iterator<Item = &'a Order>) -> Option<f64> {
    let (mut yes, mut delivered) = (0usize, 0usize);
    for r in rows {
        if let Some(t) = r.on_time {
            delivered += 1;
            yes += usize::from(t);
        }
    }
    (delivered > 0).then(|| yes as f64 / delivered as f64)
}

fn pct(v: f64) -> String {
    format!("{:.1}%", v * 100.0)
}

fn texts(row: &Value) -> Vec<String> {
    row["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["text"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn the_pivot_matches_rates_computed_from_the_rows() {
    let app = TestApp::start().await;
    app.login().await;
    let rows = orders(&app).await;
    let q = "/api/dashboards/apac-dot/data?segment=Enterprise&segment=SMB";
    let (status, body) = app.get_json(q).await;
    assert_eq!(status, 200, "{body}");
    let kept: Vec<&Order> = rows
        .iter()
        .filter(|r| r.segment == "Enterprise" || r.segment == "SMB")
        .collect();
    let grid = &figure(&body, "reference-pivot")["table"];
    let months: Vec<u32> = {
        let mut m: Vec<u32> = kept
            .iter()
            .map(|r| r.due.month())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        m.sort();
        m
    };
    let head: Vec<&str> = grid["head"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["text"].as_str().unwrap())
        .collect();
    assert_eq!(head.len(), 2 + months.len() + 1, "{head:?}");
    assert_eq!(head[2], "Jan 2025");
    assert_eq!(*head.last().unwrap(), "Total");
    // Two measures: the months span two columns over a row of measure names.
    assert_eq!(grid["head"][1][0]["text"], "On-time rate");
    assert_eq!(grid["head"][1][1]["text"], "Delivered lines");

    let mut regions: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for r in &kept {
        let e = regions.entry(r.region.as_str()).or_default();
        if !e.contains(&r.country.as_str()) {
            e.push(&r.country);
        }
    }
    let body_rows = grid["rows"].as_array().unwrap();
    let mut i = 0;
    for (region, mut countries) in regions.clone() {
        countries.sort();
        for country in countries {
            let row = texts(&body_rows[i]);
            assert_eq!(row[1], country, "row {i}: {row:?}");
            for (k, m) in months.iter().enumerate() {
                let cell: Vec<&Order> = kept
                    .iter()
                    .copied()
                    .filter(|r| r.country == country && r.due.month() == *m)
                    .collect();
                let want = rate(cell.iter().copied());
                assert_eq!(
                    row[2 + 2 * k],
                    want.map(pct).unwrap_or_default(),
                    "{country} month {m}: {row:?}"
                );
                let delivered = cell.iter().filter(|r| r.on_time.is_some()).count();
                assert_eq!(
                    row[3 + 2 * k].replace(',', ""),
                    delivered.to_string(),
                    "{country} month {m} lines"
                );
            }
            let total = rate(kept.iter().copied().filter(|r| r.country == country)).unwrap();
            assert_eq!(row[row.len() - 2], pct(total), "{country} total");
            i += 1;
        }
        // The subtotal is the region's own rate, not an average of its countries' rates.
        let sub = texts(&body_rows[i]);
        assert_eq!(body_rows[i]["cls"], "subtotal");
        assert_eq!((sub[0].as_str(), sub[1].as_str()), (region, "Subtotal"));
        let want = rate(kept.iter().copied().filter(|r| r.region == region)).unwrap();
        assert_eq!(sub[sub.len() - 2], pct(want), "{region} subtotal");
        i += 1;
    }
    let total = texts(&body_rows[i]);
    assert_eq!(body_rows[i]["cls"], "total");
    assert_eq!(
        total[total.len() - 2],
        pct(rate(kept.iter().copied()).unwrap())
    );
    assert_eq!(body_rows.len(), i + 1);

    // The pivot's CSV export carries the same detail as numbers.
    let res = app
        .client
        .get(app.url("/api/dashboards/apac-dot/charts/reference-pivot/export.csv?segment=Enterprise&segment=SMB"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = res.text().await.unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("sub_region,country,due_date,on_time_rate,delivered_lines")
    );
    let mut seen = 0;
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        let month = NaiveDate::parse_from_str(f[2], "%Y-%m-%d").unwrap().month();
        let want = rate(
            kept.iter()
                .copied()
                .filter(|r| r.country == f[1] && r.due.month() == month),
        )
        .unwrap();
        let got: f64 = f[3].parse().unwrap();
        assert!((got - want).abs() < 1e-12, "{line}: {want}");
        seen += 1;
    }
    let cells: HashSet<(&str, u32)> = kept
        .iter()
        .filter(|r| r.on_time.is_some())
        .map(|r| (r.country.as_str(), r.due.month()))
        .collect();
    assert_eq!(seen, cells.len());

    // The breakdown switch: rows by product line, columns by due week.
    let (status, body) = app
        .get_json("/api/dashboards/apac-dot/data?_rows.reference-pivot=product_line&_cols.reference-pivot=week")
        .await;
    assert_eq!(status, 200, "{body}");
    let grid = &figure(&body, "reference-pivot")["table"];
    assert_eq!(grid["head"][0][0]["text"], "Product line");
    assert!(
        grid["head"][0][1]["text"]
            .as_str()
            .unwrap()
            .starts_with("Week of ")
    );
    let lines: HashSet<&str> = grid["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["cls"].is_null())
        .map(|r| r["cells"][0]["text"].as_str().unwrap())
        .collect();
    assert_eq!(lines.len(), 10, "{lines:?}");
    let switches = &figure(&body, "reference-pivot")["lantern"]["switches"];
    assert_eq!(switches[0]["current"], "product_line");
    assert_eq!(switches[1]["current"], "week");
}

struct Usage {
    day: NaiveDate,
    email: String,
    team: String,
    active: bool,
    requests: i64,
    cost: f64,
}

async fn usage(app: &TestApp) -> Vec<Usage> {
    let mut out = Vec::new();
    for b in read_dataset(&app.storage, "cursor_usage", 1).await {
        let s = |n: &str| b.column_by_name(n).unwrap().as_string::<i32>().clone();
        let int = |n: &str| {
            b.column_by_name(n)
                .unwrap()
                .as_primitive::<Int64Type>()
                .clone()
        };
        let (email, team) = (s("user_email"), s("team"));
        let (chat, comp, agent) = (
            int("chat_requests"),
            int("composer_requests"),
            int("agent_requests"),
        );
        let day = b
            .column_by_name("date")
            .unwrap()
            .as_primitive::<Date32Type>()
            .clone();
        let active = b.column_by_name("is_active").unwrap().as_boolean().clone();
        let cost = b
            .column_by_name("cost_usd")
            .unwrap()
            .as_primitive::<Float64Type>()
            .clone();
        for i in 0..b.num_rows() {
            out.push(Usage {
                day: date(day.value(i)),
                email: email.value(i).to_string(),
                team: team.value(i).to_string(),
                active: active.value(i),
                requests: chat.value(i) + comp.value(i) + agent.value(i),
                cost: cost.value(i),
            });
        }
    }
    out
}

#[tokio::test]
async fn kpis_compare_with_the_previous_period_of_equal_length() {
    let app = TestApp::start().await;
    app.login().await;
    let rows = usage(&app).await;
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let (status, body) = app
        .get_json("/api/dashboards/cursor-usage/data?date=2025-03-01..2025-03-31&team=Web")
        .await;
    assert_eq!(status, 200, "{body}");
    // March has 31 days: the previous period is the 31 days before it.
    let in_range = |r: &&Usage, a: &str, b: &str| r.team == "Web" && r.day >= d(a) && r.day <= d(b);
    let now: Vec<&Usage> = rows
        .iter()
        .filter(|r| in_range(r, "2025-03-01", "2025-03-31"))
        .collect();
    let before: Vec<&Usage> = rows
        .iter()
        .filter(|r| in_range(r, "2025-01-29", "2025-02-28"))
        .collect();
    let total = |v: &[&Usage]| v.iter().map(|r| r.requests).sum::<i64>();
    let users = |v: &[&Usage]| {
        v.iter()
            .filter(|r| r.active)
            .map(|r| &r.email)
            .collect::<HashSet<_>>()
            .len()
    };
    let k = kpi(&body, "total_requests");
    assert_eq!(k["value"].as_i64().unwrap(), total(&now));
    let change = (total(&now) - total(&before)) as f64 / total(&before) as f64 * 100.0;
    let sign = if change >= 0.0 { "+" } else { "−" };
    assert_eq!(k["change"]["text"], format!("{sign}{:.1}%", change.abs()));
    assert_eq!(k["change"]["period"], "vs previous 31 days");
    assert!(
        k["change"]["range"]
            .as_str()
            .unwrap()
            .starts_with("29 Jan – 28 Feb 2025"),
        "{}",
        k["change"]
    );
    let a = kpi(&body, "active_users");
    assert_eq!(a["value"].as_u64().unwrap() as usize, users(&now));
    let ua = (users(&now) as f64 - users(&before) as f64) / users(&before) as f64 * 100.0;
    let sign = if ua >= 0.0 { "+" } else { "−" };
    assert_eq!(a["change"]["text"], format!("{sign}{:.1}%", ua.abs()));
    // Cost going up is bad news; requests going up is good news.
    let cost = kpi(&body, "cost");
    let cost_now: f64 = now.iter().map(|r| r.cost).sum();
    let cost_before: f64 = before.iter().map(|r| r.cost).sum();
    let tone = if (cost_now - cost_before).abs() / cost_before < 0.0005 {
        "neutral"
    } else if cost_now > cost_before {
        "bad"
    } else {
        "good"
    };
    assert_eq!(cost["change"]["tone"], tone, "{cost}");
    // Sparklines come with the cards; no comparison without a date range.
    assert!(k["spark"]["line"].as_str().unwrap().starts_with('M'));
    let (_, plain) = app
        .get_json("/api/dashboards/cursor-usage/data?team=Web")
        .await;
    assert!(kpi(&plain, "total_requests")["change"].is_null());
    assert_eq!(body["period"]["previous"], "29 Jan – 28 Feb 2025");
}

#[tokio::test]
async fn exports_options_and_rows_follow_the_filters() {
    let app = TestApp::start().await;
    app.login().await;
    let rows = usage(&app).await;
    let web: Vec<&Usage> = rows.iter().filter(|r| r.team == "Web").collect();

    // The top-users table's CSV: every user of the team (up to the table's limit), requests summed per user.
    let res = app
        .client
        .get(app.url("/api/dashboards/cursor-usage/charts/top-users/export.csv?team=Web"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header[..3], ["user", "team", "total_requests"]);
    let mut per_user: HashMap<&str, i64> = HashMap::new();
    for r in &web {
        *per_user.entry(&r.email).or_default() += r.requests;
    }
    let mut got: Vec<(String, i64)> = Vec::new();
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f[1], "Web");
        got.push((f[0].to_string(), f[2].parse().unwrap()));
    }
    assert_eq!(got.len(), per_user.len().min(200));
    for (user, total) in &got {
        assert_eq!(per_user[user.as_str()], *total, "{user}");
    }
    assert!(
        got.windows(2).all(|w| w[0].1 >= w[1].1),
        "sorted like the table"
    );

    // Filter options: most frequent first, counted under the other filters, searchable on the server.
    let (status, opts) = app
        .get_json("/api/dashboards/cursor-usage/options/team?date=2025-06-01..2025-06-30")
        .await;
    assert_eq!(status, 200, "{opts}");
    let june = |r: &&Usage| {
        r.day >= NaiveDate::from_ymd_opt(2025, 6, 1).unwrap()
            && r.day <= NaiveDate::from_ymd_opt(2025, 6, 30).unwrap()
    };
    let mut counts: HashMap<&str, u64> = HashMap::new();
    for r in rows.iter().filter(june) {
        *counts.entry(&r.team).or_default() += 1;
    }
    let listed = opts["options"].as_array().unwrap();
    assert_eq!(listed.len(), counts.len());
    for o in listed {
        assert_eq!(
            o["count"].as_u64().unwrap(),
            counts[o["value"].as_str().unwrap()],
            "{o}"
        );
    }
    let c: Vec<u64> = listed
        .iter()
        .map(|o| o["count"].as_u64().unwrap())
        .collect();
    assert!(c.windows(2).all(|w| w[0] >= w[1]));
    let (_, found) = app
        .get_json("/api/dashboards/cursor-usage/options/user?team=Web&q=USER000")
        .await;
    let want: HashSet<&str> = web
        .iter()
        .map(|r| r.email.as_str())
        .filter(|e| e.starts_with("user000"))
        .collect();
    let got: HashSet<&str> = found["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["value"].as_str().unwrap())
        .collect();
    assert_eq!(got, want);

    // View rows: a page of the rows behind a chart, and all of them as CSV.
    let (status, page) = app
        .get_json("/api/dashboards/cursor-usage/charts/daily-requests/rows?team=Web&date=2025-06-01..2025-06-30&page=2")
        .await;
    assert_eq!(status, 200, "{page}");
    let want = rows.iter().filter(|r| r.team == "Web").filter(june).count();
    assert_eq!(page["total"].as_u64().unwrap() as usize, want);
    assert_eq!(page["page"], 2);
    assert_eq!(page["rows"].as_array().unwrap().len(), (want - 50).min(50));
    assert!(
        page["columns"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "user_email")
    );
    let csv = app
        .client
        .get(app.url("/api/dashboards/cursor-usage/charts/daily-requests/rows.csv?team=Web&date=2025-06-01..2025-06-30"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(csv.lines().count(), want + 1);

    // Unknown charts, dimensions and datasets answer 404; a bad filter 400.
    assert_eq!(app.status("/datasets/nope").await, 404);
    assert_eq!(
        app.status("/api/dashboards/cursor-usage/charts/nope/export.csv")
            .await,
        404
    );
    assert_eq!(
        app.status("/api/dashboards/cursor-usage/options/nope")
            .await,
        404
    );
    assert_eq!(
        app.status("/api/dashboards/cursor-usage/charts/top-users/rows?date=soon")
            .await,
        400
    );
}

#[tokio::test]
async fn a_chart_that_fails_shows_its_error_and_the_rest_still_draws() {
    let dir = tempfile::tempdir().unwrap();
    let dashboards = dir.path().join("dashboards");
    std::fs::create_dir_all(&dashboards).unwrap();
    // `quantity` is numeric in the data; `status` is text, so its histogram is refused at start.
    std::fs::write(
        dashboards.join("bad.yaml"),
        "id: bad\ntitle: Bad\ndataset: apac_dot\ncharts:\n  - {id: ok, type: bar, x: country, y: order_lines}\n  - id: hist\n    type: histogram\n    x: status\n",
    )
    .unwrap();
    let data = dir.path().join("data");
    let mut config = crate::support::base_config(&data.display().to_string());
    config.dashboards_dir = dashboards.clone();
    let err = crate::support::start_error(config, true).await;
    let file = dashboards.join("bad.yaml").display().to_string();
    assert!(
        err.starts_with(&format!("{file}:8: `charts[1].x`")),
        "{err}"
    );
    assert!(err.contains("numeric"), "{err}");
}
