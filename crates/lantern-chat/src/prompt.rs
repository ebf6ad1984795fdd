//! The prompt for one question: instructions (what to answer and how: one DataFusion SELECT over the one
//! table, a chart as data), the dataset's context, the thread's earlier turns (so a follow-up such as "and by
//! month?" means something), and the question. A correction round adds the failed reply and its error.

use crate::answer;
use crate::provider::{Prompt, Role, Turn};
use crate::threads::TurnRecord;

/// A worked answer over the table itself, so even a small model sees the shape of a good one: a count per
/// value of one of its text columns.
fn example(table: &str, column: Option<&str>) -> String {
    let Some(column) = column else {
        return String::new();
    };
    let answer = serde_json::json!({
        "sql": format!("SELECT {column}, count(*) AS n FROM {table} GROUP BY {column} ORDER BY n DESC"),
        "summary": format!("Rows per {column}, most first."),
        "visual": {"kind": "bar", "x": column, "y": ["n"], "color": ""},
    });
    format!("Example: for \"How many rows per {column}?\" the answer is\n{answer}\n")
}

/// The instructions, for a table named `table` with a text column `example_column` to show an example on.
fn instructions(table: &str, example_column: Option<&str>) -> String {
    format!(
        "You answer questions about the data in the SQL table {table} by writing one SQL query for \
Apache DataFusion (PostgreSQL dialect), which Lantern runs read-only and shows to the user as a table and a chart.

Rules:
- One SELECT (WITH … SELECT is fine) over {table} only; no other tables, no DDL, DML or SET.
- Write names as they are; only a name with capitals, spaces or symbols is double-quoted, and inside the JSON \
answer such a quote is written \\\".
- When the question names a measure below, use its definition exactly.
- Give every computed column a short snake_case alias; round ratios with round(x, 4).
- Months: date_trunc('month', column); years: extract(year FROM column). Order time series by time.
- For \"top N\" questions, ORDER BY the value DESC and LIMIT N.
- If the question cannot be answered from this table, write the closest useful query and say so.

Answer with a JSON object only:
- \"sql\": the query.
- \"summary\": one or two sentences on what the result shows or how it was computed.
- \"visual\": the chart for the result, by the result's column names: \"kind\" one of {kinds}; \"x\" the \
category or time column; \"y\" the value columns; \"color\" a column splitting the series, or \"\". Use \
\"big_number\" for a single value (\"y\" its column, \"x\" \"\"), \"line\" or \"area\" over time, \"bar\" or \
\"horizontal_bar\" to compare categories, \"pie\" for shares of a whole, \"scatter\" for two measures per item \
(\"x\" and \"y\" numeric, \"color\" the item column), \"none\" for a plain table.

{example}
",
        example = example(table, example_column),
        kinds = answer::CHART_KINDS.join(", ")
    )
}

/// The model's turn as it is replayed to the model: what ran, and what came of it.
fn replayed(turn: &TurnRecord) -> String {
    let reply = serde_json::json!({
        "sql": turn.sql,
        "summary": turn.summary,
        "visual": turn.visual,
    });
    match &turn.error {
        Some(e) => format!("{reply}\n(This query failed: {e})"),
        None => format!("{reply}\n(It returned {} rows.)", turn.row_count),
    }
}

/// The prompt for `question` about `table` (its text column `example_column` used in a worked example), with
/// the dataset's `context`, the thread's last `history` turns, and the reply and error of a failed first round
/// (`correction`). The caller sets the output limit.
pub fn build(
    table: &str,
    example_column: Option<&str>,
    context: &str,
    earlier: &[TurnRecord],
    history: usize,
    question: &str,
    correction: Option<(&str, &str)>,
) -> Prompt {
    let mut turns = Vec::new();
    let from = earlier.len().saturating_sub(history);
    for t in &earlier[from..] {
        turns.push(Turn {
            role: Role::User,
            text: t.question.clone(),
        });
        turns.push(Turn {
            role: Role::Model,
            text: replayed(t),
        });
    }
    turns.push(Turn {
        role: Role::User,
        text: question.to_string(),
    });
    if let Some((reply, error)) = correction {
        turns.push(Turn {
            role: Role::Model,
            text: reply.to_string(),
        });
        turns.push(Turn {
            role: Role::User,
            text: format!(
                "That did not work: {error}\nReply with the corrected JSON object for the same question."
            ),
        });
    }
    Prompt {
        system: format!("{}\n{context}", instructions(table, example_column)),
        turns,
        schema: Some(answer::schema()),
        ..Prompt::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follow_ups_carry_the_last_turns_and_corrections_the_error() {
        let earlier: Vec<TurnRecord> = (0..4)
            .map(|i| TurnRecord {
                question: format!("q{i}"),
                sql: format!("SELECT {i}"),
                row_count: i,
                ..Default::default()
            })
            .collect();
        let p = build(
            "sales",
            Some("region"),
            "CONTEXT",
            &earlier,
            2,
            "and by month?",
            None,
        );
        assert!(p.system.contains("table sales") && p.system.ends_with("CONTEXT"));
        // The worked example is an answer in the schema, over this table.
        let example = p
            .system
            .lines()
            .find(|l| l.starts_with("{\"sql\""))
            .unwrap();
        let parsed = answer::parse(example).unwrap();
        assert_eq!(
            parsed.sql,
            "SELECT region, count(*) AS n FROM sales GROUP BY region ORDER BY n DESC"
        );
        let texts: Vec<&str> = p.turns.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(texts.len(), 5);
        assert_eq!(texts[0], "q2");
        assert!(texts[1].contains("SELECT 2") && texts[1].contains("returned 2 rows"));
        assert_eq!(texts[4], "and by month?");
        assert_eq!(p.turns[3].role, Role::Model);

        let p = build(
            "sales",
            None,
            "",
            &[],
            6,
            "total?",
            Some(("{\"sql\": \"SELEC 1\"}", "invalid query: syntax")),
        );
        assert_eq!(p.turns.len(), 3);
        assert_eq!(p.turns[1].role, Role::Model);
        assert!(p.turns[2].text.contains("invalid query: syntax"));
    }
}
