//! Big numbers: one measure as a large card, with its change against the previous period (when the dashboard's
//! date filter has a range) and a sparkline over the dashboard's date dimension.

use std::sync::Arc;

use lantern_core::Error as CoreError;
use lantern_core::query::ResultTable;
use lantern_core::shape::{Aggregate, Grain, GroupKey, Query, Sort};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Ask, Chart, Compiler, Context, Kind};

pub const KIND: Kind = Kind {
    name: "big_number",
    compile,
};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    pub y: String,
    /// Draw a trend line under the number.
    #[serde(default = "yes")]
    pub sparkline: bool,
    /// The sparkline's time bucket.
    #[serde(default = "week")]
    pub grain: Grain,
    /// Compare with the previous period of equal length.
    #[serde(default = "yes")]
    pub compare: bool,
}

fn yes() -> bool {
    true
}

fn week() -> Grain {
    Grain::Week
}

#[derive(Debug)]
pub struct BigNumber {
    options: Options,
}

fn compile(c: &Compiler) -> Result<Box<dyn Chart>, CoreError> {
    let options: Options = c.options()?;
    c.measure(&options.y, "y")?;
    if options.sparkline && c.date_dimension().is_none() {
        return Err(c.error(
            "sparkline",
            "a sparkline runs over the dashboard's date filter; add a date_range filter or set `sparkline: false`",
        ));
    }
    Ok(Box::new(BigNumber { options }))
}

impl Chart for BigNumber {
    fn asks(&self, ctx: &Context) -> Vec<Ask> {
        let total = Query::Aggregate(Aggregate {
            measures: vec![self.options.y.clone()],
            ..Default::default()
        });
        let mut asks = vec![Ask::now(total.clone())];
        if let (true, Some(date)) = (self.options.sparkline, ctx.date_dimension) {
            asks.push(Ask::now(Query::Aggregate(Aggregate {
                group_by: vec![GroupKey::Time {
                    dimension: date.to_string(),
                    grain: self.options.grain,
                }],
                measures: vec![self.options.y.clone()],
                sort: vec![Sort::asc(date)],
                ..Default::default()
            })));
        }
        if self.options.compare {
            asks.push(Ask {
                query: total,
                previous: true,
            });
        }
        asks
    }

    fn export(&self, ctx: &Context) -> Option<Query> {
        self.asks(ctx).into_iter().nth(1).map(|a| a.query)
    }

    fn build(&self, results: &[Option<Arc<ResultTable>>], ctx: &Context) -> Value {
        let m = &self.options.y;
        let asks = self.asks(ctx);
        let value_of = |t: &Option<Arc<ResultTable>>| {
            t.as_ref()
                .and_then(|t| {
                    t.column_index(m)
                        .and_then(|i| t.rows.first().map(|r| r[i].clone()))
                })
                .unwrap_or(Value::Null)
        };
        let mut value = Value::Null;
        let mut spark = Vec::new();
        let mut previous = None;
        for (ask, result) in asks.iter().zip(results) {
            match (&ask.query, ask.previous) {
                (_, true) => {
                    if let (Some(_), Some((from, to))) = (result, ctx.previous) {
                        previous = Some((value_of(result), (from, to)));
                    }
                }
                (Query::Aggregate(a), false) if a.group_by.is_empty() => value = value_of(result),
                _ => {
                    if let Some(t) = result
                        && let Some(i) = t.column_index(m)
                    {
                        spark = t.rows.iter().map(|r| r[i].as_f64()).collect();
                    }
                }
            }
        }
        let card = crate::kpi::card(&ctx.model.measures[m], None, value, previous, &spark);
        json!({ "kpi": card, "lantern": {} })
    }
}

#[cfg(test)]
mod tests {
    use super::super::ChartView;
    use super::super::test_support::*;
    use serde_json::json;
    use std::sync::Arc;

    #[test]
    fn number_change_and_sparkline() {
        let c = chart("{id: b, type: big_number, y: total}");
        let m = model();
        let view = ChartView::default();
        let mut cx = ctx(&m, &view, &no_selection);
        let d = |s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        cx.previous = Some((d("2025-01-01"), d("2025-01-31")));
        assert_eq!(c.asks(&cx).len(), 3);
        let results = vec![
            Some(Arc::new(table(&["total"], vec![vec![json!(12_500)]]))),
            Some(Arc::new(table(
                &["date", "total"],
                vec![
                    vec![json!("2025-02-03"), json!(1)],
                    vec![json!("2025-02-10"), json!(4)],
                ],
            ))),
            Some(Arc::new(table(&["total"], vec![vec![json!(10_000)]]))),
        ];
        let fig = c.build(&results, &cx);
        let k = &fig["kpi"];
        assert_eq!(k["text"], "12.5k");
        assert_eq!(k["change"]["text"], "+25.0%");
        assert_eq!(k["change"]["period"], "vs previous 31 days");
        assert_eq!(k["spark"]["line"], "M0.0,26.0 L100.0,2.0");
    }
}
