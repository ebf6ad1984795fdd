//! Rollups per loaded version: small pre-aggregated tables that answer an item's measures exactly (see
//! [`crate::rollup`] for which measures decompose and how), built on first use and kept with the version.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::AsArray;
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::UInt64Type;
use datafusion::arrow::record_batch::RecordBatch;

use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::catalog::TableProvider;
use datafusion::common::Column;
use datafusion::datasource::MemTable;
use datafusion::functions::expr_fn::date_trunc;
use datafusion::logical_expr::{Expr, ExprFunctionExt, cast, col, lit};

use super::months::BY_MONTH;
use super::row_index::HotRows;
use super::{LoadedVersion, Part, QueryEngine};
use crate::error::Result;
use crate::rollup::{MeasurePlan, distinct_sets};

/// A collected rollup: its table, the same rows for date-range slicing, its bytes and its rows.
type Materialized = (Arc<dyn TableProvider>, Option<Arc<HotRows>>, usize, usize);

/// `batch` sorted by column `i`, as the batch of its rows with a value (ascending) and, when there are any, the
/// batch of those without: each sorted and null-free or null-only, as the zone map needs to slice them.
fn sorted_by(
    batch: &RecordBatch,
    i: usize,
) -> std::result::Result<Vec<RecordBatch>, datafusion::arrow::error::ArrowError> {
    use datafusion::arrow::compute::{SortOptions, sort_to_indices, take_record_batch};
    let options = SortOptions {
        descending: false,
        nulls_first: false,
    };
    let order = sort_to_indices(batch.column(i), Some(options), None)?;
    let sorted = take_record_batch(batch, &order)?;
    let nulls = sorted.column(i).null_count();
    let valued = sorted.num_rows() - nulls;
    let mut out = vec![sorted.slice(0, valued)];
    if nulls > 0 {
        out.push(sorted.slice(valued, nulls));
    }
    Ok(out)
}

/// The largest single rollup kept, in bytes: a larger one would crowd out the others in [`ROLLUPS_MAX_BYTES`].
pub(super) const ROLLUP_MAX_BYTES: usize = 16 << 20;

/// The most rows a rollup of `version` may have: one not much smaller than the raw data saves little and costs
/// memory.
fn rollup_max_rows(version: &LoadedVersion) -> usize {
    (version.manifest.rows / 4) as usize
}

/// The key of the rollup over `dims` (sorted) for `measures`: `dim,dim|measure,measure`.
fn rollup_key(dims: &[String], measures: &[String]) -> String {
    format!("{}|{}", dims.join(","), measures.join(","))
}

/// The smallest rollup kept for `measures` (any, when `None`) over a superset of `dims`, and its key.
fn kept_superset(
    version: &LoadedVersion,
    dims: &[String],
    measures: Option<&[String]>,
) -> Option<(Arc<String>, Part)> {
    let wanted = measures.map(|m| m.join(","));
    // A rollup by month would answer a request without the date exactly too, but it serves the requests by
    // month only: otherwise, once kept, it would stand in for the smaller rollup without the date.
    let by_month = dims.iter().any(|d| d.ends_with(BY_MONTH));
    version
        .rollups
        .iter()
        .filter_map(|(key, part)| {
            let (kept_dims, kept_measures) = key.split_once('|')?;
            if kept_dims.contains(BY_MONTH) != by_month {
                return None;
            }
            let part = part.as_ref().as_ref()?;
            let kept: Vec<&str> = kept_dims.split(',').collect();
            let same = wanted.as_deref().is_none_or(|w| w == kept_measures);
            (same && dims.iter().all(|d| kept.contains(&d.as_str())))
                .then(|| (key.clone(), part.clone()))
        })
        .min_by_key(|(_, p)| p.bytes)
}

impl QueryEngine {
    /// A kept rollup that groups by every dimension of `dims` (with any measures): its rows are the distinct
    /// combinations of those dimensions' values present in the data, so a filter and the `min`/`max` of a
    /// dimension over it are exactly those over the raw rows.
    pub(super) fn covering_rollup(
        &self,
        version: &LoadedVersion,
        dims: &[String],
    ) -> Option<Arc<dyn TableProvider>> {
        if !self.config.rollups {
            return None;
        }
        kept_superset(version, dims, None).map(|(_, p)| p.table)
    }
}

/// The memory all rollups of one version may take together, in bytes; the least used are dropped first (and
/// built again when asked for).
pub(super) const ROLLUPS_MAX_BYTES: u64 = 48 << 20;

