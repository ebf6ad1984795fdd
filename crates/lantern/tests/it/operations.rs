//! What an operator relies on, against the real binary: `/metrics` in the Prometheus text format (parsed by a
//! Prometheus parser) with every metric moving as the app is used, `/readyz` checking storage and Redis, JSON
//! logs whose lines name their request or ETL run, and SIGTERM draining requests in flight before exit.

use std::path::{Path, PathBuf};
use std::time::Duration;

use lantern_testkit::model_server::{self, Answer};
use openmetrics_parser::prometheus::parse_prometheus;
use openmetrics_parser::{MetricsExposition, PrometheusType, PrometheusValue};

use crate::serve::{Server, browser};

const PASSWORD: &str = "operations-test-password";
const TOKEN: &str = "scrape-token-for-tests";
const SQL: &str = "SELECT team, count(*) AS days FROM cursor_usage GROUP BY team";

/// A folder with the demo data published (2 000 rows a dataset), the repository's specs, and `visits`: a CSV
/// dataset loaded every second, one of whose three rows is ragged (quarantined).
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    crate::serve::publish_demo(dir.path());
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let datasets = dir.path().join("datasets");
    std::fs::create_dir(&datasets).unwrap();
    for entry in std::fs::read_dir(repo.join("datasets")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, datasets.join(path.file_name().unwrap())).unwrap();
    }
    crate::serve::every_second_csv_dataset(dir.path(), &datasets, "/a,1\n/b\n/c,3\n");
    dir
}

fn chat_yaml(dir: &Path, model: &str) {
    std::fs::write(
        dir.join("lantern.yaml"),
        format!("chat:\n  provider: openai\n  model: scripted\n  base_url: {model}\n"),
    )
    .unwrap();
}

fn reply() -> String {
    serde_json::json!({"sql": SQL, "summary": "Days per team.", "visual": {"kind": "bar", "x": "team", "y": ["days"], "color": ""}})
        .to_string()
}

/// A parsed scrape.
struct Metrics(MetricsExposition<PrometheusType, PrometheusValue>);

impl Metrics {
    async fn scrape(server: &Server) -> Self {
        let res = reqwest::Client::new()
            .get(format!("{}/metrics", server.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain; version=0.0.4")
        );
        let text = res.text().await.unwrap();
        Self(parse_prometheus(&text).unwrap_or_else(|e| panic!("{e:?} in\n{text}")))
    }

    /// The sum over the series of `name` whose labels include `labels`: a counter's or gauge's value, a
    /// histogram's count of observations. `None` when no series matches.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let family = self.0.families.get(name)?;
        let matching: Vec<f64> = family
            .iter_samples()
            .filter(|s| {
                let set = s.get_labelset().unwrap();
                labels
                    .iter()
                    .all(|(k, v)| set.get_label_value(k) == Some(*v))
            })
            .map(|s| match &s.value {
                PrometheusValue::Counter(c) => c.value.as_f64(),
                PrometheusValue::Gauge(n) | PrometheusValue::Unknown(n) => n.as_f64(),
                PrometheusValue::Histogram(h) => h.count.expect("a histogram's count") as f64,
                PrometheusValue::Summary(_) => panic!("{name} is a summary, not a histogram"),
            })
            .collect();
        (!matching.is_empty()).then(|| matching.iter().sum())
    }

    fn help(&self, name: &str) -> Option<&str> {
        self.0.families.get(name).map(|f| f.help.as_str())
    }

    fn or_zero(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.value(name, labels).unwrap_or(0.0)
    }
}

async fn ask(me: &reqwest::Client, server: &Server) -> (u16, String) {
    let token = server.csrf(me).await;
    let res = me
        .post(format!("{}/api/chat/cursor_usage/ask", server.base))
        .header("x-csrf-token", token)
        .json(&serde_json::json!({"question": "How many days of use per team?"}))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.text().await.unwrap())
}

