//! Turns a [`Query`] shape into a DataFusion `DataFrame` over the raw rows or a rollup: filter, group, aggregate,
//! sort, page. Every expression is built with the `Expr` API; no SQL text is assembled.

use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::Column;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::dataframe::DataFrame;
use datafusion::functions::expr_fn::{date_trunc, floor};
use datafusion::functions_aggregate::expr_fn::{avg, count, max, median, min};
use datafusion::functions_aggregate::percentile_cont::percentile_cont;
use datafusion::logical_expr::expr::Like;
use datafusion::logical_expr::{Expr, SortExpr, cast, col, lit};

use super::{Part, QueryEngine, Scope};
use crate::error::{Error, Result};
use crate::filters::FilterSet;
use crate::semantic::SemanticModel;
use crate::shape::{Aggregate, BIN_WIDTH, GroupKey, Query, ROWS, Sort};

fn column(name: &str) -> Expr {
    col(Column::new_unqualified(name))
}

/// Equal-width bins: the lower edge of the first one and the width.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Bins {
    pub origin: f64,
    pub width: f64,
}

impl Bins {
    /// About `count` bins of a round width (1, 2, 2.5 or 5 × 10ⁿ) covering `min..=max`; whole widths for integers.
    pub(crate) fn covering(min: f64, max: f64, count: usize, integer: bool) -> Self {
        if max.partial_cmp(&min) != Some(std::cmp::Ordering::Greater) {
            // One value (or none): one bin around it.
            let width = if integer {
                1.0
            } else {
                (min.abs() / 10.0).max(1.0)
            };
            return Self {
                origin: (min / width).floor() * width,
                width,
            };
        }
        let raw = (max - min) / count.max(1) as f64;
        let exp = 10f64.powf(raw.log10().floor());
        let f = raw / exp;
        let nice = if f <= 1.0 {
            1.0
        } else if f <= 2.0 {
            2.0
        } else if f <= 2.5 {
            2.5
        } else if f <= 5.0 {
            5.0
        } else {
            10.0
        };
        let mut width = nice * exp;
        if integer {
            width = width.ceil().max(1.0);
        }
        if !width.is_finite() || width <= 0.0 {
            width = 1.0;
        }
        Self {
            origin: (min / width).floor() * width,
            width,
        }
    }
}

/// The grouping expression for `key`, named after its dimension.
fn group_expr(model: &SemanticModel, key: &GroupKey, bins: Option<Bins>) -> Expr {
    let dim = &model.dimensions[key.dimension()];
    let c = column(&dim.column);
    let e = match key {
        GroupKey::Dimension(_) => c,
        GroupKey::Time { grain, .. } => {
            let ts = match dim.data_type {
                DataType::Timestamp(..) => c,
                _ => cast(c, DataType::Timestamp(TimeUnit::Nanosecond, None)),
            };
            cast(date_trunc(lit(grain.as_str()), ts), DataType::Date32)
        }
        GroupKey::Bin { .. } => {
            let b = bins.unwrap_or(Bins {
                origin: 0.0,
                width: 1.0,
            });
            let x = cast(c, DataType::Float64);
            lit(b.origin) + floor((x - lit(b.origin)) / lit(b.width)) * lit(b.width)
        }
    };
    e.alias(key.dimension())
}

/// `lower(dimension) LIKE %text%`, with `%`, `_` and `\` in the text matched literally.
fn contains(model: &SemanticModel, dimension: &str, text: &str) -> Expr {
    let dim = &model.dimensions[dimension];
    let mut pattern = String::from("%");
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(ch);
    }
    pattern.push('%');
    Expr::Like(Like::new(
        false,
        Box::new(cast(column(&dim.column), DataType::Utf8)),
        Box::new(lit(pattern)),
        Some('\\'),
        true,
    ))
}

