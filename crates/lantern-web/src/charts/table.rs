//! Tables: dimensions and measures side by side, measures formatted like KPI cards.

use lantern_core::dashboard::ChartSpec;
use lantern_core::query::ResultTable;
use lantern_core::semantic::SemanticModel;
use plotly::Table;
use plotly::traces::table::{Cells, Header};
use serde_json::{Value, json};

use crate::format::format_value;

pub fn build(result: &ResultTable, spec: &ChartSpec, model: &SemanticModel) -> Value {
    let mut names = spec.group_by();
    names.extend(spec.y.to_vec());
    let header: Vec<String> = names.iter().map(|n| super::label_of(model, n)).collect();
    let columns: Vec<Vec<String>> = names
        .iter()
        .map(|n| {
            let i = result.column_index(n);
            let format = model.measures.get(n).map(|m| m.format);
            result
                .rows
                .iter()
                .map(|r| match (i, format) {
                    (Some(i), Some(f)) => format_value(&r[i], f),
                    (Some(i), None) => match &r[i] {
                        Value::String(s) => s.clone(),
                        Value::Null => "—".into(),
                        other => other.to_string(),
                    },
                    (None, _) => String::new(),
                })
                .collect()
        })
        .collect();
    let trace = super::trace_json(&*Table::new(Header::new(header), Cells::new(columns)));
    let mut fig = super::figure(
        Value::Array(vec![trace]),
        json!({ "margin": { "l": 4, "r": 4, "t": 4, "b": 4 } }),
    );
    // Themed header and zebra-free cells; plotly's typed setters do not cover fill colours for tables.
    if let Some(t) = fig["data"].get_mut(0) {
        t["header"]["fill"] = json!({ "color": "#f4eee6" });
        t["header"]["align"] = json!("left");
        t["header"]["font"] = json!({ "color": crate::theme::TEXT, "size": 13 });
        t["cells"]["align"] = json!("left");
        t["cells"]["line"] = json!({ "color": "#efe8de" });
        t["cells"]["fill"] = json!({ "color": "#ffffff" });
    }
    fig
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;

    #[test]
    fn formats_measure_columns() {
        let spec = chart("{id: c, type: table, x: [team, model], y: total}");
        let fig = super::build(&by_team_and_model(), &spec, &model());
        let t = &fig["data"][0];
        assert_eq!(t["type"], "table");
        assert_eq!(t["header"]["values"][2], "Total");
        assert_eq!(t["cells"]["values"][0][2], "ML");
        assert_eq!(t["cells"]["values"][2][0], "5");
    }
}
