//! Conversations, kept per user and dataset on the object store beside the data (so replicas share them and a
//! backup of the store keeps them): one JSON object per thread at
//! `chat/threads/{user, hex}/{dataset}/{thread}.json`. A turn keeps what the user saw: the question, the SQL
//! that ran, the explanation, the chart proposal, the first rows of the result, and what it cost.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::TryStreamExt;
use lantern_core::storage::Storage;
use object_store::path::Path as ObjectPath;
use serde::{Deserialize, Serialize};

use crate::answer::ChartProposal;

/// Rows of a result kept with its turn (the table's first pages; an export runs the SQL again).
pub const KEPT_ROWS: usize = 500;

/// One conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thread {
    pub id: String,
    pub dataset: String,
    /// The first question, shortened: how the thread is listed.
    pub title: String,
    /// RFC 3339.
    pub created: String,
    pub updated: String,
    pub turns: Vec<TurnRecord>,
}

/// A column of a result, by name and Arrow type (as DataFusion prints it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    #[serde(rename = "type")]
    pub data_type: String,
    pub numeric: bool,
}

/// One question and its answer.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TurnRecord {
    pub question: String,
    /// The SQL that ran last (after a correction or the user's edit), empty when the model gave none.
    pub sql: String,
    pub summary: String,
    pub visual: ChartProposal,
    pub columns: Vec<Column>,
    /// The first [`KEPT_ROWS`] rows, as JSON values.
    pub rows: Vec<Vec<serde_json::Value>>,
    /// The row rules the rows were read under ([`scope_key`]): kept rows are shown again only under the same.
    #[serde(default)]
    pub scope: String,
    /// Rows the query returned (up to the sandbox's cap).
    pub row_count: usize,
    /// The sandbox's row cap cut the result.
    pub truncated: bool,
    /// What went wrong, as the user reads it; `None` for an answer.
    pub error: Option<String>,
    /// The model's first SQL was sent back with its error and corrected.
    pub corrected: bool,
    /// The user edited the SQL and ran it again.
    pub edited: bool,
    /// The estimated size of the dataset's context in the prompt, and the sections that did not fit.
    #[serde(default)]
    pub context_tokens: usize,
    #[serde(default)]
    pub context_left_out: Vec<String>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// In the configured currency.
    pub cost: f64,
    pub duration_ms: u64,
    /// `up`, `down`, or `None`.
    pub feedback: Option<Feedback>,
    /// RFC 3339.
    pub asked: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Feedback {
    Up,
    Down,
}

/// A thread as listed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThreadSummary {
    pub id: String,
    pub title: String,
    pub updated: String,
    pub turns: usize,
}

/// Why a thread could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ThreadError {
    #[error("no conversation “{0}”")]
    NotFound(String),
    #[error("conversation “{id}” cannot be read: {source}")]
    Corrupt {
        id: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(transparent)]
    Storage(#[from] lantern_core::Error),
}

