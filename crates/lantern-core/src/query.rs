//! The query engine: resolves a dataset's current version, keeps it hot in Arrow form, and answers a dashboard's
//! KPIs and charts for a filter set through DataFusion's `DataFrame` API, behind the [`ResultCache`].
//!
//! Every item becomes one aggregate plan over the filtered table: no SQL strings are built, so the same logical
//! plans can later run on a distributed engine.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::{DataType, Int64Type, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::catalog::TableProvider;
use datafusion::common::Column;
use datafusion::datasource::MemTable;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::execution::config::SessionConfig;
use datafusion::logical_expr::{Expr, SortExpr, col};
use datafusion::prelude::SessionContext;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::Serialize;
use tokio::sync::Mutex;

use crate::cache::{CacheKey, Lookup, ResultCache};
use crate::catalog::{Catalog, Manifest};
use crate::config::{CacheConfig, QueryConfig};
use crate::dashboard::{ChartSpec, DashboardSpec, SortOrder};
use crate::error::{Error, Result};
use crate::filters::FilterSet;
use crate::rollup::MeasurePlan;
use crate::semantic::{DatasetSpec, SemanticModel};
use crate::storage::{STORE_URL, Storage};

/// A small query result, row-major, with JSON cells (dates as `YYYY-MM-DD`, numbers as numbers).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ResultTable {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<serde_json::Value>>,
}

impl ResultTable {
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// Converts Arrow batches; every Arrow type is shown, unknown ones as text.
    pub fn from_batches(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<Self> {
        let columns = schema.fields().iter().map(|f| f.name().clone()).collect();
        let mut rows = Vec::new();
        for batch in batches {
            let cols: Vec<Vec<serde_json::Value>> = batch
                .columns()
                .iter()
                .map(array_to_json)
                .collect::<Result<_>>()?;
            for r in 0..batch.num_rows() {
                rows.push(cols.iter().map(|c| c[r].clone()).collect());
            }
        }
        Ok(Self { columns, rows })
    }
}

fn array_to_json(array: &ArrayRef) -> Result<Vec<serde_json::Value>> {
    use serde_json::Value;
    let n = array.len();
    let nulls = |i: usize| array.is_null(i);
    let out = match array.data_type() {
        DataType::Boolean => {
            let a = array.as_boolean();
            (0..n)
                .map(|i| {
                    if nulls(i) {
                        Value::Null
                    } else {
                        Value::Bool(a.value(i))
                    }
                })
                .collect()
        }
        t if t.is_integer() => {
            let cast = datafusion::arrow::compute::cast(array, &DataType::Int64)
                .map_err(|e| Error::Query(e.into()))?;
            let a = cast.as_primitive::<Int64Type>();
            (0..n)
                .map(|i| {
                    if nulls(i) {
                        Value::Null
                    } else {
                        Value::from(a.value(i))
                    }
                })
                .collect()
        }
        t if t.is_floating()
            || matches!(t, DataType::Decimal128(..) | DataType::Decimal256(..)) =>
        {
            let cast = datafusion::arrow::compute::cast(array, &DataType::Float64)
                .map_err(|e| Error::Query(e.into()))?;
            let a = cast.as_primitive::<datafusion::arrow::datatypes::Float64Type>();
            (0..n)
                .map(|i| {
                    if nulls(i) {
                        Value::Null
                    } else {
                        serde_json::Number::from_f64(a.value(i))
                            .map(Value::Number)
                            .unwrap_or(Value::Null)
                    }
                })
                .collect()
        }
        _ => {
            let options = FormatOptions::default();
            let f = ArrayFormatter::try_new(array.as_ref(), &options)
                .map_err(|e| Error::Query(e.into()))?;
            (0..n)
                .map(|i| {
                    if nulls(i) {
                        Value::Null
                    } else {
                        Value::String(f.value(i).to_string())
                    }
                })
                .collect()
        }
    };
    Ok(out)
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
}

/// A table and the measures to aggregate over it: the raw rows, or a rollup of them.
#[derive(Clone)]
struct Part {
    table: Arc<dyn TableProvider>,
    measures: Vec<(String, Expr)>,
}

/// The result of one dashboard refresh.
#[derive(Clone)]
pub struct DashboardResult {
    pub dataset_version: u64,
    /// The version the results come from, with its semantic model (labels, formats).
    pub loaded: Arc<LoadedVersion>,
    pub filters: FilterSet,
    /// KPI values in the dashboard's order (one row, one column per KPI measure).
    pub kpis: Arc<ResultTable>,
    /// Chart results by chart id, in the dashboard's order.
    pub charts: Vec<(String, Arc<ResultTable>)>,
    pub hits: usize,
    pub misses: usize,
}

/// Answers dashboard queries; one per process, shared by all requests.
pub struct QueryEngine {
    ctx: SessionContext,
    catalog: Catalog,
    config: QueryConfig,
    default_ttl: Duration,
    specs: HashMap<String, DatasetSpec>,
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
            specs: specs.into_iter().map(|s| (s.id().to_string(), s)).collect(),
            manifests: moka::future::Cache::builder()
                .time_to_live(Duration::from_millis(query.manifest_refresh_ms.max(1)))
                .build(),
            loaded: Default::default(),
            load_lock: Mutex::new(()),
            cache: ResultCache::new(cache.max_entries),
        }
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub fn cache(&self) -> &ResultCache {
        &self.cache
    }

