//! Signed-in sessions that load pages in a loop, for the replica tests and the load benchmark: each session is
//! its own client (cookie jar, connection pool), as each browser is, so a balancer spreads them over replicas.

use std::time::{Duration, Instant};

/// A signed-in session.
pub struct Session {
    client: reqwest::Client,
}

/// What a load run saw.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// Requests answered 200 (after at most one retry).
    pub ok: u64,
    /// Requests that failed: a status other than 200 (a lost session answers 303 or 401), or no answer at all.
    pub errors: Vec<String>,
    /// Requests whose connection broke and that were sent again, as browsers resend an idempotent request whose
    /// reused connection closes: those in flight on (or about to reuse a connection to) a replica that died.
    pub retried: u64,
    /// Latency of every answered request, sorted.
    pub latencies: Vec<Duration>,
    /// Requests answered 200 in each second of the run.
    pub per_second: Vec<u64>,
}

impl LoadReport {
    /// The `q` quantile (0..=1) of the latencies.
    pub fn quantile(&self, q: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let i = ((self.latencies.len() - 1) as f64 * q).round() as usize;
        self.latencies[i]
    }
}

impl Session {
    /// Signs in through the login form at `base` (its CSRF token included); panics unless it succeeds.
    pub async fn sign_in(base: &str, user: &str, password: &str) -> Self {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("an HTTP client");
        let page = client
            .get(format!("{base}/login"))
            .send()
            .await
            .expect("the login page")
            .text()
            .await
            .expect("its body");
        let csrf = crate::csrf_token(&page).expect("the login form's token");
        let status = client
            .post(format!("{base}/login"))
            .form(&[("username", user), ("password", password), ("csrf", &csrf)])
            .send()
            .await
            .expect("the login answer")
            .status();
        assert_eq!(status.as_u16(), 303, "signing {user} in");
        Self { client }
    }

    /// GETs `url`: the status, and whether it had to be sent again. A request whose connection broke is sent
    /// again (up to twice), as browsers resend an idempotent request when a kept-alive connection turns out to
    /// be closed: a session can hold more than one connection to a replica that died.
    async fn get(&self, url: &str) -> (Result<u16, String>, bool) {
        let mut last = String::new();
        for attempt in 0..3 {
            match self.client.get(url).send().await {
                Ok(r) => return (read(r).await, attempt > 0),
                Err(e) => last = format!("{url}: {e}"),
            }
        }
        (Err(last), true)
    }
}

/// The status once the whole body has arrived (a replica dying mid-body is a failed request).
async fn read(answer: reqwest::Response) -> Result<u16, String> {
    let status = answer.status().as_u16();
    answer
        .bytes()
        .await
        .map(|_| status)
        .map_err(|e| format!("body: {e}"))
}

/// Each session GETs `paths` in turn (session `i` starting at path `i`) from `base` until `duration` is over.
pub async fn run(
    base: &str,
    sessions: Vec<Session>,
    paths: &[String],
    duration: Duration,
) -> LoadReport {
    let start = Instant::now();
    let seconds = duration.as_secs().max(1) as usize + 1;
    let tasks: Vec<_> = sessions
        .into_iter()
        .enumerate()
        .map(|(i, session)| {
            let urls: Vec<String> = paths.iter().map(|p| format!("{base}{p}")).collect();
            tokio::spawn(async move {
                let mut report = LoadReport {
                    per_second: vec![0; seconds],
                    ..Default::default()
                };
                let mut n = i;
                while start.elapsed() < duration {
                    let url = &urls[n % urls.len()];
                    n += 1;
                    let sent = Instant::now();
                    let (answer, retried) = session.get(url).await;
                    report.retried += u64::from(retried);
                    match answer {
                        Ok(200) => {
                            report.ok += 1;
                            report.latencies.push(sent.elapsed());
                            let second = (start.elapsed().as_secs() as usize).min(seconds - 1);
                            report.per_second[second] += 1;
                        }
                        Ok(status) => report.errors.push(format!("{url}: {status}")),
                        Err(e) => report.errors.push(e),
                    }
                }
                report
            })
        })
        .collect();
    let mut total = LoadReport {
        per_second: vec![0; seconds],
        ..Default::default()
    };
    for task in tasks {
        let r = task.await.expect("a session task");
        total.ok += r.ok;
        total.retried += r.retried;
        total.errors.extend(r.errors);
        total.latencies.extend(r.latencies);
        for (t, n) in total.per_second.iter_mut().zip(r.per_second) {
            *t += n;
        }
    }
    total.latencies.sort();
    total
}

/// Paths a dashboard user loads: the Cursor Usage page and its data under a few filters.
pub fn dashboard_paths() -> Vec<String> {
    let mut paths = vec!["/d/cursor-usage".to_string()];
    for team in ["Web", "ML", "Data", "Mobile", "Platform"] {
        for months in [
            "2025-01-01..2025-03-31",
            "2025-04-01..2025-09-30",
            "2025-01-01..2025-12-31",
        ] {
            paths.push(format!(
                "/api/dashboards/cursor-usage/data?team={team}&date={months}"
            ));
        }
    }
    paths
}

/// Resident memory of process `pid` in bytes (Linux `/proc`), or `None` once it is gone.
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}
