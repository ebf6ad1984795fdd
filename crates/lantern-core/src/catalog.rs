//! The dataset catalog: versioned Parquet folders on the object store, each made visible by a manifest.
//!
//! ```text
//! datasets/<id>/current.json          the commit point: which version readers use
//! datasets/<id>/v<N>/manifest.json    that version's manifest (schema, rows, files)
//! datasets/<id>/v<N>/part-*.parquet   immutable once published
//! ```
//!
//! A [`VersionWriter`] writes a new version's files and publishes them by writing `current.json` last, so readers
//! (which always start from `current.json`) never see a half-written version.

use chrono::{DateTime, Utc};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use object_store::buffered::BufWriter;
use object_store::path::Path as ObjectPath;
use parquet::arrow::ArrowWriter;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

use crate::error::{Error, Result};
use crate::storage::Storage;

/// Rows per Parquet file before the writer starts the next one.
const FILE_ROWS: u64 = 2_000_000;

/// Dataset ids become folder names and cache keys: keep them plain.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// One column of a published version, for display and inspection.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ColumnInfo {
    pub name: String,
    pub data_type: String,
    pub nullable: bool,
}

/// One Parquet file of a version; `path` is relative to the store root.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DataFile {
    pub path: String,
    pub rows: u64,
    pub bytes: u64,
}

/// What `current.json` (and each version's `manifest.json`) holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub dataset: String,
    pub version: u64,
    pub rows: u64,
    pub created_at: DateTime<Utc>,
    pub schema: Vec<ColumnInfo>,
    #[serde(default)]
    pub partitions: Vec<String>,
    /// Rows the ETL refused (see `v<N>/_quarantine/`).
    #[serde(default)]
    pub quarantined_rows: u64,
    pub files: Vec<DataFile>,
    /// What an incremental source needs to resume (an S3 prefix's newest last-modified time, a SQL watermark).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub source_state: std::collections::BTreeMap<String, String>,
}

impl Manifest {
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }
}

/// The outcome of the last ETL run of a dataset (`datasets/<id>/last_run.json`), written by every run — from the
/// CLI or `lantern serve`'s schedule — so that every replica's `/datasets` page shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunRecord {
    pub dataset: String,
    /// `cli` or `schedule`.
    pub trigger: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub ok: bool,
    /// The version published (or kept, when nothing was new).
    #[serde(default)]
    pub version: Option<u64>,
    #[serde(default)]
    pub new_rows: Option<u64>,
    /// The error, when the run failed.
    #[serde(default)]
    pub error: Option<String>,
    /// Columns the run left as text that an option would type (`load.formats`, `load.locale`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<String>,
    #[serde(default)]
    pub schedule: Option<String>,
    #[serde(default)]
    pub next_run: Option<DateTime<Utc>>,
}

fn last_run_path(id: &str) -> ObjectPath {
    ObjectPath::from(format!("datasets/{id}/last_run.json"))
}

/// A schema as the manifest records it.
fn column_infos(schema: &SchemaRef) -> Vec<ColumnInfo> {
    schema
        .fields()
        .iter()
        .map(|f| ColumnInfo {
            name: f.name().clone(),
            data_type: f.data_type().to_string(),
            nullable: f.is_nullable(),
        })
        .collect()
}

/// Reads and publishes dataset versions.
#[derive(Clone, Debug)]
pub struct Catalog {
    storage: Storage,
}

fn dataset_dir(id: &str) -> ObjectPath {
    ObjectPath::from(format!("datasets/{id}"))
}

fn current_path(id: &str) -> ObjectPath {
    ObjectPath::from(format!("datasets/{id}/current.json"))
}

impl Catalog {
    pub fn new(storage: Storage) -> Self {
        Self { storage }
    }

    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// The published version of `id`, or `None` when nothing was ever published.
    pub async fn current(&self, id: &str) -> Result<Option<Manifest>> {
        if !valid_id(id) {
            return Ok(None);
        }
        let path = current_path(id);
        match self.storage.store().get(&path).await {
            Ok(got) => {
                let bytes = got.bytes().await.map_err(|e| Error::storage(&path, e))?;
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| Error::Json {
                        path: path.to_string(),
                        message: e.to_string(),
                    })
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(Error::storage(&path, e)),
        }
    }

