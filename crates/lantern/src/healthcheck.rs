//! `lantern healthcheck`: asks the server this configuration describes whether it is alive, for a container's
//! `HEALTHCHECK` (the runtime image carries no curl) or a supervisor's probe.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use lantern_core::config::Config;

/// How long the probe waits: well inside the Dockerfile's `--timeout`, so a hung server fails the check
/// instead of the runtime killing the probe.
const TIMEOUT: Duration = Duration::from_secs(3);

/// GETs `/healthz` of `url`, or of the address the configuration listens on; an error unless it answers 200.
pub async fn run(config: &Config, url: Option<&str>) -> Result<()> {
    let url = match url {
        Some(u) => u.trim_end_matches('/').to_string(),
        None => format!(
            "http://{}:{}",
            reachable_host(&config.server.host),
            config.server.port
        ),
    };
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .build()
        .context("cannot make an HTTP client")?;
    let probe = format!("{url}/healthz");
    let answer = client
        .get(&probe)
        .send()
        .await
        .with_context(|| format!("{probe} did not answer"))?;
    if !answer.status().is_success() {
        bail!("{probe} answered {}", answer.status());
    }
    println!("{probe}: {}", answer.status());
    Ok(())
}

/// The address to reach a server listening on `host`: a wildcard listen address is reached on loopback.
fn reachable_host(host: &str) -> String {
    match host {
        "0.0.0.0" | "" => "127.0.0.1".into(),
        "::" | "[::]" => "[::1]".into(),
        h if h.contains(':') && !h.starts_with('[') => format!("[{h}]"),
        h => h.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::reachable_host;

    #[test]
    fn wildcard_listen_addresses_are_reached_on_loopback() {
        assert_eq!(reachable_host("0.0.0.0"), "127.0.0.1");
        assert_eq!(reachable_host("::"), "[::1]");
        assert_eq!(reachable_host("127.0.0.1"), "127.0.0.1");
        assert_eq!(reachable_host("fe80::1"), "[fe80::1]");
        assert_eq!(reachable_host("lantern.internal"), "lantern.internal");
    }
}
