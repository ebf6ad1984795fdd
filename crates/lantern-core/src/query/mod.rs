//! The query engine: resolves a dataset's current version, keeps it hot in Arrow form, and answers a dashboard's
//! KPIs and charts for a filter set through DataFusion's `DataFrame` API, behind the [`ResultCache`].
//!
//! Every item becomes one aggregate plan over the filtered table: no SQL strings are built, so the same logical
//! plans can later run on a distributed engine.

mod cluster;
mod hot_encoding;
mod months;
mod plan;
mod profile;
mod result;
mod rollups;
mod row_index;
mod zones;

pub use profile::{ColumnProfile, Profile};
pub use result::ResultTable;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use datafusion::arrow::datatypes::{DataType, SchemaRef};
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

use crate::access::RowScope;
use crate::cache::{CacheKey, Lookup, ResultCache};
use crate::catalog::{Catalog, Manifest};
use crate::config::{CacheConfig, QueryConfig, QueryEngineKind};
use crate::dashboard::DashboardSpec;
use crate::error::{Error, Result};
use crate::filters::{FilterSet, Restriction};
use crate::semantic::{DatasetSpec, SemanticModel};
use crate::shape::Query;
use crate::storage::{STORE_URL, Storage};

/// One dashboard request, resolved once: the version it reads (even if a newer one is published meanwhile), its
/// parsed filters and how long its answers may be cached.
#[derive(Clone)]
pub struct Scope {
    pub version: Arc<LoadedVersion>,
    /// The URL's filters under the user's row rules.
    pub filters: FilterSet,
    /// The user's row rules, put on every filter set this scope answers (see [`Scope::restrict`]).
    restriction: Option<Arc<Restriction>>,
    /// The dimensions the dashboard declares filters on: rollups keep those that are cheap to keep, so that one
    /// rollup serves many filter sets.
    declared: Arc<[String]>,
    ttl: Duration,
}

impl Scope {
    pub fn model(&self) -> &SemanticModel {
        &self.version.model
    }

    /// `filters` under this scope's row rules, whatever rules they carried: the one way a filter set reaches a
    /// plan, so that no variant (a filter left out, no filter at all) gets around them.
    pub fn restrict(&self, filters: &FilterSet) -> FilterSet {
        filters.clone().restricted(self.restriction.clone())
    }

    /// Whether row rules narrow what this scope sees.
    pub fn is_restricted(&self) -> bool {
        self.restriction.is_some()
    }
}

/// One published version, loaded and checked.
pub struct LoadedVersion {
    pub manifest: Arc<Manifest>,
    pub model: Arc<SemanticModel>,
    /// A fingerprint of the spec the model was compiled from, for cache keys.
    spec_fingerprint: String,
    pub(crate) table: Arc<dyn TableProvider>,
    /// Whether the rows are held in memory (else scanned from Parquet).
    pub hot: bool,
    /// The memory the rows take when hot, given back to the engine's budget when the version is dropped.
    hot_bytes: HotBytes,
    /// The hot rows as one sequence, for the row indexes; `None` when scanned from Parquet.
    hot_rows: Option<Arc<row_index::HotRows>>,
    /// Row indexes by column, built on the first selective list filter on it.
    indexes: moka::future::Cache<String, Option<Arc<row_index::RowIndex>>>,
    /// Rollups by (dimensions, measures); `None` when an item cannot or should not use one.
    rollups: moka::future::Cache<String, Arc<Option<Part>>>,
    /// The column profile, computed on first use (dataset pages).
    profile: tokio::sync::OnceCell<Arc<Profile>>,
    /// Profiles under row rules, by the rules' canonical form: each user sees only their rows' profile.
    restricted_profiles: moka::future::Cache<String, Arc<Profile>>,
    /// Approximate distinct values of each dimension column, computed on first use (rollup sizes).
    distinct: tokio::sync::OnceCell<Arc<HashMap<String, u64>>>,
}

/// What a loaded version holds in memory, by kind, in bytes (Arrow buffer sizes and the indexes' own counts):
/// for benchmarks and metrics, to tell the data from the structures built over it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VersionMemory {
    pub hot: u64,
    pub rollups: u64,
    pub indexes: u64,
}

impl LoadedVersion {
    /// The memory this version holds now (after pending rollup evictions run).
    pub async fn memory(&self) -> VersionMemory {
        self.rollups.run_pending_tasks().await;
        let indexes = self
            .indexes
            .iter()
            .filter_map(|(_, index)| index.map(|i| i.bytes() as u64))
            .sum();
        VersionMemory {
            hot: if self.hot { self.hot_bytes.bytes } else { 0 },
            rollups: self.rollups.weighted_size(),
            indexes,
        }
    }
}

/// Bytes of hot data counted against the engine's budget ([`QueryConfig::hot_max_mb`]) for as long as the
/// version that holds them lives.
struct HotBytes {
    bytes: u64,
    budget: Arc<AtomicU64>,
}

impl Drop for HotBytes {
    fn drop(&mut self) {
        self.budget.fetch_sub(self.bytes, Ordering::SeqCst);
    }
}

/// A table and the measures to aggregate over it: the raw rows, or a rollup of them.
#[derive(Clone)]
struct Part {
    table: Arc<dyn TableProvider>,
    measures: Vec<(String, Expr)>,
    /// The memory the table takes when it is a rollup (0 for the raw rows, which the version holds anyway).
    bytes: usize,
    /// The rollup's rows (0 for the raw rows).
    rows: usize,
    /// The same rows sorted by the rollup's date column, so that a date range reads only its own slice of them
    /// instead of filtering every row (`None` for the raw rows and rollups without a date).
    by_date: Option<Arc<row_index::HotRows>>,
}

