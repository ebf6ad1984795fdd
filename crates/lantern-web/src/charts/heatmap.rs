//! Heatmaps: a measure over two dimensions (a date axis bucketed by `grain`). A click on a cell filters the page
//! by both of its values.

use std::sync::Arc;

use lantern_core::Error as CoreError;
use lantern_core::query::ResultTable;
use lantern_core::shape::{Aggregate, Grain, GroupKey, Query, Sort};
use serde::Deserialize;
use serde_json::{Value, json};

use super::options::{is_temporal, x_key};
use super::{Ask, Chart, Compiler, Context, Kind};
use crate::format::{format_value, tickformat};

pub const KIND: Kind = Kind {
    name: "heatmap",
    compile,
};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    pub x: String,
    pub y: String,
    /// The measure that colours each cell.
    pub z: String,
    #[serde(default = "month")]
    pub grain: Grain,
    /// Print each cell's value on it.
    #[serde(default = "yes")]
    pub labels: bool,
}

fn month() -> Grain {
    Grain::Month
}

fn yes() -> bool {
    true
}

#[derive(Debug)]
pub struct Heatmap {
    options: Options,
}

fn compile(c: &Compiler) -> Result<Box<dyn Chart>, CoreError> {
    let options: Options = c.options()?;
    c.dimension(&options.x, "x")?;
    c.dimension(&options.y, "y")?;
    c.measure(&options.z, "z")?;
    if options.x == options.y {
        return Err(c.error("y", "use two different dimensions"));
    }
    Ok(Box::new(Heatmap { options }))
}

impl Chart for Heatmap {
    fn asks(&self, ctx: &Context) -> Vec<Ask> {
        let o = &self.options;
        vec![Ask::now(Query::Aggregate(Aggregate {
            group_by: vec![
                x_key(ctx.model, &o.x, o.grain),
                GroupKey::Dimension(o.y.clone()),
            ],
            measures: vec![o.z.clone()],
            sort: vec![Sort::asc(&o.x), Sort::asc(&o.y)],
            ..Default::default()
        }))]
    }

    fn build(&self, results: &[Option<Arc<ResultTable>>], ctx: &Context) -> Value {
        let o = &self.options;
        let result = super::first(results);
        let (Some(xi), Some(yi), Some(zi)) = (
            result.column_index(&o.x),
            result.column_index(&o.y),
            result.column_index(&o.z),
        ) else {
            return super::figure(ctx.theme, json!([]), json!({}), json!({}));
        };
        let mut xs: Vec<Value> = Vec::new();
        let mut ys: Vec<Value> = Vec::new();
        for r in &result.rows {
            if !xs.contains(&r[xi]) {
                xs.push(r[xi].clone());
            }
            if !ys.contains(&r[yi]) {
                ys.push(r[yi].clone());
            }
        }
        let format = ctx.model.measures[&o.z].format;
        let mut z = vec![vec![Value::Null; xs.len()]; ys.len()];
        let mut labels = vec![vec![String::new(); xs.len()]; ys.len()];
        let mut custom = vec![vec![Value::Null; xs.len()]; ys.len()];
        for r in &result.rows {
            let (Some(i), Some(j)) = (
                ys.iter().position(|v| *v == r[yi]),
                xs.iter().position(|v| *v == r[xi]),
            ) else {
                continue;
            };
            z[i][j] = r[zi].clone();
            labels[i][j] = format_value(&r[zi], format);
            custom[i][j] = json!([r[xi].clone(), r[yi].clone()]);
        }
        let y_text: Vec<String> = ys.iter().map(super::text).collect();
        let mut trace = json!({
            "type": "heatmap",
            "x": xs,
            "y": y_text,
            "z": z,
            "customdata": custom,
            "colorscale": [[0, ctx.theme.scale[0]], [1, ctx.theme.scale[1]]],
            "hovertemplate": "%{y} · %{x}<br>%{text}<extra></extra>",
            "text": labels,
            "xgap": 2,
            "ygap": 2,
            "colorbar": { "tickformat": tickformat(format), "thickness": 10 },
        });
        if o.labels && xs.len() * ys.len() <= 300 {
            trace["texttemplate"] = json!("%{text}");
            trace["textfont"] = json!({ "size": 11 });
        }
        let xaxis = if is_temporal(ctx.model, &o.x) {
            json!({ "type": "date", "showgrid": false })
        } else {
            json!({ "type": "category", "showgrid": false })
        };
        super::figure(
            ctx.theme,
            json!([trace]),
            json!({ "xaxis": xaxis, "yaxis": { "type": "category", "autorange": "reversed", "showgrid": false } }),
            super::with_grain(
                super::click_meta(&[o.x.as_str(), o.y.as_str()], None),
                is_temporal(ctx.model, &o.x).then_some(o.grain),
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use serde_json::json;

    #[test]
    fn cells_form_a_grid_with_gaps_left_empty() {
        let c = chart("{id: h, type: heatmap, x: team, y: model, z: total}");
        let fig = build(c.as_ref(), by_team_and_model());
        let d = &fig["data"][0];
        assert_eq!(d["x"], json!(["Web", "ML"]));
        assert_eq!(d["y"], json!(["gpt", "o3"]));
        assert_eq!(d["z"], json!([[5, 2], [3, null]]));
        assert_eq!(d["customdata"][1][0], json!(["Web", "o3"]));
        assert_eq!(fig["lantern"]["click"], json!(["team", "model"]));
    }
}
