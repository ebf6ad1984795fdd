//! Typed Arrow batches built from text cells: the shared back half of every text source (CSV, JSON lines).

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayBuilder, ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int64Builder,
    StringBuilder, TimestampMicrosecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;

use crate::error::Result;
use crate::infer::{ColumnType, Parsed, ValueOptions, parse_as};

/// The Arrow schema for these columns and types.
pub fn schema(columns: &[String], types: &[ColumnType]) -> SchemaRef {
    Arc::new(Schema::new(
        columns
            .iter()
            .zip(types)
            .map(|(n, t)| Field::new(n, arrow_type(*t), true))
            .collect::<Vec<_>>(),
    ))
}

pub fn arrow_type(t: ColumnType) -> DataType {
    match t {
        ColumnType::Boolean => DataType::Boolean,
        ColumnType::Integer => DataType::Int64,
        ColumnType::Float => DataType::Float64,
        ColumnType::Date => DataType::Date32,
        ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
        ColumnType::TimestampTz => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        ColumnType::String => DataType::Utf8,
    }
}

/// The column type that stores `t` again, for incremental loads that must keep a published schema.
pub fn column_type_of(t: &DataType) -> Option<ColumnType> {
    Some(match t {
        DataType::Boolean => ColumnType::Boolean,
        DataType::Int64 => ColumnType::Integer,
        DataType::Float64 => ColumnType::Float,
        DataType::Date32 => ColumnType::Date,
        DataType::Timestamp(TimeUnit::Microsecond, None) => ColumnType::Timestamp,
        DataType::Timestamp(TimeUnit::Microsecond, Some(_)) => ColumnType::TimestampTz,
        DataType::Utf8 => ColumnType::String,
        _ => return None,
    })
}

fn builder(t: ColumnType, capacity: usize) -> Box<dyn ArrayBuilder> {
    match t {
        ColumnType::Boolean => Box::new(BooleanBuilder::with_capacity(capacity)),
        ColumnType::Integer => Box::new(Int64Builder::with_capacity(capacity)),
        ColumnType::Float => Box::new(Float64Builder::with_capacity(capacity)),
        ColumnType::Date => Box::new(Date32Builder::with_capacity(capacity)),
        ColumnType::Timestamp => Box::new(TimestampMicrosecondBuilder::with_capacity(capacity)),
        ColumnType::TimestampTz => {
            Box::new(TimestampMicrosecondBuilder::with_capacity(capacity).with_timezone("UTC"))
        }
        ColumnType::String => Box::new(StringBuilder::with_capacity(capacity, capacity * 16)),
    }
}

fn append(b: &mut dyn ArrayBuilder, v: Option<(&str, Parsed)>) {
    let any = b.as_any_mut();
    match v {
        None => {
            if let Some(b) = any.downcast_mut::<BooleanBuilder>() {
                b.append_null()
            } else if let Some(b) = any.downcast_mut::<Int64Builder>() {
                b.append_null()
            } else if let Some(b) = any.downcast_mut::<Float64Builder>() {
                b.append_null()
            } else if let Some(b) = any.downcast_mut::<Date32Builder>() {
                b.append_null()
            } else if let Some(b) = any.downcast_mut::<TimestampMicrosecondBuilder>() {
                b.append_null()
            } else if let Some(b) = any.downcast_mut::<StringBuilder>() {
                b.append_null()
            }
        }
        Some((raw, parsed)) => match parsed {
            Parsed::Bool(x) => any
                .downcast_mut::<BooleanBuilder>()
                .expect("typed")
                .append_value(x),
            Parsed::Int(x) => any
                .downcast_mut::<Int64Builder>()
                .expect("typed")
                .append_value(x),
            Parsed::Float(x) => any
                .downcast_mut::<Float64Builder>()
                .expect("typed")
                .append_value(x),
            Parsed::Date(d) => {
                let days = (d - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch"))
                    .num_days() as i32;
                any.downcast_mut::<Date32Builder>()
                    .expect("typed")
                    .append_value(days)
            }
            Parsed::Timestamp(us) => any
                .downcast_mut::<TimestampMicrosecondBuilder>()
                .expect("typed")
                .append_value(us),
            Parsed::Str => any
                .downcast_mut::<StringBuilder>()
                .expect("typed")
                .append_value(raw),
        },
    }
}

/// Collects rows of text cells into typed batches of at most `batch_rows` rows.
pub struct BatchBuilder {
    schema: SchemaRef,
    types: Vec<ColumnType>,
    options: ValueOptions,
    builders: Vec<Box<dyn ArrayBuilder>>,
    rows: usize,
    batch_rows: usize,
}

impl BatchBuilder {
    pub fn new(
        schema: SchemaRef,
        types: Vec<ColumnType>,
        options: ValueOptions,
        batch_rows: usize,
    ) -> Self {
        let builders = types.iter().map(|t| builder(*t, batch_rows)).collect();
        Self {
            schema,
            types,
            options,
            builders,
            rows: 0,
            batch_rows,
        }
    }

    /// Appends one row (`None` or a configured null spelling is null). A value that does not parse as its
    /// column's type refuses the whole row: nothing is appended and `(column index, reason)` comes back.
    pub fn push<'a>(
        &mut self,
        cells: impl Iterator<Item = Option<&'a str>>,
    ) -> Result<(), (usize, String)> {
        let mut values: Vec<Option<(&str, Parsed)>> = Vec::with_capacity(self.types.len());
        for (i, v) in cells.enumerate() {
            match v {
                None => values.push(None),
                Some(v) if self.options.is_null(v) => values.push(None),
                Some(v) if self.types[i] == ColumnType::String => {
                    values.push(Some((v, Parsed::Str)))
                }
                Some(v) => match parse_as(v, self.types[i], &self.options) {
                    Ok(parsed) => values.push(Some((v.trim(), parsed))),
                    Err(reason) => return Err((i, reason)),
                },
            }
        }
        for (b, v) in self.builders.iter_mut().zip(values) {
            append(b.as_mut(), v);
        }
        self.rows += 1;
        Ok(())
    }

    /// Whether a batch is ready to be taken with [`Self::take`].
    pub fn full(&self) -> bool {
        self.rows >= self.batch_rows
    }

    /// The rows collected so far as one batch (`None` when there are none).
    pub fn take(&mut self) -> Result<Option<RecordBatch>> {
        if self.rows == 0 {
            return Ok(None);
        }
        self.rows = 0;
        let cols: Vec<ArrayRef> = self.builders.iter_mut().map(|b| b.finish()).collect();
        Ok(Some(RecordBatch::try_new(self.schema.clone(), cols)?))
    }
}
