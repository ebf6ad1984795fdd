//! The SQL source's reader: a connected query's rows, as batches, and the watermark they reach.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, NaiveDate};
use datafusion::arrow::array::{
    Array, Date32Array, Float64Array, Int64Array, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use tokio::sync::mpsc;

use super::WATERMARK;
use super::copy::CopyDecoder;
use super::postgres::PgKind;
use crate::error::{EtlError, Result};
use crate::sources::{ReadOptions, RowSink, TableReader};

/// Where the rows come from once staged.
pub(super) enum Rows {
    /// PostgreSQL binary COPY data, in chunks.
    PgCopy {
        rx: mpsc::Receiver<Result<Bytes>>,
        kinds: Vec<PgKind>,
    },
    /// Batches already built (MySQL), and whether the producing task finished.
    Batches(
        mpsc::Receiver<Result<RecordBatch>>,
        Arc<std::sync::atomic::AtomicBool>,
    ),
}

/// A database query, connected and streaming.
pub struct SqlInput {
    pub(super) label: String,
    pub(super) schema: SchemaRef,
    pub(super) watermark: Option<usize>,
    pub(super) decimal_scale: i8,
    pub(super) rows: Rows,
}

impl SqlInput {
    pub fn open(self, options: &ReadOptions) -> Result<SqlReader> {
        if let Some(name) = options.types.keys().next() {
            return Err(EtlError::source(
                &self.label,
                format!("load.types.{name}: database columns keep the database's types"),
            ));
        }
        Ok(SqlReader {
            input: Some(self),
            batch_rows: options.batch_rows,
        })
    }
}

pub struct SqlReader {
    input: Option<SqlInput>,
    batch_rows: usize,
}

impl TableReader for SqlReader {
    fn schema(&self) -> SchemaRef {
        self.input.as_ref().expect("not read yet").schema.clone()
    }

    fn read(&mut self, sink: &mut RowSink<'_>) -> Result<BTreeMap<String, String>> {
        let input = self.input.take().expect("read once");
        let mut high: Option<String> = None;
        let mut track = |batch: &RecordBatch| {
            if let Some(i) = input.watermark
                && let Some(v) = max_text(batch.column(i).as_ref())
                && high
                    .as_ref()
                    .is_none_or(|h| greater(batch.column(i).data_type(), &v, h))
            {
                high = Some(v);
            }
        };
        match input.rows {
            Rows::Batches(mut rx, done) => {
                while let Some(batch) = rx.blocking_recv() {
                    let batch = batch?;
                    track(&batch);
                    (sink.emit)(0, batch, None)?;
                }
                if !done.load(std::sync::atomic::Ordering::SeqCst) {
                    return Err(EtlError::source(
                        &input.label,
                        "the database stream ended early",
                    ));
                }
            }
            Rows::PgCopy { mut rx, kinds } => {
                let mut decoder = CopyDecoder::new(&input.schema, kinds, input.decimal_scale);
                let mut pending: Vec<u8> = Vec::new();
                let mut ended = false;
                while let Some(chunk) = rx.blocking_recv() {
                    let chunk = chunk?;
                    let data: &[u8] = if pending.is_empty() {
                        &chunk
                    } else {
                        pending.extend_from_slice(&chunk);
                        &pending
                    };
                    let (used, end) = decoder.decode(data, &input.label, &mut *sink.bad)?;
                    ended |= end;
                    let rest = data[used..].to_vec();
                    pending = rest;
                    if decoder.builders.rows >= self.batch_rows {
                        let b = decoder.builders.finish(&input.schema)?;
                        track(&b);
                        (sink.emit)(0, b, None)?;
                    }
                }
                if !ended {
                    return Err(EtlError::source(
                        &input.label,
                        "the COPY stream ended early",
                    ));
                }
                if decoder.builders.rows > 0 {
                    let b = decoder.builders.finish(&input.schema)?;
                    track(&b);
                    (sink.emit)(0, b, None)?;
                }
            }
        }
        let mut state = BTreeMap::new();
        if let Some(h) = high {
            state.insert(WATERMARK.to_string(), h);
        }
        Ok(state)
    }
}

/// The largest value of a watermark column, as text the database compares back (`2025-01-02 03:04:05.000006+00`).
fn max_text(array: &dyn Array) -> Option<String> {
    use datafusion::arrow::compute::{max, max_string};
    let any = array.as_any();
    if let Some(a) = any.downcast_ref::<Int64Array>() {
        return max(a).map(|v| v.to_string());
    }
    if let Some(a) = any.downcast_ref::<Float64Array>() {
        return max(a).map(|v| v.to_string());
    }
    if let Some(a) = any.downcast_ref::<Date32Array>() {
        return max(a).and_then(|d| {
            NaiveDate::from_ymd_opt(1970, 1, 1).map(|e| {
                (e + chrono::Duration::days(d as i64))
                    .format("%Y-%m-%d")
                    .to_string()
            })
        });
    }
    if let Some(a) = any.downcast_ref::<TimestampMicrosecondArray>() {
        let tz = matches!(a.data_type(), DataType::Timestamp(_, Some(_)));
        return max(a).and_then(DateTime::from_timestamp_micros).map(|d| {
            if tz {
                d.format("%Y-%m-%d %H:%M:%S%.6f+00:00").to_string()
            } else {
                d.naive_utc().format("%Y-%m-%d %H:%M:%S%.6f").to_string()
            }
        });
    }
    if let Some(a) = any.downcast_ref::<StringArray>() {
        return max_string(a).map(str::to_string);
    }
    None
}

/// Compares two watermark texts of the column's type.
fn greater(t: &DataType, a: &str, b: &str) -> bool {
    match t {
        DataType::Int64 => a.parse::<i64>().ok() > b.parse::<i64>().ok(),
        DataType::Float64 => a.parse::<f64>().ok() > b.parse::<f64>().ok(),
        // Fixed-width date and time texts order like the values.
        _ => a > b,
    }
}
