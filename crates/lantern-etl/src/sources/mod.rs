//! Sources: each kind is a config struct implementing [`Source`] (registered in [`registry`]) in a module that
//! *stages* it: remote data is fetched into a private folder as files in a format the readers know (CSV, JSON lines,
//! Parquet), or, for databases, opened as a stream. A [`TableReader`] then turns the staged input into typed Arrow
//! batches, a bounded number of rows at a time.
//!
//! Staging first keeps retries, pagination and authentication apart from type inference, and lets text sources be
//! read twice (once to infer types over every row, once to convert) without holding them in memory.

pub mod api;
pub mod csv;
pub mod domo;
pub mod http;
pub mod jsonl;
pub mod parquet_files;
pub mod registry;
pub mod s3;
pub mod sql;

pub use registry::{Fault, Source, SourceConfig};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use lantern_core::catalog::Manifest;

use crate::config::LoadConfig;
use crate::error::{EtlError, Result};
use crate::infer::{ColumnType, ValueOptions};

/// What a source may use while staging.
pub struct StageContext<'a> {
    pub dataset: &'a str,
    /// The dataset's config file, for errors.
    pub config_file: &'a Path,
    /// The published version: incremental sources resume from its `source_state`.
    pub previous: Option<&'a Manifest>,
    /// A private folder for fetched files, deleted when the run ends.
    pub staging: &'a Path,
}

/// A fetched file and how errors should name it.
#[derive(Debug, Clone)]
pub struct StagedFile {
    pub path: PathBuf,
    /// Where the rows came from (`s3://bucket/key`, `GET https://…`), for quarantine and error messages.
    pub label: String,
}

impl StagedFile {
    pub fn local(path: PathBuf) -> Self {
        let label = path.display().to_string();
        Self { path, label }
    }
}

/// A staged source, ready to read.
pub enum Input {
    Csv {
        files: Vec<StagedFile>,
        options: csv::CsvConfig,
    },
    JsonLines(Vec<StagedFile>),
    Parquet(Vec<StagedFile>),
    Sql(sql::SqlInput),
}

impl Input {
    /// False when there is nothing to read (an incremental S3 prefix with no new objects).
    pub fn has_rows_to_read(&self) -> bool {
        match self {
            Input::Csv { files, .. } | Input::JsonLines(files) | Input::Parquet(files) => {
                !files.is_empty()
            }
            Input::Sql(_) => true,
        }
    }
}

/// A source's data, staged.
pub struct Staged {
    pub input: Input,
    pub input_files: usize,
    pub input_bytes: u64,
    /// Stored in the published manifest for the next run (merged with what the reader reports).
    pub state: BTreeMap<String, String>,
    /// The rows add to the previous version's instead of replacing them (incremental loads).
    pub append: bool,
}

impl Staged {
    /// The same staged files again (for a second pass); `None` for a database stream.
    pub fn try_clone(&self) -> Option<Staged> {
        let input = match &self.input {
            Input::Csv { files, options } => Input::Csv {
                files: files.clone(),
                options: options.clone(),
            },
            Input::JsonLines(files) => Input::JsonLines(files.clone()),
            Input::Parquet(files) => Input::Parquet(files.clone()),
            Input::Sql(_) => return None,
        };
        Some(Staged {
            input,
            input_files: self.input_files,
            input_bytes: self.input_bytes,
            state: self.state.clone(),
            append: self.append,
        })
    }

    /// Local files of one format, read in full.
    pub fn files(input: Input) -> Self {
        let files: Vec<&StagedFile> = match &input {
            Input::Csv { files, .. } | Input::JsonLines(files) | Input::Parquet(files) => {
                files.iter().collect()
            }
            Input::Sql(_) => vec![],
        };
        let input_bytes = files
            .iter()
            .filter_map(|f| std::fs::metadata(&f.path).ok())
            .map(|m| m.len())
            .sum();
        Self {
            input_files: files.len(),
            input_bytes,
            input,
            state: BTreeMap::new(),
            append: false,
        }
    }
}

/// How text values are read, from the dataset's `load:` block.
pub struct ReadOptions {
    pub values: ValueOptions,
    pub types: BTreeMap<String, ColumnType>,
    pub formats: BTreeMap<String, crate::formats::FormatSpec>,
    pub locale: Option<crate::formats::Locale>,
    pub normalize_names: bool,
    pub batch_rows: usize,
    /// Infer text columns' types from this many rows per file, and confirm them while converting (a value that
    /// breaks them restarts the run with inference over every row); `None` infers over every row first.
    pub sample_rows: Option<usize>,
}

