//! One ETL run: source → typed Arrow batches → Parquet through the catalog → publish → prune old versions.

use std::time::Instant;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use lantern_core::catalog::Catalog;
use serde::Serialize;

use crate::config::{EtlConfig, SourceConfig};
use crate::error::{EtlError, Result};
use crate::infer::{ValueOptions, widen};
use crate::sources::csv;

/// Rows per batch handed from a source to the sink: bounds the memory a run needs.
pub const BATCH_ROWS: usize = 64 * 1024;

/// What a run did, for the CLI (`--json`) and the datasets page.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub dataset: String,
    pub version: u64,
    pub rows: u64,
    pub input_files: usize,
    pub input_bytes: u64,
    pub output_bytes: u64,
    pub elapsed_secs: f64,
    pub rows_per_sec: f64,
    pub columns: Vec<(String, String)>,
    /// Rows refused and written to the version's `_quarantine/bad_rows.csv`.
    pub quarantined_rows: u64,
    /// Rows that failed a `policy: warn` validation (kept).
    pub warned_rows: u64,
    pub partitions: Vec<String>,
    pub pruned_versions: Vec<u64>,
}

/// Runs `config` into `catalog`; `progress` is told (rows, input bytes) as batches are written.
pub async fn run(
    config: &EtlConfig,
    catalog: &Catalog,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<RunSummary> {
    let started = Instant::now();
    let options = ValueOptions {
        null_values: config.load.null_values.clone(),
        zero_one_booleans: config.load.zero_one_booleans,
    };
    let SourceConfig::Csv(source) = &config.source;
    let paths = source.files()?;
    let input_files = paths.len();
    let input_bytes: u64 = paths
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();

    // Inspect and infer types over every row of every file, off the async workers.
    let (files, types) = {
        let (source, options, load) = (source.clone(), options.clone(), config.load.clone());
        tokio::task::spawn_blocking(move || -> Result<_> {
            let mut files = Vec::new();
            let mut types: Option<Vec<_>> = None;
            for p in &paths {
                let f = csv::inspect(p, &source, load.normalize_names)?;
                if let Some(first) = files.first() {
                    let first: &csv::CsvFile = first;
                    if first.columns != f.columns {
                        return Err(EtlError::source(
                            p.display().to_string(),
                            format!(
                                "its columns {:?} differ from {}'s {:?}",
                                f.columns,
                                first.path.display(),
                                first.columns
                            ),
                        ));
                    }
                }
                let t = csv::infer_types(&f, &options, &load.types)?;
                types = Some(match types {
                    None => t,
                    Some(prev) => prev.iter().zip(&t).map(|(a, b)| widen(*a, *b)).collect(),
                });
                files.push(f);
            }
            Ok((files, types.unwrap_or_default()))
        })
        .await
        .map_err(|e| EtlError::source(&config.id, e.to_string()))??
    };
    for name in config.load.types.keys() {
        if !files[0].columns.contains(name) {
            return Err(EtlError::Config {
                file: config.file.clone(),
                line: 1,
                field: format!("load.types.{name}"),
                message: format!(
                    "the source has no column `{name}`; it has: {}",
                    files[0].columns.join(", ")
                ),
            });
        }
    }
    let schema: SchemaRef = csv::schema(&files[0].columns, &types);
    let transforms =
        crate::transforms::Transforms::compile(&config.transforms, schema.clone(), &config.file)?;
    let output: SchemaRef = transforms.output_schema();
    for (i, name) in config.load.partition_by.iter().enumerate() {
        if output.index_of(name).is_err() {
            return Err(EtlError::Config {
                file: config.file.clone(),
                line: 1,
                field: format!("load.partition_by[{i}]"),
                message: format!(
                    "no column `{name}` after the source and transforms; there are: {}",
                    output
                        .fields()
                        .iter()
                        .map(|f| f.name().as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
    }

    // Convert in a blocking thread, write from here; the bounded channel keeps at most a few batches in memory.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<RecordBatch>>(4);
    let max_bad = config.load.max_bad_rows;
    let reader = {
        let (schema, types, options) = (schema.clone(), types.clone(), options.clone());
        tokio::task::spawn_blocking(move || -> Vec<csv::BadRow> {
            let mut bad_rows: Vec<csv::BadRow> = Vec::new();
            for f in &files {
                let sent = csv::read_batches(
                    f,
                    &schema,
                    &types,
                    &options,
                    BATCH_ROWS,
                    |b| {
                        tx.blocking_send(Ok(b)).map_err(|_| {
                            EtlError::source(f.path.display().to_string(), "writer stopped")
                        })
                    },
                    |row| {
                        if bad_rows.len() as u64 >= max_bad {
                            let count = bad_rows.len() + 1;
                            let mut e = row.into_error();
                            if let EtlError::Source { message, .. } = &mut e {
                                *message = format!(
                                    "{message} ({count} bad rows: more than load.max_bad_rows = {max_bad})"
                                );
                            }
                            return Err(e);
                        }
                        bad_rows.push(row);
                        Ok(())
                    },
                );
                if let Err(e) = sent {
                    let _ = tx.blocking_send(Err(e));
                    break;
                }
            }
            bad_rows
        })
    };
    let mut writer = catalog.begin(&config.id, output.clone()).await?;
    writer.set_partitions(config.load.partition_by.clone());
    let partition_columns: Vec<usize> = config
        .load
        .partition_by
        .iter()
        .map(|c| output.index_of(c).expect("checked above"))
        .collect();
    let mut transform_refused: Vec<csv::BadRow> = Vec::new();
    while let Some(batch) = rx.recv().await {
        let read = batch?;
        let rows_read = read.num_rows() as u64;
        let (batch, refused) = transforms.apply(read)?;
        for r in refused {
            if transform_refused.len() as u64 >= max_bad {
                return Err(EtlError::Source {
                    file: format!("transforms ({})", config.file.display()),
                    row: None,
                    column: Some(r.column),
                    message: format!(
                        "{} (more than load.max_bad_rows = {max_bad} refused)",
                        r.reason
                    ),
                });
            }
            transform_refused.push(csv::BadRow {
                file: "(validation)".into(),
                line: 0,
                column: Some(r.column),
                reason: r.reason,
                fields: r.fields,
            });
        }
        if partition_columns.is_empty() {
            writer.write(&batch).await?;
        } else {
            for (partition, part) in crate::sink::split_by_partition(&batch, &partition_columns)? {
                writer.write_partition(&partition, &part).await?;
            }
        }
        progress(rows_read);
    }
    let mut bad_rows = reader
        .await
        .map_err(|e| EtlError::source(&config.id, e.to_string()))?;
    bad_rows.append(&mut transform_refused);
    if bad_rows.len() as u64 > max_bad {
        return Err(EtlError::source(
            &config.id,
            format!(
                "{} rows refused: more than load.max_bad_rows = {max_bad}",
                bad_rows.len()
            ),
        ));
    }
    let warned_rows = transforms.warnings();
    if !bad_rows.is_empty() {
        writer.quarantine(
            "bad_rows.csv",
            bad_rows.len() as u64,
            crate::sink::bad_rows_csv(&bad_rows),
        );
    }
    let manifest = writer.publish().await?;
    let pruned_versions = catalog.prune(&config.id, config.load.retention).await?;
    let elapsed = started.elapsed().as_secs_f64();
    Ok(RunSummary {
        dataset: config.id.clone(),
        version: manifest.version,
        rows: manifest.rows,
        input_files,
        input_bytes,
        output_bytes: manifest.total_bytes(),
        elapsed_secs: elapsed,
        rows_per_sec: manifest.rows as f64 / elapsed.max(1e-9),
        columns: manifest
            .schema
            .iter()
            .map(|c| (c.name.clone(), c.data_type.clone()))
            .collect(),
        quarantined_rows: manifest.quarantined_rows,
        warned_rows,
        partitions: manifest.partitions.clone(),
        pruned_versions,
    })
}