    /// Every published dataset's current manifest, sorted by id.
    pub async fn list(&self) -> Result<Vec<Manifest>> {
        let mut out = Vec::new();
        for id in self.dataset_ids().await? {
            if let Some(m) = self.current(&id).await? {
                out.push(m);
            }
        }
        out.sort_by(|a, b| a.dataset.cmp(&b.dataset));
        Ok(out)
    }

    /// Every dataset with a folder in the store (published, or only tried), sorted.
    pub async fn dataset_ids(&self) -> Result<Vec<String>> {
        let root = ObjectPath::from("datasets");
        let listing = self
            .storage
            .store()
            .list_with_delimiter(Some(&root))
            .await
            .map_err(|e| Error::storage(&root, e))?;
        let mut ids: Vec<String> = listing
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename().map(str::to_string))
            .collect();
        ids.sort();
        Ok(ids)
    }

    /// Version numbers that have a folder under the dataset, published or not, ascending.
    pub async fn version_folders(&self, id: &str) -> Result<Vec<u64>> {
        let dir = dataset_dir(id);
        let listing = self
            .storage
            .store()
            .list_with_delimiter(Some(&dir))
            .await
            .map_err(|e| Error::storage(&dir, e))?;
        let mut versions: Vec<u64> = listing
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename()?.strip_prefix('v')?.parse().ok())
            .collect();
        versions.sort_unstable();
        Ok(versions)
    }

    /// Starts writing a new version of `id` with `schema`. Nothing is visible until [`VersionWriter::publish`].
    pub async fn begin(&self, id: &str, schema: SchemaRef) -> Result<VersionWriter> {
        if !valid_id(id) {
            return Err(Error::config(
                "dataset id",
                format!("`{id}`: use lowercase letters, digits, `_` and `-`"),
            ));
        }
        let current = self.current(id).await?.map(|m| m.version).unwrap_or(0);
        let highest_folder = self.version_folders(id).await?.last().copied().unwrap_or(0);
        let version = current.max(highest_folder) + 1;
        Ok(VersionWriter {
            catalog: self.clone(),
            dataset: id.to_string(),
            version,
            schema,
            files: Vec::new(),
            open: std::collections::BTreeMap::new(),
            closing: Vec::new(),
            file_counts: std::collections::HashMap::new(),
            partitions: Vec::new(),
            extras: Vec::new(),
            quarantined: 0,
            rows: 0,
            source_state: Default::default(),
        })
    }

    /// Writes `batches` as a new version of `id` and publishes it.
    pub async fn publish_batches(
        &self,
        id: &str,
        schema: SchemaRef,
        batches: Vec<RecordBatch>,
    ) -> Result<Manifest> {
        let mut writer = self.begin(id, schema).await?;
        for batch in batches {
            writer.write(&batch).await?;
        }
        writer.publish().await
    }
}

struct OpenFile {
    path: ObjectPath,
    /// The file's Parquet encoder, when no batch is being encoded.
    encoder: Option<Box<ArrowWriter<Vec<u8>>>>,
    /// The batch being encoded, which hands the encoder back.
    encoding: Option<EncodeTask>,
    upload: BufWriter,
    rows: u64,
    stream: usize,
    order: FileOrder,
}

/// Encoding a batch (dictionaries, pages, zstd) is most of a write's work. It runs on a blocking thread while
/// the caller goes on, so the files of different streams and partitions are encoded in parallel; a file
/// encodes one batch at a time, in order.
type EncodeTask = tokio::task::JoinHandle<parquet::errors::Result<Box<ArrowWriter<Vec<u8>>>>>;

impl OpenFile {
    /// Waits for the batch being encoded, uploads what is encoded so far, and takes the encoder.
    async fn take_encoder(&mut self) -> Result<Box<ArrowWriter<Vec<u8>>>> {
        let mut encoder = match self.encoding.take() {
            Some(task) => task.await.map_err(|e| Error::DatasetUnreadable {
                dataset: self.path.to_string(),
                version: 0,
                message: format!("the Parquet encoder stopped: {e}"),
            })??,
            None => self
                .encoder
                .take()
                .expect("an open file has its encoder or an encoding task"),
        };
        // Finished row groups go now; the one in progress stays in the encoder.
        let bytes = std::mem::take(encoder.inner_mut());
        if !bytes.is_empty() {
            self.upload
                .put(bytes::Bytes::from(bytes))
                .await
                .map_err(|e| Error::storage(&self.path, e))?;
        }
        Ok(encoder)
    }