/// The aggregate calls in `measures` (each once, aliased `__agg{n}`) and each measure as an expression over them:
/// the physical planner takes plain aggregate calls only, and a measure such as `sum(a) / sum(b)` is not one. The
/// logical optimizer would split them too, but small tables are planned without it (see `one_partition_context`),
/// and a call that two measures share (total requests, agent share) is computed once either way.
fn split_aggregates(measures: &[(String, Expr)]) -> (Vec<Expr>, Vec<Expr>) {
    use datafusion::common::tree_node::Transformed;
    let mut calls: Vec<Expr> = Vec::new();
    let outputs = measures
        .iter()
        .map(|(name, e)| {
            let outer = e
                .clone()
                .transform_down(|node| {
                    if !matches!(node, Expr::AggregateFunction(_)) {
                        return Ok(Transformed::no(node));
                    }
                    let n = match calls.iter().position(|c| c == &node) {
                        Some(n) => n,
                        None => {
                            calls.push(node);
                            calls.len() - 1
                        }
                    };
                    Ok(Transformed::new(
                        column(&format!("__agg{n}")),
                        true,
                        TreeNodeRecursion::Jump,
                    ))
                })
                .map(|t| t.data)
                .unwrap_or_else(|_| e.clone());
            outer.alias(name)
        })
        .collect();
    let aggs = calls
        .into_iter()
        .enumerate()
        .map(|(n, c)| c.alias(format!("__agg{n}")))
        .collect();
    (aggs, outputs)
}

/// Sort keys, then every output column not named yet in ascending order, so that pages and ties are stable.
fn sort_exprs(sort: &[Sort], tie_breakers: &[String]) -> Vec<SortExpr> {
    let mut out: Vec<SortExpr> = sort
        .iter()
        .map(|s| column(&s.column).sort(s.ascending, false))
        .collect();
    for t in tie_breakers {
        if !sort.iter().any(|s| &s.column == t) {
            out.push(column(t).sort(true, false));
        }
    }
    out
}

impl QueryEngine {
    /// The DataFrame that answers `query` under `filters`: collected by [`QueryEngine::answer`], streamed by
    /// exports.
    pub async fn dataframe(
        &self,
        scope: &Scope,
        filters: &FilterSet,
        query: &Query,
    ) -> Result<DataFrame> {
        let filters = &scope.restrict(filters);
        let model = &scope.version.model;
        for d in query.dimensions() {
            if !model.dimensions.contains_key(d) {
                return Err(Error::NotFound {
                    kind: "dimension",
                    id: d.to_string(),
                });
            }
        }
        for m in query.measures() {
            if !model.measures.contains_key(m) {
                return Err(Error::NotFound {
                    kind: "measure",
                    id: m.to_string(),
                });
            }
        }
        match query {
            Query::Aggregate(a) => self.aggregate_frame(scope, filters, a).await,
            Query::Count { group_by } => {
                let a = Aggregate {
                    group_by: group_by.clone(),
                    measures: vec![ROWS.to_string()],
                    ..Default::default()
                };
                let df = self.aggregate_frame(scope, filters, &a).await?;
                if group_by.is_empty() {
                    Ok(df.select(vec![column(ROWS).alias("count")])?)
                } else {
                    Ok(df.aggregate(vec![], vec![count(lit(1i64)).alias("count")])?)
                }
            }
            Query::Bounds { dimension } => {
                let c = column(&model.dimensions[dimension].column);
                let mut dims: Vec<String> = filters.dimensions().map(str::to_string).collect();
                dims.push(dimension.clone());
                let df = match self.covering_rollup(&scope.version, &dims) {
                    Some(rollup) => {
                        let mut df = self.small.read_table(rollup)?;
                        if let Some(p) = filters.to_expr() {
                            df = df.filter(p)?;
                        }
                        df
                    }
                    None => self.raw_frame(scope, filters).await?,
                };
                Ok(df.aggregate(
                    vec![],
                    vec![min(c.clone()).alias("min"), max(c).alias("max")],
                )?)
            }
            Query::Quantiles {
                group_by,
                value,
                sort,
                limit,
            } => {
                let v = cast(column(&model.dimensions[value].column), DataType::Float64);
                let q = |p: f64| percentile_cont(v.clone().sort(true, false), lit(p));
                let group: Vec<Expr> = group_by
                    .iter()
                    .map(|k| group_expr(model, k, None))
                    .collect();
                let mut df = self.raw_frame(scope, filters).await?.aggregate(
                    group,
                    vec![
                        count(v.clone()).alias("count"),
                        min(v.clone()).alias("min"),
                        q(0.25).alias("q1"),
                        median(v.clone()).alias("median"),
                        q(0.75).alias("q3"),
                        max(v.clone()).alias("max"),
                        avg(v).alias("mean"),
                    ],
                )?;
                let keys: Vec<String> =
                    group_by.iter().map(|k| k.dimension().to_string()).collect();
                if !keys.is_empty() {
                    df = df.sort(sort_exprs(sort, &keys))?;
                }
                if let Some(n) = limit {
                    df = df.limit(0, Some(*n))?;
                }
                Ok(df)
            }
            Query::Rows {
                columns,
                sort,
                offset,
                limit,
            } => {
                let mut df = self.raw_frame(scope, filters).await?;
                let schema = scope.version.model.schema.clone();
                for c in columns.iter().chain(sort.iter().map(|s| &s.column)) {
                    if schema.field_with_name(c).is_err() {
                        return Err(Error::NotFound {
                            kind: "column",
                            id: c.clone(),
                        });
                    }
                }
                if !sort.is_empty() {
                    df = df.sort(sort_exprs(sort, &[]))?;
                } else if limit.is_some() {
                    // Pages need one order: rows in several partitions come back in any order otherwise.
                    let all: Vec<String> =
                        schema.fields().iter().map(|f| f.name().clone()).collect();
                    df = df.sort(sort_exprs(&[], &all))?;
                }
                if !columns.is_empty() {
                    let names: Vec<&str> = columns.iter().map(String::as_str).collect();
                    df = df.select_columns(&names)?;
                }
                if *offset > 0 || limit.is_some() {
                    df = df.limit(*offset, *limit)?;
                }
                Ok(df)
            }
        }
    }

