//! Debian's headless Chromium driven over chromedriver (WebDriver), for the browser tests and the first-chart
//! benchmark. Both run from `scripts/services.sh`, which installs `chromium` and `chromium-driver`; nothing here
//! downloads a browser.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};

use crate::free_port;

/// chromedriver on a free loopback port with a fresh profile, killed on drop.
pub struct Driver {
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

/// Starts chromedriver and a headless Chromium window of 1400×1000 and connects to it. Keep the [`Driver`]
/// alive as long as the [`Client`] is used.
pub async fn start_browser() -> (Driver, Client) {
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
    let profile = tempfile::tempdir().expect("a browser profile folder");
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
    let Value::Object(caps) = caps else {
        unreachable!("a JSON object literal")
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let attempt = ClientBuilder::rustls()
            .expect("rustls WebDriver client")
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
        .expect("run sh");
    let path = String::from_utf8_lossy(&found.stdout).trim().to_string();
    assert!(
        !path.is_empty(),
        "{tool} is not installed: run scripts/services.sh (the README's test command does)"
    );
    path
}

/// Polls `script` (a JS expression) until it returns something other than null/false, for at most 15 s.
pub async fn wait_js(client: &Client, script: &str, what: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let v = client
            .execute(&format!("return ({script});"), vec![])
            .await
            .expect("run a script in the page");
        if !(v.is_null() || v == Value::Bool(false)) {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