impl ReadOptions {
    pub fn new(load: &LoadConfig, batch_rows: usize) -> Self {
        Self {
            values: ValueOptions {
                null_values: load.null_values.clone(),
                zero_one_booleans: load.zero_one_booleans,
            },
            types: load.types.clone(),
            formats: load.formats.clone(),
            locale: load.locale.clone(),
            normalize_names: load.normalize_names,
            batch_rows,
            sample_rows: None,
        }
    }
}

/// Where each row of a batch stands in its file, so that a row a transform refuses is quarantined with its
/// line, as a row that does not parse is.
#[derive(Debug, Clone)]
pub struct Lines {
    /// The file, as [`BadRow::file`] names it.
    pub file: std::sync::Arc<str>,
    /// One 1-based line per row of the batch.
    pub lines: Vec<u64>,
}

/// Where a reader sends what it reads.
pub struct RowSink<'a> {
    /// Batches, each with the stream it belongs to (a reader that converts parts of its input side by side
    /// numbers them 0, 1, … so the writer keeps each part's rows together and in order) and, for sources that
    /// have lines (CSV, JSON lines), each row's line.
    pub emit: &'a mut (dyn FnMut(usize, RecordBatch, Option<Lines>) -> Result<()> + Send),
    /// Rows that cannot be loaded; returning an error stops the run.
    pub bad: &'a mut (dyn FnMut(BadRow) -> Result<()> + Send),
}

/// Staged input turned into typed batches. Opening may read the input once (type inference); `read` streams it.
pub trait TableReader: Send {
    fn schema(&self) -> SchemaRef;
    /// Reads every row; returns source state to store with the version (e.g. a new watermark).
    fn read(&mut self, sink: &mut RowSink<'_>) -> Result<BTreeMap<String, String>>;
    /// Columns left as text that an option would type (text sources only).
    fn hints(&self) -> Vec<crate::formats::Hint> {
        Vec::new()
    }
}

/// Opens staged input for reading. Blocking: run it off the async workers.
pub fn open(input: Input, options: &ReadOptions) -> Result<Box<dyn TableReader>> {
    Ok(match input {
        Input::Csv { files, options: c } => Box::new(csv::CsvReader::open(&files, &c, options)?),
        Input::JsonLines(files) => Box::new(jsonl::JsonLinesReader::open(files, options)?),
        Input::Parquet(files) => Box::new(parquet_files::ParquetReader::open(files, options)?),
        Input::Sql(s) => Box::new(s.open(options)?),
    })
}

/// A row that could not be loaded.
#[derive(Debug, Clone)]
pub struct BadRow {
    pub file: String,
    /// 1-based line of the row in the file.
    pub line: u64,
    pub column: Option<String>,
    pub reason: String,
    /// The row's fields as read.
    pub fields: Vec<String>,
}

impl BadRow {
    pub fn into_error(self) -> EtlError {
        EtlError::Source {
            file: self.file,
            row: Some(self.line),
            column: self.column,
            message: self.reason,
        }
    }
}

/// Trimmed, unique, non-blank names; with `normalize`, also lowercase snake_case.
pub fn clean_names(raw: &[String], normalize: bool) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    for (i, name) in raw.iter().enumerate() {
        let mut n = name.trim().trim_start_matches('\u{feff}').to_string();
        if normalize {
            let mut snake = String::new();
            let mut prev_lower = false;
            for ch in n.chars() {
                if ch.is_alphanumeric() {
                    if ch.is_uppercase() && prev_lower && !snake.ends_with('_') {
                        snake.push('_');
                    }
                    prev_lower = ch.is_lowercase() || ch.is_ascii_digit();
                    snake.extend(ch.to_lowercase());
                } else {
                    if !snake.ends_with('_') && !snake.is_empty() {
                        snake.push('_');
                    }
                    prev_lower = false;
                }
            }
            n = snake.trim_end_matches('_').to_string();
        }
        if n.is_empty() {
            n = format!("column_{}", i + 1);
        }
        let base = n.clone();
        let mut k = 2;
        while out.contains(&n) {
            n = format!("{base}_{k}");
            k += 1;
        }
        out.push(n);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_clean_and_unique() {
        let raw: Vec<String> = [
            "  User Email ",
            "",
            "userEmail",
            "user_email",
            "Count (#)",
            "名前",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            clean_names(&raw, true),
            [
                "user_email",
                "column_2",
                "user_email_2",
                "user_email_3",
                "count",
                "名前"
            ]
        );
        assert_eq!(
            clean_names(&["a".into(), "a".into(), " ".into()], false),
            ["a", "a_2", "column_3"]
        );
    }
}
