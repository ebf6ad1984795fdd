//! Scatter charts: one point per value of a dimension, placed by two measures, sized by a third and coloured by
//! another dimension.

use std::sync::Arc;

use lantern_core::Error as CoreError;
use lantern_core::query::ResultTable;
use lantern_core::shape::{Aggregate, GroupKey, Query, Sort};
use serde::Deserialize;
use serde_json::{Value, json};

use super::options::check_limit;
use super::{Ask, Chart, Compiler, Context, Kind};

pub const KIND: Kind = Kind {
    name: "scatter",
    compile,
};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// The dimension whose values become points.
    pub by: String,
    /// Measures on the x and y axes.
    pub x: String,
    pub y: String,
    /// A measure that sizes the points.
    #[serde(default)]
    pub size: Option<String>,
    /// A dimension that colours the points (one legend entry per value).
    #[serde(default)]
    pub color: Option<String>,
    /// Points drawn at most (the largest by `size`, else by `y`).
    #[serde(default = "five_hundred")]
    pub limit: usize,
}

fn five_hundred() -> usize {
    500
}

#[derive(Debug)]
pub struct ScatterChart {
    options: Options,
}

fn compile(c: &Compiler) -> Result<Box<dyn Chart>, CoreError> {
    let options: Options = c.options()?;
    c.dimension(&options.by, "by")?;
    c.measure(&options.x, "x")?;
    c.measure(&options.y, "y")?;
    if let Some(s) = &options.size {
        c.measure(s, "size")?;
    }
    if let Some(color) = &options.color {
        c.dimension(color, "color")?;
    }
    check_limit(c, Some(options.limit), "limit")?;
    Ok(Box::new(ScatterChart { options }))
}

impl ScatterChart {
    fn measures(&self) -> Vec<String> {
        let o = &self.options;
        let mut m = vec![o.x.clone(), o.y.clone()];
        if let Some(s) = &o.size
            && !m.contains(s)
        {
            m.push(s.clone());
        }
        m
    }
}

impl Chart for ScatterChart {
    fn asks(&self, _ctx: &Context) -> Vec<Ask> {
        let o = &self.options;
        let mut group_by = vec![GroupKey::Dimension(o.by.clone())];
        if let Some(c) = &o.color {
            group_by.push(GroupKey::Dimension(c.clone()));
        }
        vec![Ask::now(Query::Aggregate(Aggregate {
            group_by,
            measures: self.measures(),
            sort: vec![Sort::desc(o.size.as_ref().unwrap_or(&o.y))],
            limit: Some(o.limit),
            ..Default::default()
        }))]
    }

    fn highlights(&self) -> Vec<String> {
        vec![self.options.by.clone()]
    }

    fn build(&self, results: &[Option<Arc<ResultTable>>], ctx: &Context) -> Value {
        let o = &self.options;
        let result = super::first(results);
        let idx = |n: &str| result.column_index(n);
        let (Some(bi), Some(xi), Some(yi)) = (idx(&o.by), idx(&o.x), idx(&o.y)) else {
            return super::figure(ctx.theme, json!([]), json!({}), json!({}));
        };
        let si = o.size.as_deref().and_then(idx);
        let ci = o.color.as_deref().and_then(idx);
        let max_size = si
            .map(|i| {
                result
                    .rows
                    .iter()
                    .filter_map(|r| r[i].as_f64())
                    .fold(0.0f64, f64::max)
            })
            .unwrap_or(0.0);
        let selected = (ctx.selected)(&o.by);
        // One trace per colour value, in first-seen order.
        let mut groups: Vec<(String, Vec<&Vec<Value>>)> = Vec::new();
        for r in &result.rows {
            let key = ci.map(|i| super::text(&r[i])).unwrap_or_default();
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, rows)) => rows.push(r),
                None => groups.push((key, vec![r])),
            }
        }
        let many = groups.len() > 1;
        let traces: Vec<Value> = groups
            .into_iter()
            .map(|(name, rows)| {
                let size: Vec<f64> = rows
                    .iter()
                    .map(|r| match si {
                        Some(i) if max_size > 0.0 => {
                            8.0 + 32.0 * (r[i].as_f64().unwrap_or(0.0) / max_size).sqrt()
                        }
                        _ => 10.0,
                    })
                    .collect();
                let opacity: Vec<f64> = rows
                    .iter()
                    .map(|r| {
                        if selected.is_empty() || selected.contains(&super::text(&r[bi])) {
                            0.8
                        } else {
                            0.2
                        }
                    })
                    .collect();
                json!({
                    "type": "scatter",
                    "mode": if rows.len() <= 40 { "markers+text" } else { "markers" },
                    "textposition": "top center",
                    "textfont": { "size": 11, "color": ctx.theme.muted },
                    "name": if many { name } else { super::label_of(ctx.model, &o.by) },
                    "x": rows.iter().map(|r| r[xi].clone()).collect::<Vec<_>>(),
                    "y": rows.iter().map(|r| r[yi].clone()).collect::<Vec<_>>(),
                    "text": rows.iter().map(|r| super::text(&r[bi])).collect::<Vec<_>>(),
                    "customdata": rows.iter().map(|r| r[bi].clone()).collect::<Vec<_>>(),
                    "marker": { "size": size, "opacity": opacity, "line": {"width": 1, "color": ctx.theme.surface} },
                    "hovertemplate": "%{text}<br>%{x}<br>%{y}<extra></extra>",
                })
            })
            .collect();
        let mut xaxis = super::value_axis(ctx.model, &o.x);
        xaxis["title"] = json!({ "text": super::label_of(ctx.model, &o.x) });
        let mut yaxis = super::value_axis(ctx.model, &o.y);
        yaxis["title"] = json!({ "text": super::label_of(ctx.model, &o.y) });
        super::figure(
            ctx.theme,
            Value::Array(traces),
            json!({ "xaxis": xaxis, "yaxis": yaxis, "showlegend": many, "hovermode": "closest" }),
            super::click_meta(&[o.by.as_str()], None),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use serde_json::json;

    #[test]
    fn points_are_placed_by_two_measures_and_sized_by_a_third() {
        let c = chart("{id: s, type: scatter, by: team, x: total, y: rate, size: total}");
        let t = table(
            &["team", "total", "rate"],
            vec![
                vec![json!("Web"), json!(100), json!(0.5)],
                vec![json!("ML"), json!(25), json!(0.7)],
            ],
        );
        let fig = build(c.as_ref(), t);
        let d = &fig["data"][0];
        assert_eq!(d["x"], json!([100, 25]));
        assert_eq!(d["y"], json!([0.5, 0.7]));
        assert_eq!(d["customdata"], json!(["Web", "ML"]));
        assert_eq!(d["marker"]["size"], json!([40.0, 24.0]));
        assert_eq!(fig["layout"]["yaxis"]["tickformat"], ".0%");
    }
}
