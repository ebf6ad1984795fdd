//! `schedule:` in a dataset config: a cron expression (`m h dom mon dow`, UTC; `@hourly`, `@daily` and friends)
//! on which `lantern serve` runs the dataset's ETL.

use std::str::FromStr;

use chrono::{DateTime, Utc};

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
