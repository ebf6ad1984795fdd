//! A real browser (Debian's headless Chromium over chromedriver) logs in, changes a filter and sees the page change.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::support::{PASSWORD, TestApp, repo_root};

/// chromedriver on a free loopback port, killed on drop.
struct Driver {
    child: Child,
    port: u16,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start_browser() -> (Driver, Client) {
    // Both rustls back ends are in the dependency graph; the WebDriver client needs one chosen.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let chromedriver = which("chromedriver");
    let chromium = which("chromium");
    let port = free_port();
    let child = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let profile = tempfile::tempdir().unwrap();
    let driver = Driver {
        child,
        port,
        _profile: profile,
    };
    let caps = json!({
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1400,1000",
                format!("--user-data-dir={}", driver._profile.path().display()),
            ]
        }
    });
    let caps = match caps {
        Value::Object(m) => m,
        _ => unreachable!(),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let attempt = ClientBuilder::rustls()
            .unwrap()
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await;
        match attempt {
            Ok(client) => return (driver, client),
            Err(e) if Instant::now() > deadline => panic!("cannot start headless chromium: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

fn which(tool: &str) -> String {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .unwrap();
    let path = String::from_utf8_lossy(&found.stdout).trim().to_string();
    assert!(
        !path.is_empty(),
        "{tool} is not installed: run scripts/services.sh (the README's test command does)"
    );
    path
}

async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
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

/// Polls `script` (a JS expression) until it returns something other than null/false.
async fn wait_js(client: &Client, script: &str, what: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let v = client
            .execute(&format!("return ({script});"), vec![])
            .await
            .unwrap();
        if !(v.is_null() || v == Value::Bool(false)) {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
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
    let before = client
        .find(Locator::Css("#kpi-total_requests"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    // Choose one team: the KPI text and the bar chart change without a reload.
    client
        .execute("window.__sameDocument = true;", vec![])
        .await
        .unwrap();
    click(&client, "select[name=team] option[value=Web]").await;
    wait_js(
        &client,
        "document.getElementById('chart-requests-by-team').data[0].x.length === 1",
        "the bar chart to show one team",
    )
    .await;
    let after = client
        .find(Locator::Css("#kpi-total_requests"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
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
            schedule: Some("0 6 * * *".into()),
            next_run: Some(now + chrono::Duration::hours(6)),
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
    std::fs::write(dir.join("datasets.png"), client.screenshot().await.unwrap()).unwrap();

    // Logging out sends the browser back to /login.
    click(&client, ".sidebar-foot button").await;
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
