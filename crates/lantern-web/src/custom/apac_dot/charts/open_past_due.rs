//! Open orders past due: open order lines and their amount by aging bucket (days past the due date), as of the
//! last due date in the filtered data, the report date of a due-date report.

use std::sync::Arc;

use chrono::NaiveDate;
use lantern_core::query::ResultTable;
use lantern_core::shape::{Aggregate, Grain, GroupKey, Query, Sort};
use serde_json::{Value, json};

use super::super::constants::{AGING, DUE, OPEN_AMOUNT, OPEN_LINES};
use crate::charts::{Ask, Chart, Context};
use crate::format::{format_compact, format_value};

#[derive(Debug)]
pub struct OpenPastDue;

/// One aging bucket's totals.
#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    pub label: &'static str,
    pub lines: i64,
    pub amount: f64,
    /// The due dates it covers, `from..to`, for a click to filter by.
    pub range: String,
}

/// Buckets the open lines per due day (`(due, lines, amount)`) by days past `report`, oldest last.
pub fn aging(days: &[(NaiveDate, i64, f64)], report: NaiveDate) -> Vec<Bucket> {
    AGING
        .iter()
        .map(|(first, last, label)| {
            let mut b = Bucket {
                label,
                lines: 0,
                amount: 0.0,
                range: {
                    let to = report - chrono::Duration::days(*first);
                    match last {
                        Some(l) => format!("{}..{to}", report - chrono::Duration::days(*l)),
                        None => format!("..{to}"),
                    }
                },
            };
            for (due, lines, amount) in days {
                let past = (report - *due).num_days();
                if past >= *first && last.is_none_or(|l| past <= l) {
                    b.lines += lines;
                    b.amount += amount;
                }
            }
            b
        })
        .collect()
}

impl Chart for OpenPastDue {
    fn asks(&self, _ctx: &Context) -> Vec<Ask> {
        vec![
            Ask::now(Query::Bounds {
                dimension: DUE.to_string(),
            }),
            Ask::now(Query::Aggregate(Aggregate {
                group_by: vec![GroupKey::Time {
                    dimension: DUE.to_string(),
                    grain: Grain::Day,
                }],
                measures: vec![OPEN_LINES.to_string(), OPEN_AMOUNT.to_string()],
                sort: vec![Sort::asc(DUE)],
                ..Default::default()
            })),
        ]
    }

    fn export(&self, ctx: &Context) -> Option<Query> {
        self.asks(ctx).into_iter().nth(1).map(|a| a.query)
    }

    fn build(&self, results: &[Option<Arc<ResultTable>>], ctx: &Context) -> Value {
        let day = |v: &Value| {
            v.as_str()
                .and_then(|s| NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok())
        };
        let report = results
            .first()
            .cloned()
            .flatten()
            .and_then(|t| t.rows.first().and_then(|r| day(&r[1])));
        let days: Vec<(NaiveDate, i64, f64)> = results
            .get(1)
            .cloned()
            .flatten()
            .map(|t| {
                t.rows
                    .iter()
                    .filter_map(|r| {
                        Some((
                            day(&r[0])?,
                            r[1].as_i64().unwrap_or(0),
                            r[2].as_f64().unwrap_or(0.0),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let Some(report) = report else {
            return crate::charts::figure(ctx.theme, json!([]), json!({}), json!({}));
        };
        let buckets = aging(&days, report);
        let money = ctx.model.measures[OPEN_AMOUNT].format;
        let total_lines: i64 = buckets.iter().map(|b| b.lines).sum();
        let total_amount: f64 = buckets.iter().map(|b| b.amount).sum();
        let colors: Vec<&str> = (0..buckets.len())
            .map(|i| ctx.theme.colorway[[2, 0, 5, 5][i.min(3)]])
            .collect();
        let trace = json!({
            "type": "bar",
            "x": buckets.iter().map(|b| b.label).collect::<Vec<_>>(),
            "y": buckets.iter().map(|b| b.lines).collect::<Vec<_>>(),
            "text": buckets.iter().map(|b| format_compact(&json!(b.amount), money)).collect::<Vec<_>>(),
            "textposition": "outside",
            "customdata": buckets.iter().map(|b| b.range.clone()).collect::<Vec<_>>(),
            "marker": { "color": colors },
            "hovertemplate": "%{x}: %{y:,} open lines, %{text}<extra></extra>",
            "cliponaxis": false,
        });
        crate::charts::figure(
            ctx.theme,
            json!([trace]),
            json!({
                "xaxis": { "type": "category" },
                "yaxis": { "tickformat": ",d", "rangemode": "tozero", "title": { "text": "Open lines" } },
                "showlegend": false,
                "margin": { "t": 36 },
                "annotations": [{
                    "text": format!(
                        "<b>{}</b> open lines past due · <b>{}</b> · as of {report}",
                        format_value(&json!(total_lines), lantern_core::semantic::Format::Integer),
                        format_compact(&json!(total_amount), money),
                    ),
                    "xref": "paper", "yref": "paper", "x": 0, "y": 1.12, "showarrow": false,
                    "xanchor": "left", "font": { "size": 13 },
                }],
            }),
            json!({ "click": [DUE], "range": true }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_lines_fall_into_aging_buckets() {
        let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let report = d("2025-12-31");
        let days = vec![
            (d("2025-12-31"), 5, 50.0), // due today: not past due
            (d("2025-12-30"), 1, 10.0), // 1 day
            (d("2025-12-01"), 2, 20.0), // 30 days
            (d("2025-11-30"), 3, 30.0), // 31 days
            (d("2025-10-02"), 4, 40.0), // 90 days
            (d("2025-01-15"), 6, 60.0), // 350 days
        ];
        let b = aging(&days, report);
        let lines: Vec<i64> = b.iter().map(|b| b.lines).collect();
        assert_eq!(lines, vec![3, 3, 4, 6]);
        assert_eq!(b[0].range, "2025-12-01..2025-12-30");
        assert_eq!(b[3].range, "..2025-10-01");
        assert_eq!(b[3].amount, 60.0);
    }
}
