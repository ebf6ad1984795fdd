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
        let aggregate = |group_by: Vec<GroupKey>, limit: Option<usize>| {
            Ask::now(Query::Aggregate(Aggregate {
                group_by,
                measures: self.measures.clone(),
                sort: sort.keys(&o.x, &self.measures[0]),
                limit,
                ..Default::default()
            }))
        };
        // Selected categories stay in view even when they are not among the first `limit`: then every category
        // is asked for and the cut happens in `build`.
        let pinned = o.limit.is_some() && !(ctx.selected)(&o.x).is_empty();
        let limit = if pinned { None } else { o.limit };
        if o.color.is_none() {
            return vec![aggregate(group_by, limit)];
        }
        // With a colour split the limit counts categories ranked by their own totals: the segments come from
        // the first query, the ranking from a second one over the categories alone.
        let mut asks = vec![aggregate(group_by.clone(), None)];
        if o.limit.is_some() {
            asks.push(aggregate(group_by[..1].to_vec(), limit));
        }
        asks
    }

    fn highlights(&self) -> Vec<String> {
        vec![self.options.x.clone()]
    }

    fn build(&self, results: &[Option<Arc<ResultTable>>], ctx: &Context) -> Value {
        let o = &self.options;
        let mut result = (*super::first(results)).clone();
        let selected = (ctx.selected)(&o.x);
        // The categories shown, in order, when a limit cuts them.
        let kept: Option<Vec<Value>> = o.limit.map(|n| {
            let ranking = match (&o.color, results.get(1)) {
                (Some(_), Some(Some(r))) => r.as_ref(),
                _ => &result,
            };
            let ranked: Vec<Value> = ranking
                .column_index(&o.x)
                .map(|i| ranking.rows.iter().map(|r| r[i].clone()).collect())
                .unwrap_or_default();
            keep_categories(&ranked, n, &selected)
        });
        if let (Some(kept), Some(xi)) = (&kept, result.column_index(&o.x)) {
            let rank = |v: &Value| kept.iter().position(|k| k == v);
            result.rows.retain(|r| rank(&r[xi]).is_some());
            // Stable: segments keep their order within a category.
            result.rows.sort_by_key(|r| rank(&r[xi]));
        }
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
        let category_axis = match (&kept, temporal) {
            (_, true) => json!({ "type": "date" }),
            // Several series each list only their own categories: the ranking orders the axis.
            (Some(kept), false) if many => json!({
                "type": "category",
                "categoryorder": "array",
                "categoryarray": kept.iter().map(super::text).collect::<Vec<_>>(),
            }),
            _ => json!({ "type": "category", "categoryorder": "trace" }),
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

/// The first `n` of `ranked`, then any selected category ranked further down (so a selection never drops out of
/// view).
fn keep_categories(ranked: &[Value], n: usize, selected: &[String]) -> Vec<Value> {
    ranked
        .iter()
        .enumerate()
        .filter(|(i, v)| *i < n || selected.contains(&super::text(v)))
        .map(|(_, v)| v.clone())
        .collect()
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

    /// A page on which the reader picked the team ML.
    fn ml_team_picked(d: &str) -> Vec<String> {
        if d == "team" {
            vec!["ML".to_string()]
        } else {
            vec![]
        }
    }

    #[test]
    fn stacked_series_and_selection_highlight() {
        let c = chart("{id: c, type: bar, x: team, y: total, color: model, mode: stack}");
        let m = model();
        let view = ChartView::default();
        let ctx: Context = ctx(&m, &view, &ml_team_picked);
        let fig = c.build(&[Some(Arc::new(by_team_and_model()))], &ctx);
        assert_eq!(fig["layout"]["barmode"], "stack");
        assert_eq!(fig["data"][0]["marker"]["opacity"], json!([0.3, 1.0]));
        assert_eq!(c.highlights(), vec!["team".to_string()]);
    }

    #[test]
    fn a_colour_split_limit_ranks_categories_by_their_totals() {
        let c = chart("{id: c, type: bar, x: team, y: total, color: model, mode: stack, limit: 1}");
        let m = model();
        let view = ChartView::default();
        let asks = c.asks(&ctx(&m, &view, &no_selection));
        assert_eq!(asks.len(), 2, "segments and the ranking of categories");
        // ML has the largest single segment, Web the largest total.
        let segments = table(
            &["team", "model", "total"],
            vec![
                vec![json!("ML"), json!("gpt"), json!(6)],
                vec![json!("Web"), json!("gpt"), json!(5)],
                vec![json!("Web"), json!("o3"), json!(4)],
            ],
        );
        let ranking = table(&["team", "total"], vec![vec![json!("Web"), json!(9)]]);
        let fig = c.build(
            &[Some(Arc::new(segments)), Some(Arc::new(ranking))],
            &ctx(&m, &view, &no_selection),
        );
        let teams: Vec<&serde_json::Value> = fig["data"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|t| t["x"].as_array().unwrap())
            .collect();
        assert_eq!(teams, vec!["Web", "Web"]);
        assert_eq!(fig["layout"]["xaxis"]["categoryarray"], json!(["Web"]));
    }

    #[test]
    fn a_selected_category_beyond_the_limit_stays_in_view() {
        let c = chart("{id: c, type: bar, x: team, y: total, limit: 1}");
        let m = model();
        let view = ChartView::default();
        let asks = c.asks(&ctx(&m, &view, &ml_team_picked));
        let lantern_core::shape::Query::Aggregate(a) = &asks[0].query else {
            panic!("an aggregate")
        };
        assert_eq!(
            a.limit, None,
            "every category asked for while one is selected"
        );
        let all = table(
            &["team", "total"],
            vec![
                vec![json!("Web"), json!(9)],
                vec![json!("Data"), json!(7)],
                vec![json!("ML"), json!(6)],
            ],
        );
        let fig = c.build(&[Some(Arc::new(all))], &ctx(&m, &view, &ml_team_picked));
        assert_eq!(fig["data"][0]["x"], json!(["Web", "ML"]));
        assert_eq!(fig["data"][0]["marker"]["opacity"], json!([0.3, 1.0]));
    }
}
