//! How a new Parquet file of a dataset version is laid out: compression, row groups, and per column, whether a
//! dictionary and min/max statistics are worth their cost. The per-column choices are made from the first rows
//! written to the file.

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::record_batch::RecordBatch;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use crate::error::Result;

/// Rows per Parquet row group: small enough for statistics to prune date ranges, large enough to compress well.
const ROW_GROUP_ROWS: usize = 128 * 1024;

/// How many of a file's first rows the per-column choices look at.
const SAMPLE_ROWS: usize = 4096;

/// Fewer first rows than this: too few to judge, the defaults stay.
const MIN_SAMPLE_ROWS: usize = 64;

/// The writer properties for a file whose first rows are `first`.
pub(crate) fn writer_properties(first: &RecordBatch) -> Result<WriterProperties> {
    let mut props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(1)?))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        // Min/max per row group (128 Ki rows) is what scans prune by; per-page statistics cost the ETL about a
        // tenth of its time on text-heavy data for little use.
        .set_statistics_enabled(EnabledStatistics::Chunk);
    let choices = ColumnChoices::of(first)?;
    for column in choices.without_dictionary {
        props = props.set_column_dictionary_enabled(ColumnPath::from(column), false);
    }
    for column in choices.without_statistics {
        props =
            props.set_column_statistics_enabled(ColumnPath::from(column), EnabledStatistics::None);
    }
    Ok(props.build())
}

/// Columns (by name) written without the usual dictionary or statistics.
#[derive(Debug, Default, PartialEq)]
struct ColumnChoices {
    /// Values (nearly) all different over the first rows: ids, amounts, timestamps.
    ///
    /// Parquet's writer puts every value of a column chunk in a dictionary until the dictionary outgrows its
    /// page limit, and only then falls back to plain pages. For values that never repeat that work is wasted
    /// (about a tenth of an ETL run's CPU on such data) and the dictionary pages only add bytes; columns that
    /// repeat keep the dictionary, which is what makes them small.
    without_dictionary: Vec<String>,
    /// Text that changes from row to row in no order over the first rows (names, emails, categories in a
    /// shuffled file).
    ///
    /// A row group's min and max of such a column span nearly all its values, so no filter can skip a row group
    /// by them; computing them compares every value twice, about a tenth of an ETL run's CPU on text-heavy data.
    /// Text that is sorted (ids, dates written as text) or comes in runs (a file grouped by country) keeps them,
    /// as do all numbers and dates (cheap to compare).
    without_statistics: Vec<String>,
}

impl ColumnChoices {
    fn of(first: &RecordBatch) -> Result<Self> {
        let rows = first.num_rows().min(SAMPLE_ROWS);
        let mut choices = ColumnChoices::default();
        if rows < MIN_SAMPLE_ROWS {
            return Ok(choices);
        }
        let state = std::hash::RandomState::new();
        let mut hashes = vec![0u64; rows];
        for (field, column) in first.schema().fields().iter().zip(first.columns()) {
            if field.data_type().is_nested() {
                continue;
            }
            let column = column.slice(0, rows);
            hashes.fill(0);
            datafusion::common::hash_utils::create_hashes_with_hasher(
                [&column],
                &state,
                &mut hashes,
            )?;
            let unique: std::collections::HashSet<u64> = hashes.iter().copied().collect();
            if unique.len() * 10 >= rows * 9 {
                choices.without_dictionary.push(field.name().clone());
            }
            if field.data_type() == &DataType::Utf8
                && !ordered_or_in_runs(column.as_string::<i32>())
            {
                choices.without_statistics.push(field.name().clone());
            }
        }
        Ok(choices)
    }
}

/// Whether text values are sorted (either way), or repeat in runs of 8 on average or longer (nulls left out).
fn ordered_or_in_runs(values: &datafusion::arrow::array::StringArray) -> bool {
    let present: Vec<&str> = values.iter().flatten().collect();
    let pairs = present.windows(2);
    let changes = pairs.clone().filter(|p| p[0] != p[1]).count();
    changes * 8 <= present.len()
        || pairs.clone().all(|p| p[0] <= p[1])
        || pairs.clone().all(|p| p[0] >= p[1])
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{Field, Schema};

    use super::*;

    fn batch(columns: Vec<(&str, Arc<dyn Array>)>) -> RecordBatch {
        let fields: Vec<Field> = columns
            .iter()
            .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
            .collect();
        RecordBatch::try_new(
            Arc::new(Schema::new(fields)),
            columns.into_iter().map(|(_, a)| a).collect(),
        )
        .unwrap()
    }

    #[test]
    fn choices_follow_the_first_rows() {
        let n = 1000usize;
        // A shuffled order of a few categories (a multiplicative step through 0..n).
        let shuffled = |k: usize| (k * 7919) % n;
        let countries = ["Japan", "Korea", "India", "Vietnam", "Thailand"];
        let first = batch(vec![
            (
                "order_id",
                Arc::new(StringArray::from_iter_values(
                    (0..n).map(|i| format!("SO-{i:09}")),
                )),
            ),
            (
                "email",
                Arc::new(StringArray::from_iter_values(
                    (0..n).map(|i| format!("u{}@x.io", shuffled(i))),
                )),
            ),
            (
                "country",
                Arc::new(StringArray::from_iter_values(
                    (0..n).map(|i| countries[shuffled(i) % 5]),
                )),
            ),
            (
                "grouped",
                Arc::new(StringArray::from_iter_values(
                    (0..n).map(|i| countries[i / 200]),
                )),
            ),
            (
                "amount",
                Arc::new(Int64Array::from_iter_values(
                    (0..n).map(|i| shuffled(i) as i64),
                )),
            ),
            (
                "quantity",
                Arc::new(Int64Array::from_iter_values(
                    (0..n).map(|i| (shuffled(i) % 7) as i64),
                )),
            ),
        ]);
        let choices = ColumnChoices::of(&first).unwrap();
        assert_eq!(choices.without_dictionary, ["order_id", "email", "amount"]);
        assert_eq!(choices.without_statistics, ["email", "country"]);
        // Too few rows to judge.
        assert_eq!(
            ColumnChoices::of(&first.slice(0, 10)).unwrap(),
            ColumnChoices::default()
        );
        // The properties carry the choices.
        let props = writer_properties(&first).unwrap();
        let path = |c: &str| ColumnPath::from(c.to_string());
        assert!(!props.dictionary_enabled(&path("order_id")));
        assert!(props.dictionary_enabled(&path("country")));
        assert_eq!(
            props.statistics_enabled(&path("country")),
            EnabledStatistics::None
        );
        assert_eq!(
            props.statistics_enabled(&path("order_id")),
            EnabledStatistics::Chunk
        );
        assert_eq!(
            props.statistics_enabled(&path("amount")),
            EnabledStatistics::Chunk
        );
    }
}
