//! Redis as the result cache's second level, with two apps over one store as two replicas: what one computed
//! the other serves without running a query; a user with row rules never gets another user's result; a Redis
//! outage degrades to the local cache, never to an error.

use std::time::Duration;

use lantern_core::storage::Storage;
use lantern_testkit::RedisServer;
use serde_json::Value;

use crate::access::{configure, signed_in};
use crate::support::{TestApp, base_config, publish_demo};

/// Result keys in the Redis at `url`.
async fn result_keys(url: &str) -> Vec<String> {
    let client = redis::Client::open(url).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("KEYS")
        .arg("lantern:result:*")
        .query_async(&mut c)
        .await
        .unwrap()
}

/// The answer without its cache figures and timing (which differ by design between a miss and a hit).
fn data(mut body: Value) -> Value {
    let fields = body.as_object_mut().unwrap();
    fields.remove("cache");
    fields.remove("elapsed_ms");
    body
}

/// The top-level fields in which two answers differ (printing whole answers would bury the difference).
fn differing(a: &Value, b: &Value) -> Vec<String> {
    let (a, b) = (a.as_object().unwrap(), b.as_object().unwrap());
    a.keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_results_never_across_row_rules_and_survive_a_redis_outage() {
    let mut redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut config = base_config(&dir.path().join("data").display().to_string());
    configure(&mut config);
    config.cache.redis_url = Some(redis.url());
    let storage = Storage::open(&config.storage).unwrap();
    publish_demo(&storage).await;
    let a = TestApp::start_with(config.clone(), storage.clone(), Some(dir)).await;
    let b = TestApp::start_with(config, storage, None).await;

    // A filter neither start-up warm-up computed: a miss on a, stored in Redis for b.
    let path = "/api/dashboards/apac-dot/data?sub_region=North%20Asia";
    let analyst_a = signed_in(&a, "analyst").await;
    let (status, on_a) = analyst_a.get_json(path).await;
    assert_eq!(status, 200, "{on_a}");
    let misses = on_a["cache"]["misses"].as_u64().unwrap();
    assert!(misses > 0, "{}", on_a["cache"]);
    // The results are written in the background: wait until they are all there.
    let mut keys = 0;
    for _ in 0..100 {
        keys = result_keys(&redis.url()).await.len();
        if keys >= misses as usize {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(keys >= misses as usize, "{keys} keys for {misses} misses");
    assert!(
        result_keys(&redis.url())
            .await
            .iter()
            .all(|k| k.starts_with("lantern:result:r1:apac_dot:1:")
                || k.starts_with("lantern:result:r1:cursor_usage:1:")),
        "keys carry the dataset and its version"
    );

    let analyst_b = signed_in(&b, "analyst").await;
    let (status, on_b) = analyst_b.get_json(path).await;
    assert_eq!(status, 200);
    assert_eq!(
        on_b["cache"]["misses"], 0,
        "b ran no query: {}",
        on_b["cache"]
    );
    let (on_a, on_b) = (data(on_a), data(on_b));
    assert!(
        on_a == on_b,
        "b serves a's results; they differ in {:?}",
        differing(&on_a, &on_b)
    );

    // A user whose rows are only Japan's asks the same URL on b: their own key, their own numbers.
    let ken = signed_in(&b, "ken").await;
    let (status, ken_sees) = ken.get_json(path).await;
    assert_eq!(status, 200);
    assert!(
        ken_sees["cache"]["misses"].as_u64().unwrap() > 0,
        "never a result computed for other rows: {}",
        ken_sees["cache"]
    );
    let ken_sees = data(ken_sees);
    assert!(
        ken_sees["kpis"] != on_a["kpis"],
        "Japan's rows alone give other figures"
    );
    let (_, ken_again) = ken.get_json(path).await;
    let ken_again = data(ken_again);
    assert!(
        ken_again == ken_sees,
        "{:?}",
        differing(&ken_again, &ken_sees)
    );

    // Redis goes away: answers go on from the local level and fresh computation, and readiness holds.
    redis.stop();
    assert!(!redis.answers());
    for region in ["South%20East%20Asia", "Oceania"] {
        let path = format!("/api/dashboards/apac-dot/data?sub_region={region}");
        let (status, body) = analyst_b.get_json(&path).await;
        assert_eq!(status, 200, "{body}");
        assert!(body["cache"]["misses"].as_u64().unwrap() > 0);
        let (status, again) = analyst_b.get_json(&path).await;
        assert_eq!(status, 200);
        assert_eq!(again["cache"]["misses"], 0, "the local level still serves");
    }
    let (status, ready) = analyst_b.get_json("/readyz").await;
    assert_eq!(status, 200, "{ready}");
    assert_eq!(ready["checks"]["cache_redis"]["ok"], false, "{ready}");
    assert_eq!(ready["checks"]["cache_redis"]["optional"], true);
}
