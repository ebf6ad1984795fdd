//! Typed Arrow batches built from text cells: the shared back half of every text source (CSV, JSON lines).

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int64Builder, PrimitiveBuilder,
    StringBuilder, TimestampMicrosecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;

use crate::error::Result;
use crate::formats::ValueFormat;
use crate::infer::{ColumnType, NullCheck, ValueOptions};

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

/// Text cells of some rows, read column by column by [`BatchBuilder::push`].
pub trait Cells {
    fn rows(&self) -> usize;
    /// Cell `column` of row `row`; `None` for a missing value (null).
    fn cell(&self, row: usize, column: usize) -> Option<&str>;
}

/// A row refused by [`BatchBuilder::push`]: its first value (in column order) that does not parse as its
/// column's type.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// The row's index in the pushed cells.
    pub row: usize,
    pub column: usize,
    pub reason: String,
}

/// One column being built. Typed values are parsed into `parsed` first, column by column, and appended once
/// every column of the pushed rows has parsed: a refused row must be left out of every column.
enum Col {
    Bool(BooleanBuilder, Parsed<bool>),
    Int(Int64Builder, Parsed<i64>),
    Float(Float64Builder, Parsed<f64>),
    Date(Date32Builder, Parsed<i32>),
    Ts(TimestampMicrosecondBuilder, Parsed<i64>),
    Str(StringBuilder),
}

/// The values of one column of the rows being pushed (a placeholder where null or refused).
struct Parsed<T> {
    values: Vec<T>,
    valid: Vec<bool>,
    any_null: bool,
}

impl<T: Copy + Default> Parsed<T> {
    fn new() -> Self {
        Self {
            values: Vec::new(),
            valid: Vec::new(),
            any_null: false,
        }
    }

    /// Parses column `column` of `cells`; values that do not parse are refused (row, column).
    fn parse(
        &mut self,
        cells: &impl Cells,
        column: usize,
        nulls: &NullCheck,
        parse: impl Fn(&str) -> Option<T>,
        refused: &mut Vec<(usize, usize)>,
    ) {
        self.values.clear();
        self.valid.clear();
        self.any_null = false;
        for row in 0..cells.rows() {
            let value = match cells.cell(row, column) {
                Some(raw) => {
                    let t = crate::infer::trim(raw);
                    if nulls.is_null(t) {
                        None
                    } else {
                        let parsed = parse(t);
                        if parsed.is_none() {
                            refused.push((row, column));
                        }
                        parsed
                    }
                }
                None => None,
            };
            self.values.push(value.unwrap_or_default());
            self.valid.push(value.is_some());
            self.any_null |= value.is_none();
        }
    }

    /// The parsed values, without the rows in `skip` (sorted).
    fn append_to<B: ValueBuilder<T>>(&self, builder: &mut B, skip: &[usize]) {
        if skip.is_empty() {
            builder.append_all(&self.values, (self.any_null).then_some(&self.valid[..]));
            return;
        }
        let mut skip = skip.iter().peekable();
        for (row, (v, ok)) in self.values.iter().zip(&self.valid).enumerate() {
            if skip.next_if_eq(&&row).is_some() {
                continue;
            }
            builder.append_one(ok.then_some(*v));
        }
    }
}

/// The two ways [`Parsed::append_to`] fills an Arrow builder.
trait ValueBuilder<T> {
    fn append_all(&mut self, values: &[T], valid: Option<&[bool]>);
    fn append_one(&mut self, value: Option<T>);
}

impl<P: datafusion::arrow::datatypes::ArrowPrimitiveType> ValueBuilder<P::Native>
    for PrimitiveBuilder<P>
{
    fn append_all(&mut self, values: &[P::Native], valid: Option<&[bool]>) {
        match valid {
            Some(valid) => self.append_values(values, valid),
            None => self.append_slice(values),
        }
    }

    fn append_one(&mut self, value: Option<P::Native>) {
        self.append_option(value)
    }
}

