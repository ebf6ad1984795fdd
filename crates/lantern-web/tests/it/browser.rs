//! A real browser (Debian's headless Chromium over chromedriver) logs in, changes a filter and sees the page change.

use std::time::Duration;

use fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
use fantoccini::{Client, Locator};
use lantern_testkit::browser::{start_browser, wait_js};
use serde_json::{Value, json};

use crate::support::{Backend, PASSWORD, TestApp, fmt_thousands, repo_root};

/// Clicks the element `css` finds; found again when the page re-rendered it between the find and the click
/// (a filter control redrawn by a data update), a few times at most.
async fn click(client: &Client, css: &str) {
    for attempt in 0.. {
        let found = client.find(Locator::Css(css)).await.unwrap();
        match found.click().await {
            Ok(()) => return,
            Err(fantoccini::error::CmdError::Standard(e))
                if e.error == fantoccini::error::ErrorStatus::StaleElementReference
                    && attempt < 5 =>
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("clicking {css}: {e}"),
        }
    }
}

/// Scrolls `css` into view and clicks with a real mouse at `fx`, `fy` (fractions of its box): Plotly reacts to
/// pointer events over its plot area, not to element clicks.
async fn mouse_click(client: &Client, css: &str, fx: f64, fy: f64) {
    let rect = client
        .execute(
            &format!(
                "const e = document.querySelector({css:?}); e.scrollIntoView({{block: 'center'}}); const r = e.getBoundingClientRect(); return [r.left, r.top, r.width, r.height];"
            ),
            vec![],
        )
        .await
        .unwrap();
    let r: Vec<f64> = rect
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let (x, y) = (r[0] + r[2] * fx, r[1] + r[3] * fy);
    let mouse = MouseActions::new("mouse".into())
        .then(PointerAction::MoveTo {
            duration: Some(Duration::from_millis(60)),
            x,
            y,
        })
        .then(PointerAction::Pause {
            duration: Duration::from_millis(120),
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
    client.perform_actions(mouse).await.unwrap();
}

/// Signs in through the login form and waits for the home page.
async fn sign_in(client: &Client, app: &TestApp) {
    sign_in_as(client, app, "admin").await;
}

async fn sign_in_as(client: &Client, app: &TestApp, user: &str) {
    client.goto(&app.url("/login")).await.unwrap();
    type_into(client, "#username", user).await;
    type_into(client, "#password", PASSWORD).await;
    click(client, "button[type=submit]").await;
    wait_js(client, "location.pathname === '/'", "home after login").await;
}

/// The text of the first element matching `css`.
async fn text_of(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn save_png(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    assert!(png.len() > 10_000, "{name} is a real picture");
    let dir = repo_root().join("test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), &png).unwrap();
}

async fn type_into(client: &Client, css: &str, text: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .send_keys(text)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_in_filter_and_see_the_dashboard_change() {
    let app = TestApp::start().await;
    let (_driver, client) = start_browser().await;

    // Logged out: any page lands on /login.
    client.goto(&app.url("/d/cursor-usage")).await.unwrap();
    let url = client.current_url().await.unwrap();
    assert_eq!(url.path(), "/login", "{url}");

    // Log in through the form; we come back to the dashboard we asked for.
    type_into(&client, "#username", "admin").await;
    type_into(&client, "#password", PASSWORD).await;
    click(&client, "button[type=submit]").await;
    wait_js(
        &client,
        "location.pathname === '/d/cursor-usage'",
        "the dashboard after login",
    )
    .await;

    // Plotly drew every chart.
    let bars = wait_js(
        &client,
        "(() => { const el = document.getElementById('chart-requests-by-team'); return el && el.data && el.querySelector('.main-svg') ? el.data[0].x.length : null; })()",
        "the team bar chart",
    )
    .await;
    assert_eq!(bars, 12, "all twelve teams before filtering");
    for id in ["daily-requests", "model-share"] {
        wait_js(
            &client,
            &format!("document.querySelector('#chart-{id} .main-svg') !== null"),
            id,
        )
        .await;
    }
    let before = text_of(&client, "#kpi-total_requests").await;

    // Choose one team: the KPI text and the bar chart change without a reload.
    client
        .execute("window.__sameDocument = true;", vec![])
        .await
        .unwrap();
    click(&client, ".ms[data-name=team] .ms-button").await;
    click(&client, ".ms[data-name=team] input[value=Web]").await;
    // The team chart keeps every bar and highlights the chosen one.
    wait_js(
        &client,
        "(() => { const d = document.getElementById('chart-requests-by-team').data[0]; return d.x.length === 12 && d.marker.opacity.filter(o => o === 1).length === 1 && d.x[d.marker.opacity.indexOf(1)] === 'Web'; })()",
        "the bar chart to highlight one team",
    )
    .await;
    let after = text_of(&client, "#kpi-total_requests").await;
    assert_ne!(
        before, after,
        "the total requests KPI changes with the team filter"
    );
    assert_eq!(
        client
            .execute("return window.__sameDocument === true;", vec![])
            .await
            .unwrap(),
        true
    );
    let url = client.current_url().await.unwrap();
    assert_eq!(url.query(), Some("team=Web"), "the filter is in the URL");

    // The server agrees with what the page shows.
    app.login().await;
    let (_, data) = app
        .get_json("/api/dashboards/cursor-usage/data?team=Web")
        .await;
    let total = data["kpis"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["measure"] == "total_requests")
        .unwrap();
    assert_eq!(total["text"].as_str().unwrap(), after);

    // Every KPI value fits its card whole (cost is a few hundred dollars for one team: `$419.52` was cut to
    // `$419.…`), and the open list shows the teams as they are written, not in a label's small capitals.
    let clipped = client
        .execute(
            "return [...document.querySelectorAll('.kpi-value')].filter(e => e.scrollWidth > e.clientWidth).map(e => e.id + ' ' + e.textContent);",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(clipped, serde_json::json!([]), "KPI values cut off");
    let option = client
        .execute(
            "const l = document.querySelector('.ms[data-name=team] input[value=Web]').closest('label'); return [getComputedStyle(l).textTransform, l.innerText.trim().split(/\\s+/)[0]];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(option, serde_json::json!(["none", "Web"]));

    let png = client.screenshot().await.unwrap();
    let dir = repo_root().join("test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("cursor-usage.png"), &png).unwrap();
    assert!(png.len() > 10_000);

    // The datasets page shows each dataset's last ETL run.
    let catalog = lantern_core::catalog::Catalog::new(app.storage.clone());
    let now = chrono::Utc::now();
    catalog
        .record_run(&lantern_core::catalog::RunRecord {
            dataset: "apac_dot".into(),
            trigger: "schedule".into(),
            started_at: now - chrono::Duration::seconds(3),
            finished_at: now,
            ok: false,
            version: None,
            new_rows: None,
            error: Some("GET https://api.domo.com/oauth/token: answered 401 Unauthorized".into()),
            hints: vec![],
            schedule: Some("0 6 * * *".into()),
            next_run: Some(now + chrono::Duration::hours(6)),
        })
        .await
        .unwrap();
    // A run that left a column as text says which option would type it.
    let hint = "column `amount` stays text: values like `1,234` look like numbers with thousands separators or \
                a decimal comma (they read two ways); set `load.formats: {amount: decimal_point}` (1,234 = 1234) \
                or `{amount: decimal_comma}` (1,234 = 1.234), or `load.locale`";
    catalog
        .record_run(&lantern_core::catalog::RunRecord {
            dataset: "cursor_usage".into(),
            trigger: "cli".into(),
            started_at: now - chrono::Duration::seconds(2),
            finished_at: now,
            ok: true,
            version: Some(1),
            new_rows: Some(20_000),
            error: None,
            hints: vec![hint.into()],
            schedule: None,
            next_run: None,
        })
        .await
        .unwrap();
    client.goto(&app.url("/datasets")).await.unwrap();
    wait_js(
        &client,
        "document.querySelectorAll('tr[data-dataset] .badge.failed').length === 1",
        "the failed run's badge",
    )
    .await;
    assert_eq!(
        text_of(&client, "tr[data-dataset=cursor_usage] [data-hint]").await,
        hint.replace('`', ""),
        "the hint, its quoted options shown as code"
    );
    assert_eq!(
        text_of(&client, "tr[data-dataset=cursor_usage] [data-hint] code").await,
        "amount"
    );
    std::fs::write(dir.join("datasets.png"), client.screenshot().await.unwrap()).unwrap();

    // A dataset's page profiles its columns: checked against the Parquet rows.
    click(&client, r#"a[href="/datasets/cursor_usage"]"#).await;
    wait_js(
        &client,
        "document.getElementById('profile') !== null",
        "the dataset page",
    )
    .await;
    let mut teams = std::collections::HashSet::new();
    let mut rows = 0;
    for b in crate::support::read_dataset(&app.storage, "cursor_usage", 1).await {
        use datafusion::arrow::array::AsArray;
        rows += b.num_rows();
        for t in b.column_by_name("team").unwrap().as_string::<i32>().iter() {
            teams.insert(t.unwrap().to_string());
        }
    }
    assert_eq!(
        text_of(&client, "tr[data-column=team] td[data-distinct]").await,
        format!("≈ {}", teams.len())
    );
    assert_eq!(
        text_of(&client, "tr[data-column=team] td[data-nulls]").await,
        "0"
    );
    let head = text_of(&client, ".page-head .muted.small").await;
    assert!(
        head.contains(&format!("{} rows", fmt_thousands(rows as u64))),
        "{head}"
    );
    let bars = client
        .execute(
            "return document.querySelectorAll('tr[data-column=date] .mini-hist rect').length;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(bars, 12, "a bar per month of dates");
    // The profile fits its card: long text bounds (e-mail addresses) wrap instead of pushing the distributions
    // out of view; a column with no bounds shows one dash; one file is not "1 files".
    let overflow = client
        .execute(
            "const c = document.getElementById('profile').closest('.table-card'); return c.scrollWidth - c.clientWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(overflow, 0, "the profile table is wider than its card");
    assert_eq!(
        text_of(&client, "tr[data-column=is_active] td.range-cell").await,
        "—"
    );
    assert!(!head.contains(" 1 files"), "{head}");
    std::fs::write(
        dir.join("dataset-page.png"),
        client.screenshot().await.unwrap(),
    )
    .unwrap();

    // Logging out sends the browser back to /login.
    click(&client, ".sidebar-foot form button").await;
    wait_js(
        &client,
        "location.pathname === '/login'",
        "the login page after logout",
    )
    .await;
    client.goto(&app.url("/")).await.unwrap();
    assert_eq!(client.current_url().await.unwrap().path(), "/login");
    client.close().await.unwrap();
}

/// Waits until the page has drawn the data of a refresh started after `since` (`document.body.dataset.rendered`).
async fn wait_rendered_after(client: &Client, since: &Value, what: &str) {
    wait_js(
        client,
        &format!("Number(document.body.dataset.rendered || 0) > {since} && !document.body.classList.contains('loading')"),
        what,
    )
    .await;
}

async fn rendered_at(client: &Client) -> Value {
    client
        .execute(
            "return Number(document.body.dataset.rendered || 0);",
            vec![],
        )
        .await
        .unwrap()
}

/// Cross-filter, date preset, drill-down, view rows, a CSV download checked against the data, dark mode and a
/// phone-sized screen, on the shipped dashboards in a real browser.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboards_are_interactive() {
    use chrono::Datelike;
    let app = TestApp::start().await;
    app.login().await;
    let (_driver, client) = start_browser().await;
    sign_in(&client, &app).await;
    client.goto(&app.url("/d/cursor-usage")).await.unwrap();
    wait_js(
        &client,
        "document.querySelector('#chart-requests-by-team .main-svg .point') !== null",
        "the team bars",
    )
    .await;

    // Cross-filter: a click on a bar filters the page by that team (URL and chip) and highlights the bar.
    let team = client
        .execute(
            "return document.getElementById('chart-requests-by-team').data[0].x[2];",
            vec![],
        )
        .await
        .unwrap();
    let team = team.as_str().unwrap().to_string();
    let since = rendered_at(&client).await;
    let bar = "#chart-requests-by-team .point:nth-child(3)";
    mouse_click(&client, bar, 0.5, 0.7).await;
    wait_rendered_after(&client, &since, "the cross-filtered page").await;
    let url = client.current_url().await.unwrap();
    assert_eq!(url.query(), Some(format!("team={team}").as_str()), "{url}");
    let chip = text_of(&client, ".chip[data-dimension=team]").await;
    assert!(chip.contains(&team), "{chip}");
    let highlighted = client
        .execute("const d = document.getElementById('chart-requests-by-team').data[0]; return d.x.filter((x, i) => d.marker.opacity[i] === 1);", vec![])
        .await
        .unwrap();
    assert_eq!(highlighted, json!([team]));

    // A date preset relative to the data's last day.
    let since = rendered_at(&client).await;
    client
        .execute(
            "const s = document.querySelector('select.preset'); s.value = [...s.options].find(o => o.text === 'Last 30 days').value; s.dispatchEvent(new Event('change', {bubbles: true}));",
            vec![],
        )
        .await
        .unwrap();
    wait_rendered_after(&client, &since, "the preset's data").await;
    let url = client.current_url().await.unwrap();
    assert!(
        url.query().unwrap().contains("date=2025-12-02..2025-12-31"),
        "{url}"
    );
    // KPIs now compare with the 30 days before.
    let change = text_of(&client, "#kpis .kpi .period").await;
    assert_eq!(change, "vs previous 30 days");

    // The CSV behind the team chart equals the requests per team computed here from the Parquet rows.
    let href = client
        .execute(
            "return document.querySelector('.chart[data-chart=requests-by-team] a.export').href;",
            vec![],
        )
        .await
        .unwrap();
    let csv = app
        .client
        .get(href.as_str().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut want: std::collections::BTreeMap<String, i64> = Default::default();
    let lo = chrono::NaiveDate::from_ymd_opt(2025, 12, 2).unwrap();
    for b in crate::support::read_dataset(&app.storage, "cursor_usage", 1).await {
        use datafusion::arrow::array::AsArray;
        use datafusion::arrow::datatypes::{Date32Type, Int64Type};
        let int = |n: &str| {
            b.column_by_name(n)
                .unwrap()
                .as_primitive::<Int64Type>()
                .clone()
        };
        let (c, e, a) = (
            int("chat_requests"),
            int("composer_requests"),
            int("agent_requests"),
        );
        let teams = b.column_by_name("team").unwrap().as_string::<i32>().clone();
        let days = b
            .column_by_name("date")
            .unwrap()
            .as_primitive::<Date32Type>()
            .clone();
        for i in 0..b.num_rows() {
            let day = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()
                + chrono::Duration::days(days.value(i) as i64);
            if day >= lo {
                *want.entry(teams.value(i).to_string()).or_default() +=
                    c.value(i) + e.value(i) + a.value(i);
            }
        }
    }
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("team,total_requests"));
    let got: std::collections::BTreeMap<String, i64> = lines
        .map(|l| {
            let (t, n) = l.split_once(',').unwrap();
            (t.to_string(), n.parse().unwrap())
        })
        .collect();
    assert_eq!(
        got, want,
        "the export is the chart's data under the page's date filter"
    );

    // Drill-down: a click on a week of the model-share chart narrows the date range to it and shows its days.
    client
        .execute(
            "document.querySelector('.chip[data-dimension=team] .chip-x').click();",
            vec![],
        )
        .await
        .unwrap();
    let before = "2025-03-03..2025-06-29";
    client
        .goto(&app.url(&format!("/d/cursor-usage?date={before}")))
        .await
        .unwrap();
    wait_js(
        &client,
        "document.querySelector('#chart-model-share .main-svg .nsewdrag') !== null",
        "the model share chart",
    )
    .await;
    let since = rendered_at(&client).await;
    mouse_click(&client, "#chart-model-share .nsewdrag", 0.5, 0.5).await;
    wait_rendered_after(&client, &since, "the drilled-down page").await;
    let url = client.current_url().await.unwrap();
    let q = url.query().unwrap().to_string();
    assert!(q.contains("_grain.model-share=day"), "{q}");
    let range = url::form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == "date")
        .map(|(_, v)| v.to_string())
        .unwrap();
    let (a, b) = range.split_once("..").unwrap();
    let (a, b) = (
        chrono::NaiveDate::parse_from_str(a, "%Y-%m-%d").unwrap(),
        chrono::NaiveDate::parse_from_str(b, "%Y-%m-%d").unwrap(),
    );
    assert_eq!((b - a).num_days(), 6, "one week: {range}");
    assert_eq!(a.weekday(), chrono::Weekday::Mon);
    let points = client
        .execute("return new Set(document.getElementById('chart-model-share').data.flatMap(t => t.x)).size;", vec![])
        .await
        .unwrap();
    assert_eq!(points, 7, "the week shown by day");
    assert!(
        client
            .find(Locator::Css(".chart[data-chart=model-share] .drill-up"))
            .await
            .unwrap()
            .is_displayed()
            .await
            .unwrap(),
        "the drill-up button shows"
    );
    save_png(&client, "cursor-usage-drilled.png").await;
    // Up again: the range and grain the reader drilled from come back.
    let since = rendered_at(&client).await;
    click(&client, ".chart[data-chart=model-share] .drill-up").await;
    wait_rendered_after(&client, &since, "the page after drilling up").await;
    let url = client.current_url().await.unwrap();
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    assert!(
        pairs.contains(&("date".into(), before.into()))
            && !pairs
                .iter()
                .any(|(k, _)| k.starts_with("_grain.") || k.starts_with("_up.")),
        "{pairs:?}"
    );

    // View rows: the rows behind a chart (under the range restored by drilling up), paged, with a CSV link.
    client
        .execute(
            "document.querySelector('.chart[data-chart=daily-requests] .view-rows').click();",
            vec![],
        )
        .await
        .unwrap();
    wait_js(
        &client,
        "document.querySelectorAll('#rows-table tbody tr').length > 0",
        "the rows",
    )
    .await;
    let summary = text_of(&client, "#rows-summary").await;
    let (_, count) = app
        .get_json(&format!(
            "/api/dashboards/cursor-usage/charts/daily-requests/rows?date={before}"
        ))
        .await;
    let total = count["total"].as_u64().unwrap();
    assert!(
        summary.starts_with(&format!("{} rows", fmt_thousands(total))),
        "{summary}"
    );
    let shown = client
        .execute(
            "return document.querySelectorAll('#rows-table tbody tr').length;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(shown.as_u64().unwrap(), total.min(50));
    save_png(&client, "view-rows.png").await;
    client
        .execute("document.getElementById('rows-close').click();", vec![])
        .await
        .unwrap();

    // Dark mode: toggled in the sidebar, applied to the page and the charts, remembered after a reload.
    client
        .goto(&app.url("/d/cursor-usage?date=2025-10-01..2025-12-31"))
        .await
        .unwrap();
    wait_js(
        &client,
        "document.querySelector('#chart-daily-requests .main-svg') !== null",
        "the charts",
    )
    .await;
    save_png(&client, "cursor-usage-light.png").await;
    click(&client, "#theme-toggle").await;
    wait_js(
        &client,
        "document.documentElement.dataset.theme === 'dark' && document.getElementById('chart-daily-requests').layout.template.layout.font.color === '#ece6df'",
        "dark charts",
    )
    .await;
    client.refresh().await.unwrap();
    wait_js(&client, "document.documentElement.dataset.theme === 'dark' && document.querySelector('#chart-daily-requests .main-svg') !== null", "dark after a reload").await;
    let bg = client
        .execute(
            "return getComputedStyle(document.body).backgroundColor;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(bg, "rgb(22, 20, 18)");
    save_png(&client, "cursor-usage-dark.png").await;
    client.goto(&app.url("/d/apac-dot")).await.unwrap();
    wait_js(&client, "document.querySelector('#chart-reference-pivot table') !== null && document.querySelector('#chart-on-time-trend .main-svg') !== null", "the APAC page").await;
    save_png(&client, "apac-dot-dark.png").await;
    // The breakdown switch on the reference pivot: rows by product line, in the URL, without a reload.
    client
        .execute("window.__samePage = true; document.querySelector('.chart[data-chart=reference-pivot] .switch-option[data-value=product_line]').click();", vec![])
        .await
        .unwrap();
    wait_js(
        &client,
        "document.querySelector('#chart-reference-pivot thead th').textContent === 'Product line' && document.querySelectorAll('#chart-reference-pivot tbody tr').length === 11",
        "the pivot by product line (ten lines and the total)",
    )
    .await;
    let url = client.current_url().await.unwrap();
    assert!(
        url.query()
            .unwrap()
            .contains("_rows.reference-pivot=product_line"),
        "{url}"
    );
    assert_eq!(
        client
            .execute("return window.__samePage === true;", vec![])
            .await
            .unwrap(),
        true
    );
    let pressed = client
        .execute("return document.querySelector('.switch-option.active[data-value=product_line]') !== null;", vec![])
        .await
        .unwrap();
    assert_eq!(pressed, true);
    save_png(&client, "apac-dot-by-product-line.png").await;
    click(&client, "#theme-toggle").await;
    wait_js(
        &client,
        "document.documentElement.dataset.theme === 'light'",
        "light again",
    )
    .await;
    save_png(&client, "apac-dot-light.png").await;

    // A phone: 390 px wide, nothing wider than the screen but the tables' own scrollers.
    client.set_window_size(390, 844).await.unwrap();
    client.goto(&app.url("/d/cursor-usage")).await.unwrap();
    wait_js(
        &client,
        "document.querySelector('#chart-daily-requests .main-svg') !== null",
        "the phone layout",
    )
    .await;
    let overflow = client
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        overflow.as_f64().unwrap() <= 1.0,
        "the page scrolls sideways by {overflow} px"
    );
    save_png(&client, "cursor-usage-390.png").await;
    client.close().await.unwrap();
}

/// Dashboards as code, live: a YAML file edited while the page is open adds its chart without a reload by hand;
/// an invalid edit shows its file and line on the page while the last good version keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_dashboard_reloads_in_the_open_page() {
    let specs = tempfile::tempdir().unwrap();
    let app = TestApp::start_watching(specs.path()).await;
    let (_driver, client) = start_browser().await;
    sign_in(&client, &app).await;
    client.goto(&app.url("/d/cursor-usage")).await.unwrap();
    wait_js(
        &client,
        "document.querySelector('#chart-requests-by-team .main-svg') !== null",
        "the page",
    )
    .await;
    assert!(
        client
            .find(Locator::Css("#chart-cost-by-model"))
            .await
            .is_err()
    );

    // A new chart appended to the YAML file appears in the open page.
    let file = specs.path().join("dashboards/cursor_usage.yaml");
    let original = std::fs::read_to_string(&file).unwrap();
    let added = format!(
        "{original}  - id: cost-by-model\n    type: pie\n    title: Cost by model\n    x: model\n    y: cost\n"
    );
    std::fs::write(&file, &added).unwrap();
    wait_js(
        &client,
        "document.querySelector('#chart-cost-by-model .main-svg') !== null",
        "the new chart after the edit",
    )
    .await;
    let title = text_of(&client, ".chart[data-chart=cost-by-model] h3").await;
    assert_eq!(title, "Cost by model");

    // An invalid edit: the error names the file and line; the charts of the last good version still show.
    let broken = added.replace("    y: cost\n", "    y: costs\n");
    std::fs::write(&file, &broken).unwrap();
    wait_js(
        &client,
        "document.getElementById('reload-error') !== null",
        "the reload error",
    )
    .await;
    let message = text_of(&client, "#reload-error").await;
    let line = broken.lines().position(|l| l == "    y: costs").unwrap() + 1;
    assert!(
        message.contains(&format!("cursor_usage.yaml:{line}: `charts[6].y`"))
            && message.contains("unknown measure `costs`"),
        "{message}"
    );
    wait_js(
        &client,
        "document.querySelector('#chart-cost-by-model .main-svg') !== null",
        "the last good version",
    )
    .await;
    client
        .execute("window.scrollTo(0, 0);", vec![])
        .await
        .unwrap();
    save_png(&client, "live-reload-error.png").await;

    // Fixed again: the error goes away.
    std::fs::write(&file, &added).unwrap();
    wait_js(&client, "document.getElementById('reload-error') === null && document.querySelector('#chart-cost-by-model .main-svg') !== null", "the fixed page").await;
    client.close().await.unwrap();
}

/// A user whose role opens one dashboard and one country's rows sees just that: one card, no link to the rest, a
/// "No access" page for a direct URL, and the page's numbers and options for their rows only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restricted_user_sees_only_what_is_shared_with_them() {
    let app = TestApp::start_configured(crate::access::configure).await;
    let (_driver, client) = start_browser().await;
    client.set_window_size(1400, 900).await.unwrap();
    sign_in_as(&client, &app, "ken").await;
    let cards = client.find_all(Locator::Css("a.tile")).await.unwrap();
    assert_eq!(cards.len(), 1, "one dashboard is shared with ken");
    assert_eq!(
        cards[0].attr("href").await.unwrap().as_deref(),
        Some("/d/apac-dot")
    );
    let nav = text_of(&client, "nav.sidebar").await;
    assert!(!nav.contains("Cursor Usage"), "{nav}");
    assert!(nav.contains("Datasets"), "ken's role has the dataset pages");
    assert!(nav.contains("ken (test)"), "the display name: {nav}");
    save_png(&client, "access-home.png").await;

    client.goto(&app.url("/d/apac-dot")).await.unwrap();
    wait_js(
        &client,
        "document.querySelectorAll('.kpi').length === 4",
        "the KPI cards",
    )
    .await;
    // The status line counts ken's rows: Japan's, as the data API says.
    let me = crate::access::signed_in(&app, "ken").await;
    let (_, data) = me.get_json("/api/dashboards/apac-dot/data").await;
    let rows = data["rows"].as_u64().unwrap();
    let status = text_of(&client, "#status").await;
    assert!(
        status.contains(&format!("{} rows", fmt_thousands(rows))),
        "{status}"
    );
    save_png(&client, "access-restricted-dashboard.png").await;

    client.goto(&app.url("/d/cursor-usage")).await.unwrap();
    let body = text_of(&client, "main").await;
    assert!(
        body.contains("No access") && body.contains("not shared with you"),
        "{body}"
    );
    save_png(&client, "access-forbidden.png").await;
}

/// Types `user`'s credentials into the identity provider's own login form and sends it.
async fn sign_in_at_provider(client: &Client, user: &str, password: &str) {
    type_into(client, "input[name=username]", user).await;
    type_into(client, "input[name=password]", password).await;
    click(client, "button[type=submit]").await;
}

/// Single sign-on in a real browser: the login page's button, the identity provider's own form, and back
/// signed in with the provider's roles.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_with_the_identity_provider() {
    let idp = crate::sso::start_idp().await;
    let app = crate::sso::start(&idp).await;
    let (_driver, client) = start_browser().await;
    client.set_window_size(1200, 800).await.unwrap();
    client.goto(&app.url("/login")).await.unwrap();
    let button = text_of(&client, "#sso-oidc").await;
    assert_eq!(button, "Sign in with NanoIDP");
    save_png(&client, "login-sso.png").await;
    click(&client, "#sso-oidc").await;
    wait_js(
        &client,
        "location.port !== '' && document.querySelector('input[name=transaction_id]') !== null",
        "the provider's form",
    )
    .await;
    sign_in_at_provider(&client, "ana", "ana-pw").await;
    wait_js(
        &client,
        "location.pathname === '/' && !!document.querySelector('nav.sidebar')",
        "home after SSO",
    )
    .await;
    let nav = text_of(&client, "nav.sidebar").await;
    assert!(nav.contains("ana") && nav.contains("APAC DOT"), "{nav}");
    assert!(
        !nav.contains("Cursor Usage"),
        "the provider's USER maps to the regional role only: {nav}"
    );
}

/// SAML sign-in in a real browser, Lantern at `localhost` and the provider at `127.0.0.1`: two sites, so the
/// provider's post to the ACS carries no session cookie and goes through Lantern's own page, as it does when
/// the provider is on another domain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_with_saml_through_another_site() {
    let idp = crate::sso::start_idp().await;
    let metadata = format!("{}/saml/metadata", idp.base);
    let app = TestApp::start_at(Backend::Local, move |c, addr| {
        crate::access::configure(c);
        let mut saml = crate::saml::saml_config(metadata, addr);
        saml.entity_id = format!("http://localhost:{}/auth/saml/metadata", addr.port());
        saml.acs_url = format!("http://localhost:{}/auth/saml/acs", addr.port());
        c.auth.saml = Some(saml);
    })
    .await;
    let at_localhost = format!("http://localhost:{}", app.addr.port());
    let (_driver, client) = start_browser().await;
    client.set_window_size(1200, 800).await.unwrap();
    client.goto(&format!("{at_localhost}/login")).await.unwrap();
    assert_eq!(
        text_of(&client, "#sso-saml").await,
        "Sign in with Company SSO"
    );
    save_png(&client, "login-saml.png").await;
    click(&client, "#sso-saml").await;
    wait_js(
        &client,
        "location.hostname === '127.0.0.1' && document.querySelector('input[name=password]') !== null",
        "the provider's form",
    )
    .await;
    sign_in_at_provider(&client, "ana", "ana-pw").await;
    wait_js(
        &client,
        "location.hostname === 'localhost' && location.pathname === '/' && !!document.querySelector('nav.sidebar')",
        "home after SAML sign-in",
    )
    .await;
    // Sent home by Lantern's own page, not straight from the provider's post (which carried no cookie).
    let referrer = client
        .execute("return document.referrer", vec![])
        .await
        .unwrap();
    assert!(
        referrer.as_str().unwrap().starts_with(&at_localhost),
        "came from {referrer}"
    );
    let nav = text_of(&client, "nav.sidebar").await;
    assert!(
        nav.contains("Ana Sato") && nav.contains("APAC DOT"),
        "{nav}"
    );
    assert!(
        !nav.contains("Cursor Usage"),
        "the provider's USER maps to the regional role only: {nav}"
    );
    save_png(&client, "home-after-saml.png").await;
}

/// The chat in a real browser, against a scripted model on loopback: a question asked from a dashboard
/// streams its SQL in before the table and chart; on the chat page the SQL is edited and run again, and a
/// follow-up question carries the thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ask_the_chat_edit_its_sql_and_follow_up() {
    use crate::chat::{chat_config, reply};
    use lantern_testkit::model_server::{Answer, Server};
    let by_team =
        "SELECT team, count(*) AS days FROM cursor_usage GROUP BY team ORDER BY days DESC";
    // Small pieces: the stream takes a few seconds, long enough to see the SQL arrive first.
    let model = Server::start(vec![Answer::openai_text(
        &reply(
            by_team,
            "Days of use per team, most first.",
            "bar",
            "team",
            &["days"],
        ),
        4,
        (1850, 95),
    )])
    .await;
    let base = model.base.clone();
    let app = TestApp::start_configured(move |c| c.chat = Some(chat_config(&base, ""))).await;
    let (_driver, client) = start_browser().await;
    sign_in(&client, &app).await;

    client.goto(&app.url("/d/cursor-usage")).await.unwrap();
    click(&client, "#chat-open").await;
    type_into(
        &client,
        "#chat-drawer textarea",
        "How many days of use per team?",
    )
    .await;
    click(&client, "#chat-drawer .chat-send").await;
    wait_js(
        &client,
        "(() => { const c = document.querySelector('#chat-drawer .chat-a code'); return !!c && c.textContent.length > 0 && !document.querySelector('#chat-drawer .chat-table'); })()",
        "the SQL streaming in before the table",
    )
    .await;
    let rows = wait_js(
        &client,
        "(() => { const t = document.querySelector('#chat-drawer .chat-table'); const p = document.querySelector('#chat-drawer .chat-chart .main-svg'); return t && p ? t.querySelectorAll('tbody tr').length : null; })()",
        "the answer's table and chart",
    )
    .await;
    assert_eq!(rows, 10, "the first page of the twelve teams");
    let bars = client
        .execute(
            "return document.querySelector('#chat-drawer .chat-chart').data[0].x.length;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(bars, 12);
    assert!(
        text_of(&client, "#chat-drawer .chat-summary")
            .await
            .contains("Days of use per team")
    );
    assert!(
        text_of(&client, "#chat-drawer .chat-meta")
            .await
            .contains("12 rows")
    );
    save_png(&client, "chat-dashboard.png").await;

    // The sidebar leads to the chat page, which lists the conversation; open it, edit the SQL and run it again.
    click(&client, "[data-chat-link=cursor_usage]").await;
    wait_js(
        &client,
        "location.pathname === '/chat/cursor_usage'",
        "the chat page",
    )
    .await;
    wait_js(
        &client,
        "document.querySelectorAll('[data-chat-threads] li[data-thread]').length === 1",
        "the thread list",
    )
    .await;
    click(&client, "[data-chat-threads] li[data-thread] a").await;
    wait_js(
        &client,
        "document.querySelectorAll('.chat-a .chat-table').length === 1",
        "the reopened thread",
    )
    .await;
    client
        .execute(
            "const d = document.querySelector('.chat-a .chat-sql'); d.open = true; d.querySelector('textarea').value = \"SELECT team, count(*) AS days FROM cursor_usage WHERE team = 'Web' GROUP BY team\";",
            vec![],
        )
        .await
        .unwrap();
    click(&client, ".chat-a [data-run]").await;
    let edited = wait_js(
        &client,
        "(() => { const r = document.querySelectorAll('.chat-a .chat-table tbody tr'); return r.length === 1 ? r[0].textContent : null; })()",
        "the edited query's one row",
    )
    .await;
    assert!(edited.as_str().unwrap().starts_with("Web"), "{edited}");

    // A follow-up in the same thread.
    model.push(vec![Answer::openai_text(
        &reply(
            "SELECT team, count(*) AS days FROM cursor_usage GROUP BY team ORDER BY days DESC LIMIT 3",
            "The three teams with the most days of use.",
            "horizontal_bar",
            "team",
            &["days"],
        ),
        12,
        (2100, 90),
    )]);
    type_into(&client, "[data-chat-form] textarea", "Only the top 3?").await;
    click(&client, ".chat-send").await;
    wait_js(
        &client,
        "(() => { const a = document.querySelectorAll('.chat-a'); return a.length === 2 && a[1].querySelectorAll('.chat-table tbody tr').length === 3 && !!a[1].querySelector('.main-svg'); })()",
        "the follow-up's answer",
    )
    .await;
    let messages = model.seen()[1].body["messages"].as_array().unwrap().len();
    assert_eq!(
        messages, 4,
        "system, the first question, its answer, the follow-up"
    );
    client
        .execute("window.scrollTo(0, 0)", vec![])
        .await
        .unwrap();
    save_png(&client, "chat-page.png").await;

    // The dark theme restyles the answers' charts too.
    click(&client, "#theme-toggle").await;
    wait_js(
        &client,
        "document.documentElement.dataset.theme === 'dark' && [...document.querySelectorAll('.chat-a .chat-chart')].every(c => c._fullLayout && c._fullLayout.font.color !== '#2b2622')",
        "the chat's charts in the dark theme",
    )
    .await;
    save_png(&client, "chat-page-dark.png").await;
}