impl QueryEngine {
    /// The rollup that answers `measures` grouped by (a subset of) `dims` exactly, under filters on `dims`;
    /// `None` when the raw rows must answer.
    ///
    /// Any rollup over a superset of `dims` with the same measures answers too, so a kept one is used first.
    /// When one over `dims` is built, a wider one is built with it that also keeps those `declared` filter
    /// dimensions that are cheap to keep: later requests that filter on them are answered from it, instead of each
    /// new set of active filters building its own rollup on a miss.
    pub(super) async fn rollup_for(
        &self,
        version: &LoadedVersion,
        mut dims: Vec<String>,
        declared: &[String],
        measures: &[String],
    ) -> Option<Part> {
        dims.sort();
        dims.dedup();
        if let Some(part) = self.kept(version, &dims, measures).await {
            return Some(part);
        }
        let part = self.rollup_exactly(version, dims.clone(), measures).await?;
        let wide = self.widened(version, &dims, &part, declared).await;
        if wide != dims {
            self.rollup_exactly(version, wide, measures).await;
        }
        Some(part)
    }

    /// A kept rollup for `measures` over a superset of `dims` (sorted), counted as a use so that the least
    /// recently used rollups are the ones dropped.
    async fn kept(
        &self,
        version: &LoadedVersion,
        dims: &[String],
        measures: &[String],
    ) -> Option<Part> {
        let (key, part) = kept_superset(version, dims, Some(measures))?;
        let _ = version.rollups.get(key.as_str()).await;
        Some(part)
    }

    /// A kept rollup over a superset of `dims`, or the one over exactly `dims`, without widening it: for
    /// rollups by month (see [`super::months`]), whose dimensions are the request's own.
    pub(super) async fn kept_or_built(
        &self,
        version: &LoadedVersion,
        mut dims: Vec<String>,
        measures: &[String],
    ) -> Option<Part> {
        dims.sort();
        dims.dedup();
        match self.kept(version, &dims, measures).await {
            Some(part) => Some(part),
            None => self.rollup_exactly(version, dims, measures).await,
        }
    }

    /// `dims` plus the `declared` dimensions that keep a rollup within its bounds (rows and bytes), added from
    /// the fewest distinct values up: the rollup over `dims` is known (`part`), and each added column multiplies
    /// its size by at most the column's distinct values.
    async fn widened(
        &self,
        version: &LoadedVersion,
        dims: &[String],
        part: &Part,
        declared: &[String],
    ) -> Vec<String> {
        let model = &version.model;
        let distinct = self.distinct_counts(version).await;
        let column_of = |d: &String| model.dimensions.get(d).map(|dim| dim.column.as_str());
        let mut kept: Vec<&str> = dims.iter().filter_map(column_of).collect();
        let mut extra: Vec<(u64, &String)> = declared
            .iter()
            .filter(|d| !dims.contains(d))
            .filter_map(|d| Some((*distinct.get(column_of(d)?)?, d)))
            .collect();
        extra.sort();
        let max_rows = rollup_max_rows(version) as u64;
        let (mut rows, mut bytes) = (part.rows.max(1) as u64, part.bytes.max(1) as u64);
        let mut out = dims.to_vec();
        for (n, d) in extra {
            let column = column_of(d).expect("filtered above");
            // A second dimension on a kept column adds no rows.
            let factor = if kept.contains(&column) { 1 } else { n };
            let (r, b) = (rows.saturating_mul(factor), bytes.saturating_mul(factor));
            if r <= max_rows && b <= ROLLUP_MAX_BYTES as u64 {
                (rows, bytes) = (r, b);
                kept.push(column);
                out.push(d.clone());
            }
        }
        out.sort();
        out
    }

