//! Arrow column builders for database rows, one per column type, gathered into batches.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayBuilder, ArrayRef, BooleanBuilder, Date32Builder, Decimal128Builder, Float64Builder,
    Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;

use crate::error::Result;

/// One column's builder.
pub(super) enum ColBuilder {
    Bool(BooleanBuilder),
    Int(Int64Builder),
    Float(Float64Builder),
    Decimal(Decimal128Builder),
    Date(Date32Builder),
    Ts(TimestampMicrosecondBuilder),
    Text(StringBuilder),
}

impl ColBuilder {
    pub fn new(t: &DataType, cap: usize) -> Self {
        match t {
            DataType::Boolean => ColBuilder::Bool(BooleanBuilder::with_capacity(cap)),
            DataType::Int64 => ColBuilder::Int(Int64Builder::with_capacity(cap)),
            DataType::Float64 => ColBuilder::Float(Float64Builder::with_capacity(cap)),
            DataType::Decimal128(p, s) => ColBuilder::Decimal(
                Decimal128Builder::with_capacity(cap)
                    .with_precision_and_scale(*p, *s)
                    .expect("valid decimal type"),
            ),
            DataType::Date32 => ColBuilder::Date(Date32Builder::with_capacity(cap)),
            DataType::Timestamp(_, tz) => ColBuilder::Ts(
                TimestampMicrosecondBuilder::with_capacity(cap).with_timezone_opt(tz.clone()),
            ),
            _ => ColBuilder::Text(StringBuilder::with_capacity(cap, cap * 16)),
        }
    }

    pub fn append_null(&mut self) {
        match self {
            ColBuilder::Bool(b) => b.append_null(),
            ColBuilder::Int(b) => b.append_null(),
            ColBuilder::Float(b) => b.append_null(),
            ColBuilder::Decimal(b) => b.append_null(),
            ColBuilder::Date(b) => b.append_null(),
            ColBuilder::Ts(b) => b.append_null(),
            ColBuilder::Text(b) => b.append_null(),
        }
    }

    pub fn finish(&mut self) -> ArrayRef {
        match self {
            ColBuilder::Bool(b) => Arc::new(b.finish()),
            ColBuilder::Int(b) => Arc::new(b.finish()),
            ColBuilder::Float(b) => Arc::new(b.finish()),
            ColBuilder::Decimal(b) => Arc::new(b.finish()),
            ColBuilder::Date(b) => Arc::new(b.finish()),
            ColBuilder::Ts(b) => Arc::new(b.finish()),
            ColBuilder::Text(b) => ArrayBuilder::finish(b),
        }
    }
}

/// A batch being built: a builder per column.
pub(super) struct Builders {
    pub cols: Vec<ColBuilder>,
    pub rows: usize,
    pub scale: i8,
}

impl Builders {
    pub fn new(schema: &SchemaRef, scale: i8) -> Self {
        Self {
            cols: schema
                .fields()
                .iter()
                .map(|f| ColBuilder::new(f.data_type(), crate::pipeline::BATCH_ROWS))
                .collect(),
            rows: 0,
            scale,
        }
    }

    pub fn finish(&mut self, schema: &SchemaRef) -> Result<RecordBatch> {
        self.rows = 0;
        let cols: Vec<ArrayRef> = self.cols.iter_mut().map(|c| c.finish()).collect();
        Ok(RecordBatch::try_new(schema.clone(), cols)?)
    }
}
