//! What the benchmarks share: their settings from the environment, the demo data published to a temporary
//! folder, and the real server on a loopback port.

// Each benchmark uses a part of this module.
#![allow(dead_code)]

use std::time::Instant;

use lantern_core::catalog::Catalog;
use lantern_core::config::Config;
use lantern_core::demo;
use lantern_core::storage::Storage;
use lantern_web::AppState;
use lantern_web::auth::Users;

/// The admin password of the benchmark server.
pub const PASSWORD: &str = "bench";

pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A line of `/proc/self/status` in MiB (`VmRSS:` now, `VmHWM:` the peak).
pub fn status_mib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

/// The running server and the folder its data lives in (removed on drop).
pub struct Server {
    pub state: AppState,
    pub base: String,
    _data: Published,
}

/// Publishes both demo datasets with `rows` rows each, builds the app on the repository's specs (rollups on or
/// off; `LANTERN_QUERY_HOT_ROWS_LIMIT`, `LANTERN_QUERY_HOT_MAX_MB` and `LANTERN_CACHE_MAX_MB` honoured) and serves
/// it on 127.0.0.1.
pub async fn start(rows: usize, rollups: bool) -> Server {
    let data = publish(&[("cursor_usage", rows), ("apac_dot", rows)]).await;
    let mut config = data.config.clone();
    config.query.rollups = rollups;
    serve(data, config).await
}

/// The demo data in a temporary folder and the configuration that reads it.
#[derive(Clone)]
pub struct Published {
    pub config: Config,
    pub storage: Storage,
    dir: std::sync::Arc<tempfile::TempDir>,
}

/// Publishes the demo datasets at the given row counts into a temporary folder, with the configuration the
/// benchmarks share (the repository's specs, the admin password, the memory settings from the environment).
pub async fn publish(datasets: &[(&str, usize)]) -> Published {
    // `BENCH_LOG=lantern_core=debug` shows each answer's time and source (rollup, row index or raw rows).
    if let Ok(filter) = std::env::var("BENCH_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            .try_init();
    }
    let dir = tempfile::tempdir().unwrap();
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut config = Config::default();
    config.storage.url = dir.path().display().to_string();
    config.datasets_dir = root.join("datasets");
    config.dashboards_dir = root.join("dashboards");
    config.auth.admin_password = Some(PASSWORD.into());
    config.log.level = "warn".into();
    // The memory settings a run compares, from the same variables `lantern serve` reads.
    let var = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    if let Some(limit) = var("LANTERN_QUERY_HOT_ROWS_LIMIT") {
        config.query.hot_rows_limit = limit;
    }
    if let Some(mb) = var("LANTERN_QUERY_HOT_MAX_MB") {
        config.query.hot_max_mb = mb;
    }
    if let Some(mb) = var("LANTERN_CACHE_MAX_MB") {
        config.cache.max_mb = mb;
    }
    let storage = Storage::open(&config.storage).unwrap();
    let t = Instant::now();
    let catalog = Catalog::new(storage.clone());
    for (dataset, rows) in datasets {
        demo::publish(&catalog, dataset, *rows, &|_| {})
            .await
            .unwrap();
    }
    eprintln!(
        "published {datasets:?} rows in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    Published {
        config,
        storage,
        dir: std::sync::Arc::new(dir),
    }
}

/// The app over `data` with `config` (its storage settings `data`'s), served on 127.0.0.1.
pub async fn serve(data: Published, config: Config) -> Server {
    let t = Instant::now();
    let (users, _) = Users::from_config(&config.auth).unwrap();
    let state = AppState::build_with_storage(config, users, data.storage.clone())
        .await
        .unwrap();
    let q = state.engine().settings();
    eprintln!(
        "loaded and warmed (engine {}, rollups: {}, hot rows limit {}, hot max {} MiB) in {:.2} s",
        q.engine,
        q.rollups,
        q.hot_rows_limit,
        q.hot_max_mb,
        t.elapsed().as_secs_f64(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(lantern_web::serve(
        listener,
        state.clone(),
        std::future::pending(),
    ));
    Server {
        state,
        base,
        _data: data,
    }
}

/// A client signed in as the benchmark's admin.
pub async fn login(base: &str) -> reqwest::Client {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = client.get(format!("{base}/login")).send().await.unwrap();
    let csrf = lantern_testkit::csrf_token(&page.text().await.unwrap()).expect("login form token");
    let res = client
        .post(format!("{base}/login"))
        .form(&[
            ("username", "admin"),
            ("password", PASSWORD),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    client
}
