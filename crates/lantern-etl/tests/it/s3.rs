//! The S3 source against an S3-protocol server started here: JSON lines (the shipped example, incremental),
//! CSV and Parquet objects under a prefix.

use std::sync::Arc;

use datafusion::arrow::array::{Float64Array, Int64Array, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use lantern_etl::config::SourceConfig;

use crate::support::{
    S3_KEY, S3_SECRET, catalog_in, data_type, example, published, s3_bucket, start_s3, texts,
};

fn events(day: u32, from: u32, n: u32) -> String {
    (from..from + n)
        .map(|i| {
            format!(
                "{{\"event_id\": {i}, \"user\": {{\"id\": \"u{}\", \"plan\": \"pro\"}}, \"kind\": \"click\", \"occurred_at\": \"2025-03-{day:02}T{:02}:00:00Z\", \"value\": {}.5}}\n",
                i % 3,
                i % 24,
                i
            )
        })
        .collect()
}

async fn put(storage: &lantern_core::storage::Storage, key: &str, data: Vec<u8>) {
    storage.put_bytes(&key.into(), data.into()).await.unwrap();
}

#[tokio::test]
async fn the_s3_example_loads_json_lines_incrementally_by_last_modified() {
    let root = tempfile::tempdir().unwrap();
    let endpoint = start_s3(root.path(), &["lantern-examples"]).await;
    let bucket = s3_bucket(&endpoint, "lantern-examples");
    put(
        &bucket,
        "events/2025-03-01.jsonl",
        events(1, 0, 30).into_bytes(),
    )
    .await;
    put(
        &bucket,
        "events/2025-03-02.jsonl",
        events(2, 30, 20).into_bytes(),
    )
    .await;
    put(&bucket, "events/README.txt", b"not data".to_vec()).await;
    put(
        &bucket,
        "other/2025-03-01.jsonl",
        events(1, 900, 5).into_bytes(),
    )
    .await;

    let mut config = example("s3_events");
    let SourceConfig::S3(s3) = &mut config.source else {
        panic!("s3 example")
    };
    s3.endpoint = Some(endpoint.clone());
    s3.access_key_id = Some(S3_KEY.into());
    s3.secret_access_key = Some(S3_SECRET.into());

    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog_in(dir.path());
    let first = lantern_etl::run(&config, &catalog, &|_| {}).await.unwrap();
    assert_eq!((first.rows, first.input_files), (50, 2), "{first:?}");
    let (manifest, batch) = published(&catalog, "s3_events").await;
    assert_eq!(data_type(&batch, "occurred_at"), "Timestamp(µs, \"UTC\")");
    assert_eq!(data_type(&batch, "user.id"), "Utf8");
    assert_eq!(data_type(&batch, "value"), "Float64");
    assert!(
        manifest
            .files
            .iter()
            .any(|f| f.path.contains("/event_date=2025-03-02/")),
        "{:?}",
        manifest.files
    );
    assert!(
        manifest.source_state.contains_key("s3_last_modified"),
        "{:?}",
        manifest.source_state
    );

    // One new object: only its rows are read, and they join the previous version's.
    put(
        &bucket,
        "events/2025-03-03.jsonl",
        events(3, 50, 7).into_bytes(),
    )
    .await;
    let second = lantern_etl::run(&config, &catalog, &|_| {}).await.unwrap();
    assert_eq!(
        (
            second.version,
            second.rows,
            second.new_rows,
            second.input_files
        ),
        (2, 57, 7, 1),
        "{second:?}"
    );
    let (_, batch) = published(&catalog, "s3_events").await;
    let mut ids: Vec<i64> = texts(&batch, "event_id")
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, (0..57).collect::<Vec<_>>(), "every event once");

    let third = lantern_etl::run(&config, &catalog, &|_| {}).await.unwrap();
    assert!(third.unchanged && third.version == 2, "{third:?}");
}

