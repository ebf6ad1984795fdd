//! What the model is told about a dataset before a question: the table and its columns, the dataset's
//! measures and dimensions as defined (so "acceptance rate" means the defined measure), the dashboard's
//! active filters, column profiles and a few sample rows, all as the user may see them (profiles and samples
//! under their row rules). Sections go in by priority until the token budget is spent; what did not fit is
//! reported, and the size is an estimate (about four characters a token, as providers' tokenizers average
//! on English and SQL).

use std::fmt::Write as _;

use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::pretty::pretty_format_batches;
use lantern_core::access::RowScope;
use lantern_core::query::QueryEngine;
use lantern_core::sandbox::Sandbox;

/// Characters per token, for the estimate.
const CHARS_PER_TOKEN: usize = 4;
/// Sample rows shown.
const SAMPLE_ROWS: usize = 5;
/// Most frequent values listed per text column.
const TOP_VALUES: usize = 8;

/// The context as built, and what it cost.
#[derive(Debug, Clone)]
pub struct Context {
    pub text: String,
    /// Estimated tokens of `text`.
    pub tokens: usize,
    pub budget: usize,
    /// Sections that did not fit the budget.
    pub left_out: Vec<&'static str>,
    /// A text column to show a worked example on.
    pub example_column: Option<String>,
}

/// Estimated tokens of `text`.
pub fn estimate_tokens(text: &str) -> usize {
    text.chars().count().div_ceil(CHARS_PER_TOKEN)
}

/// One part of the context; required parts go in whatever the budget.
struct Section {
    name: &'static str,
    text: String,
    required: bool,
}

/// The context for questions about `dataset` by a user whose rows are `rows`, with the dashboard's
/// `filters` (label and value, as the page shows them), within `budget` tokens.
pub async fn build(
    engine: &QueryEngine,
    sandbox: &Sandbox,
    dataset: &str,
    rows: &RowScope,
    filters: &[(String, String)],
    budget: usize,
) -> lantern_core::error::Result<Context> {
    let version = engine.version(dataset).await?;
    let model = &version.model;
    let mut sections = Vec::new();

    let mut table = format!("Table `{dataset}` (the only table), columns:\n");
    for f in model.schema.fields() {
        let _ = writeln!(table, "- {} ({})", f.name(), f.data_type());
    }
    sections.push(Section {
        name: "schema",
        text: table,
        required: true,
    });

    let mut semantic =
        String::from("Measures (use these definitions when a question names them):\n");
    for m in model.measures.values() {
        let _ = write!(semantic, "- {} \"{}\": {}", m.name, m.label, m.sql);
        if let Some(d) = &m.description {
            let _ = write!(semantic, " ({d})");
        }
        semantic.push('\n');
    }
    semantic.push_str("Dimensions:\n");
    for d in model.dimensions.values() {
        let _ = writeln!(
            semantic,
            "- {} \"{}\": column {}",
            d.name, d.label, d.column
        );
    }
    sections.push(Section {
        name: "measures and dimensions",
        text: semantic,
        required: true,
    });

    if !filters.is_empty() {
        let mut text =
            String::from("The dashboard's active filters (apply them unless asked otherwise):\n");
        for (label, value) in filters {
            let _ = writeln!(text, "- {label}: {value}");
        }
        sections.push(Section {
            name: "filters",
            text,
            required: true,
        });
    }

    let profile = engine.profile(dataset, rows).await?;
    let mut text = format!(
        "Column profiles ({} rows visible to this user):\n",
        profile.rows
    );
    for c in &profile.columns {
        let _ = write!(
            text,
            "- {} ({}): {} distinct, {} null",
            c.name, c.data_type, c.distinct, c.nulls
        );
        if !c.min.is_null() {
            let _ = write!(text, ", from {} to {}", c.min, c.max);
        }
        if !c.top.is_empty() {
            let top: Vec<String> = c
                .top
                .iter()
                .take(TOP_VALUES)
                .map(|(v, n)| format!("{v} ({n})"))
                .collect();
            let _ = write!(text, "; most frequent: {}", top.join(", "));
        }
        text.push('\n');
    }
    sections.push(Section {
        name: "profiles",
        text,
        required: false,
    });

    let source = engine.sandbox_source(dataset, rows).await?;
    let sample = sandbox
        .run(
            source,
            &format!("SELECT * FROM \"{dataset}\" LIMIT {SAMPLE_ROWS}"),
        )
        .await;
    if let Ok(answer) = sample
        && let Ok(table) = pretty_format_batches(&answer.batches)
    {
        sections.push(Section {
            name: "sample rows",
            text: format!("Sample rows:\n{table}\n"),
            required: false,
        });
    }

    let mut context = fit(sections, budget);
    context.example_column = model
        .schema
        .fields()
        .iter()
        .find(|f| {
            matches!(
                f.data_type(),
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            )
        })
        .map(|f| f.name().clone());
    Ok(context)
}

/// The sections in order, the optional ones only while they fit.
fn fit(sections: Vec<Section>, budget: usize) -> Context {
    let mut text = String::new();
    let mut left_out = Vec::new();
    for s in sections {
        if s.required || estimate_tokens(&text) + estimate_tokens(&s.text) <= budget {
            text.push_str(&s.text);
            text.push('\n');
        } else {
            left_out.push(s.name);
        }
    }
    Context {
        tokens: estimate_tokens(&text),
        text,
        budget,
        left_out,
        example_column: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(name: &'static str, chars: usize, required: bool) -> Section {
        Section {
            name,
            text: "x".repeat(chars),
            required,
        }
    }

    #[test]
    fn optional_sections_go_in_while_they_fit() {
        let built = fit(
            vec![
                section("schema", 400, true),
                section("profiles", 400, false),
                section("sample rows", 4000, false),
            ],
            250,
        );
        assert_eq!(built.left_out, ["sample rows"]);
        assert!(built.tokens <= 250, "{}", built.tokens);
        // Required sections stay even past the budget, which the report then shows.
        let built = fit(vec![section("schema", 4000, true)], 10);
        assert!(built.left_out.is_empty() && built.tokens > built.budget);
    }
}
