//! Rollups per loaded version: small pre-aggregated tables that answer an item's measures exactly (see
//! [`crate::rollup`] for which measures decompose and how), built on first use and kept with the version.

use std::sync::Arc;

use datafusion::catalog::TableProvider;
use datafusion::common::Column;
use datafusion::datasource::MemTable;
use datafusion::logical_expr::{Expr, col};

use super::{LoadedVersion, Part, QueryEngine, rebalance};
use crate::error::Result;
use crate::rollup::MeasurePlan;

impl QueryEngine {
    /// The rollup parts that answer `measures` grouped by (a subset of) `dims` exactly, under filters on `dims`;
    /// `None` when the raw rows must answer. Several parts (one per distinct count) only answer ungrouped items.
    pub(super) async fn rollup_for(
        &self,
        version: &LoadedVersion,
        mut dims: Vec<String>,
        measures: &[String],
        grouped: bool,
    ) -> Option<Vec<Part>> {
        dims.sort();
        dims.dedup();
        let key = format!("{}|{}|{grouped}", dims.join(","), measures.join(","));
        let built = version
            .rollups
            .get_with(key, async {
                let started = std::time::Instant::now();
                match self.build_rollup(version, &dims, measures, grouped).await {
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
        grouped: bool,
    ) -> Result<Option<Vec<Part>>> {
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
        let mut partials: Vec<Expr> = Vec::new();
        let mut additive: Vec<(String, Expr)> = Vec::new();
        let mut distinct: Vec<(String, Expr, Option<Expr>)> = Vec::new();
        for (i, m) in measures.iter().enumerate() {
            match crate::rollup::decompose(&model.measures[m].expr, &format!("__m{i}_")) {
                MeasurePlan::Additive { partials: p, reagg } => {
                    partials.extend(p.into_iter().map(|(alias, e)| e.alias(alias)));
                    additive.push((m.clone(), reagg));
                }
                MeasurePlan::Distinct { arg, filter } => distinct.push((m.clone(), arg, filter)),
                MeasurePlan::Raw => return Ok(None),
            }
        }
        let parts_needed = usize::from(!additive.is_empty()) + distinct.len();
        if parts_needed > 1 && grouped {
            return Ok(None);
        }
        // A rollup that is not much smaller than the raw data saves nothing.
        let max_rows = (version.manifest.rows / 2) as usize;
        let mut parts = Vec::new();
        if !additive.is_empty() {
            let df = self
                .ctx
                .read_table(version.table.clone())?
                .aggregate(group.clone(), partials)?;
            let Some(table) = self.materialize(df, max_rows).await? else {
                return Ok(None);
            };
            parts.push(Part {
                table,
                measures: additive,
            });
        }
        for (m, arg, filter) in distinct {
            let mut df = self.ctx.read_table(version.table.clone())?;
            if let Some(f) = filter {
                df = df.filter(f)?;
            }
            let mut g = group.clone();
            g.push(arg.alias(crate::rollup::DISTINCT_COLUMN));
            let Some(table) = self.materialize(df.aggregate(g, vec![])?, max_rows).await? else {
                return Ok(None);
            };
            parts.push(Part {
                table,
                measures: vec![(m, MeasurePlan::distinct_reagg())],
            });
        }
        Ok(Some(parts))
    }

    /// Collects `df` into an in-memory table, or `None` when it has more than `max_rows` rows.
    async fn materialize(
        &self,
        df: datafusion::dataframe::DataFrame,
        max_rows: usize,
    ) -> Result<Option<Arc<dyn TableProvider>>> {
        let schema = Arc::new(df.schema().as_arrow().clone());
        let parts = df.collect_partitioned().await?;
        let rows: usize = parts.iter().flatten().map(|b| b.num_rows()).sum();
        if rows > max_rows {
            return Ok(None);
        }
        let parts = rebalance(parts, self.ctx.copied_config().target_partitions());
        Ok(Some(Arc::new(MemTable::try_new(schema, parts)?)))
    }
}