    /// The rollup over exactly `dims` (sorted), built on first use; `None` when it cannot or should not be.
    async fn rollup_exactly(
        &self,
        version: &LoadedVersion,
        dims: Vec<String>,
        measures: &[String],
    ) -> Option<Part> {
        let key = rollup_key(&dims, measures);
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
                            kib = parts.as_ref().map_or(0, |p| p.bytes >> 10),
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
        // Each column once, with whether it is kept by month (`date@month`: each month's first day).
        let mut columns: Vec<(String, bool)> = dims
            .iter()
            .map(|d| match d.strip_suffix(BY_MONTH) {
                Some(d) => (model.dimensions[d].column.clone(), true),
                None => (model.dimensions[d].column.clone(), false),
            })
            .collect();
        columns.sort();
        columns.dedup();
        if columns.windows(2).any(|w| w[0].0 == w[1].0) {
            // One column both by day and by month: no rollup serves that.
            return Ok(None);
        }
        let group: Vec<Expr> = columns
            .iter()
            .map(|(c, by_month)| {
                let e = col(Column::new_unqualified(c));
                if *by_month {
                    // Seconds: nanoseconds would refuse dates past 2262 (a `9999-12-31` placeholder).
                    let ts = cast(e, DataType::Timestamp(TimeUnit::Second, None));
                    cast(date_trunc(lit("month"), ts), DataType::Date32).alias(c)
                } else {
                    e
                }
            })
            .collect();
        // A rollup at least as large as the raw rows is not worth building (on 10 M rows, building one costs
        // seconds and a hash table per row): the product of the columns' distinct counts bounds its size (a
        // column by month has at most one value per 28 of its days). The product overstates the combinations of
        // columns that depend on each other (a user's team), so for a rollup by month, the one kind built for
        // such items, up to twice the rows is tried; `materialize` keeps only what turns out small.
        let estimate = {
            let distinct = self.distinct_counts(version).await;
            columns.iter().fold(1u64, |n, (c, by_month)| {
                let values = distinct.get(c).copied().unwrap_or(1);
                n.saturating_mul(if *by_month {
                    values.div_ceil(28)
                } else {
                    values
                })
            })
        };
        let by_month = columns.iter().any(|(_, m)| *m);
        if estimate
            > version
                .manifest
                .rows
                .saturating_mul(if by_month { 2 } else { 1 })
        {
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
        let max_rows = rollup_max_rows(version);
        // Sorted by its (first) date column, a date range reads only its slice of the rollup.
        let date = columns.iter().map(|(c, _)| c).find(|c| {
            model
                .schema
                .field_with_name(c)
                .is_ok_and(|f| f.data_type() == &DataType::Date32)
        });
        let df = self
            .ctx
            .read_table(version.table.clone())?
            .aggregate(group, partials)?;
        Ok(self
            .materialize(df, max_rows, date.map(String::as_str))
            .await?
            .map(|(table, by_date, bytes, rows)| Part {
                table,
                measures: reaggs,
                bytes,
                rows,
                by_date,
            }))
    }

    /// Approximate distinct values (HyperLogLog) of every dimension column of `version`, in one pass, once; a
    /// column whose type cannot be counted (or a failed pass) is left out, which lets its rollups be tried.
    pub(super) async fn distinct_counts(
        &self,
        version: &LoadedVersion,
    ) -> Arc<HashMap<String, u64>> {
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
                    let table = version.table.schema();
                    let aggs: Vec<Expr> = columns
                        .iter()
                        .map(|(c, t)| super::approx_distinct_of(&table, c, t).alias(c))
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

    /// Collects `df` into an in-memory table (sorted by `date`, when given, with the rows of each date range
    /// found by a zone map), its size in bytes and its rows, or `None` when it has more than `max_rows` rows or
    /// takes more than [`ROLLUP_MAX_BYTES`].
    async fn materialize(
        &self,
        df: datafusion::dataframe::DataFrame,
        max_rows: usize,
        date: Option<&str>,
    ) -> Result<Option<Materialized>> {
        let schema = Arc::new(df.schema().as_arrow().clone());
        let parts = df.collect_partitioned().await?;
        let rows: usize = parts.iter().flatten().map(|b| b.num_rows()).sum();
        if rows > max_rows {
            return Ok(None);
        }
        // One compact batch: an aggregate emits slices of its whole output, each of which holds (and is
        // measured with) every buffer, so the slices would count and keep several times the rollup's real size.
        // Rollups are queried in the one-partition context (`QueryEngine::small`).
        let batch = concat_batches(&schema, parts.iter().flatten())
            .map_err(datafusion::error::DataFusionError::from)?;
        drop(parts);
        // Measured before sorting: the sorted rows take as much, and their two slices share one set of buffers.
        let bytes = batch.get_array_memory_size();
        if bytes > ROLLUP_MAX_BYTES {
            return Ok(None);
        }
        let batches = match date.and_then(|d| schema.index_of(d).ok()) {
            Some(i) => sorted_by(&batch, i).map_err(datafusion::error::DataFusionError::from)?,
            None => vec![batch],
        };
        let by_date =
            date.map(|_| Arc::new(HotRows::new(schema.clone(), std::slice::from_ref(&batches))));
        Ok(Some((
            Arc::new(MemTable::try_new(schema, vec![batches])?),
            by_date,
            bytes,
            rows,
        )))
    }
}
