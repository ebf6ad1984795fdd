//! Pivot tables: row dimensions × column dimensions (a date bucketed by `grain`), several measures per cell
//! (ratios such as an on-time rate included: every total is computed from the rows, never summed from cells),
//! row and column totals, subtotals per leading row dimension, and a colour scale on the first measure. A click
//! on a cell filters the page by its row and column values.

use std::collections::HashMap;
use std::sync::Arc;

use lantern_core::Error as CoreError;
use lantern_core::query::ResultTable;
use lantern_core::semantic::SemanticModel;
use lantern_core::shape::{Aggregate, Grain, GroupKey, Query, Sort};
use serde::Deserialize;
use serde_json::{Value, json};

use super::grid::{Cell, Grid, HeadCell, Row, bucket_filter, filter_text, scale};
use super::options::{OneOrMany, x_key};
use super::{Ask, Chart, Compiler, Context, Kind};
use crate::format::format_value;

pub const KIND: Kind = Kind {
    name: "pivot",
    compile,
};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    pub rows: OneOrMany,
    #[serde(default)]
    pub columns: Option<OneOrMany>,
    pub measures: OneOrMany,
    /// Time bucket for date dimensions.
    #[serde(default = "month")]
    pub grain: Grain,
    /// A total row and a total column.
    #[serde(default = "yes")]
    pub totals: bool,
    /// A subtotal row after each value of every row dimension but the last.
    #[serde(default = "yes")]
    pub subtotals: bool,
    /// Shade cells by the first measure.
    #[serde(default = "yes")]
    pub color: bool,
    /// Columns shown at most.
    #[serde(default = "max_columns")]
    pub max_columns: usize,
}

fn month() -> Grain {
    Grain::Month
}

fn yes() -> bool {
    true
}

fn max_columns() -> usize {
    36
}

/// A compiled pivot; custom Rust pages build one with [`Pivot::new`].
#[derive(Debug, Clone)]
pub struct Pivot {
    pub rows: Vec<String>,
    pub columns: Vec<String>,
    pub measures: Vec<String>,
    pub grain: Grain,
    pub totals: bool,
    pub subtotals: bool,
    pub color: bool,
    pub max_columns: usize,
}

fn compile(c: &Compiler) -> Result<Box<dyn Chart>, CoreError> {
    let o: Options = c.options()?;
    let rows = o.rows.check_dimensions(c, "rows")?;
    let columns = match &o.columns {
        Some(cols) => cols.check_dimensions(c, "columns")?,
        None => vec![],
    };
    let measures = o.measures.check_measures(c, "measures")?;
    if let Some(d) = rows.iter().find(|r| columns.contains(r)) {
        return Err(c.error("columns", format!("`{d}` is already a row dimension")));
    }
    if o.max_columns == 0 {
        return Err(c.error("max_columns", "must be at least 1"));
    }
    Ok(Box::new(Pivot {
        rows,
        columns,
        measures,
        grain: o.grain,
        totals: o.totals,
        subtotals: o.subtotals,
        color: o.color,
        max_columns: o.max_columns,
    }))
}

/// Row keys and column keys of one result row, as JSON values.
type Key = Vec<Value>;

/// Measure values by (row prefix, column key), for one aggregation level.
type Level = HashMap<(Key, Key), Vec<Value>>;

impl Pivot {
    /// A pivot with totals, subtotals and a colour scale.
    pub fn new(
        rows: Vec<String>,
        columns: Vec<String>,
        measures: Vec<String>,
        grain: Grain,
    ) -> Self {
        Self {
            rows,
            columns,
            measures,
            grain,
            totals: true,
            subtotals: true,
            color: true,
            max_columns: max_columns(),
        }
    }

