//! `lantern serve` as its own process on a free loopback port: started with the environment a test gives,
//! awaited until it answers, killed when dropped.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_lantern");

pub struct Server {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// `lantern serve` in `dir` with `env` set, once `/healthz` answers.
    pub async fn start(dir: &Path, env: &[(&str, &str)]) -> Self {
        Self::start_logging(dir, env, None).await
    }

    /// Like [`Server::start`], its log (stderr) written to `log` when given; `RUST_LOG` is taken from `env`.
    pub async fn start_logging(dir: &Path, env: &[(&str, &str)], log: Option<&Path>) -> Self {
        let stderr = match log {
            Some(path) => Stdio::from(std::fs::File::create(path).unwrap()),
            None => Stdio::null(),
        };
        let port = free_port();
        let mut command = Command::new(BIN);
        command
            .args(["serve", "--port", &port.to_string()])
            .current_dir(dir)
            .env_remove("RUST_LOG")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(stderr);
        Self::spawn(command, port, Duration::from_secs(60)).await
    }

    /// `command` (a server, or a process that runs one, as `podman run` does) started, once
    /// `http://127.0.0.1:<port>/healthz` answers; it must within `limit`.
    pub async fn spawn(mut command: Command, port: u16, limit: Duration) -> Self {
        let mut child = command.spawn().unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let probe = reqwest::Client::new();
        let deadline = Instant::now() + limit;
        while probe.get(format!("{base}/healthz")).send().await.is_err() {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("{command:?} exited ({status}) before answering");
            }
            assert!(Instant::now() < deadline, "{command:?} did not answer");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self { base, child }
    }

    /// Sends the process `signal` (SIGTERM to stop it as an orchestrator does).
    pub fn signal(&self, signal: i32) {
        let pid = i32::try_from(self.child.id()).unwrap();
        // SAFETY: kill(2) on our own child's pid, with a valid signal number.
        assert_eq!(
            unsafe { libc::kill(pid, signal) },
            0,
            "kill({pid}, {signal})"
        );
    }

    /// Waits up to `limit` for the process to exit; its status, or `None` if it is still running.
    pub async fn exited_within(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Signs `client` in through the login form (its CSRF token included); the answer's status.
    pub async fn sign_in(&self, client: &reqwest::Client, user: &str, password: &str) -> u16 {
        let page = client
            .get(format!("{}/login", self.base))
            .send()
            .await
            .unwrap();
        let csrf =
            lantern_testkit::csrf_token(&page.text().await.unwrap()).expect("login form token");
        client
            .post(format!("{}/login", self.base))
            .form(&[("username", user), ("password", password), ("csrf", &csrf)])
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// The CSRF token of `client`'s session, from the home page's logout form.
    pub async fn csrf(&self, client: &reqwest::Client) -> String {
        let home = self.page(client, "/").await;
        lantern_testkit::csrf_token(&home).expect("the sidebar's logout form")
    }

    /// The text of a GET of `path` by `client`.
    pub async fn page(&self, client: &reqwest::Client, path: &str) -> String {
        client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// The JSON answer to a GET of `path` by `client`, which must be a 200.
    pub async fn get_json(&self, client: &reqwest::Client, path: &str) -> serde_json::Value {
        let answer = client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200, "GET {path}");
        answer.json().await.unwrap()
    }

    /// The status of a GET of `path` by `client`.
    pub async fn status(&self, client: &reqwest::Client, path: &str) -> u16 {
        client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

/// Publishes the demo datasets (2 000 rows each) into `dir`'s default data folder with `lantern demo`.
pub fn publish_demo(dir: &Path) {
    let demo = Command::new(BIN)
        .args(["demo", "--rows", "2000"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
}

pub use lantern_testkit::free_port;

/// Writes `visits.csv` (`rows`, after its header) into `dir` and a `visits` dataset spec loading it every second
/// into `datasets`: a schedule that ticks while a test watches.
pub fn every_second_csv_dataset(dir: &Path, datasets: &Path, rows: &str) {
    let csv = dir.join("visits.csv");
    std::fs::write(&csv, format!("page,n\n{rows}")).unwrap();
    std::fs::write(
        datasets.join("visits.yaml"),
        format!(
            "id: visits\nschedule: \"* * * * * *\"\nsource: {{kind: csv, path: {}}}\n",
            csv.display()
        ),
    )
    .unwrap();
}

/// A client with its own cookie jar that does not follow redirects.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}
