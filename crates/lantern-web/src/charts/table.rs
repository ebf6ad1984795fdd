//! Tables: dimensions and measures side by side, sorted and paged on the server (a click on a header sorts, the
//! pager fetches the next page), measures formatted by their format, optional colour scales and conditional
//! tones. A click on a row filters the rest of the page by its dimension values.

use std::collections::HashMap;
use std::sync::Arc;

use lantern_core::Error as CoreError;
use lantern_core::query::ResultTable;
use lantern_core::semantic::Format;
use lantern_core::shape::{Aggregate, GroupKey, Query, Sort};
use serde::Deserialize;
use serde_json::{Value, json};

use super::grid::{Cell, Grid, HeadCell, Paging, Row, filter_text, scale};
use super::options::OneOrMany;
use super::{Ask, Chart, Compiler, Context, Kind};
use crate::format::format_value;

pub const KIND: Kind = Kind {
    name: "table",
    compile,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tone {
    Good,
    Bad,
    Warn,
}

impl Tone {
    fn as_str(self) -> &'static str {
        match self {
            Tone::Good => "good",
            Tone::Bad => "bad",
            Tone::Warn => "warn",
        }
    }
}

/// A conditional style: cells of `column` above or below a value get a tone.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub column: String,
    #[serde(default)]
    pub above: Option<f64>,
    #[serde(default)]
    pub below: Option<f64>,
    pub tone: Tone,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// Dimension columns, in order.
    pub x: OneOrMany,
    /// Measure columns, in order.
    pub y: OneOrMany,
    /// `column` or `-column` (descending); the first measure descending by default.
    #[serde(default)]
    pub sort: Option<String>,
    #[serde(default = "ten")]
    pub page_size: usize,
    /// Rows shown at most over all pages (a "top N" table).
    #[serde(default)]
    pub limit: Option<usize>,
    /// Measures shaded by a colour scale.
    #[serde(default)]
    pub heat: Vec<String>,
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// Formats that override the measures' own.
    #[serde(default)]
    pub formats: HashMap<String, Format>,
}

fn ten() -> usize {
    10
}

#[derive(Debug)]
pub struct Table {
    options: Options,
    dims: Vec<String>,
    measures: Vec<String>,
}

fn compile(c: &Compiler) -> Result<Box<dyn Chart>, CoreError> {
    let options: Options = c.options()?;
    let dims = options.x.check_dimensions(c, "x")?;
    let measures = options.y.check_measures(c, "y")?;
    let columns: Vec<&String> = dims.iter().chain(&measures).collect();
    if let Some(s) = &options.sort {
        let name = s.strip_prefix('-').unwrap_or(s);
        if !columns.iter().any(|c| *c == name) {
            return Err(c.error(
                "sort",
                format!("`{name}` is not one of the table's columns"),
            ));
        }
    }
    if !(1..=500).contains(&options.page_size) {
        return Err(c.error("page_size", "must be between 1 and 500"));
    }
    super::options::check_limit(c, options.limit, "limit")?;
    for (i, h) in options.heat.iter().enumerate() {
        if !measures.contains(h) {
            return Err(c.error(
                &format!("heat[{i}]"),
                format!("`{h}` is not one of the table's measures"),
            ));
        }
    }
    for (i, r) in options.rules.iter().enumerate() {
        if !columns.iter().any(|c| **c == r.column) {
            return Err(c.error(
                &format!("rules[{i}].column"),
                format!("`{}` is not one of the table's columns", r.column),
            ));
        }
        if r.above.is_none() && r.below.is_none() {
            return Err(c.error(&format!("rules[{i}]"), "give `above` or `below`"));
        }
    }
    for name in options.formats.keys() {
        if !measures.contains(name) {
            return Err(c.error(
                &format!("formats.{name}"),
                format!("`{name}` is not one of the table's measures"),
            ));
        }
    }
    Ok(Box::new(Table {
        options,
        dims,
        measures,
    }))
}

impl Table {
    /// The reader's sort if it names a column, else the spec's, else the first measure descending.
    fn sort(&self, ctx: &Context) -> (String, bool) {
        let known = |c: &str| self.dims.iter().chain(&self.measures).any(|x| x == c);
        if let Some((c, asc)) = &ctx.view.sort
            && known(c)
        {
            return (c.clone(), *asc);
        }
        match &self.options.sort {
            Some(s) => match s.strip_prefix('-') {
                Some(c) => (c.to_string(), false),
                None => (s.clone(), true),
            },
            None => (self.measures[0].clone(), false),
        }
    }

    fn page_size(&self) -> usize {
        self.options.page_size
    }

