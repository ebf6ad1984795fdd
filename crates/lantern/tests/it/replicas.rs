//! Two `lantern serve` processes on different ports that share one Redis (and one data folder): a sign-in on
//! one is valid on the other, and a logout on either ends it on both.

use std::path::PathBuf;
use std::time::Duration;

use crate::serve::{Server, browser};

const PASSWORD: &str = "replica-test-password";

fn redis_url() -> String {
    std::env::var("LANTERN_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_sharing_redis_share_sign_ins_and_logouts() {
    let dir = tempfile::tempdir().unwrap();
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (datasets, dashboards) = (repo.join("datasets"), repo.join("dashboards"));
    crate::serve::publish_demo(dir.path());
    let redis = redis_url();
    let env = [
        ("LANTERN_ADMIN_PASSWORD", PASSWORD),
        ("LANTERN_SESSIONS_STORE", redis.as_str()),
        ("LANTERN_DATASETS_DIR", datasets.to_str().unwrap()),
        ("LANTERN_DASHBOARDS_DIR", dashboards.to_str().unwrap()),
    ];
    let a = Server::start(dir.path(), &env).await;
    let b = Server::start(dir.path(), &env).await;

    // One browser: cookies are kept per host, not port, so it sends its session cookie to both.
    let me = browser();
    assert_eq!(b.status(&me, "/").await, 303, "not signed in yet");
    assert_eq!(a.sign_in(&me, "admin", PASSWORD).await, 303);
    assert_eq!(b.status(&me, "/").await, 200, "signed in on a, valid on b");
    assert_eq!(
        b.status(&me, "/api/dashboards/cursor-usage/data").await,
        200
    );

    // Logged out on b (its form's token comes from b's page, the session's own): ended on a too.
    let csrf = b.csrf(&me).await;
    let out = me
        .post(format!("{}/logout", b.base))
        .form(&[("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    assert_eq!(a.status(&me, "/").await, 303, "logged out on b, ended on a");
    assert_eq!(
        a.status(&me, "/api/dashboards/cursor-usage/data").await,
        401
    );
}

/// The ticks a replica's JSON log says it ran `dataset` at.
fn ticks_run(log: &std::path::Path, dataset: &str) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|l| {
            l["fields"]["message"] == "scheduled ETL run starting"
                && l["fields"]["dataset"] == dataset
        })
        .map(|l| l["fields"]["tick"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_run_each_scheduled_tick_once_between_them() {
    let dir = tempfile::tempdir().unwrap();
    let (datasets, dashboards) = (dir.path().join("datasets"), dir.path().join("dashboards"));
    std::fs::create_dir(&datasets).unwrap();
    std::fs::create_dir(&dashboards).unwrap();
    crate::serve::every_second_csv_dataset(dir.path(), &datasets, "/a,1\n/b,2\n");
    let env = [
        ("LANTERN_ADMIN_PASSWORD", PASSWORD),
        ("LANTERN_LOG_FORMAT", "json"),
        ("RUST_LOG", "info,lantern_etl::schedule=debug"),
        ("LANTERN_DATASETS_DIR", datasets.to_str().unwrap()),
        ("LANTERN_DASHBOARDS_DIR", dashboards.to_str().unwrap()),
    ];
    let (log_a, log_b) = (dir.path().join("a.log"), dir.path().join("b.log"));
    let a = Server::start_logging(dir.path(), &env, Some(&log_a)).await;
    let b = Server::start_logging(dir.path(), &env, Some(&log_b)).await;
    let both_up = std::time::Instant::now();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let seconds_both_up = both_up.elapsed().as_secs();
    // a goes away: from then on b runs every tick alone.
    drop(a);
    let b_before = ticks_run(&log_b, "visits").len();
    tokio::time::sleep(Duration::from_secs(3)).await;
    drop(b);

    let (ran_a, ran_b) = (ticks_run(&log_a, "visits"), ticks_run(&log_b, "visits"));
    println!(
        "ticks run: a {}, b {} ({b_before} while a was up)",
        ran_a.len(),
        ran_b.len()
    );
    let mut all: Vec<&String> = ran_a.iter().chain(&ran_b).collect();
    all.sort();
    let distinct = all.len();
    all.dedup();
    assert_eq!(
        all.len(),
        distinct,
        "a tick ran twice: a ran {ran_a:?}, b ran {ran_b:?}"
    );
    // Each second both were up has its run, by one of them (a run that outlasts its second skips the next).
    assert!(
        ran_a.len() + b_before + 2 >= seconds_both_up as usize,
        "{} ticks run in {seconds_both_up} s: a {ran_a:?}, b {ran_b:?}",
        ran_a.len() + b_before
    );
    // b's scheduler was awake all along, standing aside for the ticks a had claimed...
    let stood_aside = std::fs::read_to_string(&log_b)
        .unwrap()
        .matches("scheduled ETL run taken by another replica")
        .count();
    assert!(
        stood_aside + b_before + 2 >= seconds_both_up as usize,
        "b stood aside {stood_aside} times and ran {b_before} ticks in {seconds_both_up} s"
    );
    // ...and took over once a was gone.
    assert!(
        ran_b.len() - b_before >= 2,
        "b ran {ran_b:?} after a stopped"
    );
    // The claims left behind are the ticks that ran (each replica deletes its own after ten minutes).
    let claims = std::fs::read_dir(dir.path().join("lantern-data/datasets/visits/_ticks"))
        .unwrap()
        .count();
    assert_eq!(claims, all.len());
}

fn address(server: &Server) -> std::net::SocketAddr {
    server
        .base
        .strip_prefix("http://")
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_mid_load_loses_no_session_behind_the_balancer() {
    let dir = tempfile::tempdir().unwrap();
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (datasets, dashboards) = (repo.join("datasets"), repo.join("dashboards"));
    crate::serve::publish_demo(dir.path());
    let redis = lantern_testkit::RedisServer::start();
    let url = redis.url();
    let env = [
        ("LANTERN_ADMIN_PASSWORD", PASSWORD),
        ("LANTERN_SESSIONS_STORE", url.as_str()),
        ("LANTERN_CACHE_REDIS_URL", url.as_str()),
        ("LANTERN_DATASETS_DIR", datasets.to_str().unwrap()),
        ("LANTERN_DASHBOARDS_DIR", dashboards.to_str().unwrap()),
    ];
    let a = Server::start(dir.path(), &env).await;
    let b = Server::start(dir.path(), &env).await;
    let balancer = lantern_testkit::Balancer::start(vec![address(&a), address(&b)]).await;
    let base = balancer.url();
    let mut sessions = Vec::new();
    for _ in 0..6 {
        sessions.push(lantern_testkit::load::Session::sign_in(&base, "admin", PASSWORD).await);
    }
    let signed_in = balancer.connections();
    assert!(
        signed_in.iter().all(|&n| n > 0),
        "sign-ins spread over both replicas: {signed_in:?}"
    );

    let paths = lantern_testkit::load::dashboard_paths();
    let load = tokio::spawn(async move {
        lantern_testkit::load::run(&base, sessions, &paths, Duration::from_secs(8)).await
    });
    tokio::time::sleep(Duration::from_secs(3)).await;
    let at_kill = balancer.connections();
    drop(a); // SIGKILL: nothing drains
    let report = load.await.unwrap();
    let after = balancer.connections();
    println!(
        "{} ok, {} retried, per second {:?}, connections {signed_in:?} → {at_kill:?} → {after:?}",
        report.ok, report.retried, report.per_second
    );

    assert!(report.errors.is_empty(), "{:?}", report.errors);
    // Every second after the kill has its answers: the sessions a served went on at b, signed in.
    assert!(
        report.per_second[4..8].iter().all(|&n| n > 0),
        "{:?}",
        report.per_second
    );
    assert_eq!(
        after[0], at_kill[0],
        "no connection reaches the dead replica"
    );
    assert!(after[1] > at_kill[1], "its sessions reconnected to b");
    // Only requests in flight on a when it died were sent again: at most one per session.
    assert!(report.retried <= 6, "{} retried", report.retried);
}
