//! Row indexes on hot data. A list filter on a column with many distinct values (one user out of thousands)
//! selects a few rows of millions, yet a scan still reads them all, and no rollup that keeps such a column is smaller
//! than the data. An index finds the candidate rows by hash instead; the query then runs over a small table of those
//! rows with the full predicate, so a hash collision can only add a candidate that the filter drops again, never
//! lose a row.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray};
use datafusion::arrow::compute::interleave_record_batch;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::TableProvider;
use datafusion::datasource::MemTable;

use super::zones::ZoneMap;
use super::{LoadedVersion, QueryEngine};
use crate::error::Result;
use crate::filters::{Condition, FilterSet, FilterValue};

/// A selection is used when it keeps at most this share of the rows (1 / n): beyond it, a scan or a rollup is as
/// quick as gathering the rows.
pub(super) const SELECTIVE_SHARE: usize = 32;

/// Columns with fewer distinct values are not indexed: a value then matches on average more than half the share
/// of rows a selection may keep, so most filters on the column would scan anyway.
pub(super) const INDEXED_MIN_DISTINCT: u64 = 2 * SELECTIVE_SHARE as u64;

/// A fixed hasher, so that an index is the same on every run (and its buckets reproducible in tests).
type Hasher = std::hash::BuildHasherDefault<std::collections::hash_map::DefaultHasher>;

fn hash_of(text: &str) -> u64 {
    Hasher::default().hash_one(text)
}

/// The rows of a hot version as one sequence: every batch of its partitions, in order, with where each starts.
pub(super) struct HotRows {
    pub(super) schema: SchemaRef,
    pub(super) batches: Vec<RecordBatch>,
    /// The first row number of each batch.
    starts: Vec<usize>,
    pub(super) rows: usize,
    /// Zone maps by column, built on the first range filter on it (`None`: a column without zones).
    pub(super) zones: std::sync::RwLock<HashMap<String, Option<Arc<ZoneMap>>>>,
}

impl HotRows {
    /// Shares the batches' buffers: no row is copied.
    pub(super) fn new(schema: SchemaRef, partitions: &[Vec<RecordBatch>]) -> Self {
        let batches: Vec<RecordBatch> = partitions.iter().flatten().cloned().collect();
        let mut starts = Vec::with_capacity(batches.len());
        let mut rows = 0;
        for b in &batches {
            starts.push(rows);
            rows += b.num_rows();
        }
        Self {
            schema,
            batches,
            starts,
            rows,
            zones: Default::default(),
        }
    }

    pub(super) fn rows(&self) -> usize {
        self.rows
    }

    /// Indexes the text column `column`; `None` when it is missing or not text.
    pub(super) fn index(&self, column: &str) -> Option<RowIndex> {
        let i = self.schema.index_of(column).ok()?;
        if !matches!(
            self.schema.field(i).data_type(),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
        ) {
            return None;
        }
        let mut pairs: Vec<(u64, u32)> = Vec::with_capacity(self.rows);
        for (b, start) in self.batches.iter().zip(&self.starts) {
            for_each_text(b.column(i), |row, text| {
                pairs.push((hash_of(text), (start + row) as u32));
            });
        }
        pairs.sort_unstable();
        let mut buckets: HashMap<u64, (u32, u32)> = HashMap::new();
        let mut order = Vec::with_capacity(pairs.len());
        for (n, (h, row)) in pairs.iter().enumerate() {
            buckets.entry(*h).or_insert((n as u32, 0)).1 += 1;
            order.push(*row);
        }
        Some(RowIndex { order, buckets })
    }

    /// The rows numbered `rows` (ascending) as one batch.
    pub(super) fn gather(&self, rows: &[u32]) -> datafusion::error::Result<RecordBatch> {
        if rows.is_empty() {
            return Ok(RecordBatch::new_empty(self.schema.clone()));
        }
        let refs: Vec<&RecordBatch> = self.batches.iter().collect();
        let mut b = 0;
        let at: Vec<(usize, usize)> = rows
            .iter()
            .map(|&r| {
                let r = r as usize;
                while b + 1 < self.starts.len() && self.starts[b + 1] <= r {
                    b += 1;
                }
                (b, r - self.starts[b])
            })
            .collect();
        Ok(interleave_record_batch(&refs, &at)?)
    }
}

/// Calls `f(row, text)` for every non-null value of a text array.
fn for_each_text(array: &ArrayRef, mut f: impl FnMut(usize, &str)) {
    macro_rules! each {
        ($a:expr) => {
            for (row, v) in $a.iter().enumerate() {
                if let Some(v) = v {
                    f(row, v);
                }
            }
        };
    }
    if let Some(a) = array.as_string_opt::<i32>() {
        each!(a);
    } else if let Some(a) = array.as_string_opt::<i64>() {
        each!(a);
    } else if let Some(a) = array.as_string_view_opt() {
        each!(a);
    }
}

/// Row numbers grouped by the hash of a column's value: `order[start..start + len]` of a bucket, ascending.
pub(super) struct RowIndex {
    order: Vec<u32>,
    buckets: HashMap<u64, (u32, u32)>,
}