    /// The one-partition context for a small table, the full one otherwise.
    fn context(&self, small: bool) -> &datafusion::prelude::SessionContext {
        if small { &self.small } else { &self.ctx }
    }

    /// The filtered raw rows (those a row index selects, where one applies).
    async fn raw_frame(&self, scope: &Scope, filters: &FilterSet) -> Result<DataFrame> {
        let (table, small) = match self.selection(&scope.version, filters).await? {
            Some(rows) => (rows, true),
            None => self.raw_table(&scope.version, filters)?,
        };
        let mut df = self.context(small).read_table(table)?;
        if let Some(p) = filters.to_expr() {
            df = df.filter(p)?;
        }
        Ok(df)
    }

    /// `part`'s rows under `filters` (and the item's search), in the one-partition context when `small`, with
    /// the measures over them.
    fn filtered(
        &self,
        model: &SemanticModel,
        part: Part,
        small: bool,
        filters: &FilterSet,
        a: &Aggregate,
    ) -> Result<(DataFrame, Vec<(String, Expr)>)> {
        // An aggregate over ordered input (`array_agg(x ORDER BY y)`) needs the sort that only the full rule set
        // adds: such measures plan in the full context, whatever their table.
        let ordered = part.measures.iter().any(|(_, e)| {
            let mut found = false;
            let _ = e.apply(|node| {
                found |=
                    matches!(node, Expr::AggregateFunction(f) if !f.params.order_by.is_empty());
                Ok(if found {
                    TreeNodeRecursion::Stop
                } else {
                    TreeNodeRecursion::Continue
                })
            });
            found
        });
        let mut df = self
            .context(small && !ordered)
            .read_table(part.table_under(filters)?)?;
        if let Some(p) = filters.to_expr() {
            df = df.filter(p)?;
        }
        if let Some((d, text)) = &a.search {
            df = df.filter(contains(model, d, text))?;
        }
        Ok((df, part.measures))
    }