impl ValueBuilder<bool> for BooleanBuilder {
    fn append_all(&mut self, values: &[bool], valid: Option<&[bool]>) {
        match valid {
            Some(valid) => self
                .append_values(values, valid)
                .expect("as many validity flags as values"),
            None => self.append_slice(values),
        }
    }

    fn append_one(&mut self, value: Option<bool>) {
        self.append_option(value)
    }
}

impl Col {
    fn new(t: ColumnType, capacity: usize) -> Self {
        match t {
            ColumnType::Boolean => {
                Col::Bool(BooleanBuilder::with_capacity(capacity), Parsed::new())
            }
            ColumnType::Integer => Col::Int(Int64Builder::with_capacity(capacity), Parsed::new()),
            ColumnType::Float => Col::Float(Float64Builder::with_capacity(capacity), Parsed::new()),
            ColumnType::Date => Col::Date(Date32Builder::with_capacity(capacity), Parsed::new()),
            ColumnType::Timestamp => Col::Ts(
                TimestampMicrosecondBuilder::with_capacity(capacity),
                Parsed::new(),
            ),
            ColumnType::TimestampTz => Col::Ts(
                TimestampMicrosecondBuilder::with_capacity(capacity).with_timezone("UTC"),
                Parsed::new(),
            ),
            ColumnType::String => Col::Str(StringBuilder::with_capacity(capacity, capacity * 16)),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Col::Bool(b, _) => Arc::new(b.finish()),
            Col::Int(b, _) => Arc::new(b.finish()),
            Col::Float(b, _) => Arc::new(b.finish()),
            Col::Date(b, _) => Arc::new(b.finish()),
            Col::Ts(b, _) => Arc::new(b.finish()),
            Col::Str(b) => Arc::new(b.finish()),
        }
    }
}

/// [`BatchBuilder::push`]'s parse of a column whose values are written in `format`.
fn parse_formatted(
    b: &mut Col,
    cells: &impl Cells,
    column: usize,
    nulls: &NullCheck,
    format: &ValueFormat,
    refused: &mut Vec<(usize, usize)>,
) {
    use crate::formats as f;
    match (b, format) {
        (Col::Int(_, p), ValueFormat::Number(n)) => {
            p.parse(cells, column, nulls, |t| f::integer_value(t, *n), refused)
        }
        (Col::Float(_, p), ValueFormat::Number(n)) => {
            p.parse(cells, column, nulls, |t| f::number_value(t, *n), refused)
        }
        (Col::Date(_, p), _) => {
            p.parse(cells, column, nulls, |t| f::date_value(t, format), refused)
        }
        (Col::Ts(_, p), _) => p.parse(
            cells,
            column,
            nulls,
            |t| f::timestamp_value(t, format),
            refused,
        ),
        // A format that does not apply to the column's type (a number format on a date column): every
        // value is refused, naming the format.
        (Col::Int(_, p), _) => p.parse(cells, column, nulls, |_| None, refused),
        (Col::Float(_, p), _) => p.parse(cells, column, nulls, |_| None, refused),
        (Col::Bool(_, p), _) => p.parse(cells, column, nulls, |_| None, refused),
        (Col::Str(_), _) => {}
    }
}