    /// The aggregation levels asked for, as (row dimensions kept, with the column dimensions), finest first.
    fn levels(&self) -> Vec<(usize, bool)> {
        let n = self.rows.len();
        let mut out = Vec::new();
        for k in (0..=n).rev() {
            let wanted = k == n || (k == 0 && self.totals) || (k > 0 && self.subtotals);
            if !wanted {
                continue;
            }
            if !self.columns.is_empty() {
                out.push((k, true));
            }
            if self.columns.is_empty() || self.totals {
                out.push((k, false));
            }
        }
        out
    }

    fn key(&self, model: &SemanticModel, d: &str) -> GroupKey {
        x_key(model, d, self.grain)
    }

    fn query(&self, model: &SemanticModel, k: usize, with_cols: bool) -> Query {
        let mut dims: Vec<&String> = self.rows[..k].iter().collect();
        if with_cols {
            dims.extend(&self.columns);
        }
        Query::Aggregate(Aggregate {
            group_by: dims.iter().map(|d| self.key(model, d)).collect(),
            measures: self.measures.clone(),
            sort: dims.iter().map(|d| Sort::asc(d.as_str())).collect(),
            ..Default::default()
        })
    }

    fn label(&self, model: &SemanticModel, d: &str, v: &Value) -> String {
        if super::options::is_temporal(model, d)
            && let Some(date) = v
                .as_str()
                .and_then(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        {
            return self.grain.label(date);
        }
        super::text(v)
    }

    /// The filter pair for dimension `d` at value `v` (a date bucket as its range).
    fn pair(&self, model: &SemanticModel, d: &str, v: &Value) -> Option<(String, String)> {
        let text = if super::options::is_temporal(model, d) {
            bucket_filter(self.grain, v)?
        } else {
            filter_text(v)?
        };
        Some((d.to_string(), text))
    }
}

impl Chart for Pivot {
    fn asks(&self, ctx: &Context) -> Vec<Ask> {
        self.levels()
            .into_iter()
            .map(|(k, c)| Ask::now(self.query(ctx.model, k, c)))
            .collect()
    }

    fn export(&self, ctx: &Context) -> Option<Query> {
        Some(self.query(ctx.model, self.rows.len(), !self.columns.is_empty()))
    }

