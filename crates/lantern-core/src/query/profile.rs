//! Column profiles for dataset pages: per column its type, nulls, distinct values, range, mean, most frequent
//! values and a small histogram, computed with DataFusion once per loaded version.

use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::Column;
use datafusion::functions::expr_fn::floor;
use datafusion::functions_aggregate::expr_fn::{avg, count, max, min};
use datafusion::logical_expr::{Expr, cast, col, lit};
use serde::Serialize;

use super::plan::Bins;
use super::{LoadedVersion, QueryEngine, ResultTable};
use crate::access::RowScope;
use crate::error::{Error, Result};
use crate::filters::{FilterSet, Restriction};

/// Most frequent values listed per text column.
const TOP_VALUES: usize = 5;
/// Bins of a numeric column's histogram.
const HISTOGRAM_BINS: usize = 12;

/// One column's profile.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnProfile {
    pub name: String,
    pub data_type: String,
    pub nulls: u64,
    /// Approximate (HyperLogLog) distinct non-null values.
    pub distinct: u64,
    pub min: serde_json::Value,
    pub max: serde_json::Value,
    pub mean: Option<f64>,
    /// The most frequent values with their row counts (text and boolean columns).
    pub top: Vec<(serde_json::Value, u64)>,
    /// Rows per bin (numbers: equal widths from `min`; dates: per month), as (lower edge, rows).
    pub histogram: Vec<(serde_json::Value, u64)>,
}

/// A version's profile.
#[derive(Debug, Clone, Serialize)]
pub struct Profile {
    pub dataset: String,
    pub version: u64,
    pub rows: u64,
    pub columns: Vec<ColumnProfile>,
}

fn column(name: &str) -> Expr {
    col(Column::new_unqualified(name))
}

fn temporal(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Date32 | DataType::Date64 | DataType::Timestamp(..)
    )
}

impl QueryEngine {
    /// The profile of the `rows` a user may see of `dataset`'s current version, computed on first use and kept
    /// with the version (one per set of row rules).
    pub async fn profile(&self, dataset: &str, rows: &RowScope) -> Result<Arc<Profile>> {
        let version = self.version(dataset).await?;
        let Some(restriction) = Restriction::compile(rows, &version.model)? else {
            return version
                .profile
                .get_or_try_init(|| async {
                    self.compute_profile(&version, None).await.map(Arc::new)
                })
                .await
                .cloned();
        };
        let predicate = FilterSet::default().restricted(Some(restriction)).to_expr();
        version
            .restricted_profiles
            .try_get_with(rows.canonical(), async {
                self.compute_profile(&version, predicate)
                    .await
                    .map(Arc::new)
            })
            .await
            .map_err(Error::from_shared)
    }

    async fn collect(&self, df: datafusion::dataframe::DataFrame) -> Result<ResultTable> {
        let schema = Arc::new(df.schema().as_arrow().clone());
        ResultTable::from_batches(&schema, &df.collect().await?)
    }

    async fn compute_profile(
        &self,
        version: &LoadedVersion,
        predicate: Option<Expr>,
    ) -> Result<Profile> {
        let schema = version.model.schema.clone();
        let table = || {
            let df = self.ctx.read_table(version.table.clone())?;
            match &predicate {
                Some(p) => df.filter(p.clone()),
                None => Ok(df),
            }
        };
        // One pass for the counts, ranges and means of every column.
        let mut aggs = vec![count(lit(1i64)).alias("__rows")];
        for (i, f) in schema.fields().iter().enumerate() {
            let c = column(f.name());
            aggs.push(count(c.clone()).alias(format!("n{i}")));
            aggs.push(
                super::approx_distinct_of(&version.table.schema(), f.name(), f.data_type())
                    .alias(format!("d{i}")),
            );
            let ordered = !matches!(f.data_type(), DataType::Boolean);
            if ordered {
                aggs.push(min(c.clone()).alias(format!("lo{i}")));
                aggs.push(max(c.clone()).alias(format!("hi{i}")));
            }
            if f.data_type().is_numeric() {
                aggs.push(avg(cast(c, DataType::Float64)).alias(format!("m{i}")));
            }
        }
        let summary = self.collect(table()?.aggregate(vec![], aggs)?).await?;
        let row = summary.rows.first().cloned().unwrap_or_default();
        let get = |name: &str| {
            summary
                .column_index(name)
                .and_then(|i| row.get(i).cloned())
                .unwrap_or(serde_json::Value::Null)
        };
        let rows = get("__rows").as_u64().unwrap_or(0);
        let mut columns = Vec::new();
        for (i, f) in schema.fields().iter().enumerate() {
            let name = f.name().clone();
            let t = f.data_type();
            let non_null = get(&format!("n{i}")).as_u64().unwrap_or(0);
            let (lo, hi) = (get(&format!("lo{i}")), get(&format!("hi{i}")));
            let c = column(&name);
            let mut top = Vec::new();
            let mut histogram = Vec::new();
            if t.is_numeric() {
                if let (Some(a), Some(b)) = (lo.as_f64(), hi.as_f64()) {
                    let bins = Bins::covering(a, b, HISTOGRAM_BINS, t.is_integer());
                    let x = cast(c.clone(), DataType::Float64);
                    let edge = (lit(bins.origin)
                        + floor((x - lit(bins.origin)) / lit(bins.width)) * lit(bins.width))
                    .alias("edge");
                    let df = table()?
                        .filter(c.clone().is_not_null())?
                        .aggregate(vec![edge], vec![count(lit(1i64)).alias("n")])?
                        .sort(vec![column("edge").sort(true, false)])?;
                    histogram = pairs(&self.collect(df).await?);
                }
            } else if temporal(t) {
                let month = cast(
                    datafusion::functions::expr_fn::date_trunc(
                        lit("month"),
                        cast(
                            c.clone(),
                            DataType::Timestamp(
                                datafusion::arrow::datatypes::TimeUnit::Nanosecond,
                                None,
                            ),
                        ),
                    ),
                    DataType::Date32,
                )
                .alias("edge");
                let df = table()?
                    .filter(c.clone().is_not_null())?
                    .aggregate(vec![month], vec![count(lit(1i64)).alias("n")])?
                    .sort(vec![column("edge").sort(true, false)])?;
                histogram = pairs(&self.collect(df).await?);
            } else {
                let df = table()?
                    .filter(c.clone().is_not_null())?
                    .aggregate(
                        vec![c.clone().alias("value")],
                        vec![count(lit(1i64)).alias("n")],
                    )?
                    .sort(vec![
                        column("n").sort(false, false),
                        column("value").sort(true, false),
                    ])?
                    .limit(0, Some(TOP_VALUES))?;
                top = pairs(&self.collect(df).await?);
            }
            columns.push(ColumnProfile {
                data_type: t.to_string(),
                nulls: rows.saturating_sub(non_null),
                distinct: get(&format!("d{i}")).as_u64().unwrap_or(0),
                min: lo,
                max: hi,
                mean: get(&format!("m{i}")).as_f64(),
                top,
                histogram,
                name,
            });
        }
        Ok(Profile {
            dataset: version.manifest.dataset.clone(),
            version: version.manifest.version,
            rows,
            columns,
        })
    }
}

/// `(value, count)` pairs from a two-column result.
fn pairs(t: &ResultTable) -> Vec<(serde_json::Value, u64)> {
    t.rows
        .iter()
        .map(|r| (r[0].clone(), r[1].as_u64().unwrap_or(0)))
        .collect()
}
