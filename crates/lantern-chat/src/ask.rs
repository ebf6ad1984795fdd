//! One question, end to end: the user's allowance, the dataset's context, the model's reply streamed as it
//! comes (the SQL and summary shown while they are written), the reply read as an answer, its SQL run in the
//! sandbox under the user's row rules, one correction round when the reply or its SQL does not hold, and the
//! turn kept in the thread with what it cost. What happens is sent as [`Event`]s for the page to show.

use std::time::Instant;

use lantern_core::access::RowScope;
use lantern_core::config::ChatConfig;
use lantern_core::query::{QueryEngine, ResultTable};
use lantern_core::sandbox::{Answer, Limits, Sandbox, SandboxError};
use lantern_core::storage::Storage;
use tokio::sync::mpsc::UnboundedSender;

use crate::answer::{self, ModelAnswer};
use crate::provider::{Finish, Prompt, Provider, ProviderError, Usage as Tokens};
use crate::threads::{Column, KEPT_ROWS, Thread, ThreadError, ThreadStore, TurnRecord};
use crate::usage::{LimitError, Usage};
use crate::{context, prompt};

/// What the page is told while a question is answered.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The context that went into the prompt: its size against the budget, and what did not fit.
    Context {
        tokens: usize,
        budget: usize,
        left_out: Vec<&'static str>,
    },
    /// The SQL as far as the model has written it.
    Sql(String),
    /// The summary as far as the model has written it.
    Summary(String),
    /// The first reply did not hold; it goes back to the model with this error.
    Correcting(String),
    /// The query is running in the sandbox.
    Running,
}

/// A question about a dataset, by a user.
#[derive(Debug, Clone)]
pub struct Question {
    pub user: String,
    pub dataset: String,
    /// The thread it belongs to (a new one when it has no turns yet).
    pub thread: String,
    pub text: String,
    /// The rows the user may see.
    pub rows: RowScope,
    /// The dashboard's active filters, as (label, value).
    pub filters: Vec<(String, String)>,
}

/// A user's edit of the SQL of turn `turn` of a thread.
#[derive(Debug, Clone)]
pub struct Edit {
    pub user: String,
    pub dataset: String,
    pub thread: String,
    pub turn: usize,
    /// The rows the user may see.
    pub rows: RowScope,
    pub sql: String,
}

