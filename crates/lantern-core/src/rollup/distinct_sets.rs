//! Exact distinct counts from rollups. A rollup row keeps the distinct values of its group as a compressed
//! bitmap (Roaring) of value codes; a query counts the union of the bitmaps of the rows it selects. A rollup of
//! (date, team) therefore answers "active users" for any date range and set of teams exactly, from a few
//! thousand rows, where a table of distinct (date, team, user) values would be as large as the raw data.
//!
//! Codes are numbered per rollup build (one [`Codes`] shared by the build's partitions), so the bitmaps of one
//! rollup can be unioned with each other and with nothing else.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{DataFusionError, Result, ScalarValue};
use datafusion::logical_expr::{Accumulator, AggregateUDF, Volatility, create_udaf};
use roaring::RoaringBitmap;

/// The distinct values one rollup build has seen, by code.
#[derive(Debug, Default)]
struct Codes(Mutex<HashMap<Vec<u8>, u32>>);

/// `lantern_distinct_set(text)`: the bitmap of the codes of the distinct non-null values of its group (the
/// argument is cast to text first, so any column type works). A fresh function per rollup build.
pub(crate) fn collect() -> AggregateUDF {
    let codes = Arc::new(Codes::default());
    create_udaf(
        "lantern_distinct_set",
        vec![DataType::Utf8],
        Arc::new(DataType::Binary),
        Volatility::Immutable,
        Arc::new(move |_| {
            Ok(Box::new(Collect {
                codes: codes.clone(),
                set: RoaringBitmap::new(),
            }))
        }),
        Arc::new(vec![DataType::Binary]),
    )
}

/// `lantern_distinct_count(bitmap)`: how many codes the union of its group's bitmaps holds, as an `Int64` like
/// `count(DISTINCT …)`.
pub(crate) fn count() -> AggregateUDF {
    create_udaf(
        "lantern_distinct_count",
        vec![DataType::Binary],
        Arc::new(DataType::Int64),
        Volatility::Immutable,
        Arc::new(|_| Ok(Box::new(Union::default()))),
        Arc::new(vec![DataType::Binary]),
    )
}

fn to_bytes(set: &RoaringBitmap) -> Result<ScalarValue> {
    let mut out = Vec::with_capacity(set.serialized_size());
    set.serialize_into(&mut out)
        .map_err(|e| DataFusionError::External(Box::new(e)))?;
    Ok(ScalarValue::Binary(Some(out)))
}

/// ORs every bitmap of a binary column into `set`.
fn union_into(set: &mut RoaringBitmap, array: &ArrayRef) -> Result<()> {
    let bitmaps = array.as_binary_opt::<i32>().ok_or_else(|| {
        DataFusionError::Internal(format!("distinct set of type {}", array.data_type()))
    })?;
    for bytes in bitmaps.iter().flatten() {
        let other = RoaringBitmap::deserialize_unchecked_from(bytes)
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        *set |= other;
    }
    Ok(())
}

#[derive(Debug)]
struct Collect {
    codes: Arc<Codes>,
    set: RoaringBitmap,
}

impl Accumulator for Collect {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let Some(text) = values[0].as_string_opt::<i32>() else {
            return Err(DataFusionError::Internal(format!(
                "distinct values of type {}",
                values[0].data_type()
            )));
        };
        // One lock per batch, not per value.
        let mut codes = self.codes.0.lock().expect("codes lock");
        for v in text.iter().flatten() {
            let next = codes.len() as u32;
            let code = *codes.entry(v.as_bytes().to_vec()).or_insert(next);
            self.set.insert(code);
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        to_bytes(&self.set)
    }

    fn size(&self) -> usize {
        std::mem::size_of::<Self>() + self.set.serialized_size()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![to_bytes(&self.set)?])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        union_into(&mut self.set, &states[0])
    }
}

#[derive(Debug, Default)]
struct Union {
    set: RoaringBitmap,
}

impl Accumulator for Union {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        union_into(&mut self.set, &values[0])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::Int64(Some(self.set.len() as i64)))
    }

    fn size(&self) -> usize {
        std::mem::size_of::<Self>() + self.set.serialized_size()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![to_bytes(&self.set)?])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        union_into(&mut self.set, &states[0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::StringArray;

    #[test]
    fn unions_of_group_sets_count_each_value_once() {
        // Two groups of one build share their codes (as the accumulators of one `collect()` do).
        let shared = Arc::new(Codes::default());
        let mut a = Collect {
            codes: shared.clone(),
            set: RoaringBitmap::new(),
        };
        let mut b = Collect {
            codes: shared,
            set: RoaringBitmap::new(),
        };
        let batch =
            |v: Vec<Option<&str>>| -> Vec<ArrayRef> { vec![Arc::new(StringArray::from(v))] };
        a.update_batch(&batch(vec![Some("x"), Some("y"), None, Some("x")]))
            .unwrap();
        b.update_batch(&batch(vec![Some("y"), Some("z")])).unwrap();
        let sets: Vec<ScalarValue> = vec![a.evaluate().unwrap(), b.evaluate().unwrap()];
        let mut union = Union::default();
        union
            .update_batch(&[ScalarValue::iter_to_array(sets).unwrap()])
            .unwrap();
        assert_eq!(union.evaluate().unwrap(), ScalarValue::Int64(Some(3)));
        // Nothing selected counts zero, like `count(DISTINCT …)`.
        assert_eq!(
            Union::default().evaluate().unwrap(),
            ScalarValue::Int64(Some(0))
        );
    }
}
