//! What the browser gets of a thread and its turns: each turn with its chart drawn (or why the proposal
//! could not be), so a thread reopened later looks as it did when answered.

use lantern_chat::answer::ChartProposal;
use lantern_chat::threads::{Column, Feedback, Thread, TurnRecord};
use serde::Serialize;
use serde_json::{Value, json};

use super::chart;

/// One turn as the page shows it.
#[derive(Debug, Serialize)]
pub struct TurnView<'a> {
    pub index: usize,
    pub question: &'a str,
    pub sql: &'a str,
    pub summary: &'a str,
    pub visual: &'a ChartProposal,
    pub columns: &'a [Column],
    pub rows: &'a [Vec<Value>],
    pub row_count: usize,
    pub truncated: bool,
    pub error: Option<&'a str>,
    pub corrected: bool,
    pub edited: bool,
    pub context_tokens: usize,
    pub context_left_out: &'a [String],
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost: f64,
    pub duration_ms: u64,
    pub feedback: Option<Feedback>,
    pub asked: &'a str,
    /// The Plotly figure, without a theme template (the page applies the reader's).
    pub figure: Option<Value>,
    /// Why the proposed chart was not drawn.
    pub chart_error: Option<String>,
}

impl<'a> TurnView<'a> {
    pub fn of(index: usize, t: &'a TurnRecord) -> Self {
        let (figure, chart_error) = if t.error.is_some() {
            (None, None)
        } else {
            match chart::figure(&t.visual, &t.columns, &t.rows, &crate::theme::LIGHT) {
                Ok(f) => (f, None),
                Err(e) => (None, Some(e.to_string())),
            }
        };
        Self {
            index,
            question: &t.question,
            sql: &t.sql,
            summary: &t.summary,
            visual: &t.visual,
            columns: &t.columns,
            rows: &t.rows,
            row_count: t.row_count,
            truncated: t.truncated,
            error: t.error.as_deref(),
            corrected: t.corrected,
            edited: t.edited,
            context_tokens: t.context_tokens,
            context_left_out: &t.context_left_out,
            input_tokens: t.input_tokens,
            output_tokens: t.output_tokens,
            cost: t.cost,
            duration_ms: t.duration_ms,
            feedback: t.feedback,
            asked: &t.asked,
            figure,
            chart_error,
        }
    }
}

/// A whole thread for the page.
pub fn thread_view(t: &Thread) -> Value {
    let turns: Vec<TurnView> = t
        .turns
        .iter()
        .enumerate()
        .map(|(i, r)| TurnView::of(i, r))
        .collect();
    json!({
        "id": t.id,
        "dataset": t.dataset,
        "title": t.title,
        "created": t.created,
        "updated": t.updated,
        "turns": turns,
    })
}
