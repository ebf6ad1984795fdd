//! Line and area charts: a measure over an ordered dimension (usually a date), one line per measure or color.

use lantern_core::dashboard::{ChartKind, ChartSpec};
use lantern_core::query::ResultTable;
use lantern_core::semantic::SemanticModel;
use plotly::Scatter;
use plotly::common::{Fill, Mode};
use serde_json::{Value, json};

pub fn build(result: &ResultTable, spec: &ChartSpec, model: &SemanticModel) -> Value {
    let mut traces = Vec::new();
    let all = super::series(result, spec, model);
    let many = all.len() > 1;
    for s in all {
        let mut trace = Scatter::new(s.x, s.y)
            .mode(Mode::Lines)
            .name(&s.name)
            .show_legend(many);
        if spec.kind == ChartKind::Area {
            trace = trace
                .fill(if many { Fill::ToNextY } else { Fill::ToZeroY })
                .stack_group("a");
        }
        traces.push(super::trace_json(&*trace));
    }
    super::figure(
        Value::Array(traces),
        json!({ "yaxis": super::value_axis(spec, model), "hovermode": "x unified", "showlegend": many }),
    )
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use lantern_core::query::ResultTable;
    use serde_json::json;

    #[test]
    fn one_line_per_color_value() {
        let spec = chart("{id: c, type: line, x: team, y: total, color: model}");
        let fig = super::build(&by_team_and_model(), &spec, &model());
        let data = fig["data"].as_array().unwrap();
        assert_eq!(data.len(), 2);
        assert_eq!(data[0]["name"], "gpt");
        assert_eq!(data[0]["x"], json!(["Web", "ML"]));
        assert_eq!(data[0]["y"], json!([5, 2]));
        assert_eq!(data[1]["y"], json!([3]));
        assert_eq!(fig["layout"]["yaxis"]["tickformat"], ",d");
        assert!(fig["layout"]["template"]["layout"]["colorway"].is_array());
    }

    #[test]
    fn area_fills_to_zero() {
        let spec = chart("{id: c, type: area, x: date, y: total}");
        let t = ResultTable {
            columns: vec!["date".into(), "total".into()],
            rows: vec![vec![json!("2025-01-01"), json!(4)]],
        };
        let fig = super::build(&t, &spec, &model());
        assert_eq!(fig["data"][0]["fill"], "tozeroy");
        assert_eq!(fig["data"][0]["mode"], "lines");
    }
}
