//! The chat's JSON and event-stream routes, all on one dataset (`{id}`) and the signed-in user's own threads:
//!
//! - `POST /api/chat/{id}/ask` `{question, thread?, dashboard?, filters?}`: the answer as server-sent events
//!   (`thread`, `context`, `sql`, `summary`, `correcting`, `running`, then `turn` or `error`).
//! - `GET /api/chat/{id}/threads` and `…/threads/{thread}`: the user's threads, and one with its turns.
//! - `POST …/threads/{thread}/turns/{turn}/run` `{sql}`: the user's edit of a turn's SQL, run again (the chat
//!   SQL feature).
//! - `POST …/turns/{turn}/feedback` `{feedback: "up" | "down" | null}`.
//! - `GET …/turns/{turn}/export.csv`: the turn's SQL run again, as CSV (the export feature).

use std::convert::Infallible;
use std::sync::Arc;

use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use datafusion::arrow::csv::WriterBuilder;
use lantern_chat::threads::{self, Feedback, Thread, ThreadError};
use lantern_chat::{Chat, ChatError, Event, Question};
use lantern_core::filters::{Condition, FilterSet};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::access::Principal;
use crate::error::AppError;
use crate::state::AppState;

use super::view::{TurnView, thread_view};

fn chat_of(state: &AppState) -> Result<Arc<Chat>, AppError> {
    state.chat().cloned().ok_or_else(|| {
        AppError::new(
            StatusCode::NOT_FOUND,
            "chat_not_configured",
            "the AI chat is not configured on this server (see `chat:` in lantern.yaml)",
        )
    })
}

fn dataset_exists(state: &AppState, id: &str) -> Result<(), AppError> {
    match state.engine().dataset_spec(id) {
        Some(_) => Ok(()),
        None => Err(AppError::not_found("dataset", id)),
    }
}

impl From<ChatError> for AppError {
    fn from(e: ChatError) -> Self {
        match e {
            ChatError::Limit(l) => {
                Self::new(StatusCode::TOO_MANY_REQUESTS, "chat_limit", l.to_string())
            }
            ChatError::Empty => Self::new(StatusCode::BAD_REQUEST, "empty_question", e.to_string())
                .with_field("question"),
            ChatError::Thread(t) => t.into(),
            ChatError::Data(d) => d.into(),
        }
    }
}

