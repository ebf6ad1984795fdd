//! The chart of a chat answer: the model proposes a kind and columns as data; this checks the proposal against
//! the chart library and the result's columns, and draws it with the same chart kind a dashboard would use.
//! The result's columns become the dimensions and measures of a small model of their own (value columns are
//! measures, the rest dimensions), so every chart kind builds from the rows as they are, with the theme.

use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::logical_expr::col;
use indexmap::IndexMap;
use lantern_chat::answer::{CHART_KINDS, ChartProposal};
use lantern_chat::threads::Column;
use lantern_core::dashboard::{ChartSpec, DashboardSpec, DashboardSpecFile};
use lantern_core::query::ResultTable;
use lantern_core::semantic::{DatasetSpec, Dimension, Format, Measure, SemanticModel};
use serde_json::Value;

use crate::charts::{self, ChartView, Context};
use crate::theme::Theme;

/// Why a proposal cannot be drawn, as the user reads it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("the proposed chart cannot be drawn: {0}")]
pub struct ProposalError(String);

fn refuse(message: impl Into<String>) -> ProposalError {
    ProposalError(message.into())
}

/// The synthetic name of result column `i` (result column names are free text: `count(*)`, `Total €`).
fn name(i: usize) -> String {
    format!("c{i}")
}

/// Checks `p` against the chart library and `columns`: the kind is one the model may propose, every column
/// exists, value columns are numeric. Returns the chart's options in the kind's own terms, by column index.
fn options(p: &ChartProposal, columns: &[Column]) -> Result<serde_yaml::Mapping, ProposalError> {
    if !CHART_KINDS.contains(&p.kind.as_str()) || charts::kind(&p.kind).is_none() {
        return Err(refuse(format!(
            "unknown kind `{}`; the kinds are {}",
            p.kind,
            CHART_KINDS.join(", ")
        )));
    }
    let find = |field: &str, column: &str| -> Result<usize, ProposalError> {
        columns
            .iter()
            .position(|c| c.name == column)
            .ok_or_else(|| {
                let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
                refuse(format!(
                    "{field} `{column}` is not a column of the result ({})",
                    names.join(", ")
                ))
            })
    };
    let numeric = |field: &str, column: &str| -> Result<usize, ProposalError> {
        let i = find(field, column)?;
        if !columns[i].numeric {
            return Err(refuse(format!(
                "{field} `{column}` is not numeric ({})",
                columns[i].data_type
            )));
        }
        Ok(i)
    };
    let ys: Vec<usize> =
        p.y.iter()
            .filter(|y| !y.is_empty())
            .map(|y| numeric("y", y))
            .collect::<Result<_, _>>()?;
    let first_y = || {
        ys.first()
            .copied()
            .ok_or_else(|| refuse("no value column (`y`) is named"))
    };
    let color = match p.color.as_str() {
        "" => None,
        c => Some(find("color", c)?),
    };
    let mut o = serde_yaml::Mapping::new();
    let mut set = |k: &str, v: serde_yaml::Value| {
        o.insert(k.into(), v);
    };
    let names =
        |is: &[usize]| serde_yaml::Value::Sequence(is.iter().map(|i| name(*i).into()).collect());
    match p.kind.as_str() {
        "big_number" => {
            set("y", name(first_y()?).into());
            set("sparkline", false.into());
            set("compare", false.into());
        }
        "scatter" => {
            let x = numeric("x", &p.x)?;
            // The points: the colour column, else the first text column.
            let by = color
                .or_else(|| columns.iter().position(|c| !c.numeric))
                .ok_or_else(|| refuse("a scatter needs a column naming each point (`color`)"))?;
            set("by", name(by).into());
            set("x", name(x).into());
            set("y", name(first_y()?).into());
        }
        "pie" => {
            set("x", name(find("x", &p.x)?).into());
            set("y", name(first_y()?).into());
        }
        _ => {
            let x = find("x", &p.x)?;
            if ys.is_empty() {
                return Err(refuse("no value column (`y`) is named"));
            }
            if ys.contains(&x) {
                return Err(refuse(format!("`{}` is both x and y", p.x)));
            }
            set("x", name(x).into());
            set("y", names(&ys));
            if let Some(c) = color {
                set("color", name(c).into());
            }
        }
    }
    Ok(o)
}

