//! What each user's questions cost, and how many they may ask: a monthly ledger per user on the object store
//! (`chat/usage/{user, hex}/{yyyy-mm}.json`: questions, tokens in and out, cost), an optional monthly token
//! allowance checked against it, and an hourly question limit kept in memory (a sliding hour per user).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lantern_core::storage::Storage;
use object_store::path::Path as ObjectPath;
use serde::{Deserialize, Serialize};

use crate::threads::user_segment;

/// One user's month.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct MonthUsage {
    pub questions: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost: f64,
}

impl MonthUsage {
    pub fn tokens(&self) -> u64 {
        self.input_tokens + self.output_tokens
    }
}

/// Why a question is not taken now.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LimitError {
    #[error(
        "you have asked {limit} questions in the last hour, the most allowed; try again in {} minutes",
        wait.as_secs().div_ceil(60)
    )]
    Hourly { limit: u32, wait: Duration },
    #[error("your chat allowance of {limit} tokens this month is used up ({used} used)")]
    Monthly { limit: u64, used: u64 },
}

/// Ledger and limits, shared by every request.
#[derive(Clone)]
pub struct Usage {
    storage: Storage,
    per_hour: u32,
    monthly_tokens: Option<u64>,
    recent: Arc<Mutex<HashMap<String, VecDeque<Instant>>>>,
    writes: Arc<tokio::sync::Mutex<()>>,
}

fn month_path(user: &str, month: &str) -> ObjectPath {
    ObjectPath::from(format!("chat/usage/{}/{month}.json", user_segment(user)))
}

fn this_month() -> String {
    chrono::Utc::now().format("%Y-%m").to_string()
}

impl Usage {
    pub fn new(storage: Storage, per_hour: u32, monthly_tokens: Option<u64>) -> Self {
        Self {
            storage,
            per_hour,
            monthly_tokens,
            recent: Default::default(),
            writes: Default::default(),
        }
    }

    /// Takes one question of `user`'s hourly allowance, or says when the next is possible; then checks the
    /// monthly token allowance.
    pub async fn admit(&self, user: &str) -> Result<(), LimitError> {
        self.admit_at(user, Instant::now())?;
        if let Some(limit) = self.monthly_tokens {
            let used = self.month(user).await.tokens();
            if used >= limit {
                return Err(LimitError::Monthly { limit, used });
            }
        }
        Ok(())
    }

    fn admit_at(&self, user: &str, now: Instant) -> Result<(), LimitError> {
        let hour = Duration::from_secs(3600);
        let mut recent = self.recent.lock().expect("lock");
        let asked = recent.entry(user.to_string()).or_default();
        while asked
            .front()
            .is_some_and(|t| now.duration_since(*t) >= hour)
        {
            asked.pop_front();
        }
        if asked.len() >= self.per_hour as usize {
            let wait = hour - now.duration_since(*asked.front().expect("non-empty"));
            return Err(LimitError::Hourly {
                limit: self.per_hour,
                wait,
            });
        }
        asked.push_back(now);
        Ok(())
    }

    /// `user`'s usage this month (zero when nothing is recorded or the ledger cannot be read: a ledger
    /// problem must not stop the chat, and is logged).
    pub async fn month(&self, user: &str) -> MonthUsage {
        let path = month_path(user, &this_month());
        match self.storage.get_bytes(&path).await {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(%path, error = %e, "unreadable chat ledger; counting from zero");
                MonthUsage::default()
            }),
            Err(e) if e.is_not_found() => MonthUsage::default(),
            Err(e) => {
                tracing::warn!(%path, error = %e, "chat ledger unavailable");
                MonthUsage::default()
            }
        }
    }

    /// Adds one answered question to `user`'s month.
    pub async fn record(&self, user: &str, input_tokens: u64, output_tokens: u64, cost: f64) {
        use lantern_core::telemetry::CHAT_TOKENS;
        metrics::counter!(CHAT_TOKENS, "kind" => "input").increment(input_tokens);
        metrics::counter!(CHAT_TOKENS, "kind" => "output").increment(output_tokens);
        let _held = self.writes.lock().await;
        let mut month = self.month(user).await;
        month.questions += 1;
        month.input_tokens += input_tokens;
        month.output_tokens += output_tokens;
        month.cost += cost;
        let path = month_path(user, &this_month());
        let json = serde_json::to_vec(&month).expect("usage serializes");
        if let Err(e) = self.storage.put_bytes(&path, json.into()).await {
            tracing::warn!(%path, error = %e, "chat usage not recorded");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(per_hour: u32, monthly: Option<u64>) -> (tempfile::TempDir, Usage) {
        let dir = tempfile::tempdir().unwrap();
        let cfg = lantern_core::config::StorageConfig {
            url: dir.path().display().to_string(),
            ..Default::default()
        };
        (
            dir,
            Usage::new(Storage::open(&cfg).unwrap(), per_hour, monthly),
        )
    }

    #[test]
    fn the_hourly_limit_slides() {
        let (_d, u) = usage(2, None);
        let t0 = Instant::now();
        u.admit_at("ann", t0).unwrap();
        u.admit_at("ann", t0 + Duration::from_secs(600)).unwrap();
        let e = u
            .admit_at("ann", t0 + Duration::from_secs(1200))
            .unwrap_err();
        assert_eq!(
            e,
            LimitError::Hourly {
                limit: 2,
                wait: Duration::from_secs(2400)
            }
        );
        assert!(e.to_string().contains("try again in 40 minutes"), "{e}");
        // Another user is not affected; an hour after the first question, one more is allowed.
        u.admit_at("bob", t0 + Duration::from_secs(1200)).unwrap();
        u.admit_at("ann", t0 + Duration::from_secs(3600)).unwrap();
    }

    #[tokio::test]
    async fn the_ledger_adds_up_and_the_monthly_allowance_holds() {
        let (_d, u) = usage(100, Some(1000));
        u.record("ann", 400, 100, 0.25).await;
        u.record("ann", 400, 150, 0.5).await;
        let m = u.month("ann").await;
        assert_eq!(
            m,
            MonthUsage {
                questions: 2,
                input_tokens: 800,
                output_tokens: 250,
                cost: 0.75
            }
        );
        let e = u.admit("ann").await.unwrap_err();
        assert_eq!(
            e,
            LimitError::Monthly {
                limit: 1000,
                used: 1050
            }
        );
        u.admit("bob").await.unwrap();
    }
}