    /// A "top N" table with a small enough cap is asked for all its rows once and paged here: one query instead
    /// of a page plus a count of the groups (which costs as much again), and every page answered from the cache.
    fn pages_in_memory(&self) -> bool {
        self.options.limit.is_some_and(|cap| cap <= PAGED_IN_MEMORY)
    }

    fn query(&self, ctx: &Context, paged: bool) -> Query {
        let (column, asc) = self.sort(ctx);
        let size = self.page_size();
        let cap = self.options.limit.unwrap_or(usize::MAX);
        let offset = if paged {
            (ctx.view.page * size).min(cap)
        } else {
            0
        };
        let limit = if paged {
            Some(size.min(cap.saturating_sub(offset)))
        } else {
            self.options.limit
        };
        Query::Aggregate(Aggregate {
            group_by: GroupKey::dims(&self.dims),
            measures: self.measures.clone(),
            sort: vec![Sort {
                column,
                ascending: asc,
            }],
            offset,
            limit,
            ..Default::default()
        })
    }
}

/// The largest row cap of a table paged in memory ([`Table::pages_in_memory`]).
const PAGED_IN_MEMORY: usize = 1000;

impl Chart for Table {
    fn asks(&self, ctx: &Context) -> Vec<Ask> {
        if self.pages_in_memory() {
            return vec![Ask::now(self.query(ctx, false))];
        }
        vec![
            Ask::now(self.query(ctx, true)),
            Ask::now(Query::Count {
                group_by: GroupKey::dims(&self.dims),
            }),
        ]
    }

    /// Only the first dimension: a click on a row highlights it here and filters the rest of the page, while
    /// filters on the other columns (a team, for a table of users) still narrow the table.
    fn highlights(&self) -> Vec<String> {
        self.dims.iter().take(1).cloned().collect()
    }

    fn export(&self, ctx: &Context) -> Option<Query> {
        Some(self.query(ctx, false))
    }

    fn build(&self, results: &[Option<Arc<ResultTable>>], ctx: &Context) -> Value {
        let result = super::first(results);
        let size = self.page_size();
        // The rows of this page: all of them came when the table pages in memory.
        let (total, shown) = if self.pages_in_memory() {
            let start = (ctx.view.page * size).min(result.rows.len());
            let end = (start + size).min(result.rows.len());
            (result.rows.len(), start..end)
        } else {
            let total = results
                .get(1)
                .cloned()
                .flatten()
                .and_then(|t| t.rows.first().and_then(|r| r[0].as_u64()))
                .unwrap_or(result.rows.len() as u64) as usize;
            (
                total.min(self.options.limit.unwrap_or(usize::MAX)),
                0..result.rows.len(),
            )
        };
        let model = ctx.model;
        let head = vec![
            self.dims
                .iter()
                .map(|d| HeadCell {
                    sort: Some(d.clone()),
                    ..HeadCell::new(super::label_of(model, d), false)
                })
                .chain(self.measures.iter().map(|m| HeadCell {
                    sort: Some(m.clone()),
                    ..HeadCell::new(super::label_of(model, m), true)
                }))
                .collect(),
        ];
        let index: Vec<Option<usize>> = self
            .dims
            .iter()
            .chain(&self.measures)
            .map(|c| result.column_index(c))
            .collect();
        let scales: HashMap<&str, _> = self
            .options
            .heat
            .iter()
            .map(|h| {
                let i = result.column_index(h);
                let values: Vec<Option<f64>> = result
                    .rows
                    .iter()
                    .map(|r| i.and_then(|i| r[i].as_f64()))
                    .collect();
                (h.as_str(), scale(&values))
            })
            .collect();
        let highlighted = self.highlights();
        let selections: Vec<Vec<String>> = self
            .dims
            .iter()
            .map(|d| {
                if highlighted.contains(d) {
                    (ctx.selected)(d)
                } else {
                    Vec::new()
                }
            })
            .collect();
        let rows = result.rows[shown]
            .iter()
            .map(|r| {
                let mut f = Vec::new();
                let mut selected = false;
                let mut cells = Vec::new();
                for (k, d) in self.dims.iter().enumerate() {
                    let v = index[k].map(|i| r[i].clone()).unwrap_or(Value::Null);
                    if let Some(t) = filter_text(&v) {
                        selected |= selections[k].contains(&t);
                        f.push((d.clone(), t));
                    }
                    cells.push(Cell {
                        text: super::text(&v),
                        ..Default::default()
                    });
                }
                for (k, m) in self.measures.iter().enumerate() {
                    let v = index[self.dims.len() + k]
                        .map(|i| r[i].clone())
                        .unwrap_or(Value::Null);
                    let format = self
                        .options
                        .formats
                        .get(m)
                        .copied()
                        .unwrap_or(model.measures[m].format);
                    let x = v.as_f64();
                    let tone = self
                        .options
                        .rules
                        .iter()
                        .filter(|rule| &rule.column == m)
                        .find(|rule| {
                            x.is_some_and(|x| {
                                rule.above.is_some_and(|a| x > a)
                                    || rule.below.is_some_and(|b| x < b)
                            })
                        })
                        .map(|rule| rule.tone.as_str());
                    let heat = scales.get(m.as_str()).and_then(|s| s(x));
                    cells.push(Cell {
                        text: format_value(&v, format),
                        num: true,
                        heat,
                        tone,
                        ..Default::default()
                    });
                }
                Row {
                    cells,
                    f,
                    selected,
                    ..Default::default()
                }
            })
            .collect();
        let grid = Grid {
            head,
            rows,
            page: Some(Paging {
                page: ctx.view.page + 1,
                pages: total.div_ceil(size).max(1),
                total,
                size,
            }),
            sort: Some(self.sort(ctx)),
            empty: "No rows for these filters",
        };
        json!({ "table": grid, "lantern": { "click": self.dims } })
    }
}

