//! Pie (donut) charts: shares of one measure across a dimension's values.

use lantern_core::dashboard::ChartSpec;
use lantern_core::query::ResultTable;
use lantern_core::semantic::SemanticModel;
use plotly::{Pie, Plot};
use serde_json::{Value, json};

pub fn build(result: &ResultTable, spec: &ChartSpec, model: &SemanticModel) -> Value {
    let mut plot = Plot::new();
    if let Some(s) = super::series(result, spec, model).into_iter().next() {
        let labels: Vec<String> =
            s.x.iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    Value::Null => "(none)".into(),
                    other => other.to_string(),
                })
                .collect();
        plot.add_trace(
            Pie::new(s.y)
                .labels(labels)
                .hole(0.45)
                .sort(false)
                .name(&s.name),
        );
    }
    super::figure(
        super::traces_json(&plot),
        json!({ "showlegend": true, "legend": { "orientation": "v", "x": 1.02, "y": 0.5 } }),
    )
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use lantern_core::query::ResultTable;
    use serde_json::json;

    #[test]
    fn slices_are_labelled() {
        let spec = chart("{id: c, type: pie, x: model, y: total}");
        let t = ResultTable {
            columns: vec!["model".into(), "total".into()],
            rows: vec![vec![json!("gpt"), json!(7)], vec![json!(null), json!(1)]],
        };
        let fig = super::build(&t, &spec, &model());
        assert_eq!(fig["data"][0]["type"], "pie");
        assert_eq!(fig["data"][0]["labels"], json!(["gpt", "(none)"]));
        assert_eq!(fig["data"][0]["values"], json!([7, 1]));
    }
}
