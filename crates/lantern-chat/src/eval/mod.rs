//! How well a configured model answers: each case is a question with an answer computed apart from any SQL
//! (from the data itself); the question goes through the whole chat (context, model, sandbox) as a user
//! would ask it, and the turn's result is scored against the answer. [`demo`] holds the cases over the demo
//! datasets.

pub mod demo;

use std::time::Instant;

use lantern_core::access::RowScope;
use lantern_core::query::QueryEngine;
use serde::Serialize;
use serde_json::Value;

use crate::threads::TurnRecord;
use crate::{Chat, Question};

/// What a correct answer holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Expected {
    /// One row, one of whose numbers is this.
    Number { value: f64, tolerance: f64 },
    /// One row per key (and no other), with this number beside each key; in this order when `ordered`.
    ByKey {
        values: Vec<(String, f64)>,
        tolerance: f64,
        ordered: bool,
    },
}

/// One question of an evaluation.
#[derive(Debug, Clone, Serialize)]
pub struct Case {
    pub dataset: &'static str,
    pub question: &'static str,
    pub expected: Expected,
    /// A correct query, for testing the harness with a scripted model; never shown to the model.
    pub reference_sql: &'static str,
}

/// How one case went.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub question: &'static str,
    pub dataset: &'static str,
    pub sql: String,
    pub error: Option<String>,
    pub correct: bool,
    pub corrected: bool,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub seconds: f64,
}

/// A whole run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub model: String,
    pub context_tokens: usize,
    pub outcomes: Vec<Outcome>,
}

impl Report {
    pub fn correct(&self) -> usize {
        self.outcomes.iter().filter(|o| o.correct).count()
    }

    pub fn accuracy(&self) -> f64 {
        self.correct() as f64 / self.outcomes.len().max(1) as f64
    }

    /// The cases whose SQL ran without an error.
    pub fn ran(&self) -> usize {
        self.outcomes.iter().filter(|o| o.error.is_none()).count()
    }

