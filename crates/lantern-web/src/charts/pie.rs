//! Pie (donut) charts: shares of one measure across a dimension's values.

use lantern_core::dashboard::ChartSpec;
use lantern_core::query::ResultTable;
use lantern_core::semantic::SemanticModel;
use plotly::Pie;
use serde_json::{Value, json};

pub fn build(result: &ResultTable, spec: &ChartSpec, model: &SemanticModel) -> Value {
    let mut traces = Vec::new();
    if let Some(s) = super::series(result, spec, model).into_iter().next() {
        let labels: Vec<String> =
            s.x.iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    Value::Null => "(none)".into(),
                    other => other.to_string(),
                })
                .collect();
        let pie = Pie::new(s.y)
            .labels(labels)
            .hole(0.45)
            .sort(false)
            .name(&s.name);
        traces.push(super::trace_json(&*pie));
    }
    super::figure(
        Value::Array(traces),
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