    async fn aggregate_frame(
        &self,
        scope: &Scope,
        filters: &FilterSet,
        a: &Aggregate,
    ) -> Result<DataFrame> {
        let version = &scope.version;
        let model = &version.model;
        let mut bins = None;
        for key in &a.group_by {
            if let GroupKey::Bin {
                dimension,
                bins: count,
            } = key
            {
                let (bounds, _) = Box::pin(self.answer(
                    scope,
                    filters,
                    &Query::Bounds {
                        dimension: dimension.clone(),
                    },
                ))
                .await?;
                let row = bounds.rows.first();
                let (lo, hi) = (
                    row.and_then(|r| r[0].as_f64()).unwrap_or(0.0),
                    row.and_then(|r| r[1].as_f64()).unwrap_or(0.0),
                );
                let integer = model.dimensions[dimension].data_type.is_integer();
                bins = Some(Bins::covering(lo, hi, *count, integer));
            }
        }

        // A rollup covers the dimensions this request filters on and the item's own (and, where they are cheap
        // to keep, the other declared filters: see `rollup_for`).
        let mut dims: Vec<String> = filters.dimensions().map(str::to_string).collect();
        dims.extend(a.group_by.iter().map(|k| k.dimension().to_string()));
        dims.extend(a.search.iter().map(|(d, _)| d.clone()));
        // A selective filter on an indexed column leaves a few rows: quicker than any rollup that keeps the column.
        let selected = self.selection(version, filters).await?;
        let rollup = if self.config.rollups && selected.is_none() {
            self.rollup_for(version, dims, &scope.declared, &a.measures)
                .await
        } else {
            None
        };
        let raw = |table| Part {
            table,
            measures: a
                .measures
                .iter()
                .map(|m| (m.clone(), model.measures[m].expr.clone()))
                .collect(),
            bytes: 0,
            rows: 0,
            by_date: None,
        };
        // The rows to aggregate (already filtered), the measures over them and where they come from.
        let ((df, measures), source) = match (rollup, selected) {
            (Some(rollup), _) => (self.filtered(model, rollup, true, filters, a)?, "rollup"),
            (None, Some(rows)) => (
                self.filtered(model, raw(rows), true, filters, a)?,
                "row index",
            ),
            (None, None) => {
                let (rows, few) = self.raw_table(version, filters)?;
                match self.by_months(version, filters, a, few).await? {
                    Some(partials) => (partials, "months and edge days"),
                    None => (
                        self.filtered(model, raw(rows), few, filters, a)?,
                        "raw rows",
                    ),
                }
            }
        };
        tracing::debug!(source, "answering from");
        let (aggs, outputs) = split_aggregates(&measures);
        let group: Vec<Expr> = a
            .group_by
            .iter()
            .map(|k| group_expr(model, k, bins))
            .collect();
        let mut columns: Vec<Expr> = a.group_by.iter().map(|k| column(k.dimension())).collect();
        columns.extend(outputs);
        let mut df = df.aggregate(group, aggs)?.select(columns)?;
        if !a.group_by.is_empty() {
            let keys: Vec<String> = a
                .group_by
                .iter()
                .map(|k| k.dimension().to_string())
                .collect();
            df = df.sort(sort_exprs(&a.sort, &keys))?;
        }
        if a.offset > 0 || a.limit.is_some() {
            df = df.limit(a.offset, a.limit)?;
        }
        if let Some(b) = bins {
            df = df.with_column(BIN_WIDTH, lit(b.width))?;
        }
        Ok(df)
    }
}

#[cfg(test)]
mod tests {
    use super::Bins;

    #[test]
    fn bins_have_round_widths() {
        let b = Bins::covering(3.0, 97.0, 10, false);
        assert_eq!((b.origin, b.width), (0.0, 10.0));
        let b = Bins::covering(1.0, 499.0, 20, true);
        assert_eq!(b.width, 25.0);
        let b = Bins::covering(0.12, 0.61, 10, false);
        assert_eq!(b.width, 0.05);
        assert!(b.origin <= 0.12 && b.origin + b.width > 0.12);
        let b = Bins::covering(5.0, 5.0, 10, true);
        assert_eq!(b.width, 1.0);
        let b = Bins::covering(2.5, 2.5, 10, false);
        assert!(b.origin <= 2.5 && b.origin + b.width > 2.5 && b.width >= 1.0);
    }
}
