//! Pie and donut charts: shares of one measure across a dimension's values, the smallest folded into "Other"
//! beyond `limit` slices.

use std::sync::Arc;

use lantern_core::Error as CoreError;
use lantern_core::query::ResultTable;
use lantern_core::shape::{Aggregate, GroupKey, Query, Sort};
use plotly::Pie;
use serde::Deserialize;
use serde_json::{Value, json};

use super::options::check_limit;
use super::{Ask, Chart, Compiler, Context, Kind};

pub const KIND: Kind = Kind {
    name: "pie",
    compile,
};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    pub x: String,
    pub y: String,
    /// Hole size: 0 for a pie, up to 0.9; 0.5 by default (a donut).
    #[serde(default = "half")]
    pub hole: f64,
    /// Slices shown; the rest become "Other".
    #[serde(default = "eight")]
    pub limit: Option<usize>,
}

fn half() -> f64 {
    0.5
}

fn eight() -> Option<usize> {
    Some(8)
}

#[derive(Debug)]
pub struct PieChart {
    options: Options,
}

fn compile(c: &Compiler) -> Result<Box<dyn Chart>, CoreError> {
    let options: Options = c.options()?;
    c.dimension(&options.x, "x")?;
    c.measure(&options.y, "y")?;
    check_limit(c, options.limit, "limit")?;
    if !(0.0..=0.9).contains(&options.hole) {
        return Err(c.error("hole", "must be between 0 and 0.9"));
    }
    Ok(Box::new(PieChart { options }))
}

impl Chart for PieChart {
    fn asks(&self, _ctx: &Context) -> Vec<Ask> {
        vec![Ask::now(Query::Aggregate(Aggregate {
            group_by: vec![GroupKey::Dimension(self.options.x.clone())],
            measures: vec![self.options.y.clone()],
            sort: vec![Sort::desc(&self.options.y)],
            ..Default::default()
        }))]
    }

    fn highlights(&self) -> Vec<String> {
        vec![self.options.x.clone()]
    }

    fn build(&self, results: &[Option<Arc<ResultTable>>], ctx: &Context) -> Value {
        let o = &self.options;
        let result = super::first(results);
        let mut labels = Vec::new();
        let mut values = Vec::new();
        let mut custom = Vec::new();
        let (Some(xi), Some(yi)) = (result.column_index(&o.x), result.column_index(&o.y)) else {
            return super::figure(ctx.theme, json!([]), json!({}), json!({}));
        };
        let mut other = 0.0;
        let mut folded = 0;
        for (i, r) in result.rows.iter().enumerate() {
            if o.limit.is_some_and(|n| i >= n) {
                other += r[yi].as_f64().unwrap_or(0.0);
                folded += 1;
                continue;
            }
            labels.push(super::text(&r[xi]));
            values.push(r[yi].clone());
            custom.push(r[xi].clone());
        }
        if folded > 0 {
            labels.push(format!("Other ({folded})"));
            values.push(json!(other));
            custom.push(Value::Null);
        }
        let selected = (ctx.selected)(&o.x);
        let pull: Vec<f64> = labels
            .iter()
            .map(|l| if selected.contains(l) { 0.08 } else { 0.0 })
            .collect();
        let opacity: Vec<f64> = labels
            .iter()
            .map(|l| {
                if selected.is_empty() || selected.contains(l) {
                    1.0
                } else {
                    0.35
                }
            })
            .collect();
        let pie = Pie::new(values)
            .labels(labels)
            .hole(o.hole)
            .sort(false)
            .name(super::label_of(ctx.model, &o.y));
        let mut t = super::trace_json(&*pie);
        t["customdata"] = Value::Array(custom);
        t["pull"] = json!(pull);
        t["marker"] = json!({ "colors": ctx.theme.colorway.iter().cycle().take(opacity.len()).collect::<Vec<_>>(), "line": {"color": ctx.theme.surface, "width": 2} });
        t["opacity"] = json!(1.0);
        t["textinfo"] = json!("percent");
        t["hovertemplate"] = json!("%{label}<br>%{value:,} (%{percent})<extra></extra>");
        if !selected.is_empty() {
            // Plotly has no per-slice opacity: fade the others' colours instead.
            let colors: Vec<String> = ctx
                .theme
                .colorway
                .iter()
                .cycle()
                .zip(&opacity)
                .map(|(c, a)| {
                    if *a < 1.0 {
                        format!("{c}59")
                    } else {
                        c.to_string()
                    }
                })
                .collect();
            t["marker"]["colors"] = json!(colors);
        }
        super::figure(
            ctx.theme,
            Value::Array(vec![t]),
            json!({ "showlegend": true, "legend": { "orientation": "v", "x": 1.02, "y": 0.5 } }),
            super::click_meta(&[o.x.as_str()], None),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use serde_json::json;

    #[test]
    fn slices_are_labelled_and_the_tail_folded() {
        let c = chart("{id: c, type: pie, x: model, y: total, limit: 2}");
        let t = table(
            &["model", "total"],
            vec![
                vec![json!("gpt"), json!(7)],
                vec![json!(null), json!(2)],
                vec![json!("o3"), json!(1)],
                vec![json!("auto"), json!(1)],
            ],
        );
        let fig = build(c.as_ref(), t);
        assert_eq!(fig["data"][0]["type"], "pie");
        assert_eq!(
            fig["data"][0]["labels"],
            json!(["gpt", "(none)", "Other (2)"])
        );
        assert_eq!(fig["data"][0]["values"], json!([7, 2, 2.0]));
        assert_eq!(fig["data"][0]["hole"], 0.5);
    }

    #[test]
    fn hole_is_checked() {
        let err = try_chart("{id: c, type: pie, x: model, y: total, hole: 2}").unwrap_err();
        assert!(err.contains("charts[0].hole"), "{err}");
    }
}