    /// Starts encoding `batch`.
    async fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let mut encoder = self.take_encoder().await?;
        let batch = batch.clone();
        self.encoding = Some(tokio::task::spawn_blocking(move || {
            encoder.write(&batch)?;
            Ok(encoder)
        }));
        Ok(())
    }

    /// Encodes what is left and the footer, and completes the upload: (path, rows, order).
    async fn close(mut self) -> Result<(ObjectPath, u64, FileOrder)> {
        let mut encoder = self.take_encoder().await?;
        self.encoding = Some(tokio::task::spawn_blocking(move || {
            encoder.finish()?;
            Ok(encoder)
        }));
        self.take_encoder().await?;
        if let Err(e) = self.upload.shutdown().await {
            let source = object_store::Error::Generic {
                store: "upload",
                source: Box::new(e),
            };
            return Err(Error::storage(&self.path, source));
        }
        Ok((self.path, self.rows, self.order))
    }
}

/// Where a file goes in the manifest: carried-over files first, then stream 0's, stream 1's, … — so that rows
/// keep their source order — each stream's files in the order they were written.
type FileOrder = (usize, String, usize);

/// Writes one new dataset version; see [`Catalog::begin`].
pub struct VersionWriter {
    catalog: Catalog,
    dataset: String,
    version: u64,
    schema: SchemaRef,
    files: Vec<(FileOrder, DataFile)>,
    /// Open files by partition path (`""` when unpartitioned).
    open: std::collections::BTreeMap<String, OpenFile>,
    /// Files being closed (their last row group encoded, the upload completed) while writing goes on.
    closing: Vec<tokio::task::JoinHandle<Result<(FileOrder, DataFile)>>>,
    file_counts: std::collections::HashMap<String, usize>,
    partitions: Vec<String>,
    extras: Vec<(String, bytes::Bytes)>,
    quarantined: u64,
    rows: u64,
    source_state: std::collections::BTreeMap<String, String>,
}

impl VersionWriter {
    pub fn version(&self) -> u64 {
        self.version
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }

    fn version_dir(&self) -> String {
        format!("datasets/{}/v{}", self.dataset, self.version)
    }

