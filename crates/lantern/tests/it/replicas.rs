//! Two `lantern serve` processes on different ports that share one Redis (and one data folder): a sign-in on
//! one is valid on the other, and a logout on either ends it on both.

use std::path::PathBuf;

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