impl RowIndex {
    /// The rows that may hold one of `values` (ascending, each once): every row that does, and possibly a few
    /// whose value shares a hash with one of them.
    pub(super) fn candidates<'a>(&self, values: impl IntoIterator<Item = &'a str>) -> Vec<u32> {
        let mut hashes: Vec<u64> = values.into_iter().map(hash_of).collect();
        hashes.sort_unstable();
        hashes.dedup();
        let mut rows: Vec<u32> = hashes
            .iter()
            .filter_map(|h| self.buckets.get(h))
            .flat_map(|&(start, len)| {
                self.order[start as usize..(start + len) as usize]
                    .iter()
                    .copied()
            })
            .collect();
        rows.sort_unstable();
        rows
    }

    /// The memory the index takes, in bytes (approximately: the hash map's overhead is estimated).
    pub(super) fn bytes(&self) -> usize {
        self.order.len() * 4 + self.buckets.len() * 32
    }
}

/// Builds the index of `column` off the async workers (one pass and a sort over every row).
pub(super) async fn build(rows: Arc<HotRows>, column: String) -> Option<Arc<RowIndex>> {
    tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        let index = rows.index(&column)?;
        tracing::debug!(
            column,
            rows = rows.rows(),
            distinct_hashes = index.buckets.len(),
            kib = index.bytes() >> 10,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "row index built"
        );
        Some(Arc::new(index))
    })
    .await
    .ok()
    .flatten()
}

impl QueryEngine {
    /// The candidate rows of the most selective indexed list filter of `filters`, as a small table that the query
    /// runs over with its full predicate; `None` when the version is not hot or no indexed filter keeps few rows.
    pub(super) async fn selection(
        &self,
        version: &LoadedVersion,
        filters: &FilterSet,
    ) -> Result<Option<Arc<dyn TableProvider>>> {
        let Some(rows) = &version.hot_rows else {
            return Ok(None);
        };
        let lists: Vec<(&str, Vec<&str>)> = filters
            .column_conditions()
            .filter_map(|(column, c)| match c {
                Condition::In(values) => {
                    let texts: Option<Vec<&str>> = values
                        .iter()
                        .map(|v| match v {
                            FilterValue::Str(s) => Some(s.as_str()),
                            _ => None,
                        })
                        .collect();
                    Some((column, texts?))
                }
                Condition::Range { .. } => None,
            })
            .collect();
        if lists.is_empty() {
            return Ok(None);
        }
        let distinct = self.distinct_counts(version).await;
        let mut best: Option<Vec<u32>> = None;
        for (column, texts) in lists {
            if distinct.get(column).copied().unwrap_or(0) < INDEXED_MIN_DISTINCT {
                continue;
            }
            let index = version
                .indexes
                .get_with(column.to_string(), build(rows.clone(), column.to_string()))
                .await;
            let Some(index) = index else { continue };
            let found = index.candidates(texts);
            if best.as_ref().is_none_or(|b| found.len() < b.len()) {
                best = Some(found);
            }
        }
        let Some(best) = best.filter(|b| b.len() <= rows.rows() / SELECTIVE_SHARE) else {
            return Ok(None);
        };
        let batch = rows.gather(&best)?;
        Ok(Some(Arc::new(MemTable::try_new(
            batch.schema(),
            vec![vec![batch]],
        )?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{Field, Schema};

    fn rows() -> HotRows {
        let schema = Arc::new(Schema::new(vec![
            Field::new("user", DataType::Utf8, true),
            Field::new("n", DataType::Int64, false),
        ]));
        let batch = |users: Vec<Option<&str>>, first: i64| {
            let n = (first..first + users.len() as i64).collect::<Vec<_>>();
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(StringArray::from(users)),
                    Arc::new(Int64Array::from(n)),
                ],
            )
            .unwrap()
        };
        let parts = vec![
            vec![batch(vec![Some("a"), Some("b"), None], 0)],
            vec![
                batch(vec![Some("b"), Some("c")], 3),
                batch(vec![Some("a")], 5),
            ],
        ];
        HotRows::new(schema, &parts)
    }

    #[test]
    fn candidates_are_every_matching_row_in_order_across_batches() {
        let rows = rows();
        assert_eq!(rows.rows(), 6);
        let index = rows.index("user").unwrap();
        assert_eq!(index.candidates(["a"]), vec![0, 5]);
        assert_eq!(index.candidates(["b", "a", "b"]), vec![0, 1, 3, 5]);
        assert!(index.candidates(["zzz"]).is_empty());
        let batch = rows.gather(&index.candidates(["a", "c"])).unwrap();
        let n = batch
            .column(1)
            .as_primitive::<datafusion::arrow::datatypes::Int64Type>();
        assert_eq!(n.values().to_vec(), vec![0, 4, 5]);
        assert_eq!(rows.gather(&[]).unwrap().num_rows(), 0);
    }

    #[test]
    fn only_text_columns_are_indexed() {
        let rows = rows();
        assert!(rows.index("n").is_none());
        assert!(rows.index("missing").is_none());
    }
}
