//! The dashboard data API, checked against values computed here from the Parquet files themselves.

use std::collections::{BTreeMap, HashSet};

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{Date32Type, Int64Type};
use datafusion::arrow::record_batch::RecordBatch;
use lantern_core::catalog::Catalog;
use serde_json::Value;

use crate::support::{Backend, TestApp, read_dataset};

/// One cursor_usage row, only the columns the dashboard uses.
struct Usage {
    day: i32,
    email: String,
    team: String,
    active: bool,
    requests: i64,
    shown: i64,
    accepted: i64,
    model: String,
}

fn usage_rows(batches: &[RecordBatch]) -> Vec<Usage> {
    let mut out = Vec::new();
    for b in batches {
        let col = |name: &str| b.column(b.schema().index_of(name).unwrap()).clone();
        let (date, email, team, active) = (
            col("date"),
            col("user_email"),
            col("team"),
            col("is_active"),
        );
        let (chat, comp, agent) = (
            col("chat_requests"),
            col("composer_requests"),
            col("agent_requests"),
        );
        let (shown, acc, model) = (
            col("tabs_shown"),
            col("tabs_accepted"),
            col("most_used_model"),
        );
        for i in 0..b.num_rows() {
            let int = |a: &dyn Array| a.as_primitive::<Int64Type>().value(i);
            out.push(Usage {
                day: date.as_primitive::<Date32Type>().value(i),
                email: email.as_string::<i32>().value(i).to_string(),
                team: team.as_string::<i32>().value(i).to_string(),
                active: active.as_boolean().value(i),
                requests: int(chat.as_ref()) + int(comp.as_ref()) + int(agent.as_ref()),
                shown: int(shown.as_ref()),
                accepted: int(acc.as_ref()),
                model: model.as_string::<i32>().value(i).to_string(),
            });
        }
    }
    out
}

fn day(s: &str) -> i32 {
    let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    (d - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days() as i32
}

struct Expected {
    active_users: usize,
    total_requests: i64,
    rate: f64,
    /// Requests by team under the date filter only: the team bar chart highlights selected teams instead of
    /// filtering itself down to them.
    by_team: BTreeMap<String, i64>,
    by_model: BTreeMap<String, i64>,
    days: usize,
}

fn expected(rows: &[Usage], teams: &[&str], from: Option<&str>, to: Option<&str>) -> Expected {
    let (lo, hi) = (
        from.map(day).unwrap_or(i32::MIN),
        to.map(day).unwrap_or(i32::MAX),
    );
    let in_dates: Vec<&Usage> = rows.iter().filter(|r| r.day >= lo && r.day <= hi).collect();
    let kept: Vec<&Usage> = in_dates
        .iter()
        .copied()
        .filter(|r| teams.is_empty() || teams.contains(&r.team.as_str()))
        .collect();
    let mut by_team = BTreeMap::new();
    for r in &in_dates {
        *by_team.entry(r.team.clone()).or_insert(0) += r.requests;
    }
    let mut by_model = BTreeMap::new();
    for r in &kept {
        *by_model.entry(r.model.clone()).or_insert(0) += 1;
    }
    let shown: i64 = kept.iter().map(|r| r.shown).sum();
    Expected {
        active_users: kept
            .iter()
            .filter(|r| r.active)
            .map(|r| &r.email)
            .collect::<HashSet<_>>()
            .len(),
        total_requests: kept.iter().map(|r| r.requests).sum(),
        rate: kept.iter().map(|r| r.accepted).sum::<i64>() as f64 / shown as f64,
        by_team,
        by_model,
        days: kept.iter().map(|r| r.day).collect::<HashSet<_>>().len(),
    }
}

pub fn kpi<'a>(body: &'a Value, measure: &str) -> &'a Value {
    body["kpis"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["measure"] == measure)
        .unwrap_or_else(|| panic!("no KPI {measure} in {body}"))
}

/// The figure of chart `id`.
pub fn figure<'a>(body: &'a Value, id: &str) -> &'a Value {
    let c = body["charts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no chart {id}"));
    assert!(c["error"].is_null(), "chart {id} failed: {}", c["error"]);
    &c["figure"]
}

fn sum(values: &Value) -> f64 {
    values
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap_or(0.0))
        .sum()
}

