//! Query results as small row-major tables with JSON cells, the form the chart library builds figures from.

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::{DataType, Int64Type, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A small query result, row-major, with JSON cells (dates as `YYYY-MM-DD`, numbers as numbers).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct ResultTable {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<serde_json::Value>>,
}

impl ResultTable {
    /// About how many bytes the table takes in memory, for the cache's bound.
    pub fn approx_bytes(&self) -> usize {
        fn value(v: &serde_json::Value) -> usize {
            match v {
                serde_json::Value::String(s) => 32 + s.len(),
                _ => 32,
            }
        }
        let header: usize = self.columns.iter().map(|c| 24 + c.len()).sum();
        header
            + self
                .rows
                .iter()
                .map(|r| 24 + r.iter().map(value).sum::<usize>())
                .sum::<usize>()
    }

    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// Converts Arrow batches; every Arrow type is shown, unknown ones as text.
    pub fn from_batches(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<Self> {
        let columns = schema.fields().iter().map(|f| f.name().clone()).collect();
        let mut rows = Vec::new();
        for batch in batches {
            let cols: Vec<Vec<serde_json::Value>> = batch
                .columns()
                .iter()
                .map(array_to_json)
                .collect::<Result<_>>()?;
            for r in 0..batch.num_rows() {
                rows.push(cols.iter().map(|c| c[r].clone()).collect());
            }
        }
        Ok(Self { columns, rows })
    }
}

pub(crate) fn array_to_json(array: &ArrayRef) -> Result<Vec<serde_json::Value>> {
    use serde_json::Value;
    let n = array.len();
    let nulls = |i: usize| array.is_null(i);
    let out = match array.data_type() {
        DataType::Boolean => {
            let a = array.as_boolean();
            (0..n)
                .map(|i| {
                    if nulls(i) {
                        Value::Null
                    } else {
                        Value::Bool(a.value(i))
                    }
                })
                .collect()
        }
        t if t.is_integer() => {
            let cast = datafusion::arrow::compute::cast(array, &DataType::Int64)
                .map_err(|e| Error::Query(e.into()))?;
            let a = cast.as_primitive::<Int64Type>();
            (0..n)
                .map(|i| {
                    if nulls(i) {
                        Value::Null
                    } else {
                        Value::from(a.value(i))
                    }
                })
                .collect()
        }
        t if t.is_floating()
            || matches!(t, DataType::Decimal128(..) | DataType::Decimal256(..)) =>
        {
            let cast = datafusion::arrow::compute::cast(array, &DataType::Float64)
                .map_err(|e| Error::Query(e.into()))?;
            let a = cast.as_primitive::<datafusion::arrow::datatypes::Float64Type>();
            (0..n)
                .map(|i| {
                    if nulls(i) {
                        Value::Null
                    } else {
                        serde_json::Number::from_f64(a.value(i))
                            .map(Value::Number)
                            .unwrap_or(Value::Null)
                    }
                })
                .collect()
        }
        _ => {
            let options = FormatOptions::default();
            let f = ArrayFormatter::try_new(array.as_ref(), &options)
                .map_err(|e| Error::Query(e.into()))?;
            (0..n)
                .map(|i| {
                    if nulls(i) {
                        Value::Null
                    } else {
                        Value::String(f.value(i).to_string())
                    }
                })
                .collect()
        }
    };
    Ok(out)
}
