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

pub const S3_KEY: &str = "lantern-test-key";
pub const S3_SECRET: &str = "lantern-test-secret";

/// A real S3-protocol server (s3s over a folder, one sub-folder per bucket) on 127.0.0.1; returns its endpoint.
pub async fn start_s3(root: &Path, buckets: &[&str]) -> String {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::server::conn::auto::Builder as ConnBuilder;

    for b in buckets {
        std::fs::create_dir_all(root.join(b)).unwrap();
    }
    let fs = s3s_fs::FileSystem::new(root).unwrap();
    let mut builder = s3s::service::S3ServiceBuilder::new(fs);
    builder.set_auth(s3s::auth::SimpleAuth::from_single(S3_KEY, S3_SECRET));
    let service = builder.build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let service = service.clone();
            tokio::spawn(async move {
                let _ = ConnBuilder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    format!("http://{addr}")
}

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
