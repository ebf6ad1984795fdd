//! `compose.yaml`: valid against the Compose specification's JSON schema (the copy check-jsonschema carries),
//! whole as a topology (the hosts and the bucket Lantern's environment names are the services and the bucket
//! the init job makes), and its `lantern` service's environment run natively: two Lantern processes on it,
//! with `minio` a real S3-protocol server and `redis` a Redis of the test's own.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_yaml::Value;

use crate::serve::{BIN, Server, browser, free_port};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// check-jsonschema in the test virtualenv (scripts/services.sh installs it).
fn check_jsonschema(file: &Path) -> std::process::Output {
    let venv = std::env::var_os("LANTERN_TEST_VENV").map_or_else(
        || PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/lantern-venv"),
        PathBuf::from,
    );
    let tool = venv.join("bin/check-jsonschema");
    assert!(
        tool.exists(),
        "{} not found: run scripts/services.sh",
        tool.display()
    );
    Command::new(tool)
        .args(["--builtin-schema", "vendor.compose-spec"])
        .arg(file)
        .output()
        .unwrap()
}

fn compose() -> Value {
    serde_yaml::from_str(&std::fs::read_to_string(repo().join("compose.yaml")).unwrap()).unwrap()
}

/// A value as Compose reads it: `${NAME:-default}` is `default` when NAME is unset (as it is here).
fn interpolated(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("closed ${") + start;
        let inner = &rest[start + 2..end];
        out.push_str(inner.split_once(":-").map_or("", |(_, default)| default));
        rest = &rest[end + 1..];
    }
    out + rest
}

fn service_environment(compose: &Value, service: &str) -> BTreeMap<String, String> {
    compose["services"][service]["environment"]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let v = v.as_str().expect("environment values are strings");
            (k.as_str().unwrap().to_string(), interpolated(v))
        })
        .collect()
}

#[test]
fn compose_file_follows_the_compose_specification() {
    let valid = check_jsonschema(&repo().join("compose.yaml"));
    assert!(
        valid.status.success(),
        "{}{}",
        String::from_utf8_lossy(&valid.stdout),
        String::from_utf8_lossy(&valid.stderr)
    );

    // The schema is enforced, not only parsed: a misspelt key in one service is refused and named.
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(repo().join("compose.yaml")).unwrap();
    let lantern = text.find("\n  lantern:\n").unwrap();
    let key = lantern + text[lantern..].find("    environment:").unwrap();
    let misspelt = format!("{}    enviroment:{}", &text[..key], &text[key + 16..]);
    let bad = dir.path().join("compose.yaml");
    std::fs::write(&bad, misspelt).unwrap();
    let refused = check_jsonschema(&bad);
    let said = String::from_utf8_lossy(&refused.stdout);
    assert!(!refused.status.success());
    assert!(
        said.contains("$.services.lantern") && said.contains("'enviroment' was unexpected"),
        "{said}"
    );
}

#[test]
fn compose_topology_is_whole() {
    let compose = compose();
    let services = compose["services"].as_mapping().unwrap();
    for name in ["lantern", "minio", "minio-init", "redis", "tests"] {
        assert!(services.contains_key(name), "service {name}");
    }
    let env = service_environment(&compose, "lantern");
    // The hosts Lantern's environment names are services of this file.
    assert_eq!(env["LANTERN_S3_ENDPOINT"], "http://minio:9000");
    assert!(env["LANTERN_SESSIONS_STORE"].starts_with("redis://redis:6379/"));
    assert!(env["LANTERN_CACHE_REDIS_URL"].starts_with("redis://redis:6379/"));
    assert_ne!(
        env["LANTERN_SESSIONS_STORE"], env["LANTERN_CACHE_REDIS_URL"],
        "sessions and cached results in different Redis databases"
    );
    // The bucket Lantern stores in is the one the init job makes, with the credentials MinIO starts with.
    let bucket = env["LANTERN_STORAGE_URL"]
        .strip_prefix("s3://")
        .unwrap()
        .split('/')
        .next()
        .unwrap();
    let init = serde_yaml::to_string(&compose["services"]["minio-init"]["entrypoint"]).unwrap();
    assert!(
        init.contains(&format!("mc mb --ignore-existing local/{bucket}")),
        "{init}"
    );
    let minio = service_environment(&compose, "minio");
    assert_eq!(minio["MINIO_ROOT_USER"], env["LANTERN_S3_ACCESS_KEY_ID"]);
    assert_eq!(
        minio["MINIO_ROOT_PASSWORD"],
        env["LANTERN_S3_SECRET_ACCESS_KEY"]
    );
    assert!(init.contains(&format!(
        "{} {}",
        minio["MINIO_ROOT_USER"], minio["MINIO_ROOT_PASSWORD"]
    )));
    // Lantern starts once the bucket exists and Redis answers.
    let depends = &compose["services"]["lantern"]["depends_on"];
    assert_eq!(
        depends["minio-init"]["condition"],
        "service_completed_successfully"
    );
    assert_eq!(depends["redis"]["condition"], "service_healthy");
    assert!(compose["services"]["redis"]["healthcheck"].is_mapping());
    // The specs are mounted where the image reads them (its working directory), so edits reload.
    let dockerfile = std::fs::read_to_string(repo().join("Dockerfile")).unwrap();
    assert!(dockerfile.contains("WORKDIR /srv/lantern"));
    let volumes = serde_yaml::to_string(&compose["services"]["lantern"]["volumes"]).unwrap();
    assert!(volumes.contains("./datasets:/srv/lantern/datasets"));
    assert!(volumes.contains("./dashboards:/srv/lantern/dashboards"));
    let command = serde_yaml::to_string(&compose["services"]["lantern"]["command"]).unwrap();
    assert!(command.contains("--watch"), "{command}");
    assert_eq!(compose["services"]["tests"]["profiles"][0], "test");
}