    /// The report as a Markdown table.
    pub fn markdown(&self) -> String {
        let mut out = format!(
            "Model `{}`, context budget {} tokens: **{} of {} correct ({:.0} %)**, {} ran without an error.\n\n\
             | # | dataset | question | correct | SQL or error | tokens in/out | s |\n|---|---|---|---|---|---|---|\n",
            self.model,
            self.context_tokens,
            self.correct(),
            self.outcomes.len(),
            self.accuracy() * 100.0,
            self.ran()
        );
        for (i, o) in self.outcomes.iter().enumerate() {
            let what = o.error.clone().unwrap_or_else(|| o.sql.clone());
            let what: String = what
                .replace('|', "\\|")
                .replace('\n', " ")
                .chars()
                .take(160)
                .collect();
            out.push_str(&format!(
                "| {} | {} | {} | {} | `{}` | {}/{} | {:.1} |\n",
                i + 1,
                o.dataset,
                o.question,
                if o.correct { "yes" } else { "no" },
                what,
                o.input_tokens,
                o.output_tokens,
                o.seconds
            ));
        }
        out
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn key(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn close(got: f64, want: f64, tolerance: f64) -> bool {
    (got - want).abs() <= tolerance.max(want.abs() * 1e-9)
}

/// A key as given matches the expected one exactly, or as a longer rendering of the same date
/// (`2025-03-01T00:00:00` for the month `2025-03`).
fn same_key(got: &str, want: &str) -> bool {
    got == want || (got.starts_with(want) && got[want.len()..].starts_with(['-', 'T', ' ']))
}

/// Whether `turn`'s result holds `expected`.
pub fn score(expected: &Expected, turn: &TurnRecord) -> bool {
    if turn.error.is_some() {
        return false;
    }
    let rows = &turn.rows;
    let width = turn.columns.len();
    match expected {
        Expected::Number { value, tolerance } => {
            rows.len() == 1
                && rows[0]
                    .iter()
                    .filter_map(number)
                    .any(|n| close(n, *value, *tolerance))
        }
        Expected::ByKey {
            values,
            tolerance,
            ordered,
        } => {
            if rows.len() != values.len() || turn.row_count != values.len() {
                return false;
            }
            (0..width).any(|k| {
                (0..width).filter(|v| *v != k).any(|v| {
                    let matches = |row: &Vec<Value>, (want_key, want): &(String, f64)| {
                        same_key(&key(&row[k]), want_key)
                            && number(&row[v]).is_some_and(|n| close(n, *want, *tolerance))
                    };
                    if *ordered {
                        rows.iter().zip(values).all(|(r, w)| matches(r, w))
                    } else {
                        values.iter().all(|w| rows.iter().any(|r| matches(r, w)))
                    }
                })
            })
        }
    }
}

/// Asks every case of `cases` as `user` (seeing every row), each in a thread of its own, and scores it.
pub async fn run(chat: &Chat, engine: &QueryEngine, user: &str, cases: &[Case]) -> Report {
    let mut outcomes = Vec::new();
    for case in cases {
        let started = Instant::now();
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let q = Question {
            user: user.to_string(),
            dataset: case.dataset.to_string(),
            thread: crate::threads::new_id(),
            text: case.question.to_string(),
            rows: RowScope::All,
            filters: Vec::new(),
        };
        let turn = match chat.admit(user).await {
            Ok(admitted) => match chat.ask(engine, &q, admitted, &tx).await {
                Ok((thread, i)) => thread.turns[i].clone(),
                Err(e) => TurnRecord {
                    error: Some(e.to_string()),
                    ..Default::default()
                },
            },
            Err(e) => TurnRecord {
                error: Some(e.to_string()),
                ..Default::default()
            },
        };
        outcomes.push(Outcome {
            question: case.question,
            dataset: case.dataset,
            correct: score(&case.expected, &turn),
            sql: turn.sql.clone(),
            error: turn.error.clone(),
            corrected: turn.corrected,
            input_tokens: turn.input_tokens,
            output_tokens: turn.output_tokens,
            seconds: started.elapsed().as_secs_f64(),
        });
    }
    Report {
        model: chat.config().model.clone(),
        context_tokens: chat.config().context_tokens,
        outcomes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::threads::Column;
    use serde_json::json;

    fn turn(columns: &[&str], rows: Vec<Vec<Value>>) -> TurnRecord {
        TurnRecord {
            columns: columns
                .iter()
                .map(|c| Column {
                    name: c.to_string(),
                    data_type: "Utf8".into(),
                    numeric: false,
                })
                .collect(),
            row_count: rows.len(),
            rows,
            ..Default::default()
        }
    }

    #[test]
    fn answers_are_scored_by_value_whatever_the_column_names_and_order() {
        let one = Expected::Number {
            value: 0.4213,
            tolerance: 1e-4,
        };
        assert!(score(&one, &turn(&["rate"], vec![vec![json!(0.42127)]])));
        assert!(!score(&one, &turn(&["rate"], vec![vec![json!(0.43)]])));
        assert!(!score(
            &one,
            &turn(&["rate"], vec![vec![json!(0.4213)], vec![json!(1)]])
        ));

        let by_team = Expected::ByKey {
            values: vec![("Web".into(), 30.0), ("Ads".into(), 10.0)],
            tolerance: 0.0,
            ordered: true,
        };
        let good = turn(
            &["n", "team"],
            vec![vec![json!(30), json!("Web")], vec![json!(10), json!("Ads")]],
        );
        assert!(score(&by_team, &good));
        let swapped = turn(
            &["team", "n"],
            vec![vec![json!("Ads"), json!(10)], vec![json!("Web"), json!(30)]],
        );
        assert!(
            !score(&by_team, &swapped),
            "the order counts when asked for"
        );
        let unordered = Expected::ByKey {
            values: vec![("Web".into(), 30.0), ("Ads".into(), 10.0)],
            tolerance: 0.0,
            ordered: false,
        };
        assert!(score(&unordered, &swapped));
        let months = Expected::ByKey {
            values: vec![("2025-03".into(), 5.0)],
            tolerance: 0.0,
            ordered: false,
        };
        assert!(score(
            &months,
            &turn(
                &["m", "n"],
                vec![vec![json!("2025-03-01T00:00:00"), json!(5)]]
            )
        ));
        assert!(!score(
            &months,
            &turn(&["m", "n"], vec![vec![json!("2025-031"), json!(5)]])
        ));
    }
}