    pub fn dataset_spec(&self, id: &str) -> Option<&DatasetSpec> {
        self.specs.get(id)
    }

    pub fn dataset_specs(&self) -> impl Iterator<Item = &DatasetSpec> {
        self.specs.values()
    }

    fn ttl_of(&self, dataset: &str) -> Duration {
        self.specs
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
        let spec = self.specs.get(dataset).ok_or_else(|| Error::NotFound {
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
        })
    }

    /// Answers every KPI and chart of `dashboard` for the URL filter `pairs`.
    pub async fn dashboard(
        &self,
        dashboard: &DashboardSpec,
        pairs: &[(String, String)],
    ) -> Result<DashboardResult> {
        let version = self.version(&dashboard.spec.dataset).await?;
        dashboard.check_names(
            self.specs
                .get(&dashboard.spec.dataset)
                .expect("loaded above"),
        )?;
        dashboard.check_types(&version.model)?;
        let filters = FilterSet::parse(pairs, dashboard, &version.model)?;
        let predicate = filters.to_expr();
        let ttl = self.ttl_of(&dashboard.spec.dataset);
        let key = |item: String| CacheKey {
            dataset: dashboard.spec.dataset.clone(),
            version: version.manifest.version,
            filters: filters.canonical(),
            item,
        };

        let filter_dims: Vec<String> = dashboard
            .spec
            .filters
            .iter()
            .map(|f| f.dimension.clone())
            .collect();
        let filter_dims = &filter_dims;
        let kpi_measures: Vec<String> = dashboard
            .spec
            .kpis
            .iter()
            .map(|k| k.measure().to_string())
            .collect();
        let kpis = async {
            let plan = ItemPlan {
                group_by: vec![],
                measures: kpi_measures.clone(),
                sort: SortOrder::X,
                limit: None,
            };
            self.cache
                .get_or_compute(
                    key(plan.signature()),
                    ttl,
                    self.run(&version, filter_dims, predicate.clone(), plan.clone()),
                )
                .await
        };
        let charts = futures::future::try_join_all(dashboard.spec.charts.iter().map(|c| {
            let plan = ItemPlan::for_chart(c);
            let predicate = predicate.clone();
            let version = &version;
            let k = key(plan.signature());
            async move {
                let (t, l) = self
                    .cache
                    .get_or_compute(k, ttl, self.run(version, filter_dims, predicate, plan))
                    .await?;
                Ok::<_, Error>((c.id.clone(), t, l))
            }
        }));
        let ((kpis, kpi_lookup), charts) = futures::future::try_join(kpis, charts).await?;
        let mut hits = usize::from(kpi_lookup == Lookup::Hit);
        let mut misses = usize::from(kpi_lookup == Lookup::Miss);
        for (_, _, l) in &charts {
            match l {
                Lookup::Hit => hits += 1,
                Lookup::Miss => misses += 1,
            }
        }
        Ok(DashboardResult {
            dataset_version: version.manifest.version,
            loaded: version.clone(),
            filters,
            kpis,
            charts: charts.into_iter().map(|(id, t, _)| (id, t)).collect(),
            hits,
            misses,
        })
    }