impl Part {
    /// The table to read under `filters`: only the slice of a date-sorted rollup that their date range may
    /// match (no row copied; the filters still apply to it), the whole table otherwise.
    fn table_under(&self, filters: &FilterSet) -> Result<Arc<dyn TableProvider>> {
        let sliced = self.by_date.as_ref().and_then(|rows| {
            let (batches, _) = rows.in_ranges(filters)?;
            Some((rows.schema.clone(), batches))
        });
        Ok(match sliced {
            Some((schema, batches)) => Arc::new(MemTable::try_new(schema, vec![batches])?),
            None => self.table.clone(),
        })
    }
}

/// `approx_distinct` of `column` as `table` holds it (`declared` where the table lacks it): HyperLogLog takes
/// integers, text and dates; other values, and a hot text column kept as a dictionary (see `hot_encoding`),
/// which it does not take, are counted by their text.
fn approx_distinct_of(
    table: &datafusion::arrow::datatypes::Schema,
    column: &str,
    declared: &DataType,
) -> Expr {
    let t = table
        .field_with_name(column)
        .map_or(declared, |f| f.data_type());
    let hashable = t.is_integer()
        || matches!(
            t,
            DataType::Date32
                | DataType::Date64
                | DataType::Timestamp(..)
                | DataType::Utf8
                | DataType::LargeUtf8
                | DataType::Utf8View
        );
    let c = datafusion::logical_expr::col(datafusion::common::Column::new_unqualified(column));
    let c = if hashable {
        c
    } else {
        datafusion::logical_expr::cast(c, DataType::Utf8)
    };
    datafusion::functions_aggregate::expr_fn::approx_distinct(c)
}

/// Answers dashboard queries; one per process, shared by all requests.
pub struct QueryEngine {
    ctx: SessionContext,
    /// One partition and lean planning, for small tables (rollups, rows a row index or a date range selected):
    /// splitting a few thousand rows over the cores costs more in repartitioning and task hand-offs than it saves
    /// (measured: 1.8 against 3.4 ms for a 4 k-row aggregate on 2 cores); see [`one_partition_context`].
    small: SessionContext,
    /// Whether plans run on a Ballista cluster ([`cluster`]): tables are then read at the store's shared URLs.
    on_cluster: bool,
    catalog: Catalog,
    config: QueryConfig,
    default_ttl: Duration,
    /// Replaced as a whole when the spec files change (`lantern serve --watch`).
    specs: std::sync::RwLock<Arc<HashMap<String, DatasetSpec>>>,
    manifests: moka::future::Cache<String, Option<Arc<Manifest>>>,
    loaded: std::sync::RwLock<HashMap<String, Arc<LoadedVersion>>>,
    load_lock: Mutex<()>,
    cache: ResultCache,
    /// Bytes of all hot versions loaded now.
    hot_used: Arc<AtomicU64>,
    /// The most raw rows planned in the one-partition context ([`zones::SMALL_TABLE_ROWS`]; lower in tests, so
    /// that small test data takes the paths of large data).
    small_rows: usize,
}

/// The result cache `config` describes: local, with Redis behind it when `redis_url` is set.
fn result_cache(config: &CacheConfig) -> ResultCache {
    let local = ResultCache::new(config.max_mb.saturating_mul(1 << 20));
    let Some(url) = &config.redis_url else {
        return local;
    };
    let max_entry =
        usize::try_from(config.redis_max_entry_kb.saturating_mul(1024)).unwrap_or(usize::MAX);
    match crate::cache::shared::SharedCache::open(url, max_entry) {
        Ok(shared) => local.with_shared(shared),
        // `Config::load` refuses such a URL; an engine built from an unchecked config runs on the local level.
        Err(e) => {
            tracing::error!(error = %e, "the shared result cache is off");
            local
        }
    }
}

impl QueryEngine {
    /// Creates the engine over `catalog` for the datasets described by `specs`; a bad `query.engine` is a
    /// configuration error.
    pub fn new(
        catalog: Catalog,
        specs: Vec<DatasetSpec>,
        query: &QueryConfig,
        cache: &CacheConfig,
    ) -> Result<Self> {
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
        // `Config::load` checks it too; an engine built from a config assembled in code refuses it here.
        let kind = query.engine_kind()?;
        let (ctx, small, config, on_cluster) = match kind {
            QueryEngineKind::Embedded => {
                let small = one_partition_context(session.clone());
                let ctx = SessionContext::new_with_config(session);
                let url = url::Url::parse(STORE_URL).expect("valid");
                ctx.register_object_store(&url, catalog.storage().store().clone());
                (ctx, small, query.clone(), false)
            }
            QueryEngineKind::Ballista { scheduler } => {
                let ctx = cluster::remote_context(session, &scheduler, catalog.storage());
                (ctx.clone(), ctx, cluster::cluster_config(query), true)
            }
        };
        Ok(Self {
            ctx,
            small,
            on_cluster,
            catalog,
            config,
            default_ttl: Duration::from_secs(cache.ttl_secs),
            specs: std::sync::RwLock::new(Arc::new(
                specs.into_iter().map(|s| (s.id().to_string(), s)).collect(),
            )),
            manifests: moka::future::Cache::builder()
                .time_to_live(Duration::from_millis(query.manifest_refresh_ms.max(1)))
                .build(),
            loaded: Default::default(),
            load_lock: Mutex::new(()),
            cache: result_cache(cache),
            hot_used: Arc::new(AtomicU64::new(0)),
            small_rows: zones::SMALL_TABLE_ROWS,
        })
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The settings in effect: the configured ones, except that on a cluster nothing is held in memory and no
    /// rollups are built (neither would reach the executors).
    pub fn settings(&self) -> &QueryConfig {
        &self.config
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
            .map_err(Error::from_shared)?;
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
            hot_mb = loaded.hot_bytes.bytes >> 20,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "dataset version loaded"
        );
        self.loaded
            .write()
            .expect("lock")
            .insert(dataset.to_string(), loaded.clone());
        Ok(loaded)
    }

