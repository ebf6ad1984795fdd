//! Line charts: measures over an ordered dimension (usually a date, bucketed by `grain`), one line per measure or
//! per value of a `color` dimension. A click on a date point drills down: the page filters to that bucket and
//! shows it one grain finer (month → week → day); selecting a range on the axis sets the date filter.

use std::sync::Arc;

use lantern_core::Error as CoreError;
use lantern_core::query::ResultTable;
use lantern_core::semantic::SemanticModel;
use lantern_core::shape::{Aggregate, Grain, GroupKey, Query, Sort};
use plotly::Scatter;
use plotly::common::{Fill, Mode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::options::{OneOrMany, is_temporal, x_key};
use super::{Ask, Chart, Compiler, Context, Kind};

pub const KIND: Kind = Kind {
    name: "line",
    compile: |c| compile(c, Style::Line),
};

/// Lines, or stacked areas (the `area` kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Line,
    Area,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// The ordered dimension on the x axis.
    pub x: String,
    /// Measure(s) plotted.
    pub y: OneOrMany,
    /// A dimension that splits the first measure into one series per value.
    #[serde(default)]
    pub color: Option<String>,
    /// Time bucket for a date x axis; the reader drills to finer ones.
    #[serde(default = "default_grain")]
    pub grain: Grain,
    /// Area charts: stack the series (default), or overlap them.
    #[serde(default = "yes")]
    pub stacked: bool,
    /// Stacked areas: show each series as its share of the total (100 % stacked).
    #[serde(default)]
    pub normalize: bool,
}

fn default_grain() -> Grain {
    Grain::Day
}

fn yes() -> bool {
    true
}

#[derive(Debug)]
pub struct Line {
    pub options: Options,
    pub measures: Vec<String>,
    pub style: Style,
}

pub fn compile(c: &Compiler, style: Style) -> Result<Box<dyn Chart>, CoreError> {
    let options: Options = c.options()?;
    c.dimension(&options.x, "x")?;
    let measures = options.y.check_measures(c, "y")?;
    if let Some(color) = &options.color {
        c.dimension(color, "color")?;
        if measures.len() > 1 {
            return Err(c.error("y", "with `color`, plot one measure"));
        }
    }
    Ok(Box::new(Line {
        options,
        measures,
        style,
    }))
}

impl Line {
    fn grain(&self, ctx: &Context) -> Grain {
        ctx.view.grain.unwrap_or(self.options.grain)
    }
}

impl Chart for Line {
    fn asks(&self, ctx: &Context) -> Vec<Ask> {
        let mut group_by = vec![x_key(ctx.model, &self.options.x, self.grain(ctx))];
        if let Some(color) = &self.options.color {
            group_by.push(GroupKey::Dimension(color.clone()));
        }
        vec![Ask::now(Query::Aggregate(Aggregate {
            group_by,
            measures: self.measures.clone(),
            sort: vec![Sort::asc(&self.options.x)],
            ..Default::default()
        }))]
    }

    fn highlights(&self) -> Vec<String> {
        self.options.color.iter().cloned().collect()
    }

    fn build(&self, results: &[Option<Arc<ResultTable>>], ctx: &Context) -> Value {
        let result = super::first(results);
        build(&result, self, ctx.model, ctx)
    }
}

