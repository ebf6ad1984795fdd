//! Box plots: the distribution of a numeric dimension per value of a category (quartiles, median, whiskers at
//! the minimum and maximum), computed by the query layer, so no rows travel to the browser.

use std::sync::Arc;

use lantern_core::Error as CoreError;
use lantern_core::query::ResultTable;
use lantern_core::semantic::SemanticModel;
use lantern_core::shape::{GroupKey, Query, Sort};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Ask, Chart, Compiler, Context, Kind};

pub const KIND: Kind = Kind {
    name: "box",
    compile,
};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// The category: one box per value.
    pub x: String,
    /// The numeric dimension whose distribution is drawn.
    pub y: String,
    /// Boxes drawn at most (the categories with the most rows).
    #[serde(default = "thirty")]
    pub limit: usize,
}

fn thirty() -> usize {
    30
}

#[derive(Debug)]
pub struct BoxPlot {
    options: Options,
}

fn compile(c: &Compiler) -> Result<Box<dyn Chart>, CoreError> {
    let options: Options = c.options()?;
    c.dimension(&options.x, "x")?;
    c.dimension(&options.y, "y")?;
    super::options::check_limit(c, Some(options.limit), "limit")?;
    Ok(Box::new(BoxPlot { options }))
}

impl Chart for BoxPlot {
    fn asks(&self, _ctx: &Context) -> Vec<Ask> {
        vec![Ask::now(Query::Quantiles {
            group_by: vec![GroupKey::Dimension(self.options.x.clone())],
            value: self.options.y.clone(),
            sort: vec![Sort::desc("count")],
            limit: Some(self.options.limit),
        })]
    }

    fn highlights(&self) -> Vec<String> {
        vec![self.options.x.clone()]
    }

    fn check_model(&self, model: &SemanticModel) -> Result<(), (String, String)> {
        if super::options::is_numeric(model, &self.options.y) {
            Ok(())
        } else {
            Err((
                "y".into(),
                format!(
                    "a box plot needs a numeric dimension; `{}` is not one",
                    self.options.y
                ),
            ))
        }
    }

    fn build(&self, results: &[Option<Arc<ResultTable>>], ctx: &Context) -> Value {
        let o = &self.options;
        let result = super::first(results);
        let col = |n: &str| -> Vec<Value> {
            match result.column_index(n) {
                Some(i) => result.rows.iter().map(|r| r[i].clone()).collect(),
                None => vec![],
            }
        };
        let xs = col(&o.x);
        let names: Vec<String> = xs.iter().map(super::text).collect();
        let selected = (ctx.selected)(&o.x);
        let colors: Vec<&str> = names
            .iter()
            .map(|n| {
                if selected.is_empty() || selected.contains(n) {
                    ctx.theme.colorway[0]
                } else {
                    ctx.theme.line
                }
            })
            .collect();
        // Whiskers reach the furthest values within 1.5 interquartile ranges (Tukey), never past the data.
        let num = |n: &str| -> Vec<Option<f64>> { col(n).iter().map(Value::as_f64).collect() };
        let (q1, q3, lo, hi) = (num("q1"), num("q3"), num("min"), num("max"));
        let fence = |k: usize, upper: bool| -> Value {
            match (q1[k], q3[k], lo[k], hi[k]) {
                (Some(a), Some(b), Some(l), Some(h)) => {
                    let iqr = b - a;
                    json!(if upper {
                        (b + 1.5 * iqr).min(h)
                    } else {
                        (a - 1.5 * iqr).max(l)
                    })
                }
                _ => Value::Null,
            }
        };
        let lower: Vec<Value> = (0..q1.len()).map(|k| fence(k, false)).collect();
        let upper: Vec<Value> = (0..q1.len()).map(|k| fence(k, true)).collect();
        let trace = json!({
            "type": "box",
            "x": names,
            "q1": col("q1"),
            "median": col("median"),
            "q3": col("q3"),
            "lowerfence": lower,
            "upperfence": upper,
            "mean": col("mean"),
            "customdata": xs,
            "boxmean": true,
            "name": super::label_of(ctx.model, &o.y),
            "marker": { "color": colors.first().copied().unwrap_or(ctx.theme.colorway[0]) },
            "fillcolor": format!("{}33", ctx.theme.colorway[0]),
        });
        super::figure(
            ctx.theme,
            json!([trace]),
            json!({
                "xaxis": { "type": "category" },
                "yaxis": { "title": { "text": super::label_of(ctx.model, &o.y) } },
                "showlegend": false,
            }),
            super::click_meta(&[o.x.as_str()], None),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use serde_json::json;

    #[test]
    fn boxes_come_from_quantiles() {
        let c = chart("{id: b, type: box, x: team, y: n}");
        let t = table(
            &["team", "count", "min", "q1", "median", "q3", "max", "mean"],
            vec![vec![
                json!("Web"),
                json!(9),
                json!(1.0),
                json!(2.0),
                json!(3.0),
                json!(4.0),
                json!(9.0),
                json!(3.5),
            ]],
        );
        let fig = build(c.as_ref(), t);
        let d = &fig["data"][0];
        assert_eq!(d["type"], "box");
        assert_eq!(d["median"], json!([3.0]));
        // Tukey fences: q3 + 1.5 × (q3 − q1) = 7, inside the maximum of 9; the lower one stops at the minimum.
        assert_eq!(d["upperfence"], json!([7.0]));
        assert_eq!(d["lowerfence"], json!([1.0]));
        assert!(c.check_model(&model()).is_ok());
        assert!(
            chart("{id: b, type: box, x: team, y: team}")
                .check_model(&model())
                .is_err()
        );
    }
}