/// The log's JSON lines.
fn log_lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_move_readiness_checks_and_log_lines_name_their_request_or_run() {
    let dir = workspace();
    let model =
        model_server::Server::start(vec![Answer::openai_text(&reply(), 40, (1200, 80))]).await;
    chat_yaml(dir.path(), &model.base);
    let datasets = dir.path().join("datasets");
    let dashboards = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../dashboards");
    // A Redis of the test's own: empty, so the cache misses and the sessions count are this test's alone.
    let redis_server = lantern_testkit::RedisServer::start();
    let redis = redis_server.url();
    let log = dir.path().join("lantern.log");
    let env = [
        ("LANTERN_ADMIN_PASSWORD", PASSWORD),
        ("LANTERN_SESSIONS_STORE", redis.as_str()),
        ("LANTERN_CACHE_REDIS_URL", redis.as_str()),
        ("LANTERN_DATASETS_DIR", datasets.to_str().unwrap()),
        ("LANTERN_DASHBOARDS_DIR", dashboards.to_str().unwrap()),
        ("LANTERN_METRICS_TOKEN", TOKEN),
        ("LANTERN_LOG_FORMAT", "json"),
        ("RUST_LOG", "info,lantern_core=debug"),
    ];
    let server = Server::start_logging(dir.path(), &env, Some(&log)).await;

    // The token guards the metrics.
    let anyone = reqwest::Client::new();
    let url = format!("{}/metrics", server.base);
    assert_eq!(anyone.get(&url).send().await.unwrap().status(), 401);
    let wrong = anyone.get(&url).bearer_auth("nope").send().await.unwrap();
    assert_eq!(wrong.status(), 401);

    let before = Metrics::scrape(&server).await;
    let me = browser();
    assert_eq!(server.sign_in(&me, "admin", PASSWORD).await, 303);
    let signed_in = Metrics::scrape(&server).await;
    assert_eq!(
        signed_in.value("lantern_sessions_active", &[]),
        Some(before.or_zero("lantern_sessions_active", &[]) + 1.0),
        "one more signed-in session"
    );

    // A filter the start-up warm-up did not compute: a miss, then a hit.
    let data = format!("{}/api/dashboards/cursor-usage/data?team=Web", server.base);
    for _ in 0..2 {
        let res = me
            .get(&data)
            .header("x-request-id", "ops-test-request")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    let (status, events) = ask(&me, &server).await;
    assert_eq!(status, 200, "{events}");
    assert!(events.contains("event: turn"), "{events}");

    // The schedule loads `visits` every second: wait for a run after the first scrape.
    let runs = |m: &Metrics| {
        m.or_zero(
            "lantern_etl_runs_total",
            &[("dataset", "visits"), ("outcome", "ok")],
        )
    };
    let mut after = Metrics::scrape(&server).await;
    for _ in 0..100 {
        if runs(&after) > runs(&before) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        after = Metrics::scrape(&server).await;
    }

    let route = [
        ("route", "/api/dashboards/{id}/data"),
        ("method", "GET"),
        ("status", "200"),
    ];
    let moved = |name: &str, labels: &[(&str, &str)]| {
        let (was, now) = (
            before.or_zero(name, labels),
            after
                .value(name, labels)
                .unwrap_or_else(|| panic!("{name} {labels:?} is missing from the scrape")),
        );
        assert!(now > was, "{name} {labels:?} did not move: {was} → {now}");
        now - was
    };
    assert_eq!(moved("lantern_http_request_duration_seconds", &route), 2.0);
    for outcome in ["hit", "miss"] {
        moved(
            "lantern_cache_lookups_total",
            &[("level", "memory"), ("outcome", outcome)],
        );
    }
    // Each memory miss asked the shared level (a hit when an earlier run left the same result there).
    moved("lantern_cache_lookups_total", &[("level", "redis")]);
    let cursor = [("dataset", "cursor_usage")];
    assert!(moved("lantern_query_duration_seconds", &cursor) >= 1.0);
    assert!(moved("lantern_query_rows_scanned_total", &cursor) >= 1.0);
    let visits = [("dataset", "visits")];
    assert!(
        moved(
            "lantern_etl_runs_total",
            &[("dataset", "visits"), ("outcome", "ok")]
        ) >= 1.0
    );
    assert!(moved("lantern_etl_run_duration_seconds", &visits) >= 1.0);
    // Two good rows and one quarantined a run.
    let rows = moved("lantern_etl_rows_total", &visits);
    let quarantined = moved("lantern_etl_quarantined_rows_total", &visits);
    assert_eq!(
        rows,
        2.0 * quarantined,
        "{rows} rows, {quarantined} quarantined"
    );
    assert_eq!(
        moved("lantern_chat_tokens_total", &[("kind", "input")]),
        1200.0
    );
    assert_eq!(
        moved("lantern_chat_tokens_total", &[("kind", "output")]),
        80.0
    );
    for name in [
        "lantern_http_request_duration_seconds",
        "lantern_cache_lookups_total",
        "lantern_etl_runs_total",
        "lantern_chat_tokens_total",
    ] {
        assert!(
            after.help(name).is_some_and(|h| !h.is_empty()),
            "a HELP line for {name}"
        );
    }

    // Ready: storage and Redis answer.
    let ready = server.get_json(&anyone, "/readyz").await;
    assert_eq!(ready["status"], "ready", "{ready}");
    assert_eq!(ready["checks"]["storage"]["ok"], true, "{ready}");
    assert_eq!(ready["checks"]["redis"]["ok"], true, "{ready}");

    // Signed out: one session fewer.
    let token = server.csrf(&me).await;
    let out = me
        .post(format!("{}/logout", server.base))
        .form(&[("csrf", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    let out = Metrics::scrape(&server).await;
    assert_eq!(
        out.value("lantern_sessions_active", &[]),
        Some(signed_in.or_zero("lantern_sessions_active", &[]) - 1.0)
    );
    drop(server);

    // The query's log line names the request that ran it; the ETL run's lines name the run.
    let lines = log_lines(&log);
    let in_span = |l: &serde_json::Value, field: &str, value: &str| {
        l["spans"]
            .as_array()
            .is_some_and(|spans| spans.iter().any(|s| s[field] == value))
    };
    let answered = lines
        .iter()
        .find(|l| {
            l["fields"]["message"] == "answered" && in_span(l, "request_id", "ops-test-request")
        })
        .unwrap_or_else(|| {
            let answered: Vec<_> = lines
                .iter()
                .filter(|l| l["fields"]["message"] == "answered")
                .collect();
            panic!("no `answered` line of the request among {answered:#?}")
        });
    assert_eq!(answered["fields"]["dataset"], "cursor_usage");
    let run = lines
        .iter()
        .find(|l| l["fields"]["message"] == "ETL run finished")
        .expect("an ETL run's line");
    assert_eq!(run["span"]["name"], "etl_run");
    assert_eq!(run["span"]["dataset"], "visits");
    assert_eq!(run["span"]["run_id"].as_str().map(str::len), Some(16));
    assert_eq!(run["fields"]["new_rows"], 2);
    assert_eq!(run["fields"]["quarantined_rows"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_fails_readiness_and_finishes_the_requests_in_flight_before_exiting() {
    let dir = workspace();
    // One character a chunk, 20 ms apart: the answer streams for seconds.
    let model = model_server::Server::start(vec![Answer::openai_text(&reply(), 1, (10, 10))]).await;
    chat_yaml(dir.path(), &model.base);
    let datasets = dir.path().join("datasets");
    std::fs::remove_file(datasets.join("visits.yaml")).unwrap();
    let dashboards = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../dashboards");
    let env = [
        ("LANTERN_ADMIN_PASSWORD", PASSWORD),
        ("LANTERN_DATASETS_DIR", datasets.to_str().unwrap()),
        ("LANTERN_DASHBOARDS_DIR", dashboards.to_str().unwrap()),
        ("LANTERN_DRAIN_SECS", "1"),
    ];
    let mut server = Server::start(dir.path(), &env).await;
    let me = browser();
    assert_eq!(server.sign_in(&me, "admin", PASSWORD).await, 303);
    let ready = format!("{}/readyz", server.base);
    let probe = reqwest::Client::new();
    assert_eq!(probe.get(&ready).send().await.unwrap().status(), 200);

    let asking = {
        let me = me.clone();
        let base = server.base.clone();
        let token = server.csrf(&me).await;
        tokio::spawn(async move {
            let res = me
                .post(format!("{base}/api/chat/cursor_usage/ask"))
                .header("x-csrf-token", token)
                .json(&serde_json::json!({"question": "How many days of use per team?"}))
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        })
    };
    // The question has reached the model: the request is in flight.
    for _ in 0..200 {
        if !model.seen().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(model.seen().len(), 1, "the question reached the model");
    server.signal(libc::SIGTERM);

    // Draining: still answering, but not ready.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let draining = probe.get(&ready).send().await.unwrap();
    assert_eq!(draining.status(), 503);
    let body: serde_json::Value = draining.json().await.unwrap();
    assert_eq!(body["status"], "draining");

    let (status, events) = asking.await.unwrap();
    assert_eq!(status, 200);
    assert!(
        events.contains("event: turn") && events.contains(SQL),
        "the answer arrived whole: {events}"
    );
    let exit = server
        .exited_within(Duration::from_secs(15))
        .await
        .expect("the server exits once its requests are done");
    assert!(exit.success(), "{exit}");
    assert!(
        probe.get(&ready).send().await.is_err(),
        "nothing listens any more"
    );
}