fn build(result: &ResultTable, chart: &Line, model: &SemanticModel, ctx: &Context) -> Value {
    let o = &chart.options;
    let all = super::series(result, &o.x, &chart.measures, o.color.as_deref(), model);
    let many = all.len() > 1;
    let selected = o
        .color
        .as_deref()
        .map(|c| (ctx.selected)(c))
        .unwrap_or_default();
    let mut traces = Vec::new();
    for s in all {
        let dim = !selected.is_empty() && !selected.contains(&s.name);
        let custom: Vec<Value> = s.x.clone();
        let mut trace = Scatter::new(s.x, s.y)
            .mode(if chart.style == Style::Line && result.rows.len() < 60 {
                Mode::LinesMarkers
            } else {
                Mode::Lines
            })
            .name(&s.name)
            .show_legend(many)
            .opacity(if dim { 0.3 } else { 1.0 });
        if chart.style == Style::Area {
            if o.stacked || o.normalize {
                trace = trace.stack_group("a");
            } else {
                trace = trace.fill(if many { Fill::ToNextY } else { Fill::ToZeroY });
            }
        }
        let mut t = super::trace_json(&*trace);
        t["customdata"] = Value::Array(custom);
        if chart.style == Style::Area && o.normalize {
            t["groupnorm"] = json!("percent");
            t["hovertemplate"] = json!("%{fullData.name}: %{y:.1f}%<extra></extra>");
        }
        traces.push(t);
    }
    let temporal = is_temporal(model, &o.x);
    let grain = chart.grain(ctx);
    let mut yaxis = super::value_axis(model, &chart.measures[0]);
    if chart.style == Style::Area && o.normalize {
        yaxis = json!({ "ticksuffix": "%", "range": [0, 100] });
    }
    let mut xaxis = json!({});
    if temporal {
        xaxis = json!({ "type": "date" });
    }
    super::figure(
        ctx.theme,
        Value::Array(traces),
        json!({
            "xaxis": xaxis,
            "yaxis": yaxis,
            "hovermode": "x unified",
            "showlegend": many,
            "dragmode": if temporal { "zoom" } else { "pan" },
        }),
        super::click_meta(&[o.x.as_str()], temporal.then(|| (grain, grain.finer()))),
    )
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use lantern_core::shape::{GroupKey, Query};
    use serde_json::json;

    #[test]
    fn one_line_per_color_value() {
        let c = chart("{id: c, type: line, x: team, y: total, color: model}");
        let fig = build(c.as_ref(), by_team_and_model());
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
    fn dates_are_bucketed_and_drill_down() {
        let c = chart("{id: c, type: line, x: date, y: total, grain: month}");
        let m = model();
        let view = super::super::ChartView::default();
        let asks = c.asks(&ctx(&m, &view, &no_selection));
        let Query::Aggregate(a) = &asks[0].query else {
            panic!("aggregate")
        };
        assert_eq!(
            a.group_by,
            vec![GroupKey::Time {
                dimension: "date".into(),
                grain: lantern_core::shape::Grain::Month
            }]
        );
        let fig = build(
            c.as_ref(),
            table(
                &["date", "total"],
                vec![vec![json!("2025-01-01"), json!(4)]],
            ),
        );
        assert_eq!(fig["lantern"]["time"]["grain"], "month");
        assert_eq!(fig["lantern"]["time"]["next"], "week");
        assert_eq!(fig["data"][0]["customdata"], json!(["2025-01-01"]));
        // The reader's drill level wins over the spec's grain.
        let view = super::super::ChartView {
            grain: Some(lantern_core::shape::Grain::Week),
            ..Default::default()
        };
        let asks = c.asks(&ctx(&m, &view, &no_selection));
        let Query::Aggregate(a) = &asks[0].query else {
            panic!("aggregate")
        };
        assert!(matches!(
            a.group_by[0],
            GroupKey::Time {
                grain: lantern_core::shape::Grain::Week,
                ..
            }
        ));
    }

    #[test]
    fn area_stacks() {
        let c = chart("{id: c, type: area, x: date, y: [total, rate]}");
        let fig = build(
            c.as_ref(),
            table(
                &["date", "total", "rate"],
                vec![vec![json!("2025-01-01"), json!(4), json!(0.5)]],
            ),
        );
        assert_eq!(fig["data"][0]["stackgroup"], "a");
        assert_eq!(fig["data"].as_array().unwrap().len(), 2);
        let c = chart("{id: c, type: area, x: date, y: total, color: model, normalize: true}");
        let t = table(
            &["date", "model", "total"],
            vec![
                vec![json!("2025-01-01"), json!("gpt"), json!(3)],
                vec![json!("2025-01-01"), json!("o3"), json!(1)],
            ],
        );
        let fig = build(c.as_ref(), t);
        assert_eq!(fig["data"].as_array().unwrap().len(), 2);
        assert_eq!(fig["data"][0]["groupnorm"], "percent");
        assert_eq!(fig["layout"]["yaxis"]["ticksuffix"], "%");
    }
}