#[cfg(test)]
mod tests {
    use super::super::ChartView;
    use super::super::test_support::*;
    use lantern_core::shape::Query;
    use serde_json::json;
    use std::sync::Arc;

    #[test]
    fn formats_pages_and_filters_by_row() {
        let c = chart(
            "{id: c, type: table, x: [team, model], y: total, page_size: 2, rules: [{column: total, above: 4, tone: good}], heat: [total]}",
        );
        let m = model();
        let view = ChartView {
            page: 1,
            ..Default::default()
        };
        let cx = ctx(&m, &view, &no_selection);
        let asks = c.asks(&cx);
        let Query::Aggregate(a) = &asks[0].query else {
            panic!()
        };
        assert_eq!((a.offset, a.limit), (2, Some(2)));
        assert_eq!(a.sort[0].column, "total");
        let fig = c.build(
            &[
                Some(Arc::new(by_team_and_model())),
                Some(Arc::new(table(&["count"], vec![vec![json!(5)]]))),
            ],
            &cx,
        );
        let g = &fig["table"];
        assert_eq!(g["head"][0][2]["text"], "Total");
        assert_eq!(g["rows"][0]["cells"][2]["text"], "5");
        assert_eq!(g["rows"][0]["cells"][2]["tone"], "good");
        assert!(g["rows"][1]["cells"][2].get("tone").is_none());
        assert_eq!(g["rows"][2]["f"], json!([["team", "ML"], ["model", "gpt"]]));
        assert_eq!(g["page"]["pages"], 3);
        assert_eq!(g["page"]["page"], 2);
        // Exports have every row, no page.
        let Some(Query::Aggregate(e)) = c.export(&cx) else {
            panic!()
        };
        assert_eq!((e.offset, e.limit), (0, None));
    }

    #[test]
    fn a_capped_table_is_asked_once_and_paged_in_memory() {
        let c = chart("{id: c, type: table, x: [team, model], y: total, page_size: 2, limit: 200}");
        let m = model();
        let view = ChartView {
            page: 1,
            ..Default::default()
        };
        let cx = ctx(&m, &view, &no_selection);
        let asks = c.asks(&cx);
        assert_eq!(asks.len(), 1, "no count of groups");
        let Query::Aggregate(a) = &asks[0].query else {
            panic!()
        };
        assert_eq!((a.offset, a.limit), (0, Some(200)));
        let fig = c.build(&[Some(Arc::new(by_team_and_model()))], &cx);
        let g = &fig["table"];
        let rows = g["rows"].as_array().unwrap();
        assert_eq!(
            rows.len(),
            1,
            "the second page of two rows holds the third row"
        );
        assert_eq!(rows[0]["f"], json!([["team", "ML"], ["model", "gpt"]]));
        assert_eq!(
            (g["page"]["total"].as_u64(), g["page"]["pages"].as_u64()),
            (Some(3), Some(2))
        );
    }

    #[test]
    fn bad_options_name_their_field() {
        let err = try_chart("{id: c, type: table, x: team, y: total, sort: -cost}").unwrap_err();
        assert!(err.contains("charts[0].sort"), "{err}");
        let err = try_chart("{id: c, type: table, x: team, y: total, heat: [rate]}").unwrap_err();
        assert!(err.contains("charts[0].heat[0]"), "{err}");
    }
}