    fn build(&self, results: &[Option<Arc<ResultTable>>], ctx: &Context) -> Value {
        let model = ctx.model;
        let n = self.rows.len();
        let levels = self.levels();
        // (k, with_cols) → (row prefix, column key) → measure values.
        let mut cells: HashMap<(usize, bool), Level> = HashMap::new();
        let mut row_keys: Vec<Key> = Vec::new();
        let mut col_keys: Vec<Key> = Vec::new();
        for ((k, with_cols), result) in levels.iter().zip(results) {
            let Some(t) = result else { continue };
            let idx = |d: &str| t.column_index(d);
            let ri: Vec<Option<usize>> = self.rows[..*k].iter().map(|d| idx(d)).collect();
            let ci: Vec<Option<usize>> = if *with_cols {
                self.columns.iter().map(|d| idx(d)).collect()
            } else {
                vec![]
            };
            let mi: Vec<Option<usize>> = self.measures.iter().map(|m| idx(m)).collect();
            let get =
                |r: &Vec<Value>, i: &Option<usize>| i.map(|i| r[i].clone()).unwrap_or(Value::Null);
            let map = cells.entry((*k, *with_cols)).or_default();
            for r in &t.rows {
                let rk: Key = ri.iter().map(|i| get(r, i)).collect();
                let ck: Key = ci.iter().map(|i| get(r, i)).collect();
                if *k == n {
                    if !row_keys.contains(&rk) {
                        row_keys.push(rk.clone());
                    }
                    if *with_cols && !col_keys.contains(&ck) {
                        col_keys.push(ck.clone());
                    }
                }
                map.insert((rk, ck), mi.iter().map(|i| get(r, i)).collect());
            }
        }
        let by_values = |a: &Key, b: &Key| {
            a.iter()
                .zip(b)
                .map(|(x, y)| super::grid::compare_values(x, y))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        };
        row_keys.sort_by(by_values);
        col_keys.sort_by(by_values);
        col_keys.truncate(self.max_columns);
        let has_cols = !self.columns.is_empty();
        let m = self.measures.len();
        let total_col = !has_cols || self.totals;

        // Header.
        let col_label = |ck: &Key| {
            ck.iter()
                .zip(&self.columns)
                .map(|(v, d)| self.label(model, d, v))
                .collect::<Vec<_>>()
                .join(" · ")
        };
        let two_rows = m > 1 && has_cols;
        let mut top: Vec<HeadCell> = self
            .rows
            .iter()
            .map(|d| HeadCell {
                rowspan: if two_rows { 2 } else { 1 },
                ..HeadCell::new(super::label_of(model, d), false)
            })
            .collect();
        let mut second: Vec<HeadCell> = Vec::new();
        let measure_heads = || {
            self.measures
                .iter()
                .map(|x| HeadCell::new(super::label_of(model, x), true))
        };
        if has_cols {
            for ck in &col_keys {
                if two_rows {
                    top.push(HeadCell {
                        colspan: m,
                        ..HeadCell::new(col_label(ck), true)
                    });
                    second.extend(measure_heads());
                } else {
                    top.push(HeadCell::new(col_label(ck), true));
                }
            }
            if total_col {
                if two_rows {
                    top.push(HeadCell {
                        colspan: m,
                        ..HeadCell::new("Total", true)
                    });
                    second.extend(measure_heads());
                } else {
                    top.push(HeadCell::new("Total", true));
                }
            }
        } else {
            top.extend(measure_heads());
        }
        let mut head = vec![top];
        if two_rows {
            head.push(second);
        }

        // The colour scale over the detail cells of the first measure.
        let detail = cells.get(&(n, has_cols));
        let firsts: Vec<Option<f64>> = detail
            .map(|d| {
                d.values()
                    .map(|v| v.first().and_then(Value::as_f64))
                    .collect()
            })
            .unwrap_or_default();
        let shade = scale(&firsts);

        let value_cells = |k: usize, rk: &Key, base: &[(String, String)]| -> Vec<Cell> {
            let mut out = Vec::new();
            let mut push =
                |values: Option<&Vec<Value>>, pairs: Vec<(String, String)>, shaded: bool| {
                    for (j, measure) in self.measures.iter().enumerate() {
                        let v = values
                            .and_then(|v| v.get(j))
                            .cloned()
                            .unwrap_or(Value::Null);
                        let heat = (self.color && shaded && j == 0)
                            .then(|| shade(v.as_f64()))
                            .flatten();
                        out.push(Cell {
                            text: if v.is_null() {
                                String::new()
                            } else {
                                format_value(&v, model.measures[measure].format)
                            },
                            num: true,
                            heat,
                            f: Some(pairs.clone()),
                            ..Default::default()
                        });
                    }
                };
            if has_cols {
                let level = cells.get(&(k, true));
                for ck in &col_keys {
                    let mut pairs = base.to_vec();
                    pairs.extend(
                        ck.iter()
                            .zip(&self.columns)
                            .filter_map(|(v, d)| self.pair(model, d, v)),
                    );
                    push(
                        level.and_then(|l| l.get(&(rk.clone(), ck.clone()))),
                        pairs,
                        k == n,
                    );
                }
            }
            if total_col {
                let level = cells.get(&(k, false));
                push(
                    level.and_then(|l| l.get(&(rk.clone(), vec![]))),
                    base.to_vec(),
                    k == n && !has_cols,
                );
            }
            out
        };

        let has_level = |k: usize| levels.iter().any(|(l, _)| *l == k);
        let mut rows: Vec<Row> = Vec::new();
        for (i, rk) in row_keys.iter().enumerate() {
            // One pair per row dimension, `None` for a null value (no filter can name it), so that a prefix of
            // the dimensions is a prefix of this list.
            let by_dim: Vec<Option<(String, String)>> = rk
                .iter()
                .zip(&self.rows)
                .map(|(v, d)| self.pair(model, d, v))
                .collect();
            let prefix_pairs = |k: usize| -> Vec<(String, String)> {
                by_dim[..k].iter().flatten().cloned().collect()
            };
            let base = prefix_pairs(n);
            let mut row_cells: Vec<Cell> = rk
                .iter()
                .zip(&self.rows)
                .enumerate()
                .map(|(j, (v, d))| {
                    // Repeated leading values are blanked, like a grouped report.
                    let repeated = i > 0 && j + 1 < n && row_keys[i - 1][..=j] == rk[..=j];
                    Cell {
                        text: if repeated {
                            String::new()
                        } else {
                            self.label(model, d, v)
                        },
                        f: Some(prefix_pairs(j + 1)),
                        ..Default::default()
                    }
                })
                .collect();
            row_cells.extend(value_cells(n, rk, &base));
            rows.push(Row {
                cells: row_cells,
                f: base.clone(),
                ..Default::default()
            });
            // Subtotals for every prefix that ends here.
            for k in (1..n).rev() {
                let ends = row_keys.get(i + 1).is_none_or(|next| next[..k] != rk[..k]);
                if !ends || !has_level(k) {
                    continue;
                }
                let prefix: Key = rk[..k].to_vec();
                let pairs = prefix_pairs(k);
                let mut c: Vec<Cell> = (0..n)
                    .map(|j| Cell {
                        text: if j < k {
                            self.label(model, &self.rows[j], &rk[j])
                        } else if j == k {
                            "Subtotal".into()
                        } else {
                            String::new()
                        },
                        ..Default::default()
                    })
                    .collect();
                c.extend(value_cells(k, &prefix, &pairs));
                rows.push(Row {
                    cells: c,
                    cls: Some("subtotal"),
                    f: pairs,
                    ..Default::default()
                });
            }
        }
        if has_level(0) && !row_keys.is_empty() {
            let mut c: Vec<Cell> = (0..n)
                .map(|j| Cell {
                    text: if j == 0 {
                        "Total".into()
                    } else {
                        String::new()
                    },
                    ..Default::default()
                })
                .collect();
            c.extend(value_cells(0, &vec![], &[]));
            rows.push(Row {
                cells: c,
                cls: Some("total"),
                ..Default::default()
            });
        }
        let grid = Grid {
            head,
            rows,
            empty: "No rows for these filters",
            ..Default::default()
        };
        json!({ "table": grid, "lantern": { "click": self.rows, "pivot": true } })
    }
}

#[cfg(test)]
mod tests {
    use super::super::ChartView;
    use super::super::test_support::*;
    use serde_json::{Value, json};
    use std::sync::Arc;

