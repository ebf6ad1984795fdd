//! What the model must answer: one JSON object with the SQL to run, the chart it proposes (kind and axes, as
//! data: the server checks it against the chart library and draws it, the model never writes code) and a short
//! explanation. The same schema goes to every provider as structured output; pieces of it are read while the
//! answer still streams in, so the SQL shows before the model has finished.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The chart kinds the model may propose: those of the chart library that draw a query's result as it is
/// (the rest, such as pivots and histograms, need the semantic layer's own queries), and `none`.
pub const CHART_KINDS: &[&str] = &[
    "bar",
    "horizontal_bar",
    "line",
    "area",
    "pie",
    "scatter",
    "big_number",
    "none",
];

/// The model's answer to one question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
///
/// The field names are chosen so that their alphabetical order (the order `serde_json` writes a schema's
/// properties in, and so the order constrained decoders generate them in) is the order a model should think
/// in: the query first, then what it shows, then how to draw it.
pub struct ModelAnswer {
    pub sql: String,
    /// One or two sentences for the reader.
    pub summary: String,
    pub visual: ChartProposal,
}

/// A chart as the model proposes it: columns of the query's result by name.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChartProposal {
    pub kind: String,
    /// The category, time or x-axis column (empty for `big_number` and `none`).
    #[serde(default)]
    pub x: String,
    /// The value columns.
    #[serde(default)]
    pub y: Vec<String>,
    /// A column whose values split the series (empty for none).
    #[serde(default)]
    pub color: String,
}

impl ChartProposal {
    pub fn is_none(&self) -> bool {
        self.kind.is_empty() || self.kind == "none"
    }
}

/// The JSON schema of [`ModelAnswer`], in the subset both OpenAI's strict mode and Gemini's `responseSchema`
/// accept: every property required, no optional or union types (an absent axis is an empty string).
pub fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "sql": {"type": "string", "description": "One SELECT query over the table, in DataFusion SQL."},
            "summary": {"type": "string", "description": "One or two sentences for the reader."},
            "visual": {
                "type": "object",
                "properties": {
                    "kind": {"type": "string", "enum": CHART_KINDS},
                    "x": {"type": "string"},
                    "y": {"type": "array", "items": {"type": "string"}},
                    "color": {"type": "string"}
                },
                "required": ["kind", "x", "y", "color"],
                "additionalProperties": false
            }
        },
        "required": ["sql", "summary", "visual"],
        "additionalProperties": false
    })
}

/// Reads the model's reply as an answer. Models without structured output often wrap the JSON in a Markdown
/// fence or a sentence: the outermost object is taken.
pub fn parse(reply: &str) -> Result<ModelAnswer, String> {
    let text = reply.trim();
    let object = match (text.find('{'), text.rfind('}')) {
        (Some(start), Some(end)) if end > start => &text[start..=end],
        _ => {
            return Err(format!(
                "the reply is not a JSON object with `sql`, `summary` and `visual`: {}",
                clip(text, 200)
            ));
        }
    };
    let answer: ModelAnswer = serde_json::from_str(object).map_err(|e| {
        format!(
            "the reply is not the answer JSON ({e}): {}",
            clip(object, 200)
        )
    })?;
    if answer.sql.trim().is_empty() {
        return Err("the answer has no SQL".into());
    }
    Ok(answer)
}

/// The value of the top-level string field `key` in a JSON text that may still be incomplete, decoded as far
/// as it has arrived; `None` before the field's value has begun.
pub fn partial_string(text: &str, key: &str) -> Option<String> {
    let needle = format!("\"{key}\"");
    let at = text.find(&needle)? + needle.len();
    let rest = text[at..].trim_start();
    let rest = rest.strip_prefix(':')?.trim_start();
    let mut chars = rest.strip_prefix('"')?.chars();
    let mut out = String::new();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => {}
                Some('u') => {
                    let hex: String = chars.by_ref().take(4).collect();
                    if hex.len() < 4 {
                        // The escape has not fully arrived yet.
                        return Some(out);
                    }
                    match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                        Some(ch) => out.push(ch),
                        None => return Some(out),
                    }
                }
                Some(other) => out.push(other),
                None => return Some(out),
            },
            c => out.push(c),
        }
    }
    Some(out)
}

fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_from_fenced_or_bare_json() {
        let bare = r#"{"sql": "SELECT 1", "summary": "one", "visual": {"kind": "none", "x": "", "y": [], "color": ""}}"#;
        let fenced = format!("Here it is:\n```json\n{bare}\n```");
        for reply in [bare.to_string(), fenced] {
            let a = parse(&reply).unwrap();
            assert_eq!(a.sql, "SELECT 1");
            assert!(a.visual.is_none());
        }
        assert!(
            parse("I cannot help")
                .unwrap_err()
                .contains("not a JSON object")
        );
        let e = parse(r#"{"sql": "", "summary": "", "visual": {"kind": "none"}}"#).unwrap_err();
        assert!(e.contains("no SQL"), "{e}");
        let e = parse(r#"{"sql": "SELECT 1"}"#).unwrap_err();
        assert!(e.contains("missing field `summary`"), "{e}");
    }

    #[test]
    fn a_field_is_read_while_it_streams() {
        let full = r#"{"sql": "SELECT \"team\",\n count(*) AS n", "summary": "caf\u00e9"}"#;
        assert_eq!(partial_string(&full[..5], "sql"), None);
        assert_eq!(partial_string(&full[..19], "sql").unwrap(), "SELECT \"t");
        assert_eq!(
            partial_string(full, "sql").unwrap(),
            "SELECT \"team\",\n count(*) AS n"
        );
        assert_eq!(partial_string(full, "summary").unwrap(), "café");
        // A cut inside an escape yields what was decoded before it.
        let cut = &full[..full.find("\\u").unwrap() + 3];
        assert_eq!(partial_string(cut, "summary").unwrap(), "caf");
    }

    #[test]
    fn the_schema_lists_every_chart_kind() {
        let s = schema();
        let kinds = s["properties"]["visual"]["properties"]["kind"]["enum"]
            .as_array()
            .unwrap();
        assert_eq!(kinds.len(), CHART_KINDS.len());
        assert_eq!(s["required"], json!(["sql", "summary", "visual"]));
        // The order a constrained decoder generates the fields in.
        let order: Vec<&String> = s["properties"].as_object().unwrap().keys().collect();
        assert_eq!(order, ["sql", "summary", "visual"]);
    }
}
