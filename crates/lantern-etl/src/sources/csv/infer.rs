//! Pass 1 over a CSV file: every column's type from its values (a sample's, or every row's on two threads).

use super::dialect::CsvFile;
use super::reader::open_rows;
use super::rows::Rows;
use super::split::{Range, in_two_halves};
use crate::error::{EtlError, Result};
use crate::infer::{Inference, ValueOptions};

/// Rows read at a time: a few hundred kilobytes of text, which stays in the CPU's cache while it is parsed
/// column by column.
pub(super) const GROUP_ROWS: usize = 4096;

/// Observes every row of `file` (or of a part of it), up to `limit` rows with the header's number of fields
/// (rows with another number of fields are quarantined when converting; they do not vote on types).
fn observe_rows(
    file: &CsvFile,
    range: Option<Range<'_>>,
    options: &ValueOptions,
    limit: usize,
) -> Result<Vec<Inference>> {
    let width = file.columns.len();
    let mut inferred = vec![Inference::default(); width];
    let nulls = crate::infer::NullCheck::new(options);
    let mut reader = open_rows(file, range)?;
    let mut rows = Rows::new(width);
    let mut seen = 0;
    while seen < limit
        && reader
            .read(&mut rows, GROUP_ROWS.min(limit - seen))
            .map_err(|e| EtlError::failed(&file.label, e))?
    {
        for (column, inference) in inferred.iter_mut().enumerate() {
            for row in 0..rows.len() {
                let v = crate::infer::trim(rows.field(row, column));
                if !nulls.is_null(v) {
                    inference.observe_value(v, options);
                }
            }
        }
        seen += rows.len();
    }
    Ok(inferred)
}

/// Pass 1: the type of every column over all rows (configured types win).
///
/// UTF-8 files of some size are split in two at a record boundary and inferred on two threads: nothing else runs
/// during this pass, and the per-column results merge exactly (the wider type wins).
pub fn infer_columns(
    file: &CsvFile,
    options: &ValueOptions,
    sample_rows: Option<usize>,
) -> Result<Vec<Inference>> {
    if let Some(limit) = sample_rows {
        return observe_rows(file, None, options, limit);
    }
    let half = |_, range: Range<'_>| observe_rows(file, Some(range), options, usize::MAX);
    let merged = match in_two_halves(file, half)? {
        Some((a, b)) => {
            let (a, b) = (a?, b?);
            a.into_iter().zip(b).map(|(x, y)| x.merge(y)).collect()
        }
        None => observe_rows(file, None, options, usize::MAX)?,
    };
    Ok(merged)
}
