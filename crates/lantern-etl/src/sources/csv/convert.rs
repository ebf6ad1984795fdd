//! Pass 2 over a CSV file: rows converted into Arrow batches; rows that cannot be loaded go to quarantine, and a
//! value that breaks a type taken from a sample stops the read so that the run starts again.

use datafusion::arrow::record_batch::RecordBatch;

use super::dialect::CsvFile;
use super::infer::GROUP_ROWS;
use super::reader::{CsvReader, open_rows};
use super::rows::Rows;
use super::split::Range;
use crate::batch::BatchBuilder;
use crate::error::{EtlError, Result};
use crate::sources::{BadRow, Lines};

/// The conversion pass over one file: rows as Arrow batches of at most `batch_rows`, handed to `emit` one at a
/// time; rows that cannot be loaded go to `bad` instead (which may stop the run by returning an error).
pub(super) fn read_batches(
    reader: &CsvReader,
    file: &CsvFile,
    range: Option<Range<'_>>,
    mut emit: impl FnMut(RecordBatch, Lines) -> Result<()>,
    mut bad: impl FnMut(BadRow) -> Result<()>,
) -> Result<()> {
    let width = file.columns.len();
    let mut batch = BatchBuilder::new(
        reader.schema.clone(),
        reader.types.clone(),
        reader.options.clone(),
        reader.batch_rows,
    )
    .with_formats(reader.formats.clone());
    let mut input = open_rows(file, range)?;
    let mut rows = Rows::new(width);
    let label: std::sync::Arc<str> = file.label.as_str().into();
    // The line of each row in the batch being built.
    let mut lines: Vec<u64> = Vec::with_capacity(reader.batch_rows);
    let mut emit = |b: RecordBatch, lines: &mut Vec<u64>| {
        let lines = Lines {
            file: label.clone(),
            lines: std::mem::replace(lines, Vec::with_capacity(reader.batch_rows)),
        };
        emit(b, lines)
    };
    while input
        .read(&mut rows, GROUP_ROWS.min(batch.room()))
        .map_err(|e| EtlError::failed(&file.label, e))?
    {
        let refused = batch.push(&rows);
        let mut next_refused = refused.iter().map(|r| r.row).peekable();
        for row in 0..rows.len() {
            if next_refused.peek() == Some(&row) {
                while next_refused.next_if_eq(&row).is_some() {}
                continue;
            }
            lines.push(rows.line(row));
        }
        // What is wrong with these rows, in the file's order: bad rows are quarantined (or stop the run); a value
        // that breaks a type taken from the sample stops the read (`TypeChanged`), as it is not the row's fault.
        let mut problems: Vec<(u64, Problem)> = rows
            .odd
            .drain(..)
            .map(|(line, fields)| {
                let reason = format!("{} fields where the header has {width}", fields.len());
                (line, Problem::Bad(None, reason, fields))
            })
            .collect();
        for r in &refused {
            let line = rows.line(r.row);
            problems.push(if reader.fixed[r.column] {
                let fields = rows.fields(r.row);
                (line, Problem::Bad(Some(r.column), r.reason.clone(), fields))
            } else {
                (line, Problem::TypeChanged(r.column, r.reason.clone()))
            });
        }
        if let Some((row, column, v)) = first_unsettled_value(reader, &rows, &refused) {
            let message = format!("`{v}` after only nulls in the sample");
            problems.push((rows.line(row), Problem::TypeChanged(column, message)));
        }
        problems.sort_by_key(|(line, _)| *line);
        for (line, problem) in problems {
            match problem {
                Problem::Bad(column, reason, fields) => bad(BadRow {
                    file: file.label.clone(),
                    line,
                    column: column.map(|c| file.columns[c].clone()),
                    reason,
                    fields,
                })?,
                Problem::TypeChanged(column, message) => {
                    return Err(EtlError::TypeChanged {
                        file: file.label.clone(),
                        row: line,
                        column: file.columns[column].clone(),
                        message,
                    });
                }
            }
        }
        if batch.full()
            && let Some(b) = batch.take()?
        {
            emit(b, &mut lines)?;
        }
    }
    if let Some(b) = batch.take()? {
        emit(b, &mut lines)?;
    }
    Ok(())
}

/// What is wrong with a row being converted.
enum Problem {
    /// Refused: the column (none for a wrong number of fields), why, and the row's fields.
    Bad(Option<usize>, String, Vec<String>),
    /// A value breaks a column type taken from the sample.
    TypeChanged(usize, String),
}

/// The first value (row, column, value) in a column that was all null in the sample, among rows not refused.
fn first_unsettled_value<'a>(
    reader: &CsvReader,
    rows: &'a Rows,
    refused: &[crate::batch::Refusal],
) -> Option<(usize, usize, &'a str)> {
    reader
        .unsettled
        .iter()
        .filter_map(|&column| {
            (0..rows.len())
                .filter(|row| refused.binary_search_by_key(row, |r| r.row).is_err())
                .map(|row| (row, column, rows.field(row, column)))
                .find(|(_, _, v)| !reader.options.is_null(v))
        })
        .min_by_key(|(row, column, _)| (*row, *column))
}
