//! The container image, built and run here with podman: `scripts/container-image.sh` builds the Dockerfile's
//! runtime stage around this build's binary (no registry is reachable, so the Debian base comes from
//! debootstrap), and the image runs as the Dockerfile promises: a non-root user, `/data` as the store,
//! configuration by environment, a working HEALTHCHECK, a clean exit on `podman stop`, and the same dashboard
//! data the binary serves outside it.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::serve::{BIN, Server, browser, free_port};

const PASSWORD: &str = "container-test-password";
/// One tag for every run, so the script's layer cache (the apt layer) is reused and the previous image replaced.
const TAG: &str = "localhost/lantern:it";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The script's `containers.conf` (cgroupfs, no ulimits), for the podman commands the test runs itself.
fn podman() -> Command {
    let mut c = Command::new("podman");
    let cache = std::env::var("LANTERN_CONTAINER_CACHE").map_or_else(
        |_| PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/lantern-container"),
        PathBuf::from,
    );
    c.env("CONTAINERS_CONF", cache.join("containers.conf"))
        .args(["--runtime", "runc"]);
    c
}

fn ok(output: Output, what: &str) -> String {
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Removes the container when the test ends, passed or not (killing `podman run` leaves it running).
struct Container(String);

impl Drop for Container {
    fn drop(&mut self) {
        let _ = podman()
            .args(["rm", "--force", "--time", "0", &self.0])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

async fn dashboard_data(server: &Server) -> serde_json::Value {
    let me = browser();
    assert_eq!(server.sign_in(&me, "admin", PASSWORD).await, 303);
    let mut data = server
        .get_json(&me, "/api/dashboards/cursor-usage/data")
        .await;
    // How this process answered (its cache's counters, its time), not what it answered.
    for volatile in ["cache", "elapsed_ms"] {
        data.as_object_mut().unwrap().remove(volatile);
    }
    data
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_image_builds_runs_as_a_non_root_user_and_serves_what_the_binary_serves() {
    // Only where no container engine can run, said out loud (compose.yaml's test runner sets it).
    if let Ok(reason) = std::env::var("LANTERN_SKIP_CONTAINER_TEST") {
        eprintln!("SKIPPED the container image test: {reason}");
        return;
    }
    let installed = Command::new("podman").arg("--version").output();
    assert!(
        installed.is_ok_and(|o| o.status.success()),
        "podman is not installed: scripts/services.sh installs podman, runc and debootstrap"
    );
    let built = ok(
        Command::new(repo().join("scripts/container-image.sh"))
            .args([BIN, TAG])
            .output()
            .unwrap(),
        "scripts/container-image.sh",
    );
    let size: u64 = built
        .lines()
        .find_map(|l| l.strip_prefix("size_bytes="))
        .expect("the script states the image size")
        .parse()
        .unwrap();
    // The runtime around the binary (Debian base, xmlsec, CA roots) stays small; the binary is what weighs.
    let binary = std::fs::metadata(BIN).unwrap().len();
    assert!(
        size < binary + 150_000_000,
        "image {size} bytes for a {binary}-byte binary"
    );
    std::fs::create_dir_all(repo().join("test-artifacts")).unwrap();
    std::fs::write(
        repo().join("test-artifacts/container-image.txt"),
        format!("{TAG}: {size} bytes (binary before stripping debug info: {binary} bytes)\n"),
    )
    .unwrap();

    let config = ok(
        podman()
            .args([
                "image",
                "inspect",
                "--format",
                "{{.Config.User}}|{{json .Config.ExposedPorts}}|{{json .Config.Healthcheck.Test}}|{{json .Config.Volumes}}",
                TAG,
            ])
            .output()
            .unwrap(),
        "podman image inspect",
    );
    let fields: Vec<&str> = config.trim().split('|').collect();
    assert_eq!(fields[0], "lantern:lantern", "{config}");
    assert!(fields[1].contains("8050/tcp"), "{config}");
    assert!(
        fields[2].contains("\"lantern\",\"healthcheck\""),
        "{config}"
    );
    assert!(fields[3].contains("/data"), "{config}");

    // Started as an orchestrator would: configuration by environment only, the port published on loopback.
    let name = format!("lantern-it-{}", std::process::id());
    let container = Container(name.clone());
    let port = free_port();
    let mut run = podman();
    run.args(["run", "--rm", "--name", &name, "--publish"])
        .arg(format!("127.0.0.1:{port}:8050"))
        .args(["--env", &format!("LANTERN_ADMIN_PASSWORD={PASSWORD}")])
        .args(["--env", "LANTERN_DRAIN_SECS=0"])
        .args([TAG, "serve", "--demo", "--demo-rows", "2000"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut inside = Server::spawn(run, port, Duration::from_secs(120)).await;

    let uid = ok(
        podman().args(["exec", &name, "id", "-u"]).output().unwrap(),
        "podman exec id",
    );
    assert_eq!(uid.trim(), "10001", "the server runs as the lantern user");
    let store = ok(
        podman()
            .args(["exec", &name, "find", "/data", "-name", "*.parquet"])
            .output()
            .unwrap(),
        "podman exec find",
    );
    assert!(
        store
            .lines()
            .any(|l| l.starts_with("/data/datasets/cursor_usage/")),
        "the demo data is written under /data by the non-root user:\n{store}"
    );
    let health = podman()
        .args(["healthcheck", "run", &name])
        .output()
        .unwrap();
    assert!(
        health.status.success(),
        "HEALTHCHECK: {}",
        String::from_utf8_lossy(&health.stderr)
    );

    // The binary outside the container, over the same seeded demo data: the same answer.
    let dir = tempfile::tempdir().unwrap();
    crate::serve::publish_demo(dir.path());
    let (datasets, dashboards) = (repo().join("datasets"), repo().join("dashboards"));
    let outside = Server::start(
        dir.path(),
        &[
            ("LANTERN_ADMIN_PASSWORD", PASSWORD),
            ("LANTERN_DATASETS_DIR", datasets.to_str().unwrap()),
            ("LANTERN_DASHBOARDS_DIR", dashboards.to_str().unwrap()),
        ],
    )
    .await;
    let (in_data, out_data) = (
        dashboard_data(&inside).await,
        dashboard_data(&outside).await,
    );
    assert_eq!(in_data["rows"], 2000);
    let differing: Vec<&String> = in_data
        .as_object()
        .unwrap()
        .iter()
        .filter(|(key, value)| out_data.get(key.as_str()) != Some(value))
        .map(|(key, _)| key)
        .collect();
    assert!(
        differing.is_empty()
            && in_data.as_object().unwrap().len() == out_data.as_object().unwrap().len(),
        "the container's answer differs from the binary's in {differing:?}"
    );

    // `podman stop` sends the image's STOPSIGNAL; the server drains and exits 0, and `podman run` with it.
    ok(
        podman()
            .args(["stop", "--time", "30", &name])
            .output()
            .unwrap(),
        "podman stop",
    );
    let status = inside
        .exited_within(Duration::from_secs(40))
        .await
        .expect("podman run returns once the container stops");
    assert!(status.success(), "the container exited with {status}");
    drop(container);
}