    /// Answers one item: from its rollup when one can answer it exactly, else from the raw rows.
    async fn run(
        &self,
        version: &LoadedVersion,
        filter_dims: &[String],
        predicate: Option<Expr>,
        plan: ItemPlan,
    ) -> Result<ResultTable> {
        if self.config.rollups
            && let Some(parts) = self.rollup_for(version, filter_dims, &plan).await
        {
            return self.run_parts(&parts, version, predicate, &plan).await;
        }
        let raw = Part {
            table: version.table.clone(),
            measures: plan
                .measures
                .iter()
                .map(|m| (m.clone(), version.model.measures[m].expr.clone()))
                .collect(),
        };
        self.run_parts(&[raw], version, predicate, &plan).await
    }

    /// Runs the item's aggregate over each part; several parts (KPIs only) are joined column-wise.
    async fn run_parts(
        &self,
        parts: &[Part],
        version: &LoadedVersion,
        predicate: Option<Expr>,
        plan: &ItemPlan,
    ) -> Result<ResultTable> {
        let model = &version.model;
        let runs = parts.iter().map(|part| {
            let predicate = predicate.clone();
            async move {
                let mut df = self.ctx.read_table(part.table.clone())?;
                if let Some(p) = predicate {
                    df = df.filter(p)?;
                }
                let group: Vec<Expr> = plan
                    .group_by
                    .iter()
                    .map(|d| col(Column::new_unqualified(&model.dimensions[d].column)).alias(d))
                    .collect();
                let aggs: Vec<Expr> = part
                    .measures
                    .iter()
                    .map(|(m, e)| e.clone().alias(m))
                    .collect();
                df = df.aggregate(group, aggs)?;
                let sort: Vec<SortExpr> = match plan.sort {
                    SortOrder::X | SortOrder::XDesc => plan
                        .group_by
                        .iter()
                        .map(|d| {
                            col(Column::new_unqualified(d)).sort(plan.sort == SortOrder::X, false)
                        })
                        .collect(),
                    SortOrder::Y | SortOrder::YDesc => plan
                        .measures
                        .iter()
                        .take(1)
                        .map(|m| {
                            col(Column::new_unqualified(m)).sort(plan.sort == SortOrder::Y, false)
                        })
                        .chain(
                            plan.group_by
                                .iter()
                                .map(|d| col(Column::new_unqualified(d)).sort(true, false)),
                        )
                        .collect(),
                };
                if !sort.is_empty() && !plan.group_by.is_empty() {
                    df = df.sort(sort)?;
                }
                if let Some(n) = plan.limit {
                    df = df.limit(0, Some(n))?;
                }
                let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
                let batches = df.collect().await?;
                ResultTable::from_batches(&schema, &batches)
            }
        });
        let mut tables = futures::future::try_join_all(runs).await?;
        if tables.len() == 1 {
            return Ok(tables.pop().expect("one table"));
        }
        // Several parts only happen without grouping: each is one row; put the columns in the item's order.
        let mut row = Vec::new();
        for m in &plan.measures {
            let value = tables
                .iter()
                .find_map(|t| {
                    t.column_index(m)
                        .and_then(|i| t.rows.first().map(|r| r[i].clone()))
                })
                .unwrap_or(serde_json::Value::Null);
            row.push(value);
        }
        Ok(ResultTable {
            columns: plan.measures.clone(),
            rows: vec![row],
        })
    }

