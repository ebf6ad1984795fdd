//! Helpers shared by the ETL integration tests.

use std::path::{Path, PathBuf};

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::record_batch::RecordBatch;
use lantern_core::catalog::{Catalog, Manifest};
use lantern_core::config::StorageConfig;
use lantern_core::storage::Storage;
use lantern_etl::EtlConfig;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A catalog over a fresh local folder.
pub fn catalog_in(dir: &Path) -> Catalog {
    Catalog::new(
        Storage::open(&StorageConfig {
            url: dir.join("store").display().to_string(),
            ..Default::default()
        })
        .unwrap(),
    )
}

/// The shipped example config with this id (`examples/datasets/`).
pub fn example(id: &str) -> EtlConfig {
    EtlConfig::load_dir(&repo_root().join("examples/datasets"))
        .unwrap()
        .into_iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no example {id}"))
}

/// Every row of the published version, in file order, as one batch.
pub async fn published(catalog: &Catalog, id: &str) -> (Manifest, RecordBatch) {
    let manifest = catalog.current(id).await.unwrap().expect("published");
    let mut batches = Vec::new();
    for f in &manifest.files {
        let bytes = catalog
            .storage()
            .get_bytes(&f.path.as_str().into())
            .await
            .unwrap();
        for b in ParquetRecordBatchReaderBuilder::try_new(bytes)
            .unwrap()
            .build()
            .unwrap()
        {
            batches.push(b.unwrap());
        }
    }
    let schema = batches[0].schema();
    let batch = datafusion::arrow::compute::concat_batches(&schema, &batches).unwrap();
    (manifest, batch)
}

/// A column's values as display text (`null` for nulls), for readable assertions.
pub fn texts(batch: &RecordBatch, name: &str) -> Vec<String> {
    let i = batch
        .schema()
        .index_of(name)
        .unwrap_or_else(|_| panic!("no column {name} in {:?}", batch.schema()));
    let col = batch.column(i);
    let f = datafusion::arrow::util::display::ArrayFormatter::try_new(
        col.as_ref(),
        &datafusion::arrow::util::display::FormatOptions::default().with_null("null"),
    )
    .unwrap();
    (0..col.len()).map(|r| f.value(r).to_string()).collect()
}

pub fn data_type(batch: &RecordBatch, name: &str) -> String {
    let schema = batch.schema();
    schema
        .field_with_name(name)
        .unwrap_or_else(|_| panic!("no column {name} in {schema:?}"))
        .data_type()
        .to_string()
}

#[allow(dead_code)]
pub fn strings(batch: &RecordBatch, name: &str) -> Vec<Option<String>> {
    let i = batch.schema().index_of(name).unwrap();
    let a = batch.column(i).as_string::<i32>();
    (0..a.len())
        .map(|r| (!a.is_null(r)).then(|| a.value(r).to_string()))
        .collect()
}

pub use lantern_testkit::{S3_KEY, S3_SECRET, start_s3};

/// A client for `bucket` on that server, through the same object_store code Lantern uses.
pub fn s3_bucket(endpoint: &str, bucket: &str) -> Storage {
    Storage::open(&StorageConfig {
        url: format!("s3://{bucket}"),
        endpoint: Some(endpoint.to_string()),
        region: Some("us-east-1".into()),
        path_style: true,
        access_key_id: Some(S3_KEY.into()),
        secret_access_key: Some(S3_SECRET.into()),
        ..Default::default()
    })
    .unwrap()
}