/// Why a question got no turn at all (once a turn exists, its failures are in [`TurnRecord::error`]).
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error(transparent)]
    Limit(#[from] LimitError),
    #[error("the question is empty")]
    Empty,
    #[error(transparent)]
    Thread(#[from] ThreadError),
    #[error(transparent)]
    Data(#[from] lantern_core::Error),
}

/// Why the chat could not start.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error("the chat sandbox's runtime cannot start: {0}")]
    Sandbox(#[source] std::io::Error),
}

/// The chat of one Lantern: its model, sandbox, threads and ledger.
pub struct Chat {
    provider: Provider,
    sandbox: Sandbox,
    config: ChatConfig,
    threads: ThreadStore,
    usage: Usage,
}

/// A question's place in the user's allowance, taken by [`Chat::admit`]: [`Chat::ask`] needs one, so no
/// question skips the limits.
#[derive(Debug)]
pub struct Admitted(());

/// One round with the model.
struct Round {
    text: String,
    parsed: Result<ModelAnswer, String>,
}

impl Chat {
    /// The chat `config` describes, keeping threads and ledgers in `storage`.
    pub async fn open(config: ChatConfig, storage: Storage) -> Result<Self, OpenError> {
        let provider = Provider::from_config(&config).await?;
        Self::with_provider(config, storage, provider).map_err(OpenError::Sandbox)
    }

    /// As [`Chat::open`], with a provider built elsewhere.
    pub fn with_provider(
        config: ChatConfig,
        storage: Storage,
        provider: Provider,
    ) -> std::io::Result<Self> {
        let s = &config.sandbox;
        let limits = Limits {
            max_rows: s.max_rows,
            memory_bytes: s.memory_mb << 20,
            timeout: std::time::Duration::from_secs(s.timeout_secs),
            ..Limits::default()
        };
        let sandbox = Sandbox::new(limits, s.threads)?;
        Ok(Self {
            provider,
            sandbox,
            usage: Usage::new(
                storage.clone(),
                config.questions_per_hour,
                config.monthly_tokens_per_user,
            ),
            threads: ThreadStore::new(storage),
            config,
        })
    }

    pub fn config(&self) -> &ChatConfig {
        &self.config
    }

    pub fn threads(&self) -> &ThreadStore {
        &self.threads
    }

    pub fn usage(&self) -> &Usage {
        &self.usage
    }

    /// What `tokens` cost at the configured prices.
    pub fn cost(&self, tokens: Tokens) -> f64 {
        let p = &self.config.price;
        (tokens.input_tokens as f64 * p.input_per_million
            + tokens.output_tokens as f64 * p.output_per_million)
            / 1e6
    }

    /// Takes one question of `user`'s allowance (hourly questions, monthly tokens), or says why not.
    pub async fn admit(&self, user: &str) -> Result<Admitted, ChatError> {
        self.usage.admit(user).await?;
        Ok(Admitted(()))
    }

    /// Answers `q`, telling `events` as it goes; the turn is kept in its thread (also when it failed).
    /// Returns the thread and the new turn's index.
    pub async fn ask(
        &self,
        engine: &QueryEngine,
        q: &Question,
        _admitted: Admitted,
        events: &UnboundedSender<Event>,
    ) -> Result<(Thread, usize), ChatError> {
        let question = q.text.trim();
        if question.is_empty() {
            return Err(ChatError::Empty);
        }
        let started = Instant::now();
        let earlier = match self.threads.load(&q.user, &q.dataset, &q.thread).await {
            Ok(t) => t.turns,
            Err(ThreadError::NotFound(_)) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        let context = context::build(
            engine,
            &self.sandbox,
            &q.dataset,
            &q.rows,
            &q.filters,
            self.config.context_tokens,
        )
        .await?;
        let _ = events.send(Event::Context {
            tokens: context.tokens,
            budget: context.budget,
            left_out: context.left_out.clone(),
        });

        let mut turn = TurnRecord {
            question: question.to_string(),
            asked: crate::threads::now(),
            scope: crate::threads::scope_key(&q.rows),
            context_tokens: context.tokens,
            context_left_out: context.left_out.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        let mut tokens = Tokens::default();
        let outcome = self
            .answer(
                engine,
                q,
                &context,
                &earlier,
                &mut turn,
                &mut tokens,
                events,
            )
            .await;
        if let Err(message) = outcome {
            turn.error = Some(message);
        }
        turn.input_tokens = tokens.input_tokens;
        turn.output_tokens = tokens.output_tokens;
        turn.cost = self.cost(tokens);
        turn.duration_ms = started.elapsed().as_millis() as u64;
        self.usage
            .record(
                &q.user,
                tokens.input_tokens,
                tokens.output_tokens,
                turn.cost,
            )
            .await;
        let (thread, index) = self
            .threads
            .update(&q.user, &q.dataset, &q.thread, question, |t| {
                t.turns.push(turn);
                t.turns.len() - 1
            })
            .await?;
        Ok((thread, index))
    }

    /// The model's answer and its result in `turn`, or the message the user reads.
    #[allow(clippy::too_many_arguments)]
    async fn answer(
        &self,
        engine: &QueryEngine,
        q: &Question,
        context: &context::Context,
        earlier: &[TurnRecord],
        turn: &mut TurnRecord,
        tokens: &mut Tokens,
        events: &UnboundedSender<Event>,
    ) -> Result<(), String> {
        let first = self
            .round(q, context, earlier, None, tokens, events)
            .await?;
        let (reply, error) = match first.parsed {
            Ok(a) => match self.execute(engine, q, &a, turn, events).await {
                Ok(()) => return Ok(()),
                // A query that does not plan, or fails on the data (a cast of a text id to a number), is the model's
                // to correct; refusals and limits are final.
                Err(e @ (SandboxError::Invalid(_) | SandboxError::Failed(_))) => {
                    (first.text, e.to_string())
                }
                Err(e) => return Err(e.to_string()),
            },
            Err(e) => (first.text, e),
        };
        let _ = events.send(Event::Correcting(error.clone()));
        turn.corrected = true;
        let second = self
            .round(q, context, earlier, Some((&reply, &error)), tokens, events)
            .await?;
        let a = second.parsed?;
        self.execute(engine, q, &a, turn, events)
            .await
            .map_err(|e| e.to_string())
    }

    /// Asks the model once, streaming the SQL and summary to `events`.
    async fn round(
        &self,
        q: &Question,
        context: &context::Context,
        earlier: &[TurnRecord],
        correction: Option<(&str, &str)>,
        tokens: &mut Tokens,
        events: &UnboundedSender<Event>,
    ) -> Result<Round, String> {
        let prompt = Prompt {
            max_output_tokens: self.config.max_output_tokens,
            ..prompt::build(
                &q.dataset,
                context.example_column.as_deref(),
                &context.text,
                earlier,
                self.config.history_turns,
                q.text.trim(),
                correction,
            )
        };
        let mut text = String::new();
        let (mut sql, mut summary) = (String::new(), String::new());
        let mut on_text = |piece: &str| {
            text.push_str(piece);
            if let Some(s) = answer::partial_string(&text, "sql")
                && s != sql
            {
                sql.clone_from(&s);
                let _ = events.send(Event::Sql(s));
            }
            if let Some(s) = answer::partial_string(&text, "summary")
                && s != summary
            {
                summary.clone_from(&s);
                let _ = events.send(Event::Summary(s));
            }
        };
        let reply = self
            .provider
            .generate(&prompt, &mut on_text)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, detail = ?e, "chat provider failed");
                e.to_string()
            })?;
        tokens.input_tokens += reply.usage.input_tokens;
        tokens.output_tokens += reply.usage.output_tokens;
        let parsed = match (answer::parse(&reply.text), &reply.finish) {
            (Ok(a), _) => Ok(a),
            (Err(_), Finish::MaxTokens) => Err(format!(
                "the answer was cut off at {} tokens (chat.max_output_tokens)",
                self.config.max_output_tokens
            )),
            (Err(e), _) => Err(e),
        };
        Ok(Round {
            text: reply.text,
            parsed,
        })
    }

    /// Runs the answer's SQL for the asker, filling `turn` with the answer and its result.
    async fn execute(
        &self,
        engine: &QueryEngine,
        q: &Question,
        a: &ModelAnswer,
        turn: &mut TurnRecord,
        events: &UnboundedSender<Event>,
    ) -> Result<(), SandboxError> {
        turn.sql = a.sql.clone();
        turn.summary = a.summary.clone();
        turn.visual = a.visual.clone();
        let _ = events.send(Event::Sql(a.sql.clone()));
        let _ = events.send(Event::Summary(a.summary.clone()));
        let _ = events.send(Event::Running);
        let result = self.run(engine, &q.dataset, &q.rows, &a.sql).await?;
        fill(turn, &result).map_err(|e| SandboxError::Failed(e.to_string()))
    }

    /// Runs `sql` over `dataset` in the sandbox, as a user whose rows are `rows` (re-runs and exports).
    pub async fn run(
        &self,
        engine: &QueryEngine,
        dataset: &str,
        rows: &RowScope,
        sql: &str,
    ) -> Result<Answer, SandboxError> {
        let source = engine
            .sandbox_source(dataset, rows)
            .await
            .map_err(|e| SandboxError::Failed(e.to_string()))?;
        self.sandbox.run(source, sql).await
    }

    /// Runs the user's edit of a turn's SQL and keeps it in the thread (the turn shows the edited query
    /// and its result, or its error).
    pub async fn rerun(
        &self,
        engine: &QueryEngine,
        e: &Edit,
    ) -> Result<(Thread, usize), ChatError> {
        let Edit {
            user,
            dataset,
            thread,
            turn: index,
            rows,
            sql,
        } = e;
        let (index, sql) = (*index, sql.as_str());
        let existing = self.threads.load(user, dataset, thread).await?;
        if index >= existing.turns.len() {
            return Err(ThreadError::NotFound(format!("{thread} turn {index}")).into());
        }
        let started = Instant::now();
        let mut edited = existing.turns[index].clone();
        edited.sql = sql.to_string();
        edited.edited = true;
        edited.error = None;
        edited.columns.clear();
        edited.rows.clear();
        edited.row_count = 0;
        edited.truncated = false;
        edited.scope = crate::threads::scope_key(rows);
        match self.run(engine, dataset, rows, sql).await {
            Ok(result) => {
                if let Err(e) = fill(&mut edited, &result) {
                    edited.error = Some(e.to_string());
                }
            }
            Err(e) => edited.error = Some(e.to_string()),
        }
        edited.duration_ms = started.elapsed().as_millis() as u64;
        let (thread, ()) = self
            .threads
            .update(user, dataset, thread, "", |t| {
                if let Some(slot) = t.turns.get_mut(index) {
                    // Feedback given while the query ran stays.
                    edited.feedback = slot.feedback;
                    *slot = edited;
                }
            })
            .await?;
        Ok((thread, index))
    }
}

/// The columns and first rows of `result` in `turn`.
fn fill(turn: &mut TurnRecord, result: &Answer) -> lantern_core::Result<()> {
    turn.columns = result
        .schema
        .fields()
        .iter()
        .map(|f| Column {
            name: f.name().clone(),
            data_type: f.data_type().to_string(),
            numeric: f.data_type().is_numeric(),
        })
        .collect();
    let table = ResultTable::from_batches(&result.schema, &result.batches)?;
    turn.rows = table.rows.into_iter().take(KEPT_ROWS).collect();
    turn.row_count = result.rows;
    turn.truncated = result.truncated;
    Ok(())
}