#[tokio::test]
async fn csv_and_parquet_objects_under_a_prefix() {
    let root = tempfile::tempdir().unwrap();
    let endpoint = start_s3(root.path(), &["drops"]).await;
    let bucket = s3_bucket(&endpoint, "drops");
    // Shift-JIS CSV with `;`: detected as for local files.
    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("id;name;amount\n1;東京;10.5\n2;大阪;7\n");
    put(&bucket, "csv/a.csv", sjis.into_owned()).await;
    let (sjis, _, _) =
        encoding_rs::SHIFT_JIS.encode("id;name;amount\n3;京都;1\n4;名古屋;2\n5;札幌市;3\n");
    put(&bucket, "csv/b.csv", sjis.into_owned()).await;

    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, true),
        Field::new("amount", DataType::Float64, true),
    ]));
    for (key, ids) in [
        ("parquet/p1.parquet", [1i64, 2]),
        ("parquet/p2.parquet", [3, 4]),
    ] {
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(ids.to_vec())),
                Arc::new(StringArray::from(vec![Some("x"), None])),
                Arc::new(Float64Array::from(vec![1.5, 2.5])),
            ],
        )
        .unwrap();
        let mut buf = Vec::new();
        let mut w = parquet::arrow::ArrowWriter::try_new(&mut buf, schema.clone(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        put(&bucket, key, buf).await;
    }

    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog_in(dir.path());
    for (prefix, rows) in [("csv", 5u64), ("parquet", 4)] {
        let yaml = format!(
            "id: {prefix}_drop\nsource:\n  kind: s3\n  url: s3://drops/{prefix}/\n  endpoint: {endpoint}\n  region: us-east-1\n  access_key_id: {S3_KEY}\n  secret_access_key: {S3_SECRET}\n"
        );
        let config = lantern_etl::EtlConfig::parse(std::path::Path::new("x.yaml"), &yaml)
            .unwrap()
            .unwrap();
        let summary = lantern_etl::run(&config, &catalog, &|_| {}).await.unwrap();
        assert_eq!(summary.rows, rows, "{prefix}");
    }
    // A CSV source whose path is an object-store URL with a glob reads the same objects.
    let yaml = format!(
        "id: csv_url\nsource:\n  kind: csv\n  path: s3://drops/csv/*.csv\n  s3: {{endpoint: {endpoint}, region: us-east-1, access_key_id: {S3_KEY}, secret_access_key: {S3_SECRET}}}\n"
    );
    let config = lantern_etl::EtlConfig::parse(std::path::Path::new("x.yaml"), &yaml)
        .unwrap()
        .unwrap();
    let summary = lantern_etl::run(&config, &catalog, &|_| {}).await.unwrap();
    assert_eq!((summary.rows, summary.input_files), (5, 2));
    // One object by its exact name; an object in a sub-folder is not part of `*.csv`.
    put(
        &bucket,
        "csv/old/c.csv",
        b"id;name;amount\n9;x;1\n".to_vec(),
    )
    .await;
    for (path, rows) in [("s3://drops/csv/a.csv", 2u64), ("s3://drops/csv/*.csv", 5)] {
        let yaml = format!(
            "id: csv_url\nsource:\n  kind: csv\n  path: {path}\n  s3: {{endpoint: {endpoint}, region: us-east-1, access_key_id: {S3_KEY}, secret_access_key: {S3_SECRET}}}\n"
        );
        let config = lantern_etl::EtlConfig::parse(std::path::Path::new("x.yaml"), &yaml)
            .unwrap()
            .unwrap();
        let summary = lantern_etl::run(&config, &catalog, &|_| {}).await.unwrap();
        assert_eq!(summary.rows, rows, "{path}");
    }
    let (_, batch) = published(&catalog, "csv_drop").await;
    assert_eq!(
        texts(&batch, "name"),
        ["東京", "大阪", "京都", "名古屋", "札幌市"]
    );
    assert_eq!(data_type(&batch, "amount"), "Float64");
    let (_, batch) = published(&catalog, "parquet_drop").await;
    assert_eq!(texts(&batch, "id"), ["1", "2", "3", "4"]);
    assert_eq!(texts(&batch, "name"), ["x", "null", "x", "null"]);

    // A prefix with nothing under it, and mixed types without a pattern, are named.
    let yaml = format!(
        "id: none\nsource:\n  kind: s3\n  url: s3://drops/nothing/\n  endpoint: {endpoint}\n  region: us-east-1\n  access_key_id: {S3_KEY}\n  secret_access_key: {S3_SECRET}\n"
    );
    let config = lantern_etl::EtlConfig::parse(std::path::Path::new("x.yaml"), &yaml)
        .unwrap()
        .unwrap();
    let err = lantern_etl::run(&config, &catalog, &|_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("s3://drops/nothing") && err.contains("no objects"),
        "{err}"
    );
}

#[tokio::test]
async fn a_catalog_on_s3_takes_the_lease_and_publishes() {
    let root = tempfile::tempdir().unwrap();
    let endpoint = start_s3(root.path(), &["lantern"]).await;
    let catalog = lantern_core::catalog::Catalog::new(s3_bucket(&endpoint, "lantern"));
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("in.csv");
    std::fs::write(&csv, "day,visits\n2025-01-01,3\n2025-01-02,5\n").unwrap();
    let text = format!(
        "id: visits\nsource: {{kind: csv, path: {}}}\n",
        csv.display()
    );
    let config = lantern_etl::EtlConfig::parse(std::path::Path::new("x.yaml"), &text)
        .unwrap()
        .unwrap();
    let held = catalog.acquire_lease("visits").await.unwrap();
    let err = lantern_etl::run(&config, &catalog, &|_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("being loaded"),
        "the conditional put is honoured on S3: {err}"
    );
    held.release().await;
    for version in 1..=2 {
        let summary = lantern_etl::run(&config, &catalog, &|_| {}).await.unwrap();
        assert_eq!((summary.version, summary.rows), (version, 2));
    }
}