/// Threads on the store. Writes to one thread are serialized in this process, so two answers arriving
/// together in one thread both stay.
#[derive(Clone)]
pub struct ThreadStore {
    storage: Storage,
    locks: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

/// A stable rendering of a user's row rules, to tell whether kept rows were read under the rules in force.
pub fn scope_key(rows: &lantern_core::access::RowScope) -> String {
    format!("{rows:?}")
}

/// A user name as one path segment: hex, so no name can climb out of its folder or collide with another.
pub fn user_segment(user: &str) -> String {
    user.bytes().map(|b| format!("{b:02x}")).collect()
}

/// A fresh thread id: the time (so listings sort by age) and 32 random bits.
pub fn new_id() -> String {
    format!(
        "{:011x}{:08x}",
        chrono::Utc::now().timestamp_millis(),
        rand::random::<u32>()
    )
}

/// Whether `id` is one [`new_id`] could have made (ids come from URLs).
pub fn valid_id(id: &str) -> bool {
    id.len() == 19 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl ThreadStore {
    pub fn new(storage: Storage) -> Self {
        Self {
            storage,
            locks: Default::default(),
        }
    }

    fn folder(user: &str, dataset: &str) -> ObjectPath {
        ObjectPath::from(format!("chat/threads/{}/{dataset}", user_segment(user)))
    }

    fn path(user: &str, dataset: &str, id: &str) -> ObjectPath {
        ObjectPath::from(format!("{}/{id}.json", Self::folder(user, dataset)))
    }

    /// The thread `id` of `user` on `dataset`.
    pub async fn load(&self, user: &str, dataset: &str, id: &str) -> Result<Thread, ThreadError> {
        if !valid_id(id) {
            return Err(ThreadError::NotFound(id.into()));
        }
        let bytes = match self.storage.get_bytes(&Self::path(user, dataset, id)).await {
            Ok(b) => b,
            Err(e) if e.is_not_found() => return Err(ThreadError::NotFound(id.into())),
            Err(e) => return Err(e.into()),
        };
        serde_json::from_slice(&bytes).map_err(|source| ThreadError::Corrupt {
            id: id.into(),
            source,
        })
    }

    /// Changes thread `id` (a new one when it does not exist yet, titled by `question`) under this
    /// process's lock for it, and writes it back whole.
    pub async fn update<T>(
        &self,
        user: &str,
        dataset: &str,
        id: &str,
        question: &str,
        change: impl FnOnce(&mut Thread) -> T,
    ) -> Result<(Thread, T), ThreadError> {
        let key = Self::path(user, dataset, id).to_string();
        let lock = self
            .locks
            .lock()
            .expect("lock")
            .entry(key)
            .or_default()
            .clone();
        let _held = lock.lock().await;
        let mut thread = match self.load(user, dataset, id).await {
            Ok(t) => t,
            Err(ThreadError::NotFound(_)) if valid_id(id) => Thread {
                id: id.into(),
                dataset: dataset.into(),
                title: title_of(question),
                created: now(),
                updated: now(),
                turns: Vec::new(),
            },
            Err(e) => return Err(e),
        };
        let out = change(&mut thread);
        thread.updated = now();
        let json = serde_json::to_vec(&thread).expect("a thread serializes");
        self.storage
            .put_bytes(&Self::path(user, dataset, id), json.into())
            .await?;
        Ok((thread, out))
    }

    /// `user`'s threads on `dataset`, the latest first.
    pub async fn list(&self, user: &str, dataset: &str) -> Result<Vec<ThreadSummary>, ThreadError> {
        let folder = Self::folder(user, dataset);
        let metas: Vec<_> = self
            .storage
            .store()
            .list(Some(&folder))
            .try_collect()
            .await
            .map_err(|e| lantern_core::Error::storage(&folder, e))?;
        let mut out = Vec::new();
        for meta in metas {
            let Some(id) = meta
                .location
                .filename()
                .and_then(|f| f.strip_suffix(".json"))
            else {
                continue;
            };
            match self.load(user, dataset, id).await {
                Ok(t) => out.push(ThreadSummary {
                    id: t.id,
                    title: t.title,
                    updated: t.updated,
                    turns: t.turns.len(),
                }),
                // One unreadable thread must not hide the others.
                Err(e) => tracing::warn!(error = %e, "skipping a conversation"),
            }
        }
        // Ids start with their creation time: the tie-break for threads updated in the same millisecond.
        out.sort_by(|a, b| (&b.updated, &b.id).cmp(&(&a.updated, &a.id)));
        Ok(out)
    }
}

/// A question as a thread's title: its first line, at most 80 characters.
fn title_of(question: &str) -> String {
    let line = question.lines().next().unwrap_or("").trim();
    match line.char_indices().nth(80) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, ThreadStore) {
        let dir = tempfile::tempdir().unwrap();
        let cfg = lantern_core::config::StorageConfig {
            url: dir.path().display().to_string(),
            ..Default::default()
        };
        (dir, ThreadStore::new(Storage::open(&cfg).unwrap()))
    }

    #[test]
    fn user_names_cannot_leave_their_folder() {
        assert_eq!(user_segment("../a"), "2e2e2f61");
        assert!(valid_id(&new_id()));
        assert!(!valid_id("../../etc/passwd"));
    }

    #[tokio::test]
    async fn threads_are_kept_per_user_and_listed_latest_first() {
        let (_dir, store) = store();
        let first = new_id();
        store
            .update("ann", "sales", &first, "How many orders?", |t| {
                t.turns.push(TurnRecord {
                    question: "How many orders?".into(),
                    ..Default::default()
                })
            })
            .await
            .unwrap();
        let second = format!(
            "{:011x}{:08x}",
            chrono::Utc::now().timestamp_millis() + 5,
            1
        );
        let (thread, ()) = store
            .update("ann", "sales", &second, "By region?", |t| {
                t.turns.push(TurnRecord::default())
            })
            .await
            .unwrap();
        assert_eq!(thread.title, "By region?");
        let listed = store.list("ann", "sales").await.unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[1].id, first);
        assert!(store.list("bob", "sales").await.unwrap().is_empty());
        assert!(matches!(
            store.load("bob", "sales", &first).await,
            Err(ThreadError::NotFound(_))
        ));
    }
}
