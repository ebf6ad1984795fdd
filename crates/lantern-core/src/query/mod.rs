//! The query engine: resolves a dataset's current version, keeps it hot in Arrow form, and answers a dashboard's
//! KPIs and charts for a filter set through DataFusion's `DataFrame` API, behind the [`ResultCache`].
//!
//! Every item becomes one aggregate plan over the filtered table: no SQL strings are built, so the same logical
//! plans can later run on a distributed engine.

mod plan;
mod profile;
mod result;
mod rollups;

pub use profile::{ColumnProfile, Profile};
pub use result::ResultTable;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::TableProvider;
use datafusion::datasource::MemTable;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::execution::config::SessionConfig;
use datafusion::logical_expr::Expr;
use datafusion::prelude::SessionContext;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use tokio::sync::Mutex;

use crate::cache::{CacheKey, Lookup, ResultCache};
use crate::catalog::{Catalog, Manifest};
use crate::config::{CacheConfig, QueryConfig};
use crate::dashboard::DashboardSpec;
use crate::error::{Error, Result};
use crate::filters::FilterSet;
use crate::semantic::{DatasetSpec, SemanticModel};
use crate::shape::Query;
use crate::storage::{STORE_URL, Storage};

/// One dashboard request, resolved once: the version it reads (even if a newer one is published meanwhile), its
/// parsed filters, and the dimensions every item's rollup includes.
#[derive(Clone)]
pub struct Scope {
    pub version: Arc<LoadedVersion>,
    pub filters: FilterSet,
    /// The dashboard's declared filter dimensions: part of every item's rollup, so that one rollup per item
    /// serves any combination of filter values.
    pub filter_dims: Vec<String>,
    ttl: Duration,
}

impl Scope {
    pub fn model(&self) -> &SemanticModel {
        &self.version.model
    }
}

/// One published version, loaded and checked.
pub struct LoadedVersion {
    pub manifest: Arc<Manifest>,
    pub model: Arc<SemanticModel>,
    table: Arc<dyn TableProvider>,
    /// Whether the rows are held in memory (else scanned from Parquet).
    pub hot: bool,
    /// Rollups by (dimensions, measures); `None` when an item cannot or should not use one.
    rollups: moka::future::Cache<String, Arc<Option<Vec<Part>>>>,
    /// The column profile, computed on first use (dataset pages).
    profile: tokio::sync::OnceCell<Arc<Profile>>,
}

/// A table and the measures to aggregate over it: the raw rows, or a rollup of them.
#[derive(Clone)]
struct Part {
    table: Arc<dyn TableProvider>,
    measures: Vec<(String, Expr)>,
}

/// Answers dashboard queries; one per process, shared by all requests.
pub struct QueryEngine {
    ctx: SessionContext,
    catalog: Catalog,
    config: QueryConfig,
    default_ttl: Duration,
    /// Replaced as a whole when the spec files change (`lantern serve --watch`).
    specs: std::sync::RwLock<Arc<HashMap<String, DatasetSpec>>>,
    manifests: moka::future::Cache<String, Option<Arc<Manifest>>>,
    loaded: std::sync::RwLock<HashMap<String, Arc<LoadedVersion>>>,
    load_lock: Mutex<()>,
    cache: ResultCache,
}

