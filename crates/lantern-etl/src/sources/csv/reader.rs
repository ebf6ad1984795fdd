//! The CSV source's reader: files that share one header, typed by inference (or configuration) over their rows
//! when opened, then converted into Arrow batches, big UTF-8 files in two halves at once.

use std::io::Read;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;

use super::CsvConfig;
use super::convert::read_batches;
use super::dialect::{CsvFile, inspect, open_text};
use super::infer::infer_columns;
use super::rows::RowReader;
use super::split::{End, Range, RangeReader, in_two_halves};
use crate::batch::schema;
use crate::error::{EtlError, Result};
use crate::infer::{ColumnType, Inference, ValueOptions};

/// Reads the data rows of `file`, or of a part of a UTF-8 file, a group at a time (see [`super::rows`]).
///
/// UTF-8 files are read as they are (no decoding copy); other encodings through a decoder.
pub(super) fn open_rows<'a>(
    file: &CsvFile,
    range: Option<Range<'a>>,
) -> Result<RowReader<Box<dyn Read + Send + 'a>>> {
    let err = |e: std::io::Error| EtlError::failed(&file.label, e);
    let range = match range {
        Some(r) => r,
        None if file.encoding == encoding_rs::UTF_8 && !file.sep_line => Range {
            from: 0,
            to: End::At(std::fs::metadata(&file.path).map_err(err)?.len()),
            header: file.header,
            lines_before: 0,
        },
        None => {
            // Lines as in the file: Excel's `sep=` line was taken off the decoded text.
            let lines_before = u64::from(file.sep_line);
            // The decoder took off any byte order mark.
            return Ok(RowReader::new(
                Box::new(open_text(file)?),
                file.delimiter,
                lines_before,
                file.header,
                false,
            ));
        }
    };
    use std::io::Seek;
    let mut raw_file = std::fs::File::open(&file.path).map_err(err)?;
    raw_file
        .seek(std::io::SeekFrom::Start(range.from))
        .map_err(err)?;
    let ranged = RangeReader {
        file: raw_file,
        pos: range.from,
        end: range.to,
    };
    // The row reader reads large blocks itself (and skips a byte order mark at the start).
    Ok(RowReader::new(
        Box::new(ranged),
        file.delimiter,
        range.lines_before,
        range.header,
        range.from == 0,
    ))
}

/// The error a half reports when the other half failed first.
pub(super) const STOPPED: &str = "stopped: the other half of the file failed";

/// Reads CSV files that share one header: types inferred over every row of every file when opened.
pub struct CsvReader {
    files: Vec<CsvFile>,
    pub(super) types: Vec<ColumnType>,
    /// How each column's values are written, where not plainly (`1.234,56`, `31.12.2025`).
    pub(super) formats: Vec<Option<crate::formats::ValueFormat>>,
    hints: Vec<crate::formats::Hint>,
    /// Columns whose type is configured (or published): a value that breaks it is a bad row. Other columns'
    /// types are inferred; when those came from a sample, a breaking value stops the read (`TypeChanged`).
    pub(super) fixed: Vec<bool>,
    /// Columns that were all null in the sample.
    pub(super) unsettled: Vec<usize>,
    pub(super) schema: SchemaRef,
    pub(super) options: ValueOptions,
    pub(super) batch_rows: usize,
}