    fn results(c: &dyn super::Chart) -> Vec<Option<Arc<lantern_core::query::ResultTable>>> {
        // levels: (2, cols), (2, no cols), (1, cols), (1, no cols), (0, cols), (0, no cols)
        let m = model();
        let view = ChartView::default();
        assert_eq!(c.asks(&ctx(&m, &view, &no_selection)).len(), 6);
        vec![
            table(
                &["team", "model", "date", "total"],
                vec![
                    vec![json!("ML"), json!("gpt"), json!("2025-01-01"), json!(1)],
                    vec![json!("Web"), json!("gpt"), json!("2025-01-01"), json!(2)],
                    vec![json!("Web"), json!("gpt"), json!("2025-02-01"), json!(3)],
                    vec![json!("Web"), json!("o3"), json!("2025-02-01"), json!(4)],
                ],
            ),
            table(
                &["team", "model", "total"],
                vec![
                    vec![json!("ML"), json!("gpt"), json!(1)],
                    vec![json!("Web"), json!("gpt"), json!(5)],
                    vec![json!("Web"), json!("o3"), json!(4)],
                ],
            ),
            table(
                &["team", "date", "total"],
                vec![
                    vec![json!("ML"), json!("2025-01-01"), json!(1)],
                    vec![json!("Web"), json!("2025-01-01"), json!(2)],
                    vec![json!("Web"), json!("2025-02-01"), json!(7)],
                ],
            ),
            table(
                &["team", "total"],
                vec![vec![json!("ML"), json!(1)], vec![json!("Web"), json!(9)]],
            ),
            table(
                &["date", "total"],
                vec![
                    vec![json!("2025-01-01"), json!(3)],
                    vec![json!("2025-02-01"), json!(7)],
                ],
            ),
            table(&["total"], vec![vec![json!(10)]]),
        ]
        .into_iter()
        .map(|t| Some(Arc::new(t)))
        .collect()
    }