impl QueryEngine {
    /// Creates the engine over `catalog` for the datasets described by `specs`.
    pub fn new(
        catalog: Catalog,
        specs: Vec<DatasetSpec>,
        query: &QueryConfig,
        cache: &CacheConfig,
    ) -> Self {
        let partitions = if query.target_partitions == 0 {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        } else {
            query.target_partitions
        };
        let session = SessionConfig::new()
            .with_target_partitions(partitions)
            .with_information_schema(false);
        let ctx = SessionContext::new_with_config(session);
        let url = url::Url::parse(STORE_URL).expect("valid");
        ctx.register_object_store(&url, catalog.storage().store().clone());
        Self {
            ctx,
            catalog,
            config: query.clone(),
            default_ttl: Duration::from_secs(cache.ttl_secs),
            specs: std::sync::RwLock::new(Arc::new(
                specs.into_iter().map(|s| (s.id().to_string(), s)).collect(),
            )),
            manifests: moka::future::Cache::builder()
                .time_to_live(Duration::from_millis(query.manifest_refresh_ms.max(1)))
                .build(),
            loaded: Default::default(),
            load_lock: Mutex::new(()),
            cache: ResultCache::new(cache.max_mb.saturating_mul(1 << 20)),
        }
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub fn cache(&self) -> &ResultCache {
        &self.cache
    }

    pub fn dataset_spec(&self, id: &str) -> Option<DatasetSpec> {
        self.specs().get(id).cloned()
    }

    fn specs(&self) -> Arc<HashMap<String, DatasetSpec>> {
        self.specs.read().expect("lock").clone()
    }

    /// Serves `specs` from now on. Versions compiled against changed specs are loaded again and the result
    /// cache is emptied, so no answer computed with an old measure definition is served.
    pub fn set_specs(&self, specs: Vec<DatasetSpec>) {
        let new: HashMap<String, DatasetSpec> =
            specs.into_iter().map(|s| (s.id().to_string(), s)).collect();
        *self.specs.write().expect("lock") = Arc::new(new);
        self.loaded.write().expect("lock").clear();
        self.cache.clear();
    }

    fn ttl_of(&self, dataset: &str) -> Duration {
        self.specs()
            .get(dataset)
            .and_then(|s| s.spec.cache_ttl_secs)
            .map(Duration::from_secs)
            .unwrap_or(self.default_ttl)
    }

    /// The current manifest of `dataset`, re-read at most every `manifest_refresh_ms`.
    pub async fn manifest(&self, dataset: &str) -> Result<Arc<Manifest>> {
        let catalog = self.catalog.clone();
        let id = dataset.to_string();
        let found = self
            .manifests
            .try_get_with(id.clone(), async move {
                catalog.current(&id).await.map(|m| m.map(Arc::new))
            })
            .await
            .map_err(|e| {
                Error::Query(datafusion::error::DataFusionError::External(
                    e.to_string().into(),
                ))
            })?;
        found.ok_or_else(|| Error::NotFound {
            kind: "dataset",
            id: dataset.to_string(),
        })
    }

    /// The loaded current version of `dataset`, loading it on first use after each publish.
    pub async fn version(&self, dataset: &str) -> Result<Arc<LoadedVersion>> {
        let manifest = self.manifest(dataset).await?;
        if let Some(v) = self.loaded_version(dataset, manifest.version) {
            return Ok(v);
        }
        let _guard = self.load_lock.lock().await;
        if let Some(v) = self.loaded_version(dataset, manifest.version) {
            return Ok(v);
        }
        let specs = self.specs();
        let spec = specs.get(dataset).ok_or_else(|| Error::NotFound {
            kind: "dataset spec",
            id: format!("{dataset} (add datasets/{dataset}.yaml)"),
        })?;
        let started = std::time::Instant::now();
        let loaded = Arc::new(self.load(spec, manifest).await?);
        tracing::info!(
            dataset,
            version = loaded.manifest.version,
            rows = loaded.manifest.rows,
            hot = loaded.hot,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "dataset version loaded"
        );
        self.loaded
            .write()
            .expect("lock")
            .insert(dataset.to_string(), loaded.clone());
        Ok(loaded)
    }

    /// Resolves a dashboard request: the current version of its dataset and the URL filter `pairs` parsed
    /// against it (`_`-prefixed view parameters are skipped).
    pub async fn scope(
        &self,
        dashboard: &DashboardSpec,
        pairs: &[(String, String)],
    ) -> Result<Scope> {
        let version = self.version(&dashboard.spec.dataset).await?;
        dashboard.check_types(&version.model)?;
        let filters = FilterSet::parse(pairs, dashboard, &version.model)?;
        Ok(Scope {
            filter_dims: dashboard
                .spec
                .filters
                .iter()
                .map(|f| f.dimension.clone())
                .collect(),
            ttl: self.ttl_of(&dashboard.spec.dataset),
            version,
            filters,
        })
    }

    /// Answers `query` under `filters` (the scope's own, or a variant such as the previous period) on the scope's
    /// version, through the result cache.
    pub async fn answer(
        &self,
        scope: &Scope,
        filters: &FilterSet,
        query: &Query,
    ) -> Result<(Arc<ResultTable>, Lookup)> {
        let key = CacheKey {
            dataset: scope.version.manifest.dataset.clone(),
            version: scope.version.manifest.version,
            filters: filters.canonical(),
            item: query.signature(),
        };
        // Boxed: planning and running a query is a large future, kept off the callers' stacks.
        let compute = Box::pin(async {
            let df = self.dataframe(scope, filters, query).await?;
            let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
            ResultTable::from_batches(&schema, &df.collect().await?)
        });
        self.cache.get_or_compute(key, scope.ttl, compute).await
    }

    fn loaded_version(&self, dataset: &str, version: u64) -> Option<Arc<LoadedVersion>> {
        self.loaded
            .read()
            .expect("lock")
            .get(dataset)
            .filter(|v| v.manifest.version == version)
            .cloned()
    }

    async fn load(&self, spec: &DatasetSpec, manifest: Arc<Manifest>) -> Result<LoadedVersion> {
        let unreadable = |file: &str, e: &dyn std::fmt::Display| Error::DatasetUnreadable {
            dataset: manifest.dataset.clone(),
            version: manifest.version,
            message: format!("file `{file}`: {e}"),
        };
        if manifest.files.is_empty() {
            return Err(unreadable("(none)", &"the version has no data files"));
        }
        let hot = manifest.rows <= self.config.hot_rows_limit;
        let (schema, table): (SchemaRef, Arc<dyn TableProvider>) = if hot {
            let mut partitions: Vec<Vec<RecordBatch>> = Vec::new();
            let mut schema: Option<SchemaRef> = None;
            for file in &manifest.files {
                let path = object_store::path::Path::from(file.path.as_str());
                let bytes = self.catalog.storage().get_bytes(&path).await?;
                // Decoding is CPU work: keep it off the async workers.
                let (file_schema, batches) = tokio::task::spawn_blocking(move || {
                    let reader =
                        ParquetRecordBatchReaderBuilder::try_new(bytes)?.with_batch_size(64 * 1024);
                    let schema = reader.schema().clone();
                    let batches = reader.build()?.collect::<Result<Vec<RecordBatch>, _>>()?;
                    Ok::<_, parquet::errors::ParquetError>((schema, batches))
                })
                .await
                .map_err(|e| unreadable(&file.path, &e))?
                .map_err(|e| unreadable(&file.path, &e))?;
                if let Some(s) = &schema
                    && s.fields() != file_schema.fields()
                {
                    return Err(unreadable(
                        &file.path,
                        &"its columns differ from the version's first file",
                    ));
                }
                schema.get_or_insert(file_schema);
                partitions.push(batches);
            }
            let schema = schema.expect("at least one file");
            let partitions = rebalance(partitions, self.ctx.copied_config().target_partitions());
            let mem = MemTable::try_new(schema.clone(), partitions)?;
            (schema, Arc::new(mem))
        } else {
            let urls = manifest
                .files
                .iter()
                .map(|f| ListingTableUrl::parse(Storage::url_of(&f.path.as_str().into()).as_str()))
                .collect::<datafusion::error::Result<Vec<_>>>()?;
            let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
                .with_file_extension(".parquet");
            let config = ListingTableConfig::new_with_multi_paths(urls)
                .with_listing_options(options)
                .infer_schema(&self.ctx.state())
                .await
                .map_err(|e| unreadable(&manifest.files[0].path, &e.strip_backtrace()))?;
            let table = ListingTable::try_new(config)?;
            (table.schema(), Arc::new(table))
        };
        let model = SemanticModel::compile(spec, schema)?;
        Ok(LoadedVersion {
            manifest,
            model: Arc::new(model),
            table,
            hot,
            rollups: moka::future::Cache::builder().max_capacity(256).build(),
            profile: tokio::sync::OnceCell::new(),
        })
    }
}

/// Spreads batches over `n` partitions so that scans use every core.
fn rebalance(partitions: Vec<Vec<RecordBatch>>, n: usize) -> Vec<Vec<RecordBatch>> {
    let n = n.max(1);
    let mut out: Vec<Vec<RecordBatch>> = vec![Vec::new(); n];
    let mut rows = vec![0usize; n];
    for batch in partitions.into_iter().flatten() {
        let i = (0..n).min_by_key(|&i| rows[i]).expect("n >= 1");
        rows[i] += batch.num_rows();
        out[i].push(batch);
    }
    out.retain(|p| !p.is_empty());
    if out.is_empty() {
        out.push(Vec::new());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::{Aggregate, Grain, GroupKey, Sort};
    use std::path::{Path, PathBuf};

    fn repo() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    fn same(a: &ResultTable, b: &ResultTable, what: &str) {
        assert_eq!(a.columns, b.columns, "{what}");
        assert_eq!(a.rows.len(), b.rows.len(), "{what}");
        for (ra, rb) in a.rows.iter().zip(&b.rows) {
            for (va, vb) in ra.iter().zip(rb) {
                match (va.as_f64(), vb.as_f64()) {
                    (Some(x), Some(y)) => assert!(
                        (x - y).abs() <= 1e-9 * x.abs().max(1.0),
                        "{what}: {x} vs {y}"
                    ),
                    _ => assert_eq!(va, vb, "{what}"),
                }
            }
        }
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    fn agg(
        group_by: Vec<GroupKey>,
        measures: &[&str],
        sort: Vec<Sort>,
        limit: Option<usize>,
    ) -> Query {
        Query::Aggregate(Aggregate {
            group_by,
            measures: measures.iter().map(|m| m.to_string()).collect(),
            sort,
            limit,
            ..Default::default()
        })
    }

    /// Rollups must give exactly what the raw rows give, for every shape that may use one and several filter sets
    /// (declared filters, cross-filters on other dimensions, searches, bins, time grains).
    #[tokio::test]
    async fn rollups_answer_exactly_like_the_raw_rows() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::new(Storage::local_for_tests(dir.path()));
        crate::demo::publish(&catalog, "cursor_usage", 30_000, &|_| {})
            .await
            .unwrap();
        let specs = DatasetSpec::load_dir(&repo().join("datasets")).unwrap();
        let dashboard = DashboardSpec::parse(
            Path::new("d.yaml"),
            "id: d\ntitle: D\ndataset: cursor_usage\nfilters:\n  - {dimension: team, type: multi_select}\n  - {dimension: date, type: date_range}\n",
        )
        .unwrap();
        let cache = CacheConfig::default();
        let with = QueryEngine::new(
            catalog.clone(),
            specs.clone(),
            &QueryConfig::default(),
            &cache,
        );
        let without = QueryEngine::new(
            catalog,
            specs,
            &QueryConfig {
                rollups: false,
                ..Default::default()
            },
            &cache,
        );
        let queries = [
            agg(
                vec![],
                &["active_users", "total_requests", "tab_acceptance_rate"],
                vec![],
                None,
            ),
            agg(
                GroupKey::dims(&["team"]),
                &["total_requests"],
                vec![Sort::desc("total_requests")],
                Some(5),
            ),
            agg(
                vec![GroupKey::Time {
                    dimension: "date".into(),
                    grain: Grain::Week,
                }],
                &["total_requests", "tab_acceptance_rate"],
                vec![],
                None,
            ),
            agg(
                GroupKey::dims(&["team", "model"]),
                &["user_days"],
                vec![],
                None,
            ),
            Query::Aggregate(Aggregate {
                group_by: GroupKey::dims(&["model"]),
                measures: vec![crate::shape::ROWS.into()],
                sort: vec![Sort::desc(crate::shape::ROWS)],
                search: Some(("model".into(), "GPT".into())),
                ..Default::default()
            }),
            Query::Count {
                group_by: GroupKey::dims(&["user"]),
            },
        ];
        let cases = [
            pairs(&[]),
            pairs(&[
                ("team", "Web"),
                ("team", "ML"),
                ("date", "2025-02-01..2025-04-30"),
            ]),
            pairs(&[("date", "2025-12-01..")]),
            pairs(&[("model", "gpt-5")]),
            pairs(&[("team", "Nobody")]),
        ];
        for filters in &cases {
            let a = with.scope(&dashboard, filters).await.unwrap();
            let b = without.scope(&dashboard, filters).await.unwrap();
            for q in &queries {
                let (ta, _) = with.answer(&a, &a.filters, q).await.unwrap();
                let (tb, _) = without.answer(&b, &b.filters, q).await.unwrap();
                same(&ta, &tb, &format!("{filters:?} {q:?}"));
            }
        }
        // Rollups were really used where they are small: requests by team is answered from a (date, team) cube.
        let v = with.version("cursor_usage").await.unwrap();
        let cube = v
            .rollups
            .get("date,team|total_requests|true")
            .await
            .expect("rollup tried");
        assert!(cube.is_some(), "the (date, team) cube is used");
    }

    /// Histogram bins, quantiles, bounds and row pages, checked against values computed from the rows directly.
    #[tokio::test]
    async fn shapes_match_the_rows() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::new(Storage::local_for_tests(dir.path()));
        let rows = 5_000;
        crate::demo::publish(&catalog, "apac_dot", rows, &|_| {})
            .await
            .unwrap();
        let (_, batches) = crate::demo::batches("apac_dot", rows).unwrap();
        let batches: Vec<RecordBatch> = batches.collect();
        let mut quantity: Vec<f64> = Vec::new();
        for b in &batches {
            let q = b
                .column_by_name("quantity")
                .unwrap()
                .as_any()
                .downcast_ref::<datafusion::arrow::array::Int64Array>()
                .unwrap();
            quantity.extend(q.values().iter().map(|v| *v as f64));
        }
        let specs = DatasetSpec::load_dir(&repo().join("datasets")).unwrap();
        let mut specs = specs;
        for s in &mut specs {
            if s.id() == "apac_dot" {
                s.spec.metrics.dimensions.insert("quantity".into(), None);
            }
        }
        let dashboard =
            DashboardSpec::parse(Path::new("d.yaml"), "id: d\ntitle: D\ndataset: apac_dot\n")
                .unwrap();
        let engine = QueryEngine::new(
            catalog,
            specs,
            &QueryConfig::default(),
            &CacheConfig::default(),
        );
        let scope = engine.scope(&dashboard, &[]).await.unwrap();

        let (bounds, _) = engine
            .answer(
                &scope,
                &scope.filters,
                &Query::Bounds {
                    dimension: "quantity".into(),
                },
            )
            .await
            .unwrap();
        let lo = quantity.iter().cloned().fold(f64::INFINITY, f64::min);
        let hi = quantity.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        assert_eq!(bounds.rows[0][0].as_f64(), Some(lo));
        assert_eq!(bounds.rows[0][1].as_f64(), Some(hi));

        let (hist, _) = engine
            .answer(
                &scope,
                &scope.filters,
                &agg(
                    vec![GroupKey::Bin {
                        dimension: "quantity".into(),
                        bins: 10,
                    }],
                    &[crate::shape::ROWS],
                    vec![],
                    None,
                ),
            )
            .await
            .unwrap();
        let width = hist.rows[0][hist.column_index(crate::shape::BIN_WIDTH).unwrap()]
            .as_f64()
            .unwrap();
        let mut total = 0;
        for r in &hist.rows {
            let edge = r[0].as_f64().unwrap();
            let n = r[1].as_i64().unwrap();
            let expected = quantity
                .iter()
                .filter(|q| **q >= edge && **q < edge + width)
                .count();
            assert_eq!(n as usize, expected, "bin {edge}");
            total += n;
        }
        assert_eq!(total as usize, rows);

        let (quant, _) = engine
            .answer(
                &scope,
                &scope.filters,
                &Query::Quantiles {
                    group_by: vec![],
                    value: "quantity".into(),
                    sort: vec![],
                    limit: None,
                },
            )
            .await
            .unwrap();
        let mut sorted = quantity.clone();
        sorted.sort_by(f64::total_cmp);
        let median = if rows % 2 == 0 {
            (sorted[rows / 2 - 1] + sorted[rows / 2]) / 2.0
        } else {
            sorted[rows / 2]
        };
        let col = |n: &str| {
            quant.rows[0][quant.column_index(n).unwrap()]
                .as_f64()
                .unwrap()
        };
        assert_eq!(col("count"), rows as f64);
        assert_eq!(col("median"), median);
        assert_eq!(col("min"), lo);
        assert!((col("mean") - quantity.iter().sum::<f64>() / rows as f64).abs() < 1e-9);

        let (page, _) = engine
            .answer(
                &scope,
                &scope.filters,
                &Query::Rows {
                    columns: vec!["order_id".into(), "quantity".into()],
                    sort: vec![Sort::desc("quantity"), Sort::asc("order_id")],
                    offset: 10,
                    limit: Some(5),
                },
            )
            .await
            .unwrap();
        assert_eq!(page.columns, vec!["order_id", "quantity"]);
        assert_eq!(page.rows.len(), 5);
        assert_eq!(page.rows[0][1].as_f64(), Some(sorted[rows - 11]));

        let (count, _) = engine
            .answer(&scope, &scope.filters, &Query::Count { group_by: vec![] })
            .await
            .unwrap();
        assert_eq!(count.rows[0][0].as_i64(), Some(rows as i64));
    }

    /// Column profiles, checked against the rows themselves.
    #[tokio::test]
    async fn profiles_match_the_rows() {
        use datafusion::arrow::array::{Array, AsArray};
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::new(Storage::local_for_tests(dir.path()));
        let rows = 4_000;
        crate::demo::publish(&catalog, "apac_dot", rows, &|_| {})
            .await
            .unwrap();
        let (_, batches) = crate::demo::batches("apac_dot", rows).unwrap();
        let mut delivered_nulls = 0;
        let mut status: std::collections::HashMap<String, u64> = Default::default();
        let mut quantity: Vec<i64> = Vec::new();
        for b in batches {
            delivered_nulls += b.column_by_name("delivered_date").unwrap().null_count() as u64;
            for v in b
                .column_by_name("status")
                .unwrap()
                .as_string::<i32>()
                .iter()
            {
                *status.entry(v.unwrap().to_string()).or_default() += 1;
            }
            quantity.extend(
                b.column_by_name("quantity")
                    .unwrap()
                    .as_primitive::<datafusion::arrow::datatypes::Int64Type>()
                    .values()
                    .iter(),
            );
        }
        let specs = DatasetSpec::load_dir(&repo().join("datasets")).unwrap();
        let engine = QueryEngine::new(
            catalog,
            specs,
            &QueryConfig::default(),
            &CacheConfig::default(),
        );
        let p = engine.profile("apac_dot").await.unwrap();
        assert_eq!(p.rows, rows as u64);
        let col = |n: &str| p.columns.iter().find(|c| c.name == n).unwrap();
        assert_eq!(col("delivered_date").nulls, delivered_nulls);
        assert_eq!(col("order_id").nulls, 0);
        let q = col("quantity");
        assert_eq!(q.min.as_i64(), quantity.iter().min().copied());
        assert_eq!(q.max.as_i64(), quantity.iter().max().copied());
        let mean = quantity.iter().sum::<i64>() as f64 / rows as f64;
        assert!((q.mean.unwrap() - mean).abs() < 1e-9);
        assert_eq!(q.histogram.iter().map(|(_, n)| n).sum::<u64>(), rows as u64);
        let s = col("status");
        let mut want: Vec<(String, u64)> = status.into_iter().collect();
        want.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let got: Vec<(String, u64)> = s
            .top
            .iter()
            .map(|(v, n)| (v.as_str().unwrap().to_string(), *n))
            .collect();
        assert_eq!(got, want);
        // HyperLogLog is exact at this size for a dozen values.
        assert_eq!(col("country").distinct, 12);
        assert_eq!(col("due_date").histogram.len(), 12, "one bar per month");
        // Computed once per version.
        assert!(Arc::ptr_eq(&p, &engine.profile("apac_dot").await.unwrap()));
    }
}
