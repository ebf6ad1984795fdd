//! Histograms: a measure (rows by default) per equal-width bin of a numeric dimension, the bins chosen by the
//! query layer over the filtered range. A click on a bar filters the page to that bin's range.

use std::sync::Arc;

use lantern_core::Error as CoreError;
use lantern_core::query::ResultTable;
use lantern_core::semantic::SemanticModel;
use lantern_core::shape::{Aggregate, BIN_WIDTH, GroupKey, Query, ROWS, Sort};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Ask, Chart, Compiler, Context, Kind};

pub const KIND: Kind = Kind {
    name: "histogram",
    compile,
};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// The numeric dimension to bin.
    pub x: String,
    /// About this many bins (rounded to a tidy width).
    #[serde(default = "twenty")]
    pub bins: usize,
    /// The measure per bin; the number of rows by default.
    #[serde(default)]
    pub y: Option<String>,
}

fn twenty() -> usize {
    20
}

#[derive(Debug)]
pub struct Histogram {
    options: Options,
}

fn compile(c: &Compiler) -> Result<Box<dyn Chart>, CoreError> {
    let options: Options = c.options()?;
    c.dimension(&options.x, "x")?;
    if let Some(y) = &options.y {
        c.measure(y, "y")?;
    }
    if !(2..=200).contains(&options.bins) {
        return Err(c.error("bins", "must be between 2 and 200"));
    }
    Ok(Box::new(Histogram { options }))
}

impl Histogram {
    fn measure(&self) -> String {
        self.options.y.clone().unwrap_or_else(|| ROWS.to_string())
    }
}

impl Chart for Histogram {
    fn asks(&self, _ctx: &Context) -> Vec<Ask> {
        vec![Ask::now(Query::Aggregate(Aggregate {
            group_by: vec![GroupKey::Bin {
                dimension: self.options.x.clone(),
                bins: self.options.bins,
            }],
            measures: vec![self.measure()],
            sort: vec![Sort::asc(&self.options.x)],
            ..Default::default()
        }))]
    }

    fn check_model(&self, model: &SemanticModel) -> Result<(), (String, String)> {
        if super::options::is_numeric(model, &self.options.x) {
            Ok(())
        } else {
            Err((
                "x".into(),
                format!(
                    "a histogram bins a numeric dimension; `{}` is not one",
                    self.options.x
                ),
            ))
        }
    }

    fn build(&self, results: &[Option<Arc<ResultTable>>], ctx: &Context) -> Value {
        let o = &self.options;
        let result = super::first(results);
        let m = self.measure();
        let (Some(xi), Some(yi), Some(wi)) = (
            result.column_index(&o.x),
            result.column_index(&m),
            result.column_index(BIN_WIDTH),
        ) else {
            return super::figure(ctx.theme, json!([]), json!({}), json!({}));
        };
        let width = result
            .rows
            .first()
            .and_then(|r| r[wi].as_f64())
            .unwrap_or(1.0);
        let centers: Vec<f64> = result
            .rows
            .iter()
            .map(|r| r[xi].as_f64().unwrap_or(0.0) + width / 2.0)
            .collect();
        // A bin as a filter range `lo..hi`, both inclusive: whole numbers end one below the next bin, others just
        // below it.
        let integer = ctx
            .model
            .dimensions
            .get(&o.x)
            .is_some_and(|d| d.data_type.is_integer());
        let ranges: Vec<String> = result
            .rows
            .iter()
            .map(|r| {
                let lo = r[xi].as_f64().unwrap_or(0.0);
                if integer {
                    format!("{}..{}", trim(lo), trim(lo + width - 1.0))
                } else {
                    format!("{}..{}", trim(lo), lo + width - width * 1e-9)
                }
            })
            .collect();
        let trace = json!({
            "type": "bar",
            "x": centers,
            "y": result.rows.iter().map(|r| r[yi].clone()).collect::<Vec<_>>(),
            "width": width,
            "customdata": ranges,
            "name": super::label_of(ctx.model, &m),
            "marker": { "line": {"width": 1, "color": ctx.theme.surface} },
            "hovertemplate": format!("%{{customdata}}<br>%{{y:,}}<extra></extra>"),
        });
        let mut xaxis = json!({ "title": { "text": super::label_of(ctx.model, &o.x) } });
        if let Some(d) = ctx.model.dimensions.get(&o.x)
            && d.data_type.is_integer()
        {
            xaxis["tickformat"] = json!(",d");
        }
        super::figure(
            ctx.theme,
            json!([trace]),
            json!({ "xaxis": xaxis, "yaxis": super::value_axis(ctx.model, &m), "bargap": 0.02, "showlegend": false }),
            json!({ "click": [o.x], "range": true }),
        )
    }
}

/// A bin edge as short text (`12.5`, not `12.500000000000002`).
fn trim(v: f64) -> String {
    let s = format!("{:.6}", v);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.to_string() }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use serde_json::json;

    #[test]
    fn bins_become_bars_and_ranges() {
        let c = chart("{id: h, type: histogram, x: n, bins: 10}");
        let t = table(
            &["n", "__rows", "__bin_width"],
            vec![
                vec![json!(0.0), json!(3), json!(10.0)],
                vec![json!(10.0), json!(5), json!(10.0)],
            ],
        );
        let fig = build(c.as_ref(), t);
        assert_eq!(fig["data"][0]["x"], json!([5.0, 15.0]));
        assert_eq!(fig["data"][0]["width"], json!(10.0));
        assert_eq!(fig["data"][0]["customdata"][1], "10..19");
        assert_eq!(fig["lantern"]["range"], true);
    }

    #[test]
    fn only_numbers_are_binned() {
        let c = chart("{id: h, type: histogram, x: team}");
        assert!(c.check_model(&model()).is_err());
        assert!(
            chart("{id: h, type: histogram, x: n}")
                .check_model(&model())
                .is_ok()
        );
        assert!(
            try_chart("{id: h, type: histogram, x: n, bins: 1}")
                .unwrap_err()
                .contains("bins")
        );
    }
}
