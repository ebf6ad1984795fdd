//! Bar charts: a measure per category, vertical or horizontal, grouped by color when given.

use lantern_core::dashboard::{ChartKind, ChartSpec};
use lantern_core::query::ResultTable;
use lantern_core::semantic::SemanticModel;
use plotly::Bar;
use plotly::common::Orientation;
use serde_json::{Value, json};

pub fn build(result: &ResultTable, spec: &ChartSpec, model: &SemanticModel) -> Value {
    let horizontal = spec.kind == ChartKind::HorizontalBar;
    let mut traces = Vec::new();
    let all = super::series(result, spec, model);
    let many = all.len() > 1;
    for s in all {
        let trace = if horizontal {
            Bar::new(s.y, s.x).orientation(Orientation::Horizontal)
        } else {
            Bar::new(s.x, s.y)
        };
        traces.push(super::trace_json(&*trace.name(&s.name).show_legend(many)));
    }
    let value_axis = super::value_axis(spec, model);
    let category_axis = json!({ "type": "category", "categoryorder": "trace" });
    let (xaxis, yaxis) = if horizontal {
        (
            value_axis,
            json!({ "type": "category", "autorange": "reversed" }),
        )
    } else {
        (category_axis, value_axis)
    };
    super::figure(
        Value::Array(traces),
        json!({ "xaxis": xaxis, "yaxis": yaxis, "barmode": "group", "showlegend": many, "bargap": 0.25 }),
    )
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use serde_json::json;

    #[test]
    fn bars_follow_result_order() {
        let spec = chart("{id: c, type: bar, x: team, y: total}");
        let fig = super::build(&by_team_and_model(), &spec, &model());
        assert_eq!(fig["data"][0]["type"], "bar");
        assert_eq!(fig["data"][0]["x"], json!(["Web", "Web", "ML"]));
        assert_eq!(fig["layout"]["xaxis"]["type"], "category");
    }

    #[test]
    fn horizontal_swaps_axes() {
        let spec = chart("{id: c, type: horizontal_bar, x: team, y: total}");
        let fig = super::build(&by_team_and_model(), &spec, &model());
        assert_eq!(fig["data"][0]["orientation"], "h");
        assert_eq!(fig["data"][0]["y"], json!(["Web", "Web", "ML"]));
        assert_eq!(fig["layout"]["xaxis"]["tickformat"], ",d");
    }
}
