//! `schedule:` in a dataset config: a cron expression (`m h dom mon dow`, UTC; `@hourly`, `@daily` and friends)
//! on which `lantern serve` runs the dataset's ETL.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use lantern_core::tick_claim::TickClaims;

/// A parsed cron schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub expr: String,
    cron: croner::Cron,
}

impl Schedule {
    /// Parses `expr`; the error says what is wrong with it.
    pub fn parse(expr: &str) -> Result<Self, String> {
        let cron = croner::Cron::from_str(expr.trim())
            .map_err(|e| format!("`{expr}` is not a cron expression: {e}"))?;
        Ok(Self {
            expr: expr.trim().to_string(),
            cron,
        })
    }

    /// The first time after `after` that the schedule fires.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron.find_next_occurrence(&after, false).ok()
    }
}

/// Runs every dataset that has a `schedule:` on it until the returned handles are aborted (or the process
/// ends). Each dataset has its own loop, so one dataset is never run twice at once: a run that outlasts its
/// next time simply makes the loop wait for the following one. Replicas that share the store run each tick
/// once between them: the first to claim it ([`TickClaims`]) runs it.
pub fn spawn_all(
    configs: Vec<crate::EtlConfig>,
    catalog: lantern_core::catalog::Catalog,
) -> Vec<tokio::task::JoinHandle<()>> {
    configs
        .into_iter()
        .filter(|c| c.schedule.is_some())
        .map(|config| {
            let catalog = catalog.clone();
            tokio::spawn(async move {
                let schedule = config.schedule.clone().expect("filtered");
                let mut claims = TickClaims::new(catalog.clone(), &config.id);
                loop {
                    let now = Utc::now();
                    let Some(next) = schedule.next_after(now) else {
                        tracing::warn!(dataset = %config.id, schedule = %schedule.expr, "the schedule never fires again");
                        return;
                    };
                    let wait = (next - now).to_std().unwrap_or_default();
                    tokio::time::sleep(wait).await;
                    match claims.claim(next).await {
                        Ok(true) => {}
                        Ok(false) => {
                            tracing::debug!(dataset = %config.id, tick = %next.to_rfc3339(), "scheduled ETL run taken by another replica");
                            continue;
                        }
                        Err(e) => {
                            tracing::warn!(dataset = %config.id, tick = %next.to_rfc3339(), error = %e, "cannot claim the scheduled ETL run; skipped");
                            continue;
                        }
                    }
                    tracing::info!(dataset = %config.id, schedule = %schedule.expr, tick = %next.to_rfc3339(), "scheduled ETL run starting");
                    match crate::pipeline::run_recorded(
                        &config,
                        &catalog,
                        &|_| {},
                        crate::pipeline::Trigger::Schedule,
                    )
                    .await
                    {
                        Ok(s) => tracing::info!(
                            dataset = %config.id,
                            version = s.version,
                            new_rows = s.new_rows,
                            unchanged = s.unchanged,
                            elapsed_secs = s.elapsed_secs,
                            "scheduled ETL run finished"
                        ),
                        Err(e) => tracing::error!(dataset = %config.id, error = %e, "scheduled ETL run failed"),
                    }
                }
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_finds_the_next_run() {
        let s = Schedule::parse("30 */6 * * *").unwrap();
        let at = DateTime::parse_from_rfc3339("2026-01-01T07:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            s.next_after(at).unwrap().to_rfc3339(),
            "2026-01-01T12:30:00+00:00"
        );
        assert!(Schedule::parse("@daily").is_ok());
        let err = Schedule::parse("61 * * * *").unwrap_err();
        assert!(err.contains("61 * * * *"), "{err}");
    }
}