    fn texts(row: &Value) -> Vec<String> {
        row["cells"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["text"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn a_null_leading_value_leaves_the_other_dimensions_clickable_and_numbers_sort_by_value() {
        let c = chart("{id: p, type: pivot, rows: [team, model], measures: total}");
        let m = model();
        let view = ChartView::default();
        assert_eq!(c.asks(&ctx(&m, &view, &no_selection)).len(), 3);
        let results: Vec<_> = [
            table(
                &["team", "model", "total"],
                vec![
                    vec![json!(null), json!("o3"), json!(2)],
                    vec![json!("Web"), json!("10"), json!(1)],
                ],
            ),
            table(
                &["team", "total"],
                vec![vec![json!(null), json!(2)], vec![json!("Web"), json!(1)]],
            ),
            table(&["total"], vec![vec![json!(3)]]),
        ]
        .into_iter()
        .map(|t| Some(Arc::new(t)))
        .collect();
        let fig = c.build(&results, &ctx(&m, &view, &no_selection));
        let rows = fig["table"]["rows"].as_array().unwrap();
        let null_row = rows.iter().find(|r| r["cells"][1]["text"] == "o3").unwrap();
        // The model cell of the row whose team is null filters by the model alone, not by the model as a team.
        assert_eq!(null_row["cells"][1]["f"], json!([["model", "o3"]]));
        assert_eq!(null_row["cells"][0]["f"], json!([]));
        assert_eq!(null_row["f"], json!([["model", "o3"]]));
        // Nulls sort last.
        assert_eq!(rows[0]["cells"][0]["text"], "Web");
    }

    #[test]
    fn rows_columns_subtotals_and_totals() {
        let c = chart("{id: p, type: pivot, rows: [team, model], columns: date, measures: total}");
        let m = model();
        let view = ChartView::default();
        let fig = c.build(&results(c.as_ref()), &ctx(&m, &view, &no_selection));
        let g = &fig["table"];
        let head: Vec<&str> = g["head"][0]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["text"].as_str().unwrap())
            .collect();
        assert_eq!(head, vec!["Team", "Model", "Jan 2025", "Feb 2025", "Total"]);
        let rows = g["rows"].as_array().unwrap();
        assert_eq!(texts(&rows[0]), vec!["ML", "gpt", "1", "", "1"]);
        assert_eq!(texts(&rows[1]), vec!["ML", "Subtotal", "1", "", "1"]);
        assert_eq!(texts(&rows[2]), vec!["Web", "gpt", "2", "3", "5"]);
        assert_eq!(texts(&rows[3]), vec!["", "o3", "", "4", "4"]);
        assert_eq!(texts(&rows[4]), vec!["Web", "Subtotal", "2", "7", "9"]);
        assert_eq!(texts(&rows[5]), vec!["Total", "", "3", "7", "10"]);
        assert_eq!(rows[4]["cls"], "subtotal");
        // A cell filters by its row and its column's date range.
        assert_eq!(
            rows[2]["cells"][3]["f"],
            json!([
                ["team", "Web"],
                ["model", "gpt"],
                ["date", "2025-02-01..2025-02-28"]
            ])
        );
        assert!(rows[2]["cells"][3]["heat"].is_number());
    }
}
