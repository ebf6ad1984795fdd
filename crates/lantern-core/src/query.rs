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
}

/// The result of one dashboard refresh.
#[derive(Debug, Clone)]
pub struct DashboardResult {
    pub dataset_version: u64,
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
                    self.run(&version, predicate.clone(), plan.clone()),
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
                    .get_or_compute(k, ttl, self.run(version, predicate, plan))
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
            filters,
            kpis,
            charts: charts.into_iter().map(|(id, t, _)| (id, t)).collect(),
            hits,
            misses,
        })
    }

    async fn run(
        &self,
        version: &LoadedVersion,
        predicate: Option<Expr>,
        plan: ItemPlan,
    ) -> Result<ResultTable> {
        let model = &version.model;
        let mut df = self.ctx.read_table(version.table.clone())?;
        if let Some(p) = predicate {
            df = df.filter(p)?;
        }
        let group: Vec<Expr> = plan
            .group_by
            .iter()
            .map(|d| {
                let dim = &model.dimensions[d];
                col(Column::new_unqualified(&dim.column)).alias(d)
            })
            .collect();
        let aggs: Vec<Expr> = plan
            .measures
            .iter()
            .map(|m| model.measures[m].expr.clone().alias(m))
            .collect();
        df = df.aggregate(group, aggs)?;
        let sort: Vec<SortExpr> = match plan.sort {
            SortOrder::X | SortOrder::XDesc => plan
                .group_by
                .iter()
                .map(|d| col(Column::new_unqualified(d)).sort(plan.sort == SortOrder::X, false))
                .collect(),
            SortOrder::Y | SortOrder::YDesc => plan
                .measures
                .iter()
                .take(1)
                .map(|m| col(Column::new_unqualified(m)).sort(plan.sort == SortOrder::Y, false))
                .chain(
                    plan.group_by
                        .iter()
                        .map(|d| col(Column::new_unqualified(d)).sort(true, false)),
                )
                .collect(),
        };
        if !sort.is_empty() {
            df = df.sort(sort)?;
        }
        if let Some(n) = plan.limit {
            df = df.limit(0, Some(n))?;
        }
        let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
        let batches = df.collect().await?;
        ResultTable::from_batches(&schema, &batches)
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