    /// Appends a batch; starts a new file every `FILE_ROWS` rows.
    pub async fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.write_partition("", batch).await
    }

    /// Declares the Hive-style partition columns (recorded in the manifest).
    pub fn set_partitions(&mut self, columns: Vec<String>) {
        self.partitions = columns;
    }

    /// State stored in the manifest for the next incremental run.
    pub fn set_source_state(&mut self, state: std::collections::BTreeMap<String, String>) {
        self.source_state = state;
    }

    /// Makes `previous`'s rows part of this version (an incremental load appends to them): its files are copied
    /// into this version's folder by the store (a server-side copy on S3), so each version stays self-contained
    /// and pruning old versions never breaks a newer one. The schemas must match.
    pub async fn carry_over(&mut self, previous: &Manifest) -> Result<()> {
        let ours = column_infos(&self.schema);
        if ours != previous.schema {
            let differs = ours
                .iter()
                .zip(&previous.schema)
                .find(|(a, b)| a != b)
                .map(|(a, b)| {
                    format!(
                        "column `{}` is {} now, {} in version {}",
                        a.name, a.data_type, b.data_type, previous.version
                    )
                })
                .unwrap_or_else(|| {
                    format!(
                        "{} columns now, {} in version {}",
                        ours.len(),
                        previous.schema.len(),
                        previous.version
                    )
                });
            return Err(Error::DatasetUnreadable {
                dataset: self.dataset.clone(),
                version: self.version,
                message: format!(
                    "an incremental load cannot change the schema: {differs}; clear the dataset to reload it in full"
                ),
            });
        }
        let old_dir = format!("datasets/{}/v{}/", self.dataset, previous.version);
        for file in &previous.files {
            let relative = file.path.strip_prefix(&old_dir).unwrap_or(&file.path);
            let partition = relative.rsplit_once('/').map(|(p, _)| p).unwrap_or("");
            let dir = if partition.is_empty() {
                self.version_dir()
            } else {
                format!("{}/{partition}", self.version_dir())
            };
            let n = self.file_counts.entry(partition.to_string()).or_insert(0);
            let to = ObjectPath::from(format!("{dir}/part-{n:05}.parquet"));
            let order: FileOrder = (0, partition.to_string(), *n);
            *n += 1;
            let from = ObjectPath::from(file.path.as_str());
            self.catalog
                .storage
                .store()
                .copy(&from, &to)
                .await
                .map_err(|e| Error::storage(&from, e))?;
            self.files.push((
                order,
                DataFile {
                    path: to.to_string(),
                    rows: file.rows,
                    bytes: file.bytes,
                },
            ));
            self.rows += file.rows;
        }
        Ok(())
    }

    /// Records rows refused by the ETL: `file` (CSV text) is stored as `_quarantine/<name>` beside the data.
    pub fn quarantine(&mut self, name: &str, rows: u64, file: bytes::Bytes) {
        self.quarantined += rows;
        self.extras.push((format!("_quarantine/{name}"), file));
    }

    /// Appends a batch to the files of one partition (`country=Japan/due_month=2025-03`, or `""`).
    pub async fn write_partition(&mut self, partition: &str, batch: &RecordBatch) -> Result<()> {
        self.write_stream(0, partition, batch).await
    }

    /// Like [`Self::write_partition`] for one of several streams of rows produced side by side (a file parsed
    /// in two halves): each stream has its own files (`part-001-00000.parquet` for stream 1), named so that
    /// the manifest lists stream 0's files first, which keeps the rows in source order.
    pub async fn write_stream(
        &mut self,
        stream: usize,
        partition: &str,
        batch: &RecordBatch,
    ) -> Result<()> {
        let key = if stream == 0 {
            partition.to_string()
        } else {
            format!("{partition}\u{1}{stream}")
        };
        if batch.num_rows() == 0 {
            return Ok(());
        }
        if batch.schema().fields() != self.schema.fields() {
            return Err(Error::DatasetUnreadable {
                dataset: self.dataset.clone(),
                version: self.version,
                message: "a batch does not match the dataset schema".into(),
            });
        }
        if !self.open.contains_key(&key) {
            let n = self.file_counts.entry(key.clone()).or_insert(0);
            let dir = if partition.is_empty() {
                format!("datasets/{}/v{}", self.dataset, self.version)
            } else {
                format!("datasets/{}/v{}/{partition}", self.dataset, self.version)
            };
            let name = if stream == 0 {
                format!("part-{n:05}.parquet")
            } else {
                format!("part-s{stream:05}-{n:05}.parquet")
            };
            let path = ObjectPath::from(format!("{dir}/{name}"));
            let order: FileOrder = (stream + 1, partition.to_string(), *n);
            *n += 1;
            let props = crate::file_layout::writer_properties(batch)?;
            let upload = BufWriter::new(self.catalog.storage.store().clone(), path.clone());
            let encoder = ArrowWriter::try_new(Vec::new(), self.schema.clone(), Some(props))?;
            self.open.insert(
                key.clone(),
                OpenFile {
                    path,
                    encoder: Some(Box::new(encoder)),
                    encoding: None,
                    upload,
                    rows: 0,
                    stream,
                    order,
                },
            );
        }
        let open = self.open.get_mut(&key).expect("opened above");
        open.write(batch).await?;
        open.rows += batch.num_rows() as u64;
        self.rows += batch.num_rows() as u64;
        if open.rows >= FILE_ROWS {
            self.close_file(&key).await?;
        }
        Ok(())
    }

    /// Closes the files of a stream that has no more rows, so that open files (and their buffers) do not pile
    /// up when many streams are written one after another.
    pub async fn finish_stream(&mut self, stream: usize) -> Result<()> {
        let keys: Vec<String> = self
            .open
            .iter()
            .filter(|(_, f)| f.stream == stream)
            .map(|(k, _)| k.clone())
            .collect();
        for k in keys {
            self.close_file(&k).await?;
        }
        Ok(())
    }

    /// Gives the version up after a failure, before its folder is removed: waits for the files being closed in
    /// the background (so that nothing lands in the folder afterwards) and aborts the uploads of open files.
    pub async fn abandon(mut self) {
        for closing in std::mem::take(&mut self.closing) {
            let _ = closing.await;
        }
        for (_, mut open) in std::mem::take(&mut self.open) {
            if let Err(e) = open.upload.abort().await {
                tracing::debug!(path = %open.path, error = %e, "could not abort an upload");
            }
        }
    }

    /// Starts closing a file; [`Self::publish`] waits for it.
    async fn close_file(&mut self, partition: &str) -> Result<()> {
        if let Some(open) = self.open.remove(partition) {
            let store = self.catalog.storage.store().clone();
            self.closing.push(tokio::spawn(async move {
                let (path, rows, order) = open.close().await?;
                let meta = store
                    .head(&path)
                    .await
                    .map_err(|e| Error::storage(&path, e))?;
                let file = DataFile {
                    path: path.to_string(),
                    rows,
                    bytes: meta.size,
                };
                Ok((order, file))
            }));
        }
        Ok(())
    }

    /// Closes the last file, writes the version's manifest, then `current.json` (the commit point).
    pub async fn publish(mut self) -> Result<Manifest> {
        let open: Vec<String> = self.open.keys().cloned().collect();
        for partition in open {
            self.close_file(&partition).await?;
        }
        // Every close is waited for, even after one failed: none may still be writing once this returns.
        let mut failed = None;
        for closing in std::mem::take(&mut self.closing) {
            match closing.await {
                Ok(Ok(closed)) => self.files.push(closed),
                Ok(Err(e)) => failed = failed.or(Some(e)),
                Err(e) => {
                    failed = failed.or(Some(Error::DatasetUnreadable {
                        dataset: self.dataset.clone(),
                        version: self.version,
                        message: format!("closing a Parquet file stopped: {e}"),
                    }))
                }
            }
        }
        if let Some(e) = failed {
            return Err(e);
        }
        self.files.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, data) in std::mem::take(&mut self.extras) {
            let path = ObjectPath::from(format!("{}/{name}", self.version_dir()));
            self.catalog.storage.put_bytes(&path, data).await?;
        }
        let manifest = Manifest {
            dataset: self.dataset.clone(),
            version: self.version,
            rows: self.rows,
            created_at: Utc::now(),
            schema: column_infos(&self.schema),
            partitions: self.partitions.clone(),
            quarantined_rows: self.quarantined,
            files: self.files.iter().map(|(_, f)| f.clone()).collect(),
            source_state: self.source_state.clone(),
        };
        let json =
            bytes::Bytes::from(serde_json::to_vec_pretty(&manifest).expect("manifest serializes"));
        let storage = &self.catalog.storage;
        storage
            .put_bytes(
                &ObjectPath::from(format!("{}/manifest.json", self.version_dir())),
                json.clone(),
            )
            .await?;
        storage
            .put_bytes(&current_path(&self.dataset), json)
            .await?;
        Ok(manifest)
    }
}

