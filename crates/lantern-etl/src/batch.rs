//! Typed Arrow batches built from text cells: the shared back half of every text source (CSV, JSON lines).

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
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

/// One column being built; an enum rather than `dyn ArrayBuilder` so appending a value is a match, not a chain
/// of downcasts.
enum Col {
    Bool(BooleanBuilder),
    Int(Int64Builder),
    Float(Float64Builder),
    Date(Date32Builder),
    Ts(TimestampMicrosecondBuilder),
    Str(StringBuilder),
}

impl Col {
    fn new(t: ColumnType, capacity: usize) -> Self {
        match t {
            ColumnType::Boolean => Col::Bool(BooleanBuilder::with_capacity(capacity)),
            ColumnType::Integer => Col::Int(Int64Builder::with_capacity(capacity)),
            ColumnType::Float => Col::Float(Float64Builder::with_capacity(capacity)),
            ColumnType::Date => Col::Date(Date32Builder::with_capacity(capacity)),
            ColumnType::Timestamp => Col::Ts(TimestampMicrosecondBuilder::with_capacity(capacity)),
            ColumnType::TimestampTz => {
                Col::Ts(TimestampMicrosecondBuilder::with_capacity(capacity).with_timezone("UTC"))
            }
            ColumnType::String => Col::Str(StringBuilder::with_capacity(capacity, capacity * 16)),
        }
    }

    fn append(&mut self, v: Option<(&str, Parsed)>) {
        match (self, v) {
            (Col::Bool(b), None) => b.append_null(),
            (Col::Int(b), None) => b.append_null(),
            (Col::Float(b), None) => b.append_null(),
            (Col::Date(b), None) => b.append_null(),
            (Col::Ts(b), None) => b.append_null(),
            (Col::Str(b), None) => b.append_null(),
            (Col::Bool(b), Some((_, Parsed::Bool(x)))) => b.append_value(x),
            (Col::Int(b), Some((_, Parsed::Int(x)))) => b.append_value(x),
            (Col::Float(b), Some((_, Parsed::Float(x)))) => b.append_value(x),
            // 719,163 days from 0001-01-01 (day 1 of the common era) to 1970-01-01.
            (Col::Date(b), Some((_, Parsed::Date(d)))) => {
                b.append_value(chrono::Datelike::num_days_from_ce(&d) - 719_163)
            }
            (Col::Ts(b), Some((_, Parsed::Timestamp(us)))) => b.append_value(us),
            (Col::Str(b), Some((raw, _))) => b.append_value(raw),
            (_, Some(_)) => unreachable!("values are parsed as their column's type"),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Col::Bool(b) => Arc::new(b.finish()),
            Col::Int(b) => Arc::new(b.finish()),
            Col::Float(b) => Arc::new(b.finish()),
            Col::Date(b) => Arc::new(b.finish()),
            Col::Ts(b) => Arc::new(b.finish()),
            Col::Str(b) => Arc::new(b.finish()),
        }
    }
}

/// Collects rows of text cells into typed batches of at most `batch_rows` rows.
pub struct BatchBuilder {
    schema: SchemaRef,
    types: Vec<ColumnType>,
    options: ValueOptions,
    builders: Vec<Col>,
    parsed: Vec<Option<Parsed>>,
    /// Bit n set when a null spelling is n bytes long (63: longer).
    null_lengths: u64,
    /// The first bytes of the null spellings: a value starting otherwise (a digit, usually) is not null.
    null_first_bytes: [bool; 256],
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
        let builders = types.iter().map(|t| Col::new(*t, batch_rows)).collect();
        let null_lengths = options
            .null_values
            .iter()
            .fold(0, |mask, n| mask | 1u64 << n.trim().len().min(63));
        let mut null_first_bytes = [false; 256];
        for n in &options.null_values {
            if let Some(b) = n.trim().as_bytes().first() {
                null_first_bytes[*b as usize] = true;
            }
        }
        Self {
            schema,
            types,
            options,
            builders,
            parsed: Vec::new(),
            null_lengths,
            null_first_bytes,
            rows: 0,
            batch_rows,
        }
    }

    /// Appends one row, whose cell `i` is `cell(i)` (`None` or a configured null spelling is null). A value that
    /// does not parse as its column's type refuses the whole row: nothing is appended and `(column index,
    /// reason)` comes back.
    pub fn push_with<'a>(
        &mut self,
        cell: impl Fn(usize) -> Option<&'a str>,
    ) -> Result<(), (usize, String)> {
        // Parse every cell first (into a buffer reused across rows), append only when the whole row is good.
        self.parsed.clear();
        for (i, ty) in self.types.iter().enumerate() {
            let parsed = match cell(i) {
                None => None,
                Some(v) => {
                    let t = crate::infer::trim(v);
                    // Most values differ from every null spelling in length or first byte: no string
                    // comparison for them.
                    if self.null_lengths & (1u64 << t.len().min(63)) != 0
                        && t.as_bytes()
                            .first()
                            .is_none_or(|b| self.null_first_bytes[*b as usize])
                        && self.options.is_null(t)
                    {
                        None
                    } else if *ty == ColumnType::String {
                        Some(Parsed::Str)
                    } else {
                        Some(parse_as(t, *ty, &self.options).map_err(|reason| (i, reason))?)
                    }
                }
            };
            self.parsed.push(parsed);
        }
        for (i, (b, p)) in self
            .builders
            .iter_mut()
            .zip(self.parsed.drain(..))
            .enumerate()
        {
            b.append(p.map(|p| {
                let raw = if matches!(p, Parsed::Str) {
                    cell(i).unwrap_or("")
                } else {
                    ""
                };
                (raw, p)
            }));
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