impl CsvReader {
    pub fn open(
        staged: &[crate::sources::StagedFile],
        config: &CsvConfig,
        options: &crate::sources::ReadOptions,
    ) -> Result<Self> {
        let mut files: Vec<CsvFile> = Vec::new();
        let mut inferred: Option<Vec<Inference>> = None;
        for s in staged {
            let mut f = inspect(&s.path, config, options.normalize_names)?;
            f.label = s.label.clone();
            if let Some(first) = files.first()
                && first.columns != f.columns
            {
                return Err(EtlError::source(
                    &f.label,
                    format!(
                        "its columns {:?} differ from {}'s {:?}",
                        f.columns, first.label, first.columns
                    ),
                ));
            }
            let found = infer_columns(&f, &options.values, options.sample_rows)?;
            inferred = Some(match inferred {
                None => found,
                Some(prev) => prev
                    .into_iter()
                    .zip(found)
                    .map(|(a, b)| a.merge(b))
                    .collect(),
            });
            files.push(f);
        }
        let Some(first) = files.first() else {
            return Err(EtlError::source(&config.path, "no file to read"));
        };
        let inferred = inferred.unwrap_or_default();
        let observed: Vec<crate::formats::Observed<'_>> = first
            .columns
            .iter()
            .zip(&inferred)
            .map(|(name, i)| crate::formats::Observed {
                name,
                plain: i.ty,
                votes: i.votes,
                sample: i.sample.as_deref(),
            })
            .collect();
        let (decided, hints) = crate::formats::decide(
            &observed,
            &options.types,
            &options.formats,
            options.locale.as_ref(),
        );
        let types: Vec<ColumnType> = decided.iter().map(|d| d.ty).collect();
        let formats = decided.into_iter().map(|d| d.format).collect();
        let configured =
            |c: &String| options.types.contains_key(c) || options.formats.contains_key(c);
        let fixed = first
            .columns
            .iter()
            .map(|c| options.sample_rows.is_none() || configured(c))
            .collect();
        // Columns the sample saw only nulls in: a later value there must be typed by full inference.
        let unsettled = first
            .columns
            .iter()
            .zip(&inferred)
            .enumerate()
            .filter(|(_, (c, i))| options.sample_rows.is_some() && i.ty.is_none() && !configured(c))
            .map(|(k, _)| k)
            .collect();
        Ok(Self {
            fixed,
            unsettled,
            schema: schema(&first.columns, &types),
            types,
            formats,
            hints,
            files,
            options: options.values.clone(),
            batch_rows: options.batch_rows,
        })
    }
}

impl crate::sources::TableReader for CsvReader {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn hints(&self) -> Vec<crate::formats::Hint> {
        self.hints.clone()
    }

    fn read(
        &mut self,
        sink: &mut crate::sources::RowSink<'_>,
    ) -> Result<std::collections::BTreeMap<String, String>> {
        // File k is stream 2k (its first half, or all of it) and 2k + 1 (its second half): the manifest lists
        // streams in order, so rows keep the order of the files and of the rows in them. An empty batch ends a
        // stream (its Parquet files are closed).
        let schema = self.schema.clone();
        let end_of = |stream: usize, sink: &mut crate::sources::RowSink<'_>| {
            (sink.emit)(stream, RecordBatch::new_empty(schema.clone()), None)
        };
        for (k, f) in self.files.iter().enumerate() {
            let (first_stream, second_stream) = (2 * k, 2 * k + 1);
            // Both halves at once, each into its own stream of files (the first half's listed first).
            let stop = std::sync::atomic::AtomicBool::new(false);
            let shared = std::sync::Mutex::new(&mut *sink);
            let half = |half: usize, range: Range<'_>| -> Result<()> {
                let stream = 2 * k + half;
                let result = read_batches(
                    self,
                    f,
                    Some(range),
                    |b, lines| {
                        if stop.load(std::sync::atomic::Ordering::Relaxed) {
                            return Err(EtlError::source(&f.label, STOPPED));
                        }
                        let mut sink = shared.lock().expect("sink lock");
                        (sink.emit)(stream, b, Some(lines))
                    },
                    |row| {
                        let mut sink = shared.lock().expect("sink lock");
                        (sink.bad)(row)
                    },
                );
                // The first half's error comes first in the file: it stops the second half. The second half's
                // error stops the first half only when the run starts over anyway (a type that changed); other
                // errors let the first half go on, so that an earlier bad row is the one reported, every time.
                if let Err(e) = &result
                    && (half == 0 || matches!(e, EtlError::TypeChanged { .. }))
                {
                    stop.store(true, std::sync::atomic::Ordering::Relaxed);
                }
                result
            };
            let Some((a, b)) = in_two_halves(f, half)? else {
                let sink = shared.into_inner().expect("sink lock");
                read_batches(
                    self,
                    f,
                    None,
                    |b, lines| (sink.emit)(first_stream, b, Some(lines)),
                    &mut *sink.bad,
                )?;
                end_of(first_stream, sink)?;
                continue;
            };
            // The real failure, not the other half's stop.
            let stopped =
                |e: &EtlError| matches!(e, EtlError::Source { message, .. } if message == STOPPED);
            match (a, b) {
                (Err(e), _) if !stopped(&e) => return Err(e),
                (_, Err(e)) if !stopped(&e) => return Err(e),
                (Err(e), _) | (_, Err(e)) => return Err(e),
                _ => {}
            }
            let shared = shared.into_inner().expect("sink lock");
            end_of(first_stream, shared)?;
            end_of(second_stream, shared)?;
        }
        Ok(Default::default())
    }
}