fn check(body: &Value, want: &Expected) {
    assert_eq!(
        kpi(body, "active_users")["value"].as_u64().unwrap() as usize,
        want.active_users,
        "{body}"
    );
    assert_eq!(
        kpi(body, "total_requests")["value"].as_i64().unwrap(),
        want.total_requests
    );
    let rate = kpi(body, "tab_acceptance_rate")["value"].as_f64().unwrap();
    assert!((rate - want.rate).abs() < 1e-12, "{rate} vs {}", want.rate);
    assert_eq!(
        kpi(body, "tab_acceptance_rate")["text"],
        format!("{:.1}%", want.rate * 100.0)
    );

    let bar = &figure(body, "requests-by-team")["data"][0];
    let got: BTreeMap<String, i64> = bar["x"]
        .as_array()
        .unwrap()
        .iter()
        .zip(bar["y"].as_array().unwrap())
        .map(|(x, y)| (x.as_str().unwrap().to_string(), y.as_i64().unwrap()))
        .collect();
    assert_eq!(got, want.by_team);
    let ys: Vec<i64> = bar["y"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert!(
        ys.windows(2).all(|w| w[0] >= w[1]),
        "bars sorted descending: {ys:?}"
    );

    // Model share: one stacked area per model; each sums to that model's user-days.
    let share = figure(body, "model-share")["data"].as_array().unwrap();
    let got: BTreeMap<String, i64> = share
        .iter()
        .map(|t| (t["name"].as_str().unwrap().to_string(), sum(&t["y"]) as i64))
        .collect();
    assert_eq!(got, want.by_model);

    // Daily requests by kind: three stacked series over every day with data, adding up to all requests.
    let daily = figure(body, "daily-requests")["data"].as_array().unwrap();
    assert_eq!(daily.len(), 3);
    assert_eq!(daily[0]["x"].as_array().unwrap().len(), want.days);
    let total: f64 = daily.iter().map(|t| sum(&t["y"])).sum();
    assert_eq!(total as i64, want.total_requests);
}

#[tokio::test]
async fn kpis_and_charts_match_the_parquet_data() {
    kpis_and_charts_match(Backend::Local).await;
}

#[tokio::test]
async fn kpis_and_charts_match_the_parquet_data_on_s3() {
    kpis_and_charts_match(Backend::S3).await;
}

async fn kpis_and_charts_match(backend: Backend) {
    let app = TestApp::start_on(backend, |_| {}).await;
    app.login().await;
    let rows = usage_rows(&read_dataset(&app.storage, "cursor_usage", 1).await);
    assert_eq!(rows.len(), crate::support::DEMO_ROWS);

    let (status, body) = app.get_json("/api/dashboards/cursor-usage/data").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["version"], 1);
    check(&body, &expected(&rows, &[], None, None));

    let q = "/api/dashboards/cursor-usage/data?team=Web&team=ML&date=2025-02-01..2025-04-30";
    let (status, body) = app.get_json(q).await;
    assert_eq!(status, 200, "{body}");
    let want = expected(
        &rows,
        &["Web", "ML"],
        Some("2025-02-01"),
        Some("2025-04-30"),
    );
    check(&body, &want);
    let lookups =
        body["cache"]["misses"].as_u64().unwrap() + body["cache"]["hits"].as_u64().unwrap();
    assert!(
        body["cache"]["misses"].as_u64().unwrap() > 0,
        "{}",
        body["cache"]
    );

    // The same filters in another order and in the plain-form spelling hit the cache.
    let q2 = "/api/dashboards/cursor-usage/data?date.from=2025-02-01&date.to=2025-04-30&team=ML&team=Web";
    let (_, again) = app.get_json(q2).await;
    check(&again, &want);
    assert_eq!(
        again["cache"]["hits"].as_u64().unwrap(),
        lookups,
        "{}",
        again["cache"]
    );
    assert_eq!(again["cache"]["misses"], 0);

    // Open-ended ranges.
    let (_, body) = app
        .get_json("/api/dashboards/cursor-usage/data?date=2025-11-15..")
        .await;
    check(&body, &expected(&rows, &[], Some("2025-11-15"), None));
}

#[tokio::test]
async fn a_new_version_is_never_served_from_old_cache_entries() {
    new_version_is_served(Backend::Local).await;
}

#[tokio::test]
async fn a_new_version_is_never_served_from_old_cache_entries_on_s3() {
    new_version_is_served(Backend::S3).await;
}

async fn new_version_is_served(backend: Backend) {
    let app = TestApp::start_on(backend, |c| c.query.manifest_refresh_ms = 1).await;
    app.login().await;
    let q = "/api/dashboards/cursor-usage/data?team=Search";
    let (_, v1) = app.get_json(q).await;
    assert_eq!(v1["version"], 1);

    // Publish a smaller version 2 through the catalog, as the ETL would.
    let catalog = Catalog::new(app.storage.clone());
    lantern_core::demo::publish(&catalog, "cursor_usage", 3_000, &|_| {})
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;

    let (status, v2) = app.get_json(q).await;
    assert_eq!(status, 200, "{v2}");
    assert_eq!(v2["version"], 2);
    assert_eq!(v2["cache"]["hits"], 0, "a new version must miss the cache");
    let rows = usage_rows(&read_dataset(&app.storage, "cursor_usage", 2).await);
    assert_eq!(rows.len(), 3_000);
    check(&v2, &expected(&rows, &["Search"], None, None));
    assert_ne!(
        kpi(&v1, "total_requests")["value"],
        kpi(&v2, "total_requests")["value"]
    );
}