impl Catalog {
    /// Stores the outcome of a run (replacing the previous one).
    pub async fn record_run(&self, run: &RunRecord) -> Result<()> {
        let json = serde_json::to_vec_pretty(run).expect("run record serializes");
        self.storage
            .put_bytes(&last_run_path(&run.dataset), json.into())
            .await
    }

    /// The outcome of the dataset's last run, if it ever ran.
    pub async fn last_run(&self, id: &str) -> Result<Option<RunRecord>> {
        let path = last_run_path(id);
        match self.storage.store().get(&path).await {
            Ok(r) => {
                let bytes = r.bytes().await.map_err(|e| Error::storage(&path, e))?;
                Ok(serde_json::from_slice(&bytes).ok())
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(Error::storage(&path, e)),
        }
    }

    /// Removes what readers no longer need: folders of failed or abandoned runs (no manifest, or newer than the
    /// published version) and published versions beyond the newest `keep`. Returns the version numbers removed.
    ///
    /// Only one ETL run per dataset is in progress (the ETL holds the dataset's lease, see [`crate::lease`]): a
    /// folder newer than the published version is taken for a leftover.
    pub async fn prune(&self, id: &str, keep: usize) -> Result<Vec<u64>> {
        let Some(current) = self.current(id).await? else {
            return Ok(vec![]);
        };
        let mut kept_published = 1; // the current version
        let mut removed = Vec::new();
        for v in self.version_folders(id).await?.into_iter().rev() {
            if v == current.version {
                continue;
            }
            let published = v < current.version && {
                let m = ObjectPath::from(format!("datasets/{id}/v{v}/manifest.json"));
                self.storage.store().head(&m).await.is_ok()
            };
            if published && kept_published < keep {
                kept_published += 1;
                continue;
            }
            self.delete_prefix(&ObjectPath::from(format!("datasets/{id}/v{v}")))
                .await?;
            removed.push(v);
        }
        Ok(removed)
    }

    /// Deletes the folder of version `v` if it was never published (an abandoned attempt's).
    pub async fn remove_unpublished_version(&self, id: &str, v: u64) -> Result<()> {
        let current = self.current(id).await?.map(|m| m.version).unwrap_or(0);
        if v > current {
            self.delete_prefix(&ObjectPath::from(format!("datasets/{id}/v{v}")))
                .await?;
        }
        Ok(())
    }

    async fn delete_prefix(&self, prefix: &ObjectPath) -> Result<usize> {
        let store = self.storage.store().clone();
        let paths: Vec<ObjectPath> = store
            .list(Some(prefix))
            .map_ok(|m| m.location)
            .try_collect()
            .await
            .map_err(|e| Error::storage(prefix, e))?;
        for p in &paths {
            store.delete(p).await.map_err(|e| Error::storage(p, e))?;
        }
        self.storage.remove_unlisted(prefix)?;
        Ok(paths.len())
    }
}

/// Deletes every object under the dataset (all versions and the manifest).
pub async fn delete_dataset(catalog: &Catalog, id: &str) -> Result<usize> {
    // The manifest goes first so that no reader resolves a version whose files are being removed.
    let current = current_path(id);
    let had_current = match catalog.storage.store().delete(&current).await {
        Ok(()) => 1,
        Err(object_store::Error::NotFound { .. }) => 0,
        Err(e) => return Err(Error::storage(&current, e)),
    };
    Ok(had_current + catalog.delete_prefix(&dataset_dir(id)).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

    fn batch(schema: &SchemaRef, n: i64) -> RecordBatch {
        RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from_iter_values(0..n)),
                Arc::new(StringArray::from_iter_values(
                    (0..n).map(|i| format!("r{i}")),
                )),
            ],
        )
        .unwrap()
    }

    #[tokio::test]
    async fn publish_is_visible_only_after_commit_and_versions_increase() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::new(Storage::local_for_tests(dir.path()));
        let schema = Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int64, false),
            Field::new("s", DataType::Utf8, false),
        ]));
        assert!(catalog.current("t").await.unwrap().is_none());

        let m1 = catalog
            .publish_batches("t", schema.clone(), vec![batch(&schema, 10)])
            .await
            .unwrap();
        assert_eq!((m1.version, m1.rows), (1, 10));

        let mut w = catalog.begin("t", schema.clone()).await.unwrap();
        w.write(&batch(&schema, 5)).await.unwrap();
        // Not yet published: readers still see version 1.
        assert_eq!(catalog.current("t").await.unwrap().unwrap().version, 1);
        drop(w);
        // A killed run leaves partial files behind in its version folder.
        let leftover = ObjectPath::from("datasets/t/v2/part-00000.parquet");
        catalog
            .storage()
            .put_bytes(&leftover, bytes::Bytes::from_static(b"PAR1 partial"))
            .await
            .unwrap();

        // The abandoned folder v2 is skipped, never reused.
        let m3 = catalog
            .publish_batches("t", schema.clone(), vec![batch(&schema, 7)])
            .await
            .unwrap();
        assert_eq!(m3.version, 3);
        let listed = catalog.list().await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].rows, 7);
        assert_eq!(listed[0].schema[1].name, "s");
        assert!(m3.files[0].bytes > 0);

        // Pruning to 2 versions removes the leftover v2 and keeps v1 and v3.
        assert_eq!(catalog.prune("t", 2).await.unwrap(), vec![2]);
        assert_eq!(catalog.version_folders("t").await.unwrap(), vec![1, 3]);
        catalog
            .publish_batches("t", schema.clone(), vec![batch(&schema, 2)])
            .await
            .unwrap();
        assert_eq!(catalog.prune("t", 2).await.unwrap(), vec![1]);
        assert_eq!(catalog.version_folders("t").await.unwrap(), vec![3, 4]);

        assert!(delete_dataset(&catalog, "t").await.unwrap() >= 2);
        assert!(catalog.current("t").await.unwrap().is_none());
    }

    #[test]
    fn ids_are_plain() {
        assert!(valid_id("cursor_usage"));
        assert!(!valid_id("../etc"));
        assert!(!valid_id("Bad"));
    }
}