/// The figure for proposal `p` over a result's `columns` and `rows`, in `theme`; `Ok(None)` for `none`.
pub fn figure(
    p: &ChartProposal,
    columns: &[Column],
    rows: &[Vec<Value>],
    theme: &Theme,
) -> Result<Option<Value>, ProposalError> {
    if p.is_none() || columns.is_empty() {
        return Ok(None);
    }
    let chart_options = options(p, columns)?;
    // Value columns: the y axis, and a scatter's x axis too.
    let scatter_x = (p.kind == "scatter").then_some(&p.x);
    let measure_columns: Vec<usize> =
        p.y.iter()
            .chain(scatter_x)
            .filter_map(|y| columns.iter().position(|c| &c.name == y))
            .collect();

    // The result's own model: value columns are measures, the others dimensions.
    let mut fields = Vec::new();
    let mut dimensions = IndexMap::new();
    let mut measures = IndexMap::new();
    let mut yaml = String::from("id: chat\nmetrics:\n  dimensions:\n");
    for (i, c) in columns.iter().enumerate() {
        let data_type = if c.numeric {
            DataType::Float64
        } else {
            DataType::Utf8
        };
        fields.push(Field::new(name(i), data_type.clone(), true));
        if measure_columns.contains(&i) {
            let format = if c.data_type.contains("Int") {
                Format::Integer
            } else {
                Format::Number
            };
            measures.insert(
                name(i),
                Measure {
                    name: name(i),
                    label: c.name.clone(),
                    format,
                    good: Default::default(),
                    description: None,
                    sql: c.name.clone(),
                    expr: col(name(i)),
                },
            );
        } else {
            yaml.push_str(&format!("    {}: {{}}\n", name(i)));
            dimensions.insert(
                name(i),
                Dimension {
                    name: name(i),
                    column: name(i),
                    label: c.name.clone(),
                    data_type,
                },
            );
        }
    }
    yaml.push_str("  measures:\n");
    for m in measures.keys() {
        yaml.push_str(&format!("    {m}: {{expr: \"sum({m})\"}}\n"));
    }
    let model = SemanticModel {
        dataset: "chat".into(),
        schema: Arc::new(Schema::new(fields)),
        dimensions,
        measures,
    };
    let internal = |e: lantern_core::Error| refuse(e.to_string());
    let dataset = DatasetSpec::parse(Path::new("chat answer"), &yaml).map_err(internal)?;
    let spec = ChartSpec {
        id: "answer".into(),
        kind: p.kind.clone(),
        title: None,
        description: None,
        wide: false,
        options: chart_options,
    };
    let dashboard = DashboardSpec::from_parts(
        DashboardSpecFile {
            id: "chat".into(),
            title: "Chat".into(),
            description: None,
            icon: None,
            dataset: "chat".into(),
            filters: Vec::new(),
            kpis: Vec::new(),
            charts: vec![spec.clone()],
        },
        Path::new("chat answer"),
    )
    .map_err(internal)?;
    let chart = charts::compile(&dashboard, &dataset, 0, &spec).map_err(internal)?;
    let table = ResultTable {
        columns: (0..columns.len()).map(name).collect(),
        rows: rows.to_vec(),
    };
    let none = |_: &str| Vec::new();
    let ctx = Context {
        model: &model,
        view: &ChartView::default(),
        theme,
        selected: &none,
        date_dimension: None,
        previous: None,
    };
    let mut figure = chart.build(&[Some(Arc::new(table))], &ctx);
    // Nothing on the chat's charts filters a page.
    if let Some(o) = figure.as_object_mut() {
        o.remove("lantern");
    }
    Ok(Some(figure))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn columns() -> Vec<Column> {
        vec![
            Column {
                name: "team".into(),
                data_type: "Utf8".into(),
                numeric: false,
            },
            Column {
                name: "requests".into(),
                data_type: "Int64".into(),
                numeric: true,
            },
            Column {
                name: "share".into(),
                data_type: "Float64".into(),
                numeric: true,
            },
        ]
    }

    fn proposal(kind: &str, x: &str, y: &[&str], color: &str) -> ChartProposal {
        ChartProposal {
            kind: kind.into(),
            x: x.into(),
            y: y.iter().map(|s| s.to_string()).collect(),
            color: color.into(),
        }
    }

    fn rows() -> Vec<Vec<Value>> {
        vec![
            vec![json!("Search"), json!(120), json!(0.6)],
            vec![json!("Ads"), json!(80), json!(0.4)],
        ]
    }

    #[test]
    fn each_kind_draws_the_rows_as_they_are() {
        let t = &crate::theme::LIGHT;
        let bar = figure(
            &proposal("bar", "team", &["requests"], ""),
            &columns(),
            &rows(),
            t,
        )
        .unwrap()
        .unwrap();
        assert_eq!(bar["data"][0]["type"], "bar");
        assert_eq!(bar["data"][0]["x"], json!(["Search", "Ads"]));
        assert_eq!(bar["data"][0]["y"], json!([120, 80]));
        for kind in ["horizontal_bar", "line", "area", "pie"] {
            let f = figure(
                &proposal(kind, "team", &["requests"], ""),
                &columns(),
                &rows(),
                t,
            )
            .unwrap()
            .unwrap();
            assert!(
                f["data"].as_array().is_some_and(|d| !d.is_empty()),
                "{kind}: {f}"
            );
        }
        let scatter = figure(
            &proposal("scatter", "requests", &["share"], "team"),
            &columns(),
            &rows(),
            t,
        )
        .unwrap()
        .unwrap();
        assert!(
            scatter["data"].as_array().is_some_and(|d| !d.is_empty()),
            "{scatter}"
        );
        let one = vec![vec![json!(200)]];
        let big = figure(
            &proposal("big_number", "", &["total"], ""),
            &[Column {
                name: "total".into(),
                data_type: "Int64".into(),
                numeric: true,
            }],
            &one,
            t,
        )
        .unwrap()
        .unwrap();
        assert!(big.to_string().contains("200"), "{big}");
        assert_eq!(
            figure(&proposal("none", "", &[], ""), &columns(), &rows(), t).unwrap(),
            None
        );
    }

    #[test]
    fn proposals_that_do_not_fit_the_result_are_refused_by_name() {
        let t = &crate::theme::LIGHT;
        let cases = [
            (
                proposal("treemap", "team", &["requests"], ""),
                "unknown kind `treemap`",
            ),
            (
                proposal("pivot", "team", &["requests"], ""),
                "unknown kind `pivot`",
            ),
            (
                proposal("bar", "country", &["requests"], ""),
                "x `country` is not a column",
            ),
            (
                proposal("bar", "team", &["team"], ""),
                "y `team` is not numeric",
            ),
            (proposal("bar", "team", &[], ""), "no value column"),
            (
                proposal("line", "team", &["requests"], "region"),
                "color `region`",
            ),
        ];
        for (p, want) in cases {
            let e = figure(&p, &columns(), &rows(), t).unwrap_err().to_string();
            assert!(e.contains(want), "{p:?}: {e}");
        }
    }
}
