//! Redis over TLS (`rediss://`), as managed Redis services with in-transit encryption require: the real binary's
//! sessions and shared cache on a Redis whose certificate a private authority signed, trusted through
//! `SSL_CERT_FILE`, and refused, with a message naming the setting, when it is not trusted.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::serve::{BIN, Server, browser, free_port};

const PASSWORD: &str = "redis-tls-test-password";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_and_the_shared_cache_go_over_tls_to_a_trusted_redis_only() {
    let dir = tempfile::tempdir().unwrap();
    crate::serve::publish_demo(dir.path());
    let certs = tempfile::tempdir().unwrap();
    let redis = lantern_testkit::RedisServer::start_tls(certs.path());
    let url = redis.tls_url();
    let ca = redis.tls.as_ref().unwrap().1.display().to_string();
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (datasets, dashboards) = (repo.join("datasets"), repo.join("dashboards"));
    let env = [
        ("LANTERN_ADMIN_PASSWORD", PASSWORD),
        ("LANTERN_SESSIONS_STORE", url.as_str()),
        ("LANTERN_CACHE_REDIS_URL", url.as_str()),
        ("LANTERN_DATASETS_DIR", datasets.to_str().unwrap()),
        ("LANTERN_DASHBOARDS_DIR", dashboards.to_str().unwrap()),
    ];

    // Not trusted (the system's roots only): the server does not start, and says which setting failed.
    let port = free_port();
    let mut untrusted = Command::new(BIN)
        .args(["serve", "--port", &port.to_string()])
        .current_dir(dir.path())
        .env_remove("RUST_LOG")
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR")
        .envs(env)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = untrusted.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = untrusted.kill();
            panic!("lantern serve kept running with an untrusted Redis certificate");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut untrusted.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("sessions.store `{url}`"))
            && stderr.contains("UnknownIssuer")
            && stderr.contains("set SSL_CERT_FILE"),
        "{stderr}"
    );
    assert_eq!(redis.count_keys("lantern:*"), 0, "nothing was written");

    // Trusted through SSL_CERT_FILE: sign-in and dashboard results land in that Redis.
    let mut trusted = env.to_vec();
    trusted.push(("SSL_CERT_FILE", ca.as_str()));
    let server = Server::start(dir.path(), &trusted).await;
    let me = browser();
    assert_eq!(server.sign_in(&me, "admin", PASSWORD).await, 303);
    assert_eq!(redis.count_keys("lantern:session:*"), 1, "the session");
    let data = server
        .get_json(&me, "/api/dashboards/cursor-usage/data?team=Web")
        .await;
    assert!(!data["kpis"].as_array().unwrap().is_empty(), "{data}");
    // Results are written to Redis in the background.
    let deadline = Instant::now() + Duration::from_secs(10);
    while redis.count_keys("lantern:result:*") == 0 {
        assert!(Instant::now() < deadline, "no result reached Redis");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(server.status(&me, "/readyz").await, 200);
}
