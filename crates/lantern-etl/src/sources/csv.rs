//! CSV files (local paths and globs): encoding detection, delimiter sniffing, quoted fields with embedded
//! delimiters and newlines, CRLF, Excel's `sep=` line, and header names made unique deterministically.
//!
//! Files are read twice, streaming both times: once to infer every column's type over all rows, once to convert
//! rows into Arrow batches. Memory stays bounded by the batch size whatever the file size.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use encoding_rs::Encoding;
use serde::Deserialize;

use crate::batch::BatchBuilder;
pub use crate::batch::{arrow_type, schema};
use crate::error::{EtlError, Result};
use crate::infer::{ColumnType, Inference, ValueOptions};

/// `source: {kind: csv, …}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvConfig {
    /// A file or a glob (`data/*.csv`).
    pub path: String,
    /// `auto` (default) or an encoding label (`utf-8`, `utf-16le`, `shift_jis`, `euc-kr`, `gbk`, `big5`, …).
    #[serde(default)]
    pub encoding: Option<String>,
    /// `auto` (default) or one character.
    #[serde(default)]
    pub delimiter: Option<String>,
    /// Whether the first row names the columns (default true).
    #[serde(default = "yes")]
    pub header: bool,
}

fn yes() -> bool {
    true
}

/// How much of a file is looked at to detect its encoding and delimiter.
const SNIFF_BYTES: usize = 64 * 1024;

/// A CSV file, inspected.
#[derive(Debug, Clone)]
pub struct CsvFile {
    pub path: PathBuf,
    /// How errors name the file (its path, or where it was fetched from).
    pub label: String,
    pub encoding: &'static Encoding,
    pub delimiter: u8,
    /// The first line is Excel's `sep=X`.
    pub sep_line: bool,
    pub header: bool,
    /// Column names as in the file (blank and duplicate names made unique).
    pub columns: Vec<String>,
}

impl CsvConfig {
    /// The files the config names, sorted; an error when there are none.
    pub fn files(&self) -> Result<Vec<PathBuf>> {
        let matches = glob::glob(&self.path)
            .map_err(|e| EtlError::source(&self.path, format!("bad glob: {e}")))?;
        let mut files: Vec<PathBuf> = matches
            .filter_map(|m| m.ok())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(EtlError::source(&self.path, "no file matches this path"));
        }
        Ok(files)
    }

    fn encoding_override(&self) -> Result<Option<&'static Encoding>> {
        match self.encoding.as_deref().map(str::trim) {
            None | Some("auto") | Some("") => Ok(None),
            Some(label) => Encoding::for_label(label.as_bytes())
                .map(Some)
                .ok_or_else(|| {
                    EtlError::source(
                        &self.path,
                        format!("source.encoding: unknown encoding `{label}`"),
                    )
                }),
        }
    }

    fn delimiter_override(&self) -> Result<Option<u8>> {
        match self.delimiter.as_deref() {
            None | Some("auto") => Ok(None),
            Some("\\t") | Some("tab") => Ok(Some(b'\t')),
            Some(d) if d.len() == 1 => Ok(Some(d.as_bytes()[0])),
            Some(d) => Err(EtlError::source(
                &self.path,
                format!("source.delimiter: `{d}` is not one character"),
            )),
        }
    }
}

/// Detects the encoding: a BOM, else UTF-16 by its zero bytes, else `chardetng`.
pub fn detect_encoding(head: &[u8]) -> &'static Encoding {
    if let Some((enc, _)) = Encoding::for_bom(head) {
        return enc;
    }
    let sample = &head[..head.len().min(4096) & !1];
    if sample.len() >= 4 {
        let zeros_even = sample.iter().step_by(2).filter(|b| **b == 0).count();
        let zeros_odd = sample
            .iter()
            .skip(1)
            .step_by(2)
            .filter(|b| **b == 0)
            .count();
        let half = sample.len() / 2;
        if zeros_odd * 3 > half && zeros_even * 10 < half {
            return encoding_rs::UTF_16LE;
        }
        if zeros_even * 3 > half && zeros_odd * 10 < half {
            return encoding_rs::UTF_16BE;
        }
    }
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(head, head.len() < SNIFF_BYTES);
    detector.guess(None, chardetng::Utf8Detection::Allow)
}

/// Picks the delimiter among `,` `;` tab `|` that splits the first lines into the same, largest number of fields.
pub fn sniff_delimiter(text: &str) -> u8 {
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(30)
        .collect();
    let complete = if lines.len() > 1 {
        &lines[..lines.len() - 1]
    } else {
        &lines[..]
    };
    let mut best = (b',', 0usize, false);
    for d in [b',', b';', b'\t', b'|'] {
        let counts: Vec<usize> = complete
            .iter()
            .map(|l| count_outside_quotes(l, d))
            .collect();
        let Some(&first) = counts.first() else {
            continue;
        };
        let consistent = counts.iter().all(|&c| c == first);
        let score = (consistent, first);
        if first > 0 && (score.0 && !best.2 || score.0 == best.2 && first > best.1) {
            best = (d, first, consistent);
        }
    }
    best.0
}