#[test]
fn the_lantern_service_environment_is_one_lantern_accepts() {
    // Lantern refuses unknown `LANTERN_*` variables and bad values, naming them.
    let env = service_environment(&compose(), "lantern");
    let config = lantern_core::config::Config::from_sources(None, env)
        .unwrap_or_else(|e| panic!("compose.yaml's lantern environment: {e}"));
    assert!(config.storage.url.starts_with("s3://"));
    assert!(config.cache.redis_url.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lantern_service_runs_natively_on_s3_and_redis_as_two_replicas() {
    let compose = compose();
    let dir = tempfile::tempdir().unwrap();
    let mut env = service_environment(&compose, "lantern");
    let bucket = env["LANTERN_STORAGE_URL"]
        .strip_prefix("s3://")
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    // `minio` and `redis` as real servers on loopback: only their addresses and the S3 credentials change.
    let s3_root = dir.path().join("s3");
    let endpoint = lantern_testkit::start_s3(&s3_root, &[&bucket]).await;
    let redis = lantern_testkit::RedisServer::start();
    let redis_base = redis.url().trim_end_matches("/0").to_string();
    for value in env.values_mut() {
        *value = value
            .replace("http://minio:9000", &endpoint)
            .replace("redis://redis:6379", &redis_base);
    }
    env.insert(
        "LANTERN_S3_ACCESS_KEY_ID".into(),
        lantern_testkit::S3_KEY.into(),
    );
    env.insert(
        "LANTERN_S3_SECRET_ACCESS_KEY".into(),
        lantern_testkit::S3_SECRET.into(),
    );
    // Where the service mounts the repository's specs.
    for (key, folder) in [
        ("LANTERN_DATASETS_DIR", "datasets"),
        ("LANTERN_DASHBOARDS_DIR", "dashboards"),
    ] {
        env.insert(key.into(), repo().join(folder).display().to_string());
    }
    let command: Vec<String> =
        serde_yaml::from_value(compose["services"]["lantern"]["command"].clone()).unwrap();
    let replica = |port: u16| {
        let mut c = Command::new(BIN);
        c.args(&command)
            // The service's demo at a test's size.
            .args(["--demo-rows", "2000", "--port", &port.to_string()])
            .current_dir(dir.path())
            .env_remove("RUST_LOG")
            .envs(&env)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c
    };
    // The first replica writes the demo into the bucket; the second finds it there.
    let port = free_port();
    let a = Server::spawn(replica(port), port, Duration::from_secs(90)).await;
    let port = free_port();
    let b = Server::spawn(replica(port), port, Duration::from_secs(90)).await;
    let prefix = env["LANTERN_STORAGE_URL"]
        .strip_prefix(&format!("s3://{bucket}/"))
        .unwrap()
        .to_string();
    assert!(
        s3_root
            .join(&bucket)
            .join(&prefix)
            .join("datasets/cursor_usage/v1")
            .is_dir(),
        "the demo is published in the bucket, under the storage URL's prefix"
    );

    // Signed in on a, served by b: sessions in the service's Redis database, data from the bucket.
    let me = browser();
    let password = &env["LANTERN_ADMIN_PASSWORD"];
    assert_eq!(a.sign_in(&me, "admin", password).await, 303);
    let status = b.get_json(&me, "/api/status").await;
    assert!(
        status["storage"]
            .as_str()
            .unwrap()
            .contains(&format!("s3://{bucket}/{prefix}")),
        "{status}"
    );
    let data = b.get_json(&me, "/api/dashboards/cursor-usage/data").await;
    assert_eq!(data["rows"], 2000);
    assert_eq!(data["version"], 1);
    // a's answer to the same request came from the result b left in the shared cache's Redis database.
    let again = a.get_json(&me, "/api/dashboards/cursor-usage/data").await;
    assert_eq!(again["kpis"], data["kpis"]);
    assert_eq!(again["cache"]["misses"], 0, "{}", again["cache"]);
}
