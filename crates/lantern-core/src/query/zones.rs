//! Zone maps on hot data: the least and greatest value of a date or integer column in each hot batch, so that a
//! range filter (a date range) skips the batches it cannot match and slices those sorted on the column. Data that
//! arrives in date order (the demo, most exports) then reads only the range's rows: a six-month range of a year
//! reads about half of them. Also: the raw table a scan under a filter set reads (`QueryEngine::raw_table`).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Int8Type, Int16Type, Int32Type, Int64Type,
};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::TableProvider;
use datafusion::datasource::MemTable;

use super::row_index::HotRows;
use super::{LoadedVersion, QueryEngine};
use crate::error::Result;
use crate::filters::{Condition, FilterSet, FilterValue};

/// One batch's values of a column.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Zone {
    min: i64,
    max: i64,
    /// Non-decreasing and without nulls, so that a range of values is a range of rows.
    sorted: bool,
}

/// The zones of one column, one per hot batch (`None` where a batch holds only nulls).
#[derive(Debug)]
pub(super) struct ZoneMap {
    data_type: DataType,
    zones: Vec<Option<Zone>>,
}

/// The column's values as `i64`s (dates as days since 1970), `None` for types without zones.
fn values(array: &ArrayRef) -> Option<Vec<Option<i64>>> {
    macro_rules! ints {
        ($t:ty) => {
            array
                .as_primitive::<$t>()
                .iter()
                .map(|v| v.map(i64::from))
                .collect()
        };
    }
    Some(match array.data_type() {
        DataType::Date32 => ints!(Date32Type),
        DataType::Int8 => ints!(Int8Type),
        DataType::Int16 => ints!(Int16Type),
        DataType::Int32 => ints!(Int32Type),
        DataType::Int64 => ints!(Int64Type),
        _ => return None,
    })
}

fn zone(values: &[Option<i64>]) -> Option<Zone> {
    let mut z: Option<Zone> = None;
    let mut previous: Option<i64> = None;
    let mut sorted = true;
    for v in values {
        let Some(v) = *v else {
            sorted = false;
            continue;
        };
        if previous.is_some_and(|p| p > v) {
            sorted = false;
        }
        previous = Some(v);
        z = Some(match z {
            None => Zone {
                min: v,
                max: v,
                sorted: true,
            },
            Some(z) => Zone {
                min: z.min.min(v),
                max: z.max.max(v),
                sorted: true,
            },
        });
    }
    z.map(|z| Zone { sorted, ..z })
}