/// Collects rows of text cells into typed batches of at most `batch_rows` rows.
///
/// Rows come in groups ([`Cells`]) and are parsed column by column: one column's values in a tight loop, with
/// the type decided once per column rather than once per cell.
pub struct BatchBuilder {
    schema: SchemaRef,
    types: Vec<ColumnType>,
    options: ValueOptions,
    nulls: NullCheck,
    builders: Vec<Col>,
    /// Per column, how its values are written where not plainly.
    formats: Vec<Option<ValueFormat>>,
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
        Self {
            schema,
            types,
            nulls: NullCheck::new(&options),
            options,
            builders,
            formats: Vec::new(),
            rows: 0,
            batch_rows,
        }
    }

    /// Reads the columns with a format (`1.234,56`, `31.12.2025`) in it; `None` reads a column plainly.
    pub fn with_formats(mut self, formats: Vec<Option<ValueFormat>>) -> Self {
        self.formats = formats;
        self
    }

    /// Appends the rows of `cells`, except those with a value that does not parse as its column's type (`None`
    /// or a configured null spelling is null): those come back, in row order, and nothing of them is appended.
    pub fn push(&mut self, cells: &impl Cells) -> Vec<Refusal> {
        let mut refused: Vec<(usize, usize)> = Vec::new();
        let (nulls, options) = (&self.nulls, &self.options);
        for (column, b) in self.builders.iter_mut().enumerate() {
            if let Some(format) = self.formats.get(column).and_then(Option::as_ref) {
                parse_formatted(b, cells, column, nulls, format, &mut refused);
                continue;
            }
            match b {
                Col::Bool(_, p) => p.parse(
                    cells,
                    column,
                    nulls,
                    |t| crate::infer::boolean_value(t, options),
                    &mut refused,
                ),
                Col::Int(_, p) => p.parse(
                    cells,
                    column,
                    nulls,
                    crate::infer::integer_value,
                    &mut refused,
                ),
                Col::Float(_, p) => p.parse(
                    cells,
                    column,
                    nulls,
                    crate::infer::float_value,
                    &mut refused,
                ),
                Col::Date(_, p) => {
                    p.parse(cells, column, nulls, crate::infer::parse_date, &mut refused)
                }
                Col::Ts(_, p) => {
                    let parse = match self.types[column] {
                        ColumnType::TimestampTz => crate::infer::parse_timestamp_tz,
                        _ => crate::infer::timestamp_value,
                    };
                    p.parse(cells, column, nulls, parse, &mut refused)
                }
                Col::Str(_) => {}
            }
        }
        // A row's first refused value in column order (columns were parsed one after another).
        refused.sort_by_key(|&(row, column)| (row, column));
        refused.dedup_by_key(|(row, _)| *row);
        let skip: Vec<usize> = refused.iter().map(|(row, _)| *row).collect();
        for (column, b) in self.builders.iter_mut().enumerate() {
            match b {
                Col::Bool(b, p) => p.append_to(b, &skip),
                Col::Int(b, p) => p.append_to(b, &skip),
                Col::Float(b, p) => p.append_to(b, &skip),
                Col::Date(b, p) => p.append_to(b, &skip),
                Col::Ts(b, p) => p.append_to(b, &skip),
                Col::Str(b) => {
                    let mut skip = skip.iter().peekable();
                    for row in 0..cells.rows() {
                        if skip.next_if_eq(&&row).is_some() {
                            continue;
                        }
                        match cells.cell(row, column) {
                            Some(raw) if !nulls.is_null(crate::infer::trim(raw)) => {
                                b.append_value(raw)
                            }
                            _ => b.append_null(),
                        }
                    }
                }
            }
        }
        self.rows += cells.rows() - skip.len();
        refused
            .into_iter()
            .map(|(row, column)| {
                let value = cells.cell(row, column).map(crate::infer::trim);
                let mut reason = crate::infer::refusal(value.unwrap_or(""), self.types[column]);
                if let Some(f) = self.formats.get(column).and_then(Option::as_ref) {
                    reason = format!("{reason} {}", f.describe());
                }
                Refusal {
                    row,
                    column,
                    reason,
                }
            })
            .collect()
    }

    /// Whether a batch is ready to be taken with [`Self::take`].
    pub fn full(&self) -> bool {
        self.rows >= self.batch_rows
    }

    /// How many more rows fit in the batch being built.
    pub fn room(&self) -> usize {
        self.batch_rows.saturating_sub(self.rows)
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

/// One row of cells, for sources read a row at a time.
pub struct OneRow<'a, S: AsRef<str>>(pub &'a [Option<S>]);

impl<S: AsRef<str>> Cells for OneRow<'_, S> {
    fn rows(&self) -> usize {
        1
    }

    fn cell(&self, _row: usize, column: usize) -> Option<&str> {
        self.0[column].as_ref().map(|s| s.as_ref())
    }
}