#[tokio::test]
async fn pages_render_with_data_and_filter_state() {
    let app = TestApp::start().await;
    app.login().await;
    let home = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(home.status(), 200);
    let html = home.text().await.unwrap();
    assert!(html.contains(r#"href="/d/cursor-usage""#) && html.contains(r#"href="/d/apac-dot""#));
    assert!(html.contains("20,000 rows"), "{html}");

    let page = app
        .client
        .get(app.url("/d/cursor-usage?team=Web"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains(r#"<input type="checkbox" name="team" value="Web" checked>"#),
        "the URL's filter is selected"
    );
    assert!(html.contains(r#"<input type="checkbox" name="team" value="ML">"#));
    assert!(html.contains(r#"id="chart-daily-requests""#));
    assert!(html.contains(r#"id="initial-data""#));
    assert!(html.contains("/static/plotly.min.js"));

    let (_, data) = app
        .get_json("/api/dashboards/cursor-usage/data?team=Web")
        .await;
    let text = kpi(&data, "total_requests")["text"]
        .as_str()
        .unwrap()
        .to_string();
    let at = html
        .find(r#"id="kpi-total_requests""#)
        .expect("the KPI card");
    assert!(
        html[at..at + 200].contains(&format!(">{text}</div>")),
        "KPI {text} rendered"
    );

    let apac = app
        .client
        .get(app.url("/d/apac-dot?country=Japan&due_date=2025-03-01.."))
        .send()
        .await
        .unwrap();
    assert_eq!(apac.status(), 200);
    let html = apac.text().await.unwrap();
    assert!(
        html.contains(r#"value="2025-03-01""#),
        "range inputs keep their value"
    );

    let js = app
        .client
        .get(app.url("/static/plotly.min.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(js.status(), 200);
    assert!(js.bytes().await.unwrap().len() > 1_000_000);
    let (status, health) = app.get_json("/healthz").await;
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));
    // Liveness tells nobody where the data lives; the details are behind sign-in.
    assert_eq!(health.as_object().unwrap().len(), 1, "{health}");
    let (status, details) = app.get_json("/api/status").await;
    assert_eq!(status, 200);
    assert_eq!(details["dashboards"].as_u64(), Some(2), "{details}");
    assert!(details["storage"].as_str().is_some(), "{details}");
}

#[tokio::test]
async fn the_datasets_page_lists_published_versions() {
    let app = TestApp::start().await;
    app.login().await;
    // What `lantern etl run` and the schedule record after each run.
    let catalog = lantern_core::catalog::Catalog::new(app.storage.clone());
    let at = |s: &str| {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .with_timezone(&chrono::Utc)
    };
    let ok = lantern_core::catalog::RunRecord {
        dataset: "cursor_usage".into(),
        trigger: "schedule".into(),
        started_at: at("2026-11-25T03:00:00Z"),
        finished_at: at("2026-11-25T03:00:02.5Z"),
        ok: true,
        version: Some(1),
        new_rows: Some(20_000),
        error: None,
        hints: vec!["column `amount` stays text: values like `1,234` look like numbers with thousands separators or a decimal comma (they read two ways); set `load.formats: {amount: decimal_point}`".into()],
        schedule: Some("0 3 * * *".into()),
        next_run: Some(at("2026-11-26T03:00:00Z")),
    };
    catalog.record_run(&ok).await.unwrap();
    let failed = lantern_core::catalog::RunRecord {
        dataset: "orders_feed".into(),
        trigger: "cli".into(),
        ok: false,
        version: None,
        new_rows: None,
        error: Some("GET http://127.0.0.1:9/v1/orders: answered 503 after 5 attempts".into()),
        schedule: None,
        next_run: None,
        ..ok.clone()
    };
    catalog.record_run(&failed).await.unwrap();
    let res = app.client.get(app.url("/datasets")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    for id in ["cursor_usage", "apac_dot"] {
        let row_start = html
            .find(&format!(r#"<tr data-dataset="{id}">"#))
            .unwrap_or_else(|| panic!("{id} listed"));
        let row = &html[row_start..row_start + html[row_start..].find("</tr>").unwrap()];
        assert!(
            row.contains("<td>v1</td>") && row.contains("20,000"),
            "{row}"
        );
    }
    assert!(html.contains(r#"href="/datasets" class="active""#));
    let row_of = |id: &str| {
        let start = html
            .find(&format!(r#"<tr data-dataset="{id}">"#))
            .unwrap_or_else(|| panic!("{id} listed"));
        html[start..start + html[start..].find("</tr>").unwrap()].to_string()
    };
    let row = row_of("cursor_usage");
    for part in [
        "<code>0 3 * * *</code>",
        "OK</span> 2026-11-25 03:00",
        "(schedule)",
        "v1: 20,000 new rows in 2.5 s",
        "next 2026-11-26 03:00",
        "data-hint>column <code>amount</code> stays text: values like <code>1,234</code>",
    ] {
        assert!(row.contains(part), "{part} in {row}");
    }
    let row = row_of("orders_feed");
    for part in [
        "Failed</span>",
        "answered 503 after 5 attempts",
        "never",
        "(cli)",
    ] {
        assert!(row.contains(part), "{part} in {row}");
    }
}