/// The first row of a sorted column at which `keep(value)` turns false.
fn partition_point(array: &ArrayRef, keep: impl Fn(i64) -> bool) -> usize {
    let (mut lo, mut hi) = (0, array.len());
    let value = |i: usize| -> i64 {
        match array.data_type() {
            DataType::Date32 => i64::from(array.as_primitive::<Date32Type>().value(i)),
            DataType::Int8 => i64::from(array.as_primitive::<Int8Type>().value(i)),
            DataType::Int16 => i64::from(array.as_primitive::<Int16Type>().value(i)),
            DataType::Int32 => i64::from(array.as_primitive::<Int32Type>().value(i)),
            _ => array.as_primitive::<Int64Type>().value(i),
        }
    };
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if keep(value(mid)) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

impl ZoneMap {
    /// The zones of column `index` over `batches`; `None` for a column of another type than a date or an integer.
    pub(super) fn build(batches: &[RecordBatch], index: usize) -> Option<Self> {
        let data_type = batches.first()?.schema().field(index).data_type().clone();
        let mut zones = Vec::with_capacity(batches.len());
        for b in batches {
            zones.push(zone(&values(b.column(index))?));
        }
        Some(Self { data_type, zones })
    }

    /// A filter bound as this column's `i64`; `None` when the value does not compare with the column.
    fn bound(&self, v: &FilterValue) -> Option<i64> {
        match (&self.data_type, v) {
            (DataType::Date32, FilterValue::Date(d)) => {
                let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid");
                Some((*d - epoch).num_days())
            }
            (
                DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64,
                FilterValue::Int(i),
            ) => Some(*i),
            _ => None,
        }
    }

    /// The rows of each batch that may hold a value in `lo..=hi` (open where `None`): an empty range for a batch
    /// that cannot, the exact range for a sorted batch, every row otherwise. `None` when a bound does not compare
    /// with the column, so that nothing is skipped.
    pub(super) fn ranges(
        &self,
        batches: &[RecordBatch],
        index: usize,
        lo: Option<&FilterValue>,
        hi: Option<&FilterValue>,
    ) -> Option<Vec<std::ops::Range<usize>>> {
        let lo = match lo {
            Some(v) => Some(self.bound(v)?),
            None => None,
        };
        let hi = match hi {
            Some(v) => Some(self.bound(v)?),
            None => None,
        };
        let out = self
            .zones
            .iter()
            .zip(batches)
            .map(|(z, b)| {
                let Some(z) = z else { return 0..0 };
                if lo.is_some_and(|lo| z.max < lo) || hi.is_some_and(|hi| z.min > hi) {
                    return 0..0;
                }
                if !z.sorted {
                    return 0..b.num_rows();
                }
                let column = b.column(index);
                let start = lo.map_or(0, |lo| partition_point(column, |v| v < lo));
                let end = hi.map_or(b.num_rows(), |hi| partition_point(column, |v| v <= hi));
                start..end.max(start)
            })
            .collect();
        Some(out)
    }
}

/// Tables of at most this many rows run in the one-partition context (see `QueryEngine::small`).
pub(super) const SMALL_TABLE_ROWS: usize = 64 * 1024;

impl HotRows {
    fn zone_map(&self, column: &str) -> Option<Arc<ZoneMap>> {
        if let Some(z) = self.zones.read().expect("lock").get(column) {
            return z.clone();
        }
        let built = self
            .schema
            .index_of(column)
            .ok()
            .and_then(|i| ZoneMap::build(&self.batches, i))
            .map(Arc::new);
        self.zones
            .write()
            .expect("lock")
            .insert(column.to_string(), built.clone());
        built
    }

    /// The rows that the range conditions of `filters` may match, as slices of the hot batches (no row copied),
    /// and their count; `None` when no range skips a row.
    pub(super) fn in_ranges(&self, filters: &FilterSet) -> Option<(Vec<RecordBatch>, usize)> {
        let mut kept: Vec<std::ops::Range<usize>> =
            self.batches.iter().map(|b| 0..b.num_rows()).collect();
        let mut narrowed = false;
        for (column, condition) in filters.column_conditions() {
            let Condition::Range { lo, hi } = condition else {
                continue;
            };
            let (Some(map), Ok(index)) = (self.zone_map(column), self.schema.index_of(column))
            else {
                continue;
            };
            let Some(ranges) = map.ranges(&self.batches, index, lo.as_ref(), hi.as_ref()) else {
                continue;
            };
            for (k, r) in kept.iter_mut().zip(ranges) {
                *k = k.start.max(r.start)..k.end.min(r.end).max(k.start.max(r.start));
            }
            narrowed = true;
        }
        let rows: usize = kept.iter().map(|r| r.len()).sum();
        if !narrowed || rows == self.rows {
            return None;
        }
        let batches = self
            .batches
            .iter()
            .zip(kept)
            .filter(|(_, r)| !r.is_empty())
            .map(|(b, r)| b.slice(r.start, r.len()))
            .collect();
        Some((batches, rows))
    }
}

impl QueryEngine {
    /// The raw rows a scan under `filters` must read: on hot data, only the batch ranges its date or integer
    /// ranges may match; and whether they are few enough for the one-partition context.
    pub(super) fn raw_table(
        &self,
        version: &LoadedVersion,
        filters: &FilterSet,
    ) -> Result<(Arc<dyn TableProvider>, bool)> {
        let ranged = version
            .hot_rows
            .as_ref()
            .and_then(|r| Some((r.schema.clone(), r.in_ranges(filters)?)));
        let Some((schema, (batches, rows))) = ranged else {
            return Ok((version.table.clone(), false));
        };
        let small = rows <= self.small_rows;
        let partitions = if small {
            1
        } else {
            self.ctx.copied_config().target_partitions()
        };
        let table = MemTable::try_new(schema, super::rebalance(vec![batches], partitions))?;
        Ok((Arc::new(table), small))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Date32Array;
    use datafusion::arrow::datatypes::{Field, Schema};

    fn batches(days: &[Vec<Option<i32>>]) -> Vec<RecordBatch> {
        let schema = Arc::new(Schema::new(vec![Field::new("d", DataType::Date32, true)]));
        days.iter()
            .map(|d| {
                RecordBatch::try_new(schema.clone(), vec![Arc::new(Date32Array::from(d.clone()))])
                    .unwrap()
            })
            .collect()
    }

    fn day(n: i64) -> FilterValue {
        FilterValue::Date(
            chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap() + chrono::Duration::days(n),
        )
    }

    #[test]
    fn sorted_batches_are_sliced_and_others_kept_or_skipped_whole() {
        let b = batches(&[
            vec![Some(1), Some(2), Some(2), Some(5)],
            vec![Some(9), Some(6), Some(7)],
            vec![None, None],
            vec![Some(20), None, Some(30)],
        ]);
        let map = ZoneMap::build(&b, 0).unwrap();
        let r = map.ranges(&b, 0, Some(&day(2)), Some(&day(6))).unwrap();
        // Sorted: exactly the rows 2..=6; unsorted but overlapping: every row; only nulls, or out of range: none.
        assert_eq!(r, vec![1..4, 0..3, 0..0, 0..0]);
        let r = map.ranges(&b, 0, None, Some(&day(1))).unwrap();
        assert_eq!(r, vec![0..1, 0..0, 0..0, 0..0]);
        let r = map.ranges(&b, 0, Some(&day(25)), None).unwrap();
        assert_eq!(r, vec![0..0, 0..0, 0..0, 0..3]);
        // Between two values of a sorted batch: no row.
        let r = map.ranges(&b, 0, Some(&day(3)), Some(&day(4))).unwrap();
        assert_eq!(r[0].len(), 0);
    }

    #[test]
    fn bounds_of_another_type_skip_nothing() {
        let b = batches(&[vec![Some(1), Some(2)]]);
        let map = ZoneMap::build(&b, 0).unwrap();
        assert!(
            map.ranges(&b, 0, Some(&FilterValue::Int(1)), None)
                .is_none()
        );
        let schema = Arc::new(Schema::new(vec![Field::new("s", DataType::Utf8, true)]));
        let text = RecordBatch::try_new(
            schema,
            vec![Arc::new(datafusion::arrow::array::StringArray::from(vec![
                "a",
            ]))],
        )
        .unwrap();
        assert!(ZoneMap::build(&[text], 0).is_none());
    }
}