impl From<ThreadError> for AppError {
    fn from(e: ThreadError) -> Self {
        match e {
            ThreadError::NotFound(id) => AppError::not_found("conversation", &id),
            ThreadError::Corrupt { .. } => AppError::internal_logged(&e),
            ThreadError::Storage(s) => AppError::internal_logged(&s),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AskBody {
    pub question: String,
    /// The thread to continue; a new one when absent.
    #[serde(default)]
    pub thread: Option<String>,
    /// The dashboard the question is asked from, whose active filters the model is told.
    #[serde(default)]
    pub dashboard: Option<String>,
    /// That dashboard's URL query (its filter state).
    #[serde(default)]
    pub filters: Option<String>,
}

/// The dashboard's active filters as (label, value) for the model, checked as the dashboard checks them.
async fn dashboard_filters(
    state: &AppState,
    me: &Principal,
    dataset: &str,
    body: &AskBody,
) -> Result<Vec<(String, String)>, AppError> {
    let Some(id) = body.dashboard.as_deref() else {
        return Ok(Vec::new());
    };
    let board = state
        .board(id)
        .filter(|b| b.spec.spec.dataset == dataset && me.may_open_dashboard(id, dataset))
        .ok_or_else(|| AppError::not_found("dashboard", id).with_field("dashboard"))?;
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(
        body.filters
            .as_deref()
            .unwrap_or("")
            .trim_start_matches('?')
            .as_bytes(),
    )
    .into_owned()
    .collect();
    let model = state.engine().version(dataset).await?.model.clone();
    let set = FilterSet::parse(&pairs, &board.spec, &model)?;
    Ok(set
        .column_conditions()
        .filter_map(|(dimension, condition)| {
            let d = model.dimensions.get(dimension)?;
            let value = match condition {
                Condition::In(values) => format!(
                    "{} in ({})",
                    d.column,
                    values
                        .iter()
                        .map(|v| format!("'{}'", v.canonical().replace('\'', "''")))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Condition::Range { lo, hi } => {
                    let mut parts = Vec::new();
                    if let Some(lo) = lo {
                        parts.push(format!("{} >= '{}'", d.column, lo.canonical()));
                    }
                    if let Some(hi) = hi {
                        parts.push(format!("{} <= '{}'", d.column, hi.canonical()));
                    }
                    parts.join(" AND ")
                }
            };
            Some((d.label.clone(), value))
        })
        .collect())
}

fn sse(name: &str, data: Value) -> Result<SseEvent, Infallible> {
    Ok(SseEvent::default().event(name).data(data.to_string()))
}

fn event_json(e: Event) -> (&'static str, Value) {
    match e {
        Event::Context {
            tokens,
            budget,
            left_out,
        } => (
            "context",
            json!({"tokens": tokens, "budget": budget, "left_out": left_out}),
        ),
        Event::Sql(text) => ("sql", json!({"text": text})),
        Event::Summary(text) => ("summary", json!({"text": text})),
        Event::Correcting(error) => ("correcting", json!({"error": error})),
        Event::Running => ("running", json!({})),
    }
}

/// Records a question in the audit log: who asked what, the SQL run, rows, time, tokens and cost.
fn audit(user: &str, dataset: &str, thread: &str, turn: &threads::TurnRecord, event: &str) {
    let rows = turn.row_count.to_string();
    let duration = turn.duration_ms.to_string();
    let tokens_in = turn.input_tokens.to_string();
    let tokens_out = turn.output_tokens.to_string();
    let cost = format!("{:.6}", turn.cost);
    let mut fields = vec![
        ("dataset", dataset),
        ("thread", thread),
        ("question", turn.question.as_str()),
        ("sql", turn.sql.as_str()),
        ("rows", rows.as_str()),
        ("duration_ms", duration.as_str()),
        ("input_tokens", tokens_in.as_str()),
        ("output_tokens", tokens_out.as_str()),
        ("cost", cost.as_str()),
    ];
    if let Some(e) = &turn.error {
        fields.push(("error", e.as_str()));
    }
    crate::audit::event(event, user, &fields);
}

pub async fn ask(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Extension(me): Extension<Principal>,
    Json(body): Json<AskBody>,
) -> Result<Response, AppError> {
    let chat = chat_of(&state)?;
    dataset_exists(&state, &id)?;
    let thread = match &body.thread {
        Some(t) if threads::valid_id(t) => t.clone(),
        Some(t) => return Err(AppError::not_found("conversation", t).with_field("thread")),
        None => threads::new_id(),
    };
    if body.question.trim().is_empty() {
        return Err(ChatError::Empty.into());
    }
    let filters = dashboard_filters(&state, &me, &id, &body).await?;
    let question = Question {
        user: me.username().to_string(),
        dataset: id.clone(),
        thread: thread.clone(),
        text: body.question.clone(),
        rows: me.rows(&id),
        filters,
    };
    // Refused before the stream starts, so the answer is a plain 429.
    let admitted = chat.admit(me.username()).await?;
    let (out, mut events_out) = tokio::sync::mpsc::unbounded_channel();
    let _ = out.send(sse("thread", json!({"id": thread})));
    let request_id = crate::request_id::current();
    let theme_state = state.clone();
    tokio::spawn(crate::request_id::within(request_id, async move {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let forward = {
            let out = out.clone();
            async move {
                while let Some(e) = rx.recv().await {
                    let (name, data) = event_json(e);
                    let _ = out.send(sse(name, data));
                }
            }
        };
        let run = async move {
            let result = chat
                .ask(theme_state.engine(), &question, admitted, &tx)
                .await;
            drop(tx);
            (result, question)
        };
        let ((result, question), ()) = tokio::join!(run, forward);
        match result {
            Ok((thread, index)) => {
                let turn = &thread.turns[index];
                audit(
                    &question.user,
                    &question.dataset,
                    &thread.id,
                    turn,
                    "chat_question",
                );
                let view = TurnView::of(index, turn, &threads::scope_key(&question.rows));
                let _ = out.send(sse(
                    "turn",
                    serde_json::to_value(view).unwrap_or(Value::Null),
                ));
            }
            Err(e) => {
                let e = AppError::from(e);
                let _ = out.send(sse("error", json!({"code": e.code, "message": e.message})));
            }
        }
    }));
    let stream = futures::stream::poll_fn(move |cx| events_out.poll_recv(cx));
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}

pub async fn list(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Extension(me): Extension<Principal>,
) -> Result<Json<Value>, AppError> {
    let chat = chat_of(&state)?;
    dataset_exists(&state, &id)?;
    let listed = chat.threads().list(me.username(), &id).await?;
    Ok(Json(json!({ "threads": listed })))
}

async fn load(
    state: &AppState,
    me: &Principal,
    id: &str,
    thread: &str,
) -> Result<(Arc<Chat>, Thread), AppError> {
    let chat = chat_of(state)?;
    dataset_exists(state, id)?;
    let t = chat.threads().load(me.username(), id, thread).await?;
    Ok((chat, t))
}

pub async fn show(
    State(state): State<AppState>,
    Path((id, thread)): Path<(String, String)>,
    Extension(me): Extension<Principal>,
) -> Result<Json<Value>, AppError> {
    let (_, t) = load(&state, &me, &id, &thread).await?;
    Ok(Json(thread_view(&t, &threads::scope_key(&me.rows(&id)))))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunBody {
    pub sql: String,
}

pub async fn run(
    State(state): State<AppState>,
    Path((id, thread, turn)): Path<(String, String, usize)>,
    Extension(me): Extension<Principal>,
    Json(body): Json<RunBody>,
) -> Result<Json<Value>, AppError> {
    let (chat, _) = load(&state, &me, &id, &thread).await?;
    let edit = lantern_chat::Edit {
        user: me.username().to_string(),
        dataset: id.clone(),
        thread: thread.clone(),
        turn,
        rows: me.rows(&id),
        sql: body.sql,
    };
    let (t, index) = chat.rerun(state.engine(), &edit).await?;
    let record = &t.turns[index];
    audit(me.username(), &id, &thread, record, "chat_sql_run");
    Ok(Json(
        serde_json::to_value(TurnView::of(index, record, &threads::scope_key(&edit.rows)))
            .unwrap_or(Value::Null),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackBody {
    pub feedback: Option<Feedback>,
}

pub async fn feedback(
    State(state): State<AppState>,
    Path((id, thread, turn)): Path<(String, String, usize)>,
    Extension(me): Extension<Principal>,
    Json(body): Json<FeedbackBody>,
) -> Result<Json<Value>, AppError> {
    let (chat, existing) = load(&state, &me, &id, &thread).await?;
    if turn >= existing.turns.len() {
        return Err(AppError::not_found("turn", &turn.to_string()));
    }
    chat.threads()
        .update(me.username(), &id, &thread, "", |t| {
            t.turns[turn].feedback = body.feedback
        })
        .await?;
    Ok(Json(json!({ "feedback": body.feedback })))
}

pub async fn export(
    State(state): State<AppState>,
    Path((id, thread, turn)): Path<(String, String, usize)>,
    Extension(me): Extension<Principal>,
) -> Result<Response, AppError> {
    let (chat, t) = load(&state, &me, &id, &thread).await?;
    let record = t
        .turns
        .get(turn)
        .filter(|r| !r.sql.is_empty())
        .ok_or_else(|| AppError::not_found("turn", &turn.to_string()))?;
    let answer = chat
        .run(state.engine(), &id, &me.rows(&id), &record.sql)
        .await
        .map_err(|e| AppError::new(StatusCode::BAD_REQUEST, "chat_sql", e.to_string()))?;
    let mut writer = WriterBuilder::new().with_header(true).build(Vec::new());
    if answer.batches.is_empty() {
        writer
            .write(&datafusion::arrow::record_batch::RecordBatch::new_empty(
                answer.schema.clone(),
            ))
            .map_err(|e| AppError::internal_logged(&e))?;
    }
    for b in &answer.batches {
        writer.write(b).map_err(|e| AppError::internal_logged(&e))?;
    }
    let file = format!("{id}-chat-{thread}-{}.csv", turn + 1);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        writer.into_inner(),
    )
        .into_response())
}