fn count_outside_quotes(line: &str, d: u8) -> usize {
    let mut quoted = false;
    let mut n = 0;
    for b in line.bytes() {
        if b == b'"' {
            quoted = !quoted;
        } else if b == d && !quoted {
            n += 1;
        }
    }
    n
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

/// Opens `path` as decoded UTF-8 text, without its BOM and without Excel's `sep=` line.
fn open_text(file: &CsvFile) -> Result<Box<dyn Read + Send>> {
    let raw = std::fs::File::open(&file.path)
        .map_err(|e| EtlError::source(file.label.clone(), e.to_string()))?;
    let decoded = encoding_rs_io::DecodeReaderBytesBuilder::new()
        .encoding(Some(file.encoding))
        .bom_override(true)
        .strip_bom(true)
        .build(raw);
    let mut reader = BufReader::with_capacity(256 * 1024, decoded);
    if file.sep_line {
        let mut first = String::new();
        reader
            .read_line(&mut first)
            .map_err(|e| EtlError::source(file.label.clone(), e.to_string()))?;
    }
    Ok(Box::new(reader))
}

/// Inspects a file: encoding, `sep=` line, delimiter and header.
pub fn inspect(path: &Path, config: &CsvConfig, normalize_names: bool) -> Result<CsvFile> {
    let name = path.display().to_string();
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    std::fs::File::open(path)
        .and_then(|f| f.take(SNIFF_BYTES as u64).read_to_end(&mut head))
        .map_err(|e| EtlError::source(&name, e.to_string()))?;
    let encoding = match config.encoding_override()? {
        Some(e) => e,
        None => detect_encoding(&head),
    };
    let (text, _, _) = encoding.decode(&head);
    let text = text.trim_start_matches('\u{feff}');
    let first_line = text.lines().next().unwrap_or("");
    let sep_line =
        first_line.to_ascii_lowercase().starts_with("sep=") && first_line.trim_end().len() == 5;
    let delimiter = match (config.delimiter_override()?, sep_line) {
        (Some(d), _) => d,
        (None, true) => first_line.as_bytes()[4],
        (None, false) => sniff_delimiter(text),
    };
    let mut file = CsvFile {
        path: path.to_path_buf(),
        label: name.clone(),
        encoding,
        delimiter,
        sep_line,
        header: config.header,
        columns: vec![],
    };
    let mut reader = csv_reader(&file, open_text(&file)?);
    let mut first = csv::StringRecord::new();
    let has_row = reader
        .read_record(&mut first)
        .map_err(|e| csv_error(&file, e))?;
    if !has_row {
        return Err(EtlError::source(&name, "the file has no rows"));
    }
    let raw: Vec<String> = if config.header {
        first.iter().map(str::to_string).collect()
    } else {
        (1..=first.len()).map(|i| format!("column_{i}")).collect()
    };
    file.columns = clean_names(&raw, normalize_names);
    Ok(file)
}

fn csv_reader(file: &CsvFile, text: Box<dyn Read + Send>) -> csv::Reader<Box<dyn Read + Send>> {
    csv::ReaderBuilder::new()
        .delimiter(file.delimiter)
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(256 * 1024)
        .from_reader(text)
}

fn csv_error(file: &CsvFile, e: csv::Error) -> EtlError {
    EtlError::Source {
        file: file.label.clone(),
        row: e.position().map(|p| p.line() + u64::from(file.sep_line)),
        column: None,
        message: e.to_string(),
    }
}

/// Iterates the data rows of `file`, with their 1-based line numbers in the file.
fn for_each_row(
    file: &CsvFile,
    mut f: impl FnMut(u64, &csv::StringRecord) -> Result<()>,
) -> Result<()> {
    let mut reader = csv_reader(file, open_text(file)?);
    let mut record = csv::StringRecord::new();
    let mut first = true;
    while reader
        .read_record(&mut record)
        .map_err(|e| csv_error(file, e))?
    {
        if first && file.header {
            first = false;
            continue;
        }
        first = false;
        let line = record.position().map(|p| p.line()).unwrap_or(0) + u64::from(file.sep_line);
        f(line, &record)?;
    }
    Ok(())
}

/// Pass 1: the type of every column over all rows (configured types win).
pub fn infer_types(
    file: &CsvFile,
    options: &ValueOptions,
    overrides: &std::collections::BTreeMap<String, ColumnType>,
) -> Result<Vec<ColumnType>> {
    let mut inf = vec![Inference::default(); file.columns.len()];
    for_each_row(file, |_, record| {
        // Rows with the wrong number of fields are quarantined in pass 2; they do not vote on types.
        if record.len() != file.columns.len() {
            return Ok(());
        }
        for (i, v) in record.iter().enumerate() {
            inf[i].observe(v, options);
        }
        Ok(())
    })?;
    Ok(file
        .columns
        .iter()
        .zip(inf)
        .map(|(name, i)| overrides.get(name).copied().unwrap_or_else(|| i.finish()))
        .collect())
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

/// Pass 2: rows as Arrow batches of at most `batch_rows`, handed to `emit` one at a time; rows that cannot be
/// loaded go to `bad` instead (which may stop the run by returning an error).
pub fn read_batches(
    file: &CsvFile,
    schema: &SchemaRef,
    types: &[ColumnType],
    options: &ValueOptions,
    batch_rows: usize,
    mut emit: impl FnMut(RecordBatch) -> Result<()>,
    mut bad: impl FnMut(BadRow) -> Result<()>,
) -> Result<()> {
    let mut batch = BatchBuilder::new(schema.clone(), types.to_vec(), options.clone(), batch_rows);
    for_each_row(file, |line, record| {
        let refuse = |column: Option<String>, reason: String| BadRow {
            file: file.label.clone(),
            line,
            column,
            reason,
            fields: record.iter().map(str::to_string).collect(),
        };
        if record.len() != file.columns.len() {
            return bad(refuse(
                None,
                format!(
                    "{} fields where the header has {}",
                    record.len(),
                    file.columns.len()
                ),
            ));
        }
        if let Err((i, reason)) = batch.push(record.iter().map(Some)) {
            return bad(refuse(Some(file.columns[i].clone()), reason));
        }
        if batch.full()
            && let Some(b) = batch.take()?
        {
            emit(b)?;
        }
        Ok(())
    })?;
    if let Some(b) = batch.take()? {
        emit(b)?;
    }
    Ok(())
}

/// Reads a whole (small) text for tests and previews.
pub fn decode_all(file: &CsvFile) -> Result<String> {
    let mut s = String::new();
    open_text(file)?
        .read_to_string(&mut s)
        .map_err(|e| EtlError::source(file.label.clone(), e.to_string()))?;
    Ok(s)
}

/// Reads CSV files that share one header: types inferred over every row of every file when opened.
pub struct CsvReader {
    files: Vec<CsvFile>,
    types: Vec<ColumnType>,
    schema: SchemaRef,
    options: ValueOptions,
    batch_rows: usize,
}

impl CsvReader {
    pub fn open(
        staged: &[super::StagedFile],
        config: &CsvConfig,
        options: &super::ReadOptions,
    ) -> Result<Self> {
        let mut files: Vec<CsvFile> = Vec::new();
        let mut types: Option<Vec<ColumnType>> = None;
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
            let t = infer_types(&f, &options.values, &options.types)?;
            types = Some(match types {
                None => t,
                Some(prev) => prev
                    .iter()
                    .zip(&t)
                    .map(|(a, b)| crate::infer::widen(*a, *b))
                    .collect(),
            });
            files.push(f);
        }
        let Some(first) = files.first() else {
            return Err(EtlError::source(&config.path, "no file to read"));
        };
        let types = types.unwrap_or_default();
        Ok(Self {
            schema: schema(&first.columns, &types),
            types,
            files,
            options: options.values.clone(),
            batch_rows: options.batch_rows,
        })
    }
}

impl super::TableReader for CsvReader {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn read(
        &mut self,
        sink: &mut super::RowSink<'_>,
    ) -> Result<std::collections::BTreeMap<String, String>> {
        for f in &self.files {
            read_batches(
                f,
                &self.schema,
                &self.types,
                &self.options,
                self.batch_rows,
                &mut *sink.emit,
                &mut *sink.bad,
            )?;
        }
        Ok(Default::default())
    }
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

    #[test]
    fn sniffs_delimiters_outside_quotes() {
        assert_eq!(sniff_delimiter("a;b;c\n1;\"x,y\";3\n4;5;6\n"), b';');
        assert_eq!(sniff_delimiter("a\tb\n1\t2\n"), b'\t');
        assert_eq!(sniff_delimiter("a|b|c\n1|2|3\n"), b'|');
        assert_eq!(sniff_delimiter("a,b\n\"1;2\",3\n"), b',');
    }

    #[test]
    fn detects_boms_and_bare_utf16() {
        assert_eq!(detect_encoding(b"\xEF\xBB\xBFa,b"), encoding_rs::UTF_8);
        assert_eq!(detect_encoding(b"\xFF\xFEa\0,\0b\0"), encoding_rs::UTF_16LE);
        // encoding_rs only decodes UTF-16 (WHATWG), so the test builds the bytes itself.
        let bytes: Vec<u8> = "id,name\n1,abc\n"
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        assert_eq!(detect_encoding(&bytes), encoding_rs::UTF_16LE);
        let bytes: Vec<u8> = "id,name\n1,abc\n"
            .encode_utf16()
            .flat_map(|u| u.to_be_bytes())
            .collect();
        assert_eq!(detect_encoding(&bytes), encoding_rs::UTF_16BE);
    }
}