    /// Resolves a dashboard request: the current version of its dataset, the URL filter `pairs` parsed against
    /// it (`_`-prefixed view parameters are skipped) and the user's `rows` compiled against it.
    pub async fn scope(
        &self,
        dashboard: &DashboardSpec,
        pairs: &[(String, String)],
        rows: &RowScope,
    ) -> Result<Scope> {
        let version = self.version(&dashboard.spec.dataset).await?;
        dashboard.check_types(&version.model)?;
        let restriction = Restriction::compile(rows, &version.model)?;
        let filters =
            FilterSet::parse(pairs, dashboard, &version.model)?.restricted(restriction.clone());
        Ok(Scope {
            restriction,
            ttl: self.ttl_of(&dashboard.spec.dataset),
            declared: dashboard
                .spec
                .filters
                .iter()
                .map(|f| f.dimension.clone())
                .collect(),
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
        let filters = &scope.restrict(filters);
        let key = CacheKey {
            dataset: scope.version.manifest.dataset.clone(),
            version: scope.version.manifest.version,
            spec: scope.version.spec_fingerprint.clone(),
            filters: filters.canonical(),
            item: query.signature(),
        };
        // Boxed: planning and running a query is a large future, kept off the callers' stacks.
        let compute = Box::pin(async {
            let started = std::time::Instant::now();
            let df = self.dataframe(scope, filters, query).await?;
            let planned = started.elapsed();
            let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
            // Planned and run on a task of its own: a page's items are awaited together in one task, and a
            // one-partition plan runs where it is polled, so they would otherwise take turns on one core.
            let (batches, physical, run, scanned) = tokio::spawn(async move {
                let t = std::time::Instant::now();
                let task = Arc::new(df.task_ctx());
                let plan = df.create_physical_plan().await?;
                let physical = t.elapsed();
                let batches = datafusion::physical_plan::collect(plan.clone(), task).await?;
                Ok::<_, datafusion::error::DataFusionError>((
                    batches,
                    physical,
                    t.elapsed() - physical,
                    rows_scanned(&plan),
                ))
            })
            .await
            .map_err(|e| datafusion::error::DataFusionError::ExecutionJoin(Box::new(e)))??;
            let table = ResultTable::from_batches(&schema, &batches);
            let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
            // Where a miss's time goes: building the logical plan (and any rollup it needs), the physical plan,
            // running it; `elapsed_ms` also counts waiting for a core.
            tracing::debug!(
                dataset = %scope.version.manifest.dataset,
                item = %query.signature(),
                logical_ms = ms(planned),
                physical_ms = ms(physical),
                run_ms = ms(run),
                elapsed_ms = ms(started.elapsed()),
                rows_scanned = scanned,
                "answered"
            );
            crate::telemetry::query_ran(
                &scope.version.manifest.dataset,
                started.elapsed(),
                scanned,
            );
            table
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

    /// Decodes every file of `manifest` into Arrow batches while they take at most `allowance` bytes; `None`
    /// as soon as they would take more (what was decoded is dropped, and the version is scanned from Parquet).
    async fn read_hot(
        &self,
        manifest: &Manifest,
        allowance: u64,
    ) -> Result<Option<(SchemaRef, Vec<Vec<RecordBatch>>)>> {
        let unreadable = |file: &str, e: &dyn std::fmt::Display| Error::DatasetUnreadable {
            dataset: manifest.dataset.clone(),
            version: manifest.version,
            message: format!("file `{file}`: {e}"),
        };
        let mut partitions: Vec<Vec<RecordBatch>> = Vec::new();
        let mut schema: Option<SchemaRef> = None;
        let mut used: u64 = 0;
        for file in &manifest.files {
            let path = object_store::path::Path::from(file.path.as_str());
            let bytes = self.catalog.storage().get_bytes(&path).await?;
            let left = allowance.saturating_sub(used);
            // Decoding is CPU work: keep it off the async workers.
            let decoded = tokio::task::spawn_blocking(move || {
                let reader =
                    ParquetRecordBatchReaderBuilder::try_new(bytes)?.with_batch_size(64 * 1024);
                let schema = reader.schema().clone();
                let mut batches = Vec::new();
                let mut size: u64 = 0;
                for batch in reader.build()? {
                    let batch = batch?;
                    size += batch.get_array_memory_size() as u64;
                    if size > left {
                        return Ok(None);
                    }
                    batches.push(batch);
                }
                Ok::<_, parquet::errors::ParquetError>(Some((schema, batches, size)))
            })
            .await
            .map_err(|e| unreadable(&file.path, &e))?
            .map_err(|e| unreadable(&file.path, &e))?;
            let Some((file_schema, batches, size)) = decoded else {
                tracing::info!(
                    dataset = manifest.dataset,
                    version = manifest.version,
                    allowance_mb = allowance >> 20,
                    "the version does not fit in the memory left for hot data (query.hot_max_mb): scanning Parquet"
                );
                return Ok(None);
            };
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
            used += size;
        }
        let schema = schema.expect("at least one file");
        Ok(Some((schema, partitions)))
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
        // What is left of the memory budget for hot data (the version this one replaces still counts until
        // its last request finishes: the bound holds at every moment).
        let allowance =
            (self.config.hot_max_mb << 20).saturating_sub(self.hot_used.load(Ordering::SeqCst));
        let held = if manifest.rows <= self.config.hot_rows_limit {
            self.read_hot(&manifest, allowance).await?
        } else {
            None
        };
        let hot = held.is_some();
        let mut hot_rows = None;
        let (schema, table, bytes): (SchemaRef, Arc<dyn TableProvider>, u64) = match held {
            Some((schema, partitions)) => {
                let partitions =
                    rebalance(partitions, self.ctx.copied_config().target_partitions());
                // CPU work, like decoding: off the async workers.
                let file_schema = schema.clone();
                let (hot, partitions) = tokio::task::spawn_blocking(move || {
                    hot_encoding::encode_text_columns(&file_schema, partitions)
                })
                .await
                .map_err(|e| unreadable("(all)", &e))?
                .map_err(|e| unreadable("(all)", &e))?;
                let bytes: u64 = partitions
                    .iter()
                    .flatten()
                    .map(|b| b.get_array_memory_size() as u64)
                    .sum();
                hot_rows = Some(Arc::new(row_index::HotRows::new(hot.clone(), &partitions)));
                let mem = MemTable::try_new(hot, partitions)?;
                // The model keeps the files' types (text, not the hot table's dictionaries), as a version
                // scanned from Parquet has them.
                (schema, Arc::new(mem), bytes)
            }
            None => {
                let shared = match (self.on_cluster, self.catalog.storage().shared_location()) {
                    (false, _) => None,
                    (true, Some(shared)) => Some(shared),
                    (true, None) => {
                        return Err(unreadable(
                            "(all)",
                            &"this store has no URL a Ballista cluster can read",
                        ));
                    }
                };
                let urls = manifest
                    .files
                    .iter()
                    .map(|f| {
                        let path = f.path.as_str().into();
                        let url = match shared {
                            Some(shared) => shared.url_of(&path),
                            None => Storage::url_of(&path),
                        };
                        ListingTableUrl::parse(url.as_str())
                    })
                    .collect::<datafusion::error::Result<Vec<_>>>()?;
                let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
                    .with_file_extension(".parquet");
                let config = ListingTableConfig::new_with_multi_paths(urls)
                    .with_listing_options(options)
                    .infer_schema(&self.ctx.state())
                    .await
                    .map_err(|e| unreadable(&manifest.files[0].path, &e.strip_backtrace()))?;
                let table = ListingTable::try_new(config)?;
                (table.schema(), Arc::new(table), 0)
            }
        };
        self.hot_used.fetch_add(bytes, Ordering::SeqCst);
        let hot_bytes = HotBytes {
            bytes,
            budget: self.hot_used.clone(),
        };
        let model = SemanticModel::compile(spec, schema)?;
        Ok(LoadedVersion {
            manifest,
            model: Arc::new(model),
            spec_fingerprint: blake3::hash(format!("{:?}", spec.spec).as_bytes())
                .to_hex()
                .to_string(),
            table,
            hot,
            hot_bytes,
            hot_rows,
            indexes: moka::future::Cache::builder().max_capacity(16).build(),
            rollups: moka::future::Cache::builder()
                .max_capacity(rollups::ROLLUPS_MAX_BYTES)
                .weigher(|k: &String, part: &Arc<Option<Part>>| {
                    let bytes = part.as_ref().as_ref().map_or(0, |p| p.bytes);
                    u32::try_from(k.len() + bytes).unwrap_or(u32::MAX)
                })
                .build(),
            profile: tokio::sync::OnceCell::new(),
            restricted_profiles: moka::future::Cache::builder().max_capacity(64).build(),
            distinct: tokio::sync::OnceCell::new(),
        })
    }
}

/// Rows the scans of an executed plan read: what a file scan counted, or a memory table's row count (memory
/// scans keep no metrics, and read every row of the batches they are given).
fn rows_scanned(plan: &Arc<dyn datafusion::physical_plan::ExecutionPlan>) -> u64 {
    use datafusion::common::stats::Precision;
    let children = plan.children();
    if !children.is_empty() {
        return children.into_iter().map(rows_scanned).sum();
    }
    if let Some(n) = plan.metrics().and_then(|m| m.output_rows()) {
        return n as u64;
    }
    let stats = datafusion::physical_plan::StatisticsContext::new().compute(
        plan.as_ref(),
        &datafusion::physical_plan::StatisticsArgs::new(),
    );
    match stats.map(|s| s.num_rows) {
        Ok(Precision::Exact(n) | Precision::Inexact(n)) => n as u64,
        _ => 0,
    }
}

/// The context for small one-partition tables (rollups, selected rows). It plans with only the expression
/// simplifier of the logical optimizer and with only the physical rules that turn a sort and a limit into a top-k, merge the two aggregation steps
/// and check the plan: for a few thousand rows the full rule sets took longer than running the query (measured
/// with DataFusion 55 on a 4 k-row filter, group and sort, planned and run: 3.5–3.8 ms with every rule, 1.6–1.7
/// ms with these). The analyzer (type coercion) still runs. Every table read here has exactly one partition, so no
/// exchange is ever needed that the distribution rules would add.
pub fn one_partition_context(config: SessionConfig) -> SessionContext {
    use datafusion::execution::SessionStateBuilder;
    use datafusion::optimizer::simplify_expressions::SimplifyExpressions;
    use datafusion::physical_optimizer::combine_partial_final_agg::CombinePartialFinalAggregate;
    use datafusion::physical_optimizer::limit_pushdown::LimitPushdown;
    use datafusion::physical_optimizer::sanity_checker::SanityCheckPlan;
    let state = SessionStateBuilder::new()
        .with_config(config.with_target_partitions(1))
        .with_default_features()
        // Some functions (`coalesce`) run only once simplified.
        .with_optimizer_rules(vec![Arc::new(SimplifyExpressions::new())])
        .with_physical_optimizer_rules(vec![
            Arc::new(CombinePartialFinalAggregate::new()),
            Arc::new(LimitPushdown::new()),
            Arc::new(SanityCheckPlan::new()),
        ])
        .build();
    SessionContext::new_with_state(state)
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

    /// Hot data stays within `hot_max_mb` for all datasets together: what does not fit is scanned from Parquet
    /// and answers the same; a dropped version gives its memory back.
    #[tokio::test]
    async fn hot_data_stays_within_its_memory_budget() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::new(Storage::local_for_tests(dir.path()));
        for id in crate::demo::DATASETS {
            crate::demo::publish(&catalog, id, 20_000, &|_| {})
                .await
                .unwrap();
        }
        let specs = DatasetSpec::load_dir(&repo().join("datasets")).unwrap();
        let engine = |mb| {
            QueryEngine::new(
                catalog.clone(),
                specs.clone(),
                &QueryConfig {
                    hot_max_mb: mb,
                    ..Default::default()
                },
                &CacheConfig::default(),
            )
            .unwrap()
        };
        let roomy = engine(512);
        let first = roomy.version("cursor_usage").await.unwrap();
        let size = first.hot_bytes.bytes;
        assert!(first.hot && size > 1 << 20, "{size}");
        assert!(roomy.version("apac_dot").await.unwrap().hot);
        assert!(roomy.hot_used.load(Ordering::SeqCst) > size);

        // A budget that holds one dataset: the second one loaded is scanned from Parquet.
        let tight = engine(size.div_ceil(1 << 20) + 1);
        let cursor = tight.version("cursor_usage").await.unwrap();
        let apac = tight.version("apac_dot").await.unwrap();
        assert!(cursor.hot && !apac.hot);
        assert_eq!(
            tight.hot_used.load(Ordering::SeqCst),
            cursor.hot_bytes.bytes
        );
        async fn count(e: &QueryEngine, version: Arc<LoadedVersion>) -> Arc<ResultTable> {
            let scope = Scope {
                version,
                filters: FilterSet::default(),
                restriction: None,
                declared: Arc::new([]),
                ttl: Duration::from_secs(1),
            };
            let q = Query::Count { group_by: vec![] };
            e.answer(&scope, &FilterSet::default(), &q).await.unwrap().0
        }
        let cold_rows = count(&tight, apac).await;
        let hot_rows = count(&roomy, roomy.version("apac_dot").await.unwrap()).await;
        assert_eq!(cold_rows.rows, hot_rows.rows);

        // Forgetting the loaded versions gives their memory back.
        drop(cursor);
        tight.loaded.write().unwrap().clear();
        assert_eq!(tight.hot_used.load(Ordering::SeqCst), 0);
    }

    /// Both engines answer every query under every filter set alike.
    async fn same_answers(
        a: &QueryEngine,
        b: &QueryEngine,
        dashboard: &DashboardSpec,
        cases: &[Vec<(String, String)>],
        queries: &[Query],
    ) {
        for filters in cases {
            let sa = a.scope(dashboard, filters, &RowScope::All).await.unwrap();
            let sb = b.scope(dashboard, filters, &RowScope::All).await.unwrap();
            for q in queries {
                let (ta, _) = a.answer(&sa, &sa.filters, q).await.unwrap();
                let (tb, _) = b.answer(&sb, &sb.filters, q).await.unwrap();
                same(&ta, &tb, &format!("{filters:?} {q:?}"));
            }
        }
    }

    /// Cursor Usage demo rows (`rows`) in a temporary folder, a dashboard over them with a filter on each of
    /// `filters` (`date` a range, the others multi-selects), and two engines on them: default settings and `other`.
    struct TwoEngines {
        _dir: tempfile::TempDir,
        dashboard: DashboardSpec,
        default: QueryEngine,
        other: QueryEngine,
    }

    async fn two_engines(rows: usize, filters: &[&str], other: QueryConfig) -> TwoEngines {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::new(Storage::local_for_tests(dir.path()));
        crate::demo::publish(&catalog, "cursor_usage", rows, &|_| {})
            .await
            .unwrap();
        let specs = DatasetSpec::load_dir(&repo().join("datasets")).unwrap();
        let mut yaml = String::from("id: d\ntitle: D\ndataset: cursor_usage\nfilters:\n");
        for f in filters {
            let kind = if *f == "date" {
                "date_range"
            } else {
                "multi_select"
            };
            yaml.push_str(&format!("  - {{dimension: {f}, type: {kind}}}\n"));
        }
        let dashboard = DashboardSpec::parse(Path::new("d.yaml"), &yaml).unwrap();
        let cache = CacheConfig::default();
        TwoEngines {
            default: QueryEngine::new(
                catalog.clone(),
                specs.clone(),
                &QueryConfig::default(),
                &cache,
            )
            .unwrap(),
            other: QueryEngine::new(catalog, specs, &other, &cache).unwrap(),
            dashboard,
            _dir: dir,
        }
    }

    /// Dashboard items of every shape the engines answer: totals, top-N, time grains, two dimensions, distinct
    /// counts per group, a search, counts, bounds.
    fn dashboard_queries() -> Vec<Query> {
        vec![
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
            // Distinct counts per group, from the groups' sets of users.
            agg(
                vec![GroupKey::Time {
                    dimension: "date".into(),
                    grain: Grain::Month,
                }],
                &["active_users", "total_requests"],
                vec![],
                None,
            ),
            agg(
                GroupKey::dims(&["team"]),
                &["active_users", "tab_acceptance_rate"],
                vec![Sort::desc("active_users")],
                Some(3),
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
            // From a rollup kept for the items above, which groups by the date.
            Query::Bounds {
                dimension: "date".into(),
            },
        ]
    }

    /// Filter sets: none, a cross-filter with a date range, an open range, another dimension, nothing matching.
    fn filter_cases() -> Vec<Vec<(String, String)>> {
        vec![
            pairs(&[]),
            pairs(&[
                ("team", "Web"),
                ("team", "ML"),
                ("date", "2025-02-01..2025-04-30"),
            ]),
            pairs(&[("date", "2025-12-01..")]),
            pairs(&[("model", "gpt-5")]),
            pairs(&[("team", "Nobody")]),
        ]
    }

    /// On a Ballista cluster (a real scheduler and two executors over gRPC and Flight) every item, filter set and
    /// profile comes out as the embedded engine gives it, which answers from hot memory and rollups.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn ballista_answers_like_the_embedded_engine() {
        let engine = lantern_testkit::start_ballista(2, 2).await;
        let TwoEngines {
            dashboard,
            default: embedded,
            other: cluster,
            _dir,
        } = two_engines(
            20_000,
            &["team", "date"],
            QueryConfig {
                engine,
                ..Default::default()
            },
        )
        .await;
        assert!(cluster.on_cluster && !cluster.config.rollups);
        let (queries, cases) = (dashboard_queries(), filter_cases());
        same_answers(&embedded, &cluster, &dashboard, &cases, &queries).await;
        let v = cluster.version("cursor_usage").await.unwrap();
        assert!(!v.hot, "nothing held in memory travels to the executors");
        let hot = embedded.version("cursor_usage").await.unwrap();
        assert!(hot.hot);

        let (a, b) = (
            embedded
                .profile("cursor_usage", &RowScope::All)
                .await
                .unwrap(),
            cluster
                .profile("cursor_usage", &RowScope::All)
                .await
                .unwrap(),
        );
        assert_eq!(a.rows, b.rows);
        assert_eq!(a.columns.len(), b.columns.len());
        for (ca, cb) in a.columns.iter().zip(&b.columns) {
            let what = &ca.name;
            assert_eq!(ca.name, cb.name);
            // Parquet scans read text as views; the hot table holds it as plain strings.
            assert_eq!(
                ca.data_type,
                cb.data_type.replace("Utf8View", "Utf8"),
                "{what}"
            );
            assert_eq!(
                (&ca.nulls, &ca.min, &ca.max, &ca.top, &ca.histogram),
                (&cb.nulls, &cb.min, &cb.max, &cb.top, &cb.histogram),
                "{what}"
            );
            match (ca.mean, cb.mean) {
                (Some(x), Some(y)) => assert!((x - y).abs() <= 1e-9 * x.abs().max(1.0), "{what}"),
                (x, y) => assert_eq!(x, y, "{what}"),
            }
            // HyperLogLog estimates, hashed from each table's own text layout: close, not equal.
            let (x, y) = (ca.distinct as f64, cb.distinct as f64);
            assert!(
                (x - y).abs() <= (0.05 * x).max(2.0),
                "{what}: {x} vs {y} distinct"
            );
        }
    }

    /// Rollups must give exactly what the raw rows give, for every shape that may use one and several filter sets
    /// (declared filters, cross-filters on other dimensions, searches, bins, time grains).
    #[tokio::test]
    async fn rollups_answer_exactly_like_the_raw_rows() {
        let TwoEngines {
            dashboard,
            default: with,
            other: without,
            _dir,
        } = two_engines(
            30_000,
            &["team", "date"],
            QueryConfig {
                rollups: false,
                ..Default::default()
            },
        )
        .await;
        let (queries, cases) = (dashboard_queries(), filter_cases());
        same_answers(&with, &without, &dashboard, &cases, &queries).await;
        // Rollups were really used where they are small: requests by team is answered from a (date, team) cube,
        // and so are the distinct active users (from their sets), which a table of distinct users would not be.
        let v = with.version("cursor_usage").await.unwrap();
        for key in [
            "date,team|total_requests",
            "date,team|active_users,total_requests,tab_acceptance_rate",
        ] {
            let cube = v.rollups.get(key).await.expect("rollup tried");
            assert!(cube.is_some(), "the (date, team) cube is used for {key}");
        }
        // The cube is sorted by date, and a date range reads only its own rows of it: as many as the cube has
        // dates in the range, counted here from its table's rows.
        let cube = v
            .rollups
            .get("date,team|total_requests")
            .await
            .unwrap()
            .as_ref()
            .clone()
            .unwrap();
        let scope = with
            .scope(
                &dashboard,
                &pairs(&[("date", "2025-02-01..2025-04-30")]),
                &RowScope::All,
            )
            .await
            .unwrap();
        let by_date = cube.by_date.as_ref().expect("sorted by its date column");
        let (slices, rows) = by_date.in_ranges(&scope.filters).expect("a slice");
        let day = |s: &str| {
            (chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
                - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap())
            .num_days() as i32
        };
        let (lo, hi) = (day("2025-02-01"), day("2025-04-30"));
        let in_range = |b: &RecordBatch| {
            let i = b.schema().index_of("date").unwrap();
            b.column(i)
                .as_any()
                .downcast_ref::<datafusion::arrow::array::Date32Array>()
                .unwrap()
                .iter()
                .filter(|d| d.is_some_and(|d| (lo..=hi).contains(&d)))
                .count()
        };
        let expected: usize = by_date.batches.iter().map(in_range).sum();
        assert!(
            expected > 0 && expected < cube.rows,
            "{expected} of {}",
            cube.rows
        );
        assert_eq!(rows, expected);
        assert_eq!(slices.iter().map(in_range).sum::<usize>(), expected);
    }

    /// The rollup built for an item keeps the declared filters that are cheap to keep, so later filter sets on
    /// them are answered from it (exactly, as the raw rows answer) without building another.
    #[tokio::test]
    async fn one_wide_rollup_serves_every_set_of_cheap_filters() {
        let TwoEngines {
            dashboard,
            default: with,
            other: without,
            _dir,
        } = two_engines(
            30_000,
            &["team", "user", "model", "date"],
            QueryConfig {
                rollups: false,
                ..Default::default()
            },
        )
        .await;
        let q = agg(
            GroupKey::dims(&["team"]),
            &["total_requests", "active_users"],
            vec![Sort::desc("total_requests")],
            None,
        );
        let cases = [
            pairs(&[]),
            pairs(&[("model", "gpt-5")]),
            pairs(&[("team", "Web"), ("team", "ML"), ("model", "gpt-5")]),
            pairs(&[("date", "2025-11-15..")]),
        ];
        same_answers(
            &with,
            &without,
            &dashboard,
            &cases,
            std::slice::from_ref(&q),
        )
        .await;
        let v = with.version("cursor_usage").await.unwrap();
        v.rollups.run_pending_tasks().await;
        let mut keys: Vec<String> = v.rollups.iter().map(|(k, _)| k.to_string()).collect();
        keys.sort();
        // The item's own rollup, and a wider one that also keeps the model (the cheapest declared filter) which
        // answered the model and team filters; a date range needed a rollup of its own.
        assert!(
            keys.contains(&"team|total_requests,active_users".to_string()),
            "{keys:?}"
        );
        assert!(
            keys.iter()
                .any(|k| k.starts_with("model,team") && k.ends_with("|total_requests,active_users")),
            "{keys:?}"
        );
        assert!(keys.iter().any(|k| k.starts_with("date,")), "{keys:?}");
        assert_eq!(keys.len(), 3, "{keys:?}");
    }

    /// A list filter on users is answered from the rows an index finds: the same answers as the Parquet path
    /// (which has no index) for aggregates, rollup-shaped items, counts and row pages, and the index is really used.
    #[tokio::test]
    async fn selective_filters_use_a_row_index_and_answer_like_a_scan() {
        let TwoEngines {
            dashboard,
            default: hot,
            other: cold,
            _dir,
        } = two_engines(
            40_000,
            &["user", "team", "date"],
            QueryConfig {
                hot_max_mb: 0,
                ..Default::default()
            },
        )
        .await;
        assert!(hot.version("cursor_usage").await.unwrap().hot);
        assert!(!cold.version("cursor_usage").await.unwrap().hot);
        // Three users who exist, read from the rows, and one who does not.
        let all = cold.scope(&dashboard, &[], &RowScope::All).await.unwrap();
        let listing = Query::Rows {
            columns: vec!["user_email".into()],
            sort: vec![Sort::asc("user_email")],
            offset: 0,
            limit: None,
        };
        let (emails, _) = cold.answer(&all, &all.filters, &listing).await.unwrap();
        let mut users: Vec<String> = emails
            .rows
            .iter()
            .filter_map(|r| r[0].as_str().map(str::to_string))
            .collect();
        users.dedup();
        assert!(users.len() > 100, "{}", users.len());
        let picked = [&users[3], &users[users.len() / 2], &users[users.len() - 1]];
        let queries = [
            agg(
                vec![],
                &["active_users", "total_requests", "cost"],
                vec![],
                None,
            ),
            agg(
                GroupKey::dims(&["user", "team"]),
                &["total_requests", "tab_acceptance_rate"],
                vec![Sort::desc("total_requests")],
                Some(200),
            ),
            agg(
                vec![GroupKey::Time {
                    dimension: "date".into(),
                    grain: Grain::Week,
                }],
                &["total_requests"],
                vec![],
                None,
            ),
            Query::Count { group_by: vec![] },
            Query::Rows {
                columns: vec![],
                sort: vec![Sort::asc("date"), Sort::asc("user_email")],
                offset: 2,
                limit: Some(25),
            },
        ];
        let cases = [
            pairs(&[("user", picked[0])]),
            pairs(&[
                ("user", picked[0]),
                ("user", picked[1]),
                ("user", picked[2]),
                ("date", "2025-03-01..2025-09-30"),
            ]),
            pairs(&[("user", picked[1]), ("team", "Nobody")]),
            pairs(&[("user", "nobody@example.com")]),
        ];
        same_answers(&hot, &cold, &dashboard, &cases, &queries).await;
        // One user's rows: about a year of days, counted independently from the listing above.
        let one = hot
            .scope(&dashboard, &pairs(&[("user", picked[0])]), &RowScope::All)
            .await
            .unwrap();
        let (n, _) = hot
            .answer(&one, &one.filters, &Query::Count { group_by: vec![] })
            .await
            .unwrap();
        let expected = emails
            .rows
            .iter()
            .filter(|r| r[0].as_str() == Some(picked[0].as_str()))
            .count();
        assert_eq!(n.rows[0][0].as_u64(), Some(expected as u64));
        let v = hot.version("cursor_usage").await.unwrap();
        assert!(
            v.indexes.get("user_email").await.flatten().is_some(),
            "the user column was indexed"
        );
        assert!(
            v.indexes.get("team").await.is_none(),
            "a column with few values is not indexed"
        );
    }

    /// A date range on hot rows reads only the rows of its days (the demo arrives in date order), and every shape
    /// that scans raw rows answers as on the Parquet path.
    #[tokio::test]
    async fn date_ranges_read_only_their_rows_and_answer_like_a_scan() {
        let no_rollups = QueryConfig {
            rollups: false,
            ..Default::default()
        };
        let TwoEngines {
            dashboard,
            default,
            other: cold,
            _dir,
        } = two_engines(
            40_000,
            &["team", "date"],
            QueryConfig {
                hot_max_mb: 0,
                ..no_rollups.clone()
            },
        )
        .await;
        let specs = DatasetSpec::load_dir(&repo().join("datasets")).unwrap();
        let hot = QueryEngine::new(
            default.catalog().clone(),
            specs,
            &no_rollups,
            &CacheConfig::default(),
        )
        .unwrap();
        let v = hot.version("cursor_usage").await.unwrap();
        assert!(v.hot);
        let queries = [
            agg(
                GroupKey::dims(&["user", "team"]),
                &["total_requests", "active_users", "tab_acceptance_rate"],
                vec![Sort::desc("total_requests")],
                Some(50),
            ),
            agg(vec![], &["active_users", "cost"], vec![], None),
            Query::Count { group_by: vec![] },
            Query::Rows {
                columns: vec![],
                sort: vec![Sort::desc("date"), Sort::asc("user_email")],
                offset: 3,
                limit: Some(20),
            },
        ];
        let cases = [
            pairs(&[("date", "2025-03-01..2025-03-31")]),
            pairs(&[("date", "2025-06-10..")]),
            pairs(&[("date", "..2025-01-02"), ("team", "Platform")]),
            pairs(&[("date", "2030-01-01..2030-02-01")]),
        ];
        same_answers(&hot, &cold, &dashboard, &cases, &queries).await;
        // The rows read for March are March's rows, counted on the Parquet path.
        let march = pairs(&[("date", "2025-03-01..2025-03-31")]);
        let scope = cold
            .scope(&dashboard, &march, &RowScope::All)
            .await
            .unwrap();
        let (count, _) = cold
            .answer(&scope, &scope.filters, &Query::Count { group_by: vec![] })
            .await
            .unwrap();
        let expected = count.rows[0][0].as_u64().unwrap() as usize;
        let scope = hot.scope(&dashboard, &march, &RowScope::All).await.unwrap();
        let rows = v.hot_rows.as_ref().unwrap();
        let (_, read) = rows.in_ranges(&scope.filters).expect("a range narrows");
        assert!(expected > 0 && expected < rows.rows() / 6, "{expected}");
        assert_eq!(read, expected);
    }

    /// An item grouped by a dimension of many values (top users) under a date range reads the range's whole
    /// months from a rollup by month and only the edge days from the raw rows, and answers as the raw rows do.
    #[tokio::test]
    async fn whole_months_come_from_a_rollup_by_month_and_answer_like_the_rows() {
        let TwoEngines {
            dashboard,
            mut default,
            other: raw,
            _dir,
        } = two_engines(
            40_000,
            &["team", "date"],
            QueryConfig {
                rollups: false,
                ..Default::default()
            },
        )
        .await;
        // As for data too large to scan in one partition.
        default.small_rows = 0;
        let top = agg(
            GroupKey::dims(&["user", "team"]),
            &[
                "total_requests",
                "agent_share",
                "tab_acceptance_rate",
                "cost",
                "user_days",
            ],
            vec![Sort::desc("total_requests")],
            Some(50),
        );
        let queries = [
            top.clone(),
            agg(GroupKey::dims(&["user"]), &["lines_accepted"], vec![], None),
            Query::Count {
                group_by: GroupKey::dims(&["user", "team"]),
            },
        ];
        let cases = [
            // Both edges, one of them across a month's end.
            pairs(&[("date", "2025-03-17..2025-09-05")]),
            pairs(&[("date", "2025-01-31..2025-06-30"), ("team", "Platform")]),
            // Whole months only, no edge days.
            pairs(&[
                ("date", "2025-02-01..2025-04-30"),
                ("team", "Platform"),
                ("team", "Design"),
            ]),
            // No whole month, and an open side: the raw rows answer.
            pairs(&[("date", "2025-02-02..2025-02-27")]),
            pairs(&[("date", "2025-06-10..")]),
        ];
        same_answers(&default, &raw, &dashboard, &cases, &queries).await;
        let v = default.version("cursor_usage").await.unwrap();
        v.rollups.run_pending_tasks().await;
        let by_month: Vec<String> = v
            .rollups
            .iter()
            .filter(|(k, p)| k.contains(months::BY_MONTH) && p.is_some())
            .map(|(k, _)| k.to_string())
            .collect();
        assert!(
            by_month
                .iter()
                .any(|k| k.starts_with("date@month,team,user|total_requests")),
            "{by_month:?}"
        );
    }

    /// A measure over ordered input (`string_agg(… ORDER BY …)`) needs a sort that lean planning does not add: it
    /// is planned in the full context, also over the rows a row index selected, and answers as on the Parquet path.
    #[tokio::test]
    async fn ordered_measures_answer_over_selected_rows() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::new(Storage::local_for_tests(dir.path()));
        crate::demo::publish(&catalog, "cursor_usage", 20_000, &|_| {})
            .await
            .unwrap();
        let path = repo().join("datasets/cursor_usage.yaml");
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("    models:\n      expr: string_agg(most_used_model, \',\' ORDER BY most_used_model)\n");
        let spec = DatasetSpec::parse(&path, &text).unwrap();
        let yaml = "id: d\ntitle: D\ndataset: cursor_usage\nfilters:\n  - {dimension: user, type: multi_select}\n";
        let dashboard = DashboardSpec::parse(Path::new("d.yaml"), yaml).unwrap();
        let cache = CacheConfig::default();
        let hot = QueryEngine::new(
            catalog.clone(),
            vec![spec.clone()],
            &QueryConfig::default(),
            &cache,
        )
        .unwrap();
        let cold = QueryEngine::new(
            catalog,
            vec![spec],
            &QueryConfig {
                hot_max_mb: 0,
                ..Default::default()
            },
            &cache,
        )
        .unwrap();
        let all = cold.scope(&dashboard, &[], &RowScope::All).await.unwrap();
        let listing = Query::Rows {
            columns: vec!["user_email".into()],
            sort: vec![Sort::asc("user_email")],
            offset: 0,
            limit: Some(1),
        };
        let (first, _) = cold.answer(&all, &all.filters, &listing).await.unwrap();
        let user = first.rows[0][0].as_str().unwrap().to_string();
        let filters = pairs(&[("user", &user)]);
        let query = agg(vec![], &["models", "user_days"], vec![], None);
        same_answers(
            &hot,
            &cold,
            &dashboard,
            std::slice::from_ref(&filters),
            std::slice::from_ref(&query),
        )
        .await;
        let scope = hot
            .scope(&dashboard, &filters, &RowScope::All)
            .await
            .unwrap();
        let (t, _) = hot.answer(&scope, &scope.filters, &query).await.unwrap();
        let models: Vec<&str> = t.rows[0][0].as_str().unwrap().split(',').collect();
        let days = t.rows[0][1].as_u64().unwrap();
        assert!(!models.is_empty() && models.len() as u64 <= days, "{days}");
        assert!(models.windows(2).all(|w| w[0] <= w[1]), "{models:?}");
        let v = hot.version("cursor_usage").await.unwrap();
        assert!(v.indexes.get("user_email").await.flatten().is_some());
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
        )
        .unwrap();
        let scope = engine.scope(&dashboard, &[], &RowScope::All).await.unwrap();

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
        )
        .unwrap();
        let p = engine.profile("apac_dot", &RowScope::All).await.unwrap();
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
        assert!(Arc::ptr_eq(
            &p,
            &engine.profile("apac_dot", &RowScope::All).await.unwrap()
        ));
    }
}
