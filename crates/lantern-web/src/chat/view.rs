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
    pub error: Option<String>,
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
    /// Turn `index` for a reader whose row rules render as `scope` ([`lantern_chat::threads::scope_key`]):
    /// rows kept under other rules (the reader's role or attributes changed since) are not shown; the turn
    /// says so, and running its SQL again reads them under the rules in force.
    pub fn of(index: usize, t: &'a TurnRecord, scope: &str) -> Self {
        let current = t.scope == scope;
        let rows: &'a [Vec<Value>] = if current { &t.rows } else { &[] };
        let error = if current || t.error.is_some() {
            t.error.clone()
        } else {
            Some(
                "Your access to this data changed since this answer; run the question or its SQL again to see \
                 the rows you may see now."
                    .to_string(),
            )
        };
        let (figure, chart_error) = if error.is_some() {
            (None, None)
        } else {
            match chart::figure(&t.visual, &t.columns, rows, &crate::theme::LIGHT) {
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
            rows,
            row_count: if current { t.row_count } else { 0 },
            truncated: t.truncated,
            error,
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

/// A whole thread for a reader whose row rules render as `scope`.
pub fn thread_view(t: &Thread, scope: &str) -> Value {
    let turns: Vec<TurnView> = t
        .turns
        .iter()
        .enumerate()
        .map(|(i, r)| TurnView::of(i, r, scope))
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

#[cfg(test)]
mod tests {
    use super::*;
    use lantern_chat::threads::scope_key;
    use lantern_core::access::RowScope;
    use std::collections::BTreeMap;

    #[test]
    fn rows_kept_under_other_row_rules_are_not_shown_again() {
        let japan = RowScope::Only(vec![BTreeMap::from([(
            "country".to_string(),
            vec!["Japan".to_string()],
        )])]);
        let turn = TurnRecord {
            sql: "SELECT country, count(*) AS n FROM apac_dot GROUP BY country".into(),
            columns: vec![
                Column {
                    name: "country".into(),
                    data_type: "Utf8".into(),
                    numeric: false,
                },
                Column {
                    name: "n".into(),
                    data_type: "Int64".into(),
                    numeric: true,
                },
            ],
            rows: vec![
                vec![json!("Japan"), json!(3)],
                vec![json!("Korea"), json!(4)],
            ],
            row_count: 2,
            scope: scope_key(&RowScope::All),
            ..Default::default()
        };
        let same = TurnView::of(0, &turn, &scope_key(&RowScope::All));
        assert_eq!(
            (same.rows.len(), same.row_count, same.error.is_none()),
            (2, 2, true)
        );
        let narrowed = TurnView::of(0, &turn, &scope_key(&japan));
        assert!(narrowed.rows.is_empty() && narrowed.figure.is_none());
        assert_eq!(narrowed.row_count, 0);
        assert!(
            narrowed
                .error
                .unwrap()
                .contains("access to this data changed")
        );
    }
}
