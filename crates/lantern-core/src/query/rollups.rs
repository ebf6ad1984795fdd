//! Rollups per loaded version: small pre-aggregated tables that answer an item's measures exactly (see
//! [`crate::rollup`] for which measures decompose and how), built on first use and kept with the version.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::UInt64Type;
use datafusion::functions_aggregate::expr_fn::approx_distinct;

use datafusion::arrow::datatypes::DataType;
use datafusion::catalog::TableProvider;
use datafusion::common::Column;
use datafusion::datasource::MemTable;
use datafusion::logical_expr::{Expr, ExprFunctionExt, cast, col};

use super::{LoadedVersion, Part, QueryEngine, rebalance};
use crate::error::Result;
use crate::rollup::{MeasurePlan, distinct_sets};

/// The largest single rollup kept, in bytes: a larger one would crowd out the others in [`ROLLUPS_MAX_BYTES`].
pub(super) const ROLLUP_MAX_BYTES: usize = 16 << 20;

/// The memory all rollups of one version may take together, in bytes; the least used are dropped first (and
/// built again when asked for).
pub(super) const ROLLUPS_MAX_BYTES: u64 = 48 << 20;

impl QueryEngine {
    /// The rollup that answers `measures` grouped by (a subset of) `dims` exactly, under filters on `dims`;
    /// `None` when the raw rows must answer.
    pub(super) async fn rollup_for(
        &self,
        version: &LoadedVersion,
        mut dims: Vec<String>,
        measures: &[String],
    ) -> Option<Part> {
        dims.sort();
        dims.dedup();
        let key = format!("{}|{}", dims.join(","), measures.join(","));
        let built = version
            .rollups
            .get_with(key, async {
                let started = std::time::Instant::now();
                match self.build_rollup(version, &dims, measures).await {
                    Ok(parts) => {
                        tracing::debug!(
                            dataset = %version.manifest.dataset,
                            dims = ?dims,
                            measures = ?measures,
                            used = parts.is_some(),
                            elapsed_ms = started.elapsed().as_millis() as u64,
                            "rollup built"
                        );
                        Arc::new(parts)
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "rollup failed; answering from raw rows");
                        Arc::new(None)
                    }
                }
            })
            .await;
        built.as_ref().clone()
    }

    async fn build_rollup(
        &self,
        version: &LoadedVersion,
        dims: &[String],
        measures: &[String],
    ) -> Result<Option<Part>> {
        let model = &version.model;
        let mut columns: Vec<String> = dims
            .iter()
            .map(|d| model.dimensions[d].column.clone())
            .collect();
        columns.sort();
        columns.dedup();
        let group: Vec<Expr> = columns
            .iter()
            .map(|c| col(Column::new_unqualified(c)))
            .collect();
        // A rollup at least as large as the raw rows is not worth building (on 10 M rows, building one costs
        // seconds and a hash table per row): the product of the columns' distinct counts bounds its size.
        let estimate = {
            let distinct = self.distinct_counts(version).await;
            columns.iter().fold(1u64, |n, c| {
                n.saturating_mul(distinct.get(c).copied().unwrap_or(1))
            })
        };
        if estimate > version.manifest.rows {
            return Ok(None);
        }
        let mut partials: Vec<Expr> = Vec::new();
        let mut reaggs: Vec<(String, Expr)> = Vec::new();
        // One set-collecting function per build: its value codes are shared by this rollup's rows only.
        let (collect, count) = (distinct_sets::collect(), distinct_sets::count());
        for (i, m) in measures.iter().enumerate() {
            match crate::rollup::decompose(&model.measures[m].expr, &format!("__m{i}_")) {
                MeasurePlan::Additive { partials: p, reagg } => {
                    partials.extend(p.into_iter().map(|(alias, e)| e.alias(alias)));
                    reaggs.push((m.clone(), reagg));
                }
                MeasurePlan::Distinct { arg, filter } => {
                    let alias = format!("__m{i}_set");
                    let mut set = collect.call(vec![cast(arg, DataType::Utf8)]);
                    if let Some(f) = filter {
                        set = set.filter(f).build()?;
                    }
                    partials.push(set.alias(&alias));
                    reaggs.push((m.clone(), count.call(vec![col(alias.as_str())])));
                }
                MeasurePlan::Raw => return Ok(None),
            }
        }
        // A rollup that is not much smaller than the raw data saves little and costs memory.
        let max_rows = (version.manifest.rows / 4) as usize;
        let df = self
            .ctx
            .read_table(version.table.clone())?
            .aggregate(group, partials)?;
        Ok(self
            .materialize(df, max_rows)
            .await?
            .map(|(table, bytes)| Part {
                table,
                measures: reaggs,
                bytes,
            }))
    }

    /// Approximate distinct values (HyperLogLog) of every dimension column of `version`, in one pass, once; a
    /// column whose type cannot be counted (or a failed pass) is left out, which lets its rollups be tried.
    async fn distinct_counts(&self, version: &LoadedVersion) -> Arc<HashMap<String, u64>> {
        version
            .distinct
            .get_or_init(|| async {
                let mut columns: Vec<(String, DataType)> = version
                    .model
                    .dimensions
                    .values()
                    .map(|d| (d.column.clone(), d.data_type.clone()))
                    .collect();
                columns.sort_by(|a, b| a.0.cmp(&b.0));
                columns.dedup_by(|a, b| a.0 == b.0);
                let counted = async {
                    // HyperLogLog takes integers, text and dates; other values are counted by their text.
                    let aggs: Vec<Expr> = columns
                        .iter()
                        .map(|(c, t)| {
                            let e = col(Column::new_unqualified(c));
                            let hashable = t.is_integer()
                                || t.is_temporal()
                                || matches!(
                                    t,
                                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                                );
                            let e = if hashable { e } else { cast(e, DataType::Utf8) };
                            approx_distinct(e).alias(c)
                        })
                        .collect();
                    let batches = self
                        .ctx
                        .read_table(version.table.clone())?
                        .aggregate(vec![], aggs)?
                        .collect()
                        .await?;
                    let mut out = HashMap::new();
                    if let Some(b) = batches.first() {
                        for (i, (c, _)) in columns.iter().enumerate() {
                            let n =
                                datafusion::arrow::compute::cast(b.column(i), &DataType::UInt64)?;
                            if let Some(n) = n.as_primitive::<UInt64Type>().iter().next().flatten()
                            {
                                out.insert(c.clone(), n);
                            }
                        }
                    }
                    Ok::<_, datafusion::error::DataFusionError>(out)
                };
                match counted.await {
                    Ok(out) => Arc::new(out),
                    Err(e) => {
                        tracing::warn!(error = %e, "distinct counts failed; every rollup is tried");
                        Arc::new(HashMap::new())
                    }
                }
            })
            .await
            .clone()
    }

    /// Collects `df` into an in-memory table and its size in bytes, or `None` when it has more than `max_rows`
    /// rows or takes more than [`ROLLUP_MAX_BYTES`].
    async fn materialize(
        &self,
        df: datafusion::dataframe::DataFrame,
        max_rows: usize,
    ) -> Result<Option<(Arc<dyn TableProvider>, usize)>> {
        let schema = Arc::new(df.schema().as_arrow().clone());
        let parts = df.collect_partitioned().await?;
        let rows: usize = parts.iter().flatten().map(|b| b.num_rows()).sum();
        let bytes: usize = parts
            .iter()
            .flatten()
            .map(|b| b.get_array_memory_size())
            .sum();
        if rows > max_rows || bytes > ROLLUP_MAX_BYTES {
            return Ok(None);
        }
        let parts = rebalance(parts, self.ctx.copied_config().target_partitions());
        Ok(Some((Arc::new(MemTable::try_new(schema, parts)?), bytes)))
    }
}
