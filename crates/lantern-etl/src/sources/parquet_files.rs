//! Parquet files (found in S3): already typed, so they are streamed as they are; every file must have the first
//! file's columns and types.

use std::collections::BTreeMap;

use datafusion::arrow::datatypes::SchemaRef;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::{ReadOptions, RowSink, StagedFile, TableReader};
use crate::error::{EtlError, Result};

pub struct ParquetReader {
    files: Vec<StagedFile>,
    schema: SchemaRef,
    batch_rows: usize,
}

fn builder(file: &StagedFile) -> Result<ParquetRecordBatchReaderBuilder<std::fs::File>> {
    let f = std::fs::File::open(&file.path).map_err(|e| EtlError::failed(&file.label, e))?;
    ParquetRecordBatchReaderBuilder::try_new(f)
        .map_err(|e| EtlError::source(&file.label, format!("not a readable Parquet file: {e}")))
}

impl ParquetReader {
    pub fn open(files: Vec<StagedFile>, options: &ReadOptions) -> Result<Self> {
        let Some(first) = files.first() else {
            return Err(EtlError::source("(no input)", "no Parquet file to read"));
        };
        let schema = builder(first)?.schema().clone();
        for f in &files[1..] {
            let other = builder(f)?.schema().clone();
            if other.fields() != schema.fields() {
                return Err(EtlError::source(
                    &f.label,
                    format!(
                        "its columns ({}) differ from {}'s ({})",
                        describe(&other),
                        first.label,
                        describe(&schema)
                    ),
                ));
            }
        }
        if let Some(name) = options.types.keys().next() {
            return Err(EtlError::source(
                &first.label,
                format!("load.types.{name}: Parquet columns keep their own types"),
            ));
        }
        // Files written with metadata (pandas, Spark) carry it in the schema; the dataset keeps only the fields.
        let schema = std::sync::Arc::new(datafusion::arrow::datatypes::Schema::new(
            schema.fields().clone(),
        ));
        Ok(Self {
            files,
            schema,
            batch_rows: options.batch_rows,
        })
    }
}

fn describe(schema: &SchemaRef) -> String {
    schema
        .fields()
        .iter()
        .map(|f| format!("{} {}", f.name(), f.data_type()))
        .collect::<Vec<_>>()
        .join(", ")
}

impl TableReader for ParquetReader {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn read(&mut self, sink: &mut RowSink<'_>) -> Result<BTreeMap<String, String>> {
        for f in &self.files {
            let reader = builder(f)?
                .with_batch_size(self.batch_rows)
                .build()
                .map_err(|e| EtlError::failed(&f.label, e))?;
            for batch in reader {
                let batch = batch.map_err(|e| EtlError::failed(&f.label, e))?;
                let batch = batch.with_schema(self.schema.clone())?;
                (sink.emit)(0, batch, None)?;
            }
        }
        Ok(BTreeMap::new())
    }
}
