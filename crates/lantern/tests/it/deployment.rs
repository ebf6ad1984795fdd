//! The deployment files the guides rely on (`deploy/aws`, `deploy/systemd`): well-formed, and consistent with the
//! binary and the image. Every `LANTERN_*` variable they set is one Lantern's configuration accepts with that
//! value (it refuses unknown ones), the ports, user and health check are the image's, the stop timeouts cover the
//! drain, the IAM policy grants the dataset prefix only, and systemd accepts the unit.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use lantern_core::config::Config;
use serde_json::Value;

use crate::serve::BIN;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn json(path: &str) -> Value {
    let text = std::fs::read_to_string(repo().join(path)).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The configuration `env` gives over the site file `file` (if any), or the error naming what Lantern refuses.
fn config_from(file: Option<&str>, env: &BTreeMap<String, String>) -> Config {
    let file = file.map(|f| repo().join(f));
    Config::from_sources(file.as_deref(), env.clone()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_ecs_task_definition_matches_the_image_and_the_configuration() {
    let task = json("deploy/aws/task-definition.json");
    let container = &task["containerDefinitions"][0];
    let mut env: BTreeMap<String, String> = container["environment"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_string(),
                e["value"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // Secrets arrive as environment variables too: each must be a name Lantern reads.
    for secret in container["secrets"].as_array().unwrap() {
        assert!(
            secret["valueFrom"]
                .as_str()
                .unwrap()
                .starts_with("arn:aws:secretsmanager:")
        );
        env.insert(
            secret["name"].as_str().unwrap().to_string(),
            "a-secret-value".into(),
        );
    }
    // With the site file the guide bakes into the image (sign-in, roles, chat).
    let config = config_from(Some("deploy/aws/lantern.yaml"), &env);
    assert!(config.server.behind_proxy && config.auth.secure_cookies);
    let oidc = config.auth.oidc.as_ref().expect("OIDC configured");
    assert!(
        oidc.client_secret.is_some(),
        "the secret from Secrets Manager"
    );
    assert!(config.chat.is_some());

    let dockerfile = std::fs::read_to_string(repo().join("Dockerfile")).unwrap();
    assert_eq!(
        container["portMappings"][0]["containerPort"], 8050,
        "the image's port"
    );
    assert!(dockerfile.contains("LANTERN_PORT=8050") && dockerfile.contains("EXPOSE 8050"));
    assert_eq!(
        container["healthCheck"]["command"],
        serde_json::json!(["CMD", "lantern", "healthcheck"])
    );
    assert!(dockerfile.contains(r#"CMD ["lantern", "healthcheck"]"#));
    assert_eq!(container["user"], "10001:10001");
    assert!(dockerfile.contains("--uid 10001"));
    // SIGKILL must not cut the drain short; Fargate allows at most 120 s.
    let stop = container["stopTimeout"].as_u64().unwrap();
    assert!(stop > config.server.drain_secs + config.server.shutdown_timeout_secs);
    assert!(stop <= 120);
    // A read-only root needs somewhere to write: the store path and /tmp.
    let mounts: Vec<&str> = container["mountPoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["containerPath"].as_str().unwrap())
        .collect();
    assert!(mounts.contains(&"/data") && mounts.contains(&"/tmp"));
    assert_eq!(
        container["logConfiguration"]["logDriver"], "awslogs",
        "logs to CloudWatch"
    );
}

#[test]
fn the_task_policy_grants_the_dataset_prefix_and_nothing_else() {
    let task = json("deploy/aws/task-definition.json");
    let storage = task["containerDefinitions"][0]["environment"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "LANTERN_STORAGE_URL")
        .unwrap()["value"]
        .as_str()
        .unwrap()
        .to_string();
    let (bucket, prefix) = storage
        .strip_prefix("s3://")
        .unwrap()
        .split_once('/')
        .unwrap();
    let policy = json("deploy/aws/task-policy.json");
    for statement in policy["Statement"].as_array().unwrap() {
        assert_eq!(statement["Effect"], "Allow");
        let actions: Vec<&str> = match &statement["Action"] {
            Value::String(a) => vec![a.as_str()],
            list => list
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap())
                .collect(),
        };
        assert!(
            actions
                .iter()
                .all(|a| a.starts_with("s3:") && !a.contains('*'))
        );
        let resource = statement["Resource"].as_str().unwrap();
        if actions == ["s3:ListBucket"] {
            assert_eq!(resource, format!("arn:aws:s3:::{bucket}"));
            assert_eq!(
                statement["Condition"]["StringLike"]["s3:prefix"],
                serde_json::json!([prefix, format!("{prefix}/*")])
            );
        } else {
            assert_eq!(resource, format!("arn:aws:s3:::{bucket}/{prefix}/*"));
        }
    }
    // The execution role reads only Lantern's secrets.
    let execution = json("deploy/aws/execution-policy.json");
    let secrets = execution["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Action"] == "secretsmanager:GetSecretValue")
        .unwrap();
    assert!(
        secrets["Resource"]
            .as_str()
            .unwrap()
            .ends_with(":secret:lantern/*")
    );
}

#[test]
fn systemd_accepts_the_unit_and_its_environment_is_lanterns() {
    let unit = std::fs::read_to_string(repo().join("deploy/systemd/lantern.service")).unwrap();
    let env: BTreeMap<String, String> = unit
        .lines()
        .filter_map(|l| l.strip_prefix("Environment="))
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect();
    let config = config_from(None, &env);
    let stop: u64 = unit
        .lines()
        .find_map(|l| l.strip_prefix("TimeoutStopSec="))
        .unwrap()
        .parse()
        .unwrap();
    assert!(stop > config.server.drain_secs + config.server.shutdown_timeout_secs);
    assert!(unit.contains("ExecStart=/usr/local/bin/lantern serve"));

    // `systemd-analyze verify` on the unit as installed, the binary being this build's.
    let dir = tempfile::tempdir().unwrap();
    let installed = dir.path().join("lantern.service");
    std::fs::write(&installed, unit.replace("/usr/local/bin/lantern", BIN)).unwrap();
    let verify = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&installed)
        .output()
        .expect("systemd-analyze (Debian's systemd; scripts/services.sh installs it)");
    let said = String::from_utf8_lossy(&verify.stderr);
    assert!(verify.status.success(), "{said}");
    assert!(
        !said.contains("lantern.service"),
        "systemd-analyze objects to the unit: {said}"
    );
}