    /// The rollup parts that answer `plan` exactly under filters on `filter_dims`, built on first use per version.
    async fn rollup_for(
        &self,
        version: &LoadedVersion,
        filter_dims: &[String],
        plan: &ItemPlan,
    ) -> Option<Vec<Part>> {
        let mut dims: Vec<String> = filter_dims.iter().chain(&plan.group_by).cloned().collect();
        dims.sort();
        dims.dedup();
        let key = format!("{}|{}", dims.join(","), plan.measures.join(","));
        let built = version
            .rollups
            .get_with(key, async {
                let started = std::time::Instant::now();
                match self.build_rollup(version, &dims, plan).await {
                    Ok(parts) => {
                        tracing::debug!(
                            dataset = %version.manifest.dataset,
                            dims = ?dims,
                            measures = ?plan.measures,
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
        plan: &ItemPlan,
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
        for (i, m) in plan.measures.iter().enumerate() {
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
        if parts_needed > 1 && !plan.group_by.is_empty() {
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
        let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
        let parts = df.collect_partitioned().await?;
        let rows: usize = parts.iter().flatten().map(|b| b.num_rows()).sum();
        if rows > max_rows {
            return Ok(None);
        }
        let parts = rebalance(parts, self.ctx.copied_config().target_partitions());
        Ok(Some(Arc::new(MemTable::try_new(schema, parts)?)))
    }

    /// Distinct values of a dimension (for filter controls), sorted, at most `limit`.
    pub async fn distinct_values(
        &self,
        dataset: &str,
        dimension: &str,
        limit: usize,
    ) -> Result<Vec<serde_json::Value>> {
        let version = self.version(dataset).await?;
        let dim = version
            .model
            .dimensions
            .get(dimension)
            .ok_or_else(|| Error::NotFound {
                kind: "dimension",
                id: dimension.to_string(),
            })?;
        let key = CacheKey {
            dataset: dataset.to_string(),
            version: version.manifest.version,
            filters: String::new(),
            item: format!("distinct:{dimension}:{limit}"),
        };
        let column = dim.column.clone();
        let table = version.table.clone();
        let (t, _) = self
            .cache
            .get_or_compute(key, self.ttl_of(dataset), async move {
                let c = col(Column::new_unqualified(&column));
                let df = self
                    .ctx
                    .read_table(table)?
                    .filter(c.clone().is_not_null())?
                    .aggregate(vec![c.clone()], vec![])?
                    .sort(vec![c.sort(true, false)])?
                    .limit(0, Some(limit))?;
                let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
                ResultTable::from_batches(&schema, &df.collect().await?)
            })
            .await?;
        Ok(t.rows.iter().map(|r| r[0].clone()).collect())
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

/// What one KPI group or chart computes.
#[derive(Debug, Clone)]
struct ItemPlan {
    group_by: Vec<String>,
    measures: Vec<String>,
    sort: SortOrder,
    limit: Option<usize>,
}

impl ItemPlan {
    fn for_chart(c: &ChartSpec) -> Self {
        Self {
            group_by: c.group_by(),
            measures: c.y.to_vec(),
            sort: c.effective_sort(),
            limit: c.limit,
        }
    }

    fn signature(&self) -> String {
        format!(
            "g={}|m={}|s={:?}|l={:?}",
            self.group_by.join(","),
            self.measures.join(","),
            self.sort,
            self.limit
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

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

    /// Rollups must give exactly what the raw rows give, for every shipped dashboard and several filter sets.
    #[tokio::test]
    async fn rollups_answer_exactly_like_the_raw_rows() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::new(Storage::local_for_tests(dir.path()));
        for id in crate::demo::DATASETS {
            crate::demo::publish(&catalog, id, 30_000, &|_| {})
                .await
                .unwrap();
        }
        let specs = DatasetSpec::load_dir(&repo().join("datasets")).unwrap();
        let dashboards = DashboardSpec::load_dir(&repo().join("dashboards")).unwrap();
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
        let pairs = |p: &[(&str, &str)]| {
            p.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect::<Vec<_>>()
        };
        let cases = [
            ("cursor-usage", pairs(&[])),
            (
                "cursor-usage",
                pairs(&[
                    ("team", "Web"),
                    ("team", "ML"),
                    ("date", "2025-02-01..2025-04-30"),
                ]),
            ),
            ("cursor-usage", pairs(&[("date", "2025-12-01..")])),
            ("cursor-usage", pairs(&[("team", "Nobody")])),
            ("apac-dot", pairs(&[])),
            (
                "apac-dot",
                pairs(&[
                    ("country", "Japan"),
                    ("product_line", "PL-C"),
                    ("due_date", "..2025-06-30"),
                ]),
            ),
        ];
        for (id, filters) in cases {
            let d = dashboards.iter().find(|d| d.id() == id).unwrap();
            let a = with.dashboard(d, &filters).await.unwrap();
            let b = without.dashboard(d, &filters).await.unwrap();
            same(&a.kpis, &b.kpis, &format!("{id} {filters:?} kpis"));
            for ((ca, ta), (_, tb)) in a.charts.iter().zip(&b.charts) {
                same(ta, tb, &format!("{id} {filters:?} {ca}"));
            }
        }
        // Rollups were really used where they are small: requests by team is answered from a (date, team) cube.
        // (At this size the distinct-user table is not much smaller than the data, so the KPIs use raw rows.)
        let v = with.version("cursor_usage").await.unwrap();
        let cube = v
            .rollups
            .get("date,team|total_requests")
            .await
            .expect("rollup tried");
        assert!(cube.is_some(), "the (date, team) cube is used");
    }
}
