//! Bar charts: measures per category, vertical or horizontal, grouped or stacked by a `color` dimension. The
//! category a reader clicks filters the rest of the page; this chart keeps every bar and highlights it.

use std::sync::Arc;

use lantern_core::Error as CoreError;
use lantern_core::query::ResultTable;
use lantern_core::shape::{Aggregate, Grain, GroupKey, Query};
use plotly::Bar;
use plotly::common::Orientation;
use serde::Deserialize;
use serde_json::{Value, json};

use super::options::{OneOrMany, SortOrder, check_limit, x_key};
use super::{Ask, Chart, Compiler, Context, Kind};

pub const KIND: Kind = Kind {
    name: "bar",
    compile: |c| compile(c, false),
};

/// `horizontal_bar`: a bar chart with `orientation: horizontal`.
pub const HORIZONTAL: Kind = Kind {
    name: "horizontal_bar",
    compile: |c| compile(c, true),
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Orientation2 {
    Vertical,
    Horizontal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BarMode {
    Group,
    Stack,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// The category dimension.
    pub x: String,
    pub y: OneOrMany,
    #[serde(default)]
    pub color: Option<String>,
    #[serde(default)]
    pub orientation: Option<Orientation2>,
    #[serde(default = "group")]
    pub mode: BarMode,
    #[serde(default)]
    pub sort: Option<SortOrder>,
    #[serde(default)]
    pub limit: Option<usize>,
    /// Time bucket when the category is a date.
    #[serde(default = "month")]
    pub grain: Grain,
}

fn group() -> BarMode {
    BarMode::Group
}

fn month() -> Grain {
    Grain::Month
}

#[derive(Debug)]
pub struct BarChart {
    options: Options,
    measures: Vec<String>,
    horizontal: bool,
}

fn compile(c: &Compiler, horizontal: bool) -> Result<Box<dyn Chart>, CoreError> {
    let options: Options = c.options()?;
    c.dimension(&options.x, "x")?;
    let measures = options.y.check_measures(c, "y")?;
    if let Some(color) = &options.color {
        c.dimension(color, "color")?;
        if measures.len() > 1 {
            return Err(c.error("y", "with `color`, plot one measure"));
        }
    }
    check_limit(c, options.limit, "limit")?;
    let horizontal = horizontal || options.orientation == Some(Orientation2::Horizontal);
    Ok(Box::new(BarChart {
        options,
        measures,
        horizontal,
    }))
}

impl Chart for BarChart {
    fn asks(&self, ctx: &Context) -> Vec<Ask> {
        let o = &self.options;
        let mut group_by = vec![x_key(ctx.model, &o.x, o.grain)];
        if let Some(color) = &o.color {
            group_by.push(GroupKey::Dimension(color.clone()));
        }
        let temporal = matches!(group_by[0], GroupKey::Time { .. });
        let sort = o.sort.unwrap_or(if temporal {
            SortOrder::X
        } else {
            SortOrder::YDesc
        });
        // With a colour split the limit counts bars, not categories: keep every series of the first categories
        // by asking for all rows and cutting after the sort.
        vec![Ask::now(Query::Aggregate(Aggregate {
            group_by,
            measures: self.measures.clone(),
            sort: sort.keys(&o.x, &self.measures[0]),
            limit: if o.color.is_some() { None } else { o.limit },
            ..Default::default()
        }))]
    }

    fn highlights(&self) -> Vec<String> {
        vec![self.options.x.clone()]
    }

    fn build(&self, results: &[Option<Arc<ResultTable>>], ctx: &Context) -> Value {
        let o = &self.options;
        let mut result = (*super::first(results)).clone();
        if let (Some(n), Some(_)) = (o.limit, &o.color) {
            // Keep the first `n` categories in result order.
            let xi = result.column_index(&o.x);
            let mut seen: Vec<Value> = Vec::new();
            result.rows.retain(|r| {
                let Some(i) = xi else { return true };
                if seen.contains(&r[i]) {
                    true
                } else if seen.len() < n {
                    seen.push(r[i].clone());
                    true
                } else {
                    false
                }
            });
        }
        let selected = (ctx.selected)(&o.x);
        let all = super::series(&result, &o.x, &self.measures, o.color.as_deref(), ctx.model);
        let many = all.len() > 1;
        let mut traces = Vec::new();
        for s in all {
            let opacity: Vec<f64> =
                s.x.iter()
                    .map(|v| {
                        if selected.is_empty() || selected.contains(&super::text(v)) {
                            1.0
                        } else {
                            0.3
                        }
                    })
                    .collect();
            let custom = Value::Array(s.x.clone());
            let trace = if self.horizontal {
                Bar::new(s.y, s.x).orientation(Orientation::Horizontal)
            } else {
                Bar::new(s.x, s.y)
            };
            let mut t = super::trace_json(&*trace.name(&s.name).show_legend(many));
            t["customdata"] = custom;
            t["marker"]["opacity"] = json!(opacity);
            traces.push(t);
        }
        let value_axis = super::value_axis(ctx.model, &self.measures[0]);
        let temporal = super::options::is_temporal(ctx.model, &o.x);
        let category_axis = if temporal {
            json!({ "type": "date" })
        } else {
            json!({ "type": "category", "categoryorder": "trace" })
        };
        let (xaxis, yaxis) = if self.horizontal {
            let mut cat = category_axis;
            cat["autorange"] = json!("reversed");
            (value_axis, cat)
        } else {
            (category_axis, value_axis)
        };
        super::figure(
            ctx.theme,
            Value::Array(traces),
            json!({
                "xaxis": xaxis,
                "yaxis": yaxis,
                "barmode": if o.mode == BarMode::Stack { "stack" } else { "group" },
                "showlegend": many,
                "bargap": 0.25,
            }),
            super::with_grain(
                super::click_meta(&[o.x.as_str()], None),
                temporal.then_some(o.grain),
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::{ChartView, Context};
    use serde_json::json;
    use std::sync::Arc;

    #[test]
    fn bars_follow_result_order() {
        let c = chart("{id: c, type: bar, x: team, y: total}");
        let fig = build(c.as_ref(), by_team_and_model());
        assert_eq!(fig["data"][0]["type"], "bar");
        assert_eq!(fig["data"][0]["x"], json!(["Web", "Web", "ML"]));
        assert_eq!(fig["layout"]["xaxis"]["type"], "category");
        assert_eq!(fig["lantern"]["click"], json!(["team"]));
    }

    #[test]
    fn horizontal_swaps_axes() {
        for spec in [
            "{id: c, type: horizontal_bar, x: team, y: total}",
            "{id: c, type: bar, x: team, y: total, orientation: horizontal}",
        ] {
            let fig = build(chart(spec).as_ref(), by_team_and_model());
            assert_eq!(fig["data"][0]["orientation"], "h");
            assert_eq!(fig["data"][0]["y"], json!(["Web", "Web", "ML"]));
            assert_eq!(fig["layout"]["xaxis"]["tickformat"], ",d");
        }
    }

    #[test]
    fn stacked_series_and_selection_highlight() {
        let c = chart("{id: c, type: bar, x: team, y: total, color: model, mode: stack}");
        let m = model();
        let view = ChartView::default();
        let picked = |d: &str| {
            if d == "team" {
                vec!["ML".to_string()]
            } else {
                vec![]
            }
        };
        let ctx: Context = ctx(&m, &view, &picked);
        let fig = c.build(&[Some(Arc::new(by_team_and_model()))], &ctx);
        assert_eq!(fig["layout"]["barmode"], "stack");
        assert_eq!(fig["data"][0]["marker"]["opacity"], json!([0.3, 1.0]));
        assert_eq!(c.highlights(), vec!["team".to_string()]);
    }
}
