//! CSV files (local paths and globs): encoding detection, delimiter sniffing, quoted fields with embedded
//! delimiters and newlines, CRLF, Excel's `sep=` line, and header names made unique deterministically.
//!
//! Column types come from a sample of each file's first rows and are confirmed on every row while converting (a
//! value that breaks one makes the pipeline start again with inference over every row). Big UTF-8 files are
//! converted in two halves at once ([`in_two_halves`]). Files are streamed: memory stays bounded by the batch
//! size whatever the file size.

use std::io::{BufRead, BufReader, Read};

use super::csv_rows;
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
    /// For `s3://bucket/prefix/*.csv` paths: an S3-compatible endpoint and credentials (default: the usual AWS
    /// environment variables).
    #[serde(default)]
    pub s3: Option<S3Access>,
}

/// Where and how to reach S3 for a CSV path that is an `s3://` URL.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Access {
    #[serde(default)]
    pub endpoint: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub access_key_id: Option<String>,
    #[serde(default)]
    pub secret_access_key: Option<String>,
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
    /// For an object-store URL (`s3://bucket/prefix/*.csv`), the S3 source that fetches it.
    pub fn as_s3(&self) -> Option<super::s3::S3Config> {
        let rest = self.path.strip_prefix("s3://")?;
        // The last segment names the objects (a glob, or one object's exact name) directly under the folder.
        let (dir, name) = match rest.rsplit_once('/') {
            Some((dir, name)) if name.contains(['*', '?', '[']) => {
                (dir.to_string(), name.to_string())
            }
            Some((dir, name)) => (dir.to_string(), glob::Pattern::escape(name)),
            None => (rest.to_string(), "*".to_string()),
        };
        let access = self.s3.clone().unwrap_or_default();
        Some(super::s3::S3Config {
            url: format!("s3://{dir}"),
            endpoint: access.endpoint,
            region: access.region,
            path_style: None,
            access_key_id: access.access_key_id,
            secret_access_key: access.secret_access_key,
            format: super::s3::S3Format::Csv,
            pattern: Some(name),
            direct_children_only: true,
            incremental: false,
            encoding: self.encoding.clone(),
            delimiter: self.delimiter.clone(),
        })
    }

    /// The files the config names, sorted; an error when there are none.
    pub fn files(&self) -> Result<Vec<PathBuf>> {
        let path = self.path.strip_prefix("file://").unwrap_or(&self.path);
        let matches =
            glob::glob(path).map_err(|e| EtlError::source(&self.path, format!("bad glob: {e}")))?;
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
fn open_text(file: &CsvFile) -> Result<Box<dyn BufRead + Send>> {
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
    // The header goes through the same reader as the rows (the decoder took off any byte order mark).
    let mut reader = csv_rows::RowReader::new(open_text(&file)?, file.delimiter, 0, false, false);
    let Some(first) = reader
        .first_record()
        .map_err(|e| EtlError::source(&name, e.to_string()))?
    else {
        return Err(EtlError::source(&name, "the file has no rows"));
    };
    let raw: Vec<String> = if config.header {
        first
    } else {
        (1..=first.len()).map(|i| format!("column_{i}")).collect()
    };
    file.columns = clean_names(&raw, normalize_names);
    Ok(file)
}

/// Reads the data rows of `file`, or of a part of a UTF-8 file, a group at a time (see [`csv_rows`]).
///
/// UTF-8 files are read as they are (no decoding copy); other encodings through a decoder.
fn open_rows<'a>(
    file: &CsvFile,
    range: Option<Range<'a>>,
) -> Result<csv_rows::RowReader<Box<dyn Read + Send + 'a>>> {
    let err = |e: std::io::Error| EtlError::source(&file.label, e.to_string());
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
            return Ok(csv_rows::RowReader::new(
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
    Ok(csv_rows::RowReader::new(
        Box::new(ranged),
        file.delimiter,
        range.lines_before,
        range.header,
        range.from == 0,
    ))
}

/// A part of a UTF-8 file: bytes `from..to`, whether it starts with the header, and the lines before it.
#[derive(Debug, Clone, Copy)]
struct Range<'a> {
    from: u64,
    to: End<'a>,
    header: bool,
    lines_before: u64,
}

/// Where a [`Range`] ends: a known offset, or the split point that another thread is still looking for.
#[derive(Debug, Clone, Copy)]
enum End<'a> {
    At(u64),
    Split(&'a SplitPoint),
}

/// The record boundary that splits a file in two halves, found by one thread while another already reads the
/// first half.
///
/// The split balances the halves: it is the first record boundary after the middle of what the first half has
/// not read yet when the boundary is found, so that both halves end at about the same time (the second one
/// starts later, after the search). The first half may read up to the middle of what is left of the file
/// whenever it reads ("promised"): the split is never placed before a byte the first half has read.
#[derive(Debug)]
struct SplitPoint {
    len: u64,
    state: std::sync::Mutex<SplitState>,
    ready: std::sync::Condvar,
}

#[derive(Debug)]
struct SplitState {
    found: Option<u64>,
    /// How far the first half may read while the split is not found.
    promised: u64,
}

impl SplitPoint {
    /// For a file of `len` bytes whose data starts at `start`: the split is never before the middle.
    fn new(start: u64, len: u64) -> Self {
        Self {
            len,
            state: std::sync::Mutex::new(SplitState {
                found: None,
                promised: start + (len - start) / 2,
            }),
            ready: std::sync::Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SplitState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Where a first half at `pos` may read up to.
    fn limit_for(&self, pos: u64) -> u64 {
        let mut state = self.lock();
        loop {
            if let Some(at) = state.found {
                return at;
            }
            let bound = pos + (self.len - pos) / 2;
            if bound > pos {
                state.promised = state.promised.max(bound);
                return state.promised;
            }
            state = self.ready.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Where the search may stop: the first half's promised bytes are off limits.
    fn target(&self) -> u64 {
        self.lock().promised
    }

    /// Makes `at` the split point, unless the first half has been promised bytes past it meanwhile.
    fn commit(&self, at: u64) -> bool {
        let mut state = self.lock();
        if state.found.is_none() && at >= state.promised {
            state.found = Some(at);
            self.ready.notify_all();
            return true;
        }
        false
    }

    /// No split: the first half reads to the end.
    fn give_up(&self) {
        let mut state = self.lock();
        if state.found.is_none() {
            state.found = Some(self.len);
            self.ready.notify_all();
        }
    }
}

/// Reads a file from a position up to a [`Range`]'s end, which may be a split point still being searched.
struct RangeReader<'a> {
    file: std::fs::File,
    pos: u64,
    end: End<'a>,
}

impl Read for RangeReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let limit = match self.end {
            End::At(end) => end,
            End::Split(split) => split.limit_for(self.pos),
        };
        let room = (limit.saturating_sub(self.pos) as usize).min(buf.len());
        if room == 0 {
            return Ok(0);
        }
        let n = self.file.read(&mut buf[..room])?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// Rows read at a time: a few hundred kilobytes of text, which stays in the CPU's cache while it is parsed
/// column by column.
const GROUP_ROWS: usize = 4096;

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
    let mut rows = csv_rows::Rows::new(width);
    let mut seen = 0;
    while seen < limit
        && reader
            .read(&mut rows, GROUP_ROWS.min(limit - seen))
            .map_err(|e| EtlError::source(&file.label, e.to_string()))?
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

/// The error a half reports when the other half failed first.
const STOPPED: &str = "stopped: the other half of the file failed";

/// Files smaller than this are read on one thread.
const PARALLEL_BYTES: u64 = 4 << 20;

/// For a UTF-8 file worth splitting in two: (first data byte, file length).
fn splittable(file: &CsvFile) -> Result<Option<(u64, u64)>> {
    let err = |e: std::io::Error| EtlError::source(&file.label, e.to_string());
    let len = std::fs::metadata(&file.path).map_err(err)?.len();
    if file.encoding != encoding_rs::UTF_8 || file.sep_line || len < PARALLEL_BYTES {
        return Ok(None);
    }
    let mut head = [0u8; 3];
    let bom = std::fs::File::open(&file.path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && head == *b"\xEF\xBB\xBF";
    Ok(Some((if bom { 3 } else { 0 }, len)))
}

/// Runs `work(0, first half)` and `work(1, second half)` of a big UTF-8 file at once (`None` for a file read
/// in one go).
///
/// The first half starts right away. The second thread first finds the split point (see [`SplitPoint`] and
/// [`find_split`]: it jumps from quote to quote, several times faster than reading rows), then reads from there.
fn in_two_halves<T: Send>(
    file: &CsvFile,
    work: impl Fn(usize, Range<'_>) -> Result<T> + Sync,
) -> Result<Option<(Result<T>, Result<T>)>> {
    let Some((start, len)) = splittable(file)? else {
        return Ok(None);
    };
    let split = SplitPoint::new(start, len);
    let halves = std::thread::scope(|scope| {
        let second = scope.spawn(|| {
            // Whatever happens here, the first half must not wait forever: without a split it reads to the end.
            let give_up = GiveUp(&split);
            let (at, lines_before) = find_split(file, start, &split)?.unwrap_or((len, 0));
            drop(give_up);
            work(
                1,
                Range {
                    from: at,
                    to: End::At(len),
                    header: false,
                    lines_before,
                },
            )
        });
        let first = work(
            0,
            Range {
                from: start,
                to: End::Split(&split),
                header: file.header,
                lines_before: 0,
            },
        );
        (first, second.join().expect("second half thread"))
    });
    Ok(Some(halves))
}

/// Ends the search for a split point when dropped (found, failed or panicked).
struct GiveUp<'a>(&'a SplitPoint);

impl Drop for GiveUp<'_> {
    fn drop(&mut self) {
        self.0.give_up();
    }
}

/// Finds and commits `split` in a UTF-8 file whose data starts at `start`: (the split, the newlines before it),
/// or `None` when no record boundary is left past what the first half has read.
///
/// Record boundaries are found by following the CSV quoting rules from the start (a `"` opens a quoted field only
/// at a field's start; `""` inside one is a quote; a `"` inside an unquoted field is a literal): a newline outside
/// a quoted field. Blocks without any `"` are skipped at memory speed.
fn find_split(file: &CsvFile, start: u64, split: &SplitPoint) -> Result<Option<(u64, u64)>> {
    let err = |e: std::io::Error| EtlError::source(&file.label, e.to_string());
    let mut f = std::fs::File::open(&file.path).map_err(err)?;
    let mut block = vec![0u8; 1 << 20];
    use std::io::Seek;
    f.seek(std::io::SeekFrom::Start(start)).map_err(err)?;
    let mut pos = start;
    let mut scan = QuoteScan::new(file.delimiter);
    // Newlines before `pos`.
    let mut lines = 0u64;
    loop {
        let n = f.read(&mut block).map_err(err)?;
        if n == 0 {
            return Ok(None);
        }
        let chunk = &block[..n];
        // Scanned: chunk[..i].
        let mut i = 0;
        while i < n {
            let target = split.target();
            if pos + (i as u64) < target {
                let upto = ((target - pos) as usize).min(n);
                scan.advance(&chunk[i..upto], None);
                i = upto;
                continue;
            }
            let Some(k) = scan.advance(&chunk[i..], Some(&mut 0)) else {
                break;
            };
            i += k;
            let at = pos + i as u64;
            if split.commit(at) {
                let before = memchr::memchr_iter(b'\n', &chunk[..i]).count() as u64;
                return Ok(Some((at, lines + before)));
            }
        }
        lines += memchr::memchr_iter(b'\n', chunk).count() as u64;
        pos += n as u64;
    }
}

/// Follows the CSV quoting rules through a file, jumping from quote to quote (and newline) with `memchr`: a `"`
/// opens a quoted field only right after a delimiter or a line end; inside one, `""` is a quote and a lone `"`
/// closes it; any other `"` is a literal.
struct QuoteScan {
    delimiter: u8,
    state: CsvState,
    /// The byte before the part being scanned (a newline at the start of the data).
    prev: u8,
}

impl QuoteScan {
    fn new(delimiter: u8) -> Self {
        Self {
            delimiter,
            state: CsvState::Unquoted,
            prev: b'\n',
        }
    }

    /// Whether a `"` after `byte` opens a quoted field: after a delimiter or a line end (`\n`, or a bare `\r`,
    /// which ends a record too).
    fn opens_after(&self, byte: u8) -> bool {
        byte == self.delimiter || byte == b'\n' || byte == b'\r'
    }

    /// Scans `bytes`. With `newlines`, stops at the first newline outside quotes and returns the index after it,
    /// counting the newlines passed inside quoted fields.
    ///
    /// Whole 64-byte blocks are scanned as bit masks (one bit per byte: quotes, newlines, field starts), visiting
    /// only the quotes, and newlines when stopping at one; the rest byte by byte ([`Self::advance_bytes`]).
    fn advance(&mut self, bytes: &[u8], mut newlines: Option<&mut u64>) -> Option<usize> {
        let mut at = 0;
        while bytes.len() - at >= 64 {
            let block: &[u8; 64] = bytes[at..at + 64].try_into().expect("64 bytes");
            if let Some(end) = self.advance_block(block, newlines.as_deref_mut()) {
                return Some(at + end);
            }
            at += 64;
        }
        self.advance_bytes(&bytes[at..], newlines)
            .map(|end| at + end)
    }

    fn advance_block(&mut self, block: &[u8; 64], newlines: Option<&mut u64>) -> Option<usize> {
        let mask = |byte: u8| csv_rows::byte_mask(block, byte);
        let quotes = mask(b'"');
        let lf = mask(b'\n');
        let separators = lf | mask(b'\r') | mask(self.delimiter);
        // Bytes right after a delimiter or a line end: where a quote opens a quoted field.
        let starts = (separators << 1) | u64::from(self.opens_after(self.prev));
        let stop = newlines.is_some();
        let mut inside_newlines = 0;
        let mut events = quotes | if stop { lf } else { 0 };
        if self.state == CsvState::AfterQuote {
            if quotes & 1 != 0 {
                // `""`: a quote inside the field.
                self.state = CsvState::Quoted;
                events &= !1;
            } else {
                self.state = CsvState::Unquoted;
            }
        }
        let mut found = None;
        while events != 0 {
            let p = events.trailing_zeros() as usize;
            let bit = 1u64 << p;
            events &= events - 1;
            match self.state {
                CsvState::Unquoted if lf & bit != 0 => {
                    found = Some(p + 1);
                    break;
                }
                CsvState::Unquoted => {
                    if starts & bit != 0 {
                        self.state = CsvState::Quoted;
                    }
                }
                CsvState::Quoted if lf & bit != 0 => inside_newlines += 1,
                CsvState::Quoted if p == 63 => self.state = CsvState::AfterQuote,
                CsvState::Quoted => {
                    if quotes & (bit << 1) != 0 {
                        events &= !(bit << 1);
                    } else {
                        self.state = CsvState::Unquoted;
                    }
                }
                CsvState::AfterQuote => unreachable!("settled at the block's start or within it"),
            }
        }
        if let Some(n) = newlines {
            *n += inside_newlines;
        }
        let upto = found.unwrap_or(64);
        self.prev = block[upto - 1];
        found
    }

    fn advance_bytes(&mut self, bytes: &[u8], mut newlines: Option<&mut u64>) -> Option<usize> {
        let mut i = 0;
        let found = loop {
            if i >= bytes.len() {
                break None;
            }
            match self.state {
                CsvState::Quoted => match memchr::memchr(b'"', &bytes[i..]) {
                    None => {
                        if let Some(n) = newlines.as_deref_mut() {
                            *n += memchr::memchr_iter(b'\n', &bytes[i..]).count() as u64;
                        }
                        break None;
                    }
                    Some(k) => {
                        if let Some(n) = newlines.as_deref_mut() {
                            *n += memchr::memchr_iter(b'\n', &bytes[i..i + k]).count() as u64;
                        }
                        i += k + 1;
                        self.state = CsvState::AfterQuote;
                    }
                },
                CsvState::AfterQuote => {
                    if bytes[i] == b'"' {
                        self.state = CsvState::Quoted;
                        i += 1;
                    } else {
                        self.state = CsvState::Unquoted;
                    }
                }
                CsvState::Unquoted => {
                    let next = if newlines.is_some() {
                        memchr::memchr2(b'"', b'\n', &bytes[i..])
                    } else {
                        memchr::memchr(b'"', &bytes[i..])
                    };
                    let Some(k) = next else { break None };
                    let j = i + k;
                    if bytes[j] == b'\n' {
                        break Some(j + 1);
                    }
                    let before = if j == 0 { self.prev } else { bytes[j - 1] };
                    if self.opens_after(before) {
                        self.state = CsvState::Quoted;
                    }
                    i = j + 1;
                }
            }
        };
        let upto = found.unwrap_or(bytes.len());
        if upto > 0 {
            self.prev = bytes[upto - 1];
        }
        found
    }
}

/// Where a byte is, by the CSV quoting rules.
#[derive(Debug, Clone, Copy, PartialEq)]
enum CsvState {
    /// Outside quotes (in an unquoted field, or between fields).
    Unquoted,
    Quoted,
    /// A `"` inside a quoted field: the end of it, or the first half of `""`.
    AfterQuote,
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

/// The conversion pass over one file: rows as Arrow batches of at most `batch_rows`, handed to `emit` one at a
/// time; rows that cannot be loaded go to `bad` instead (which may stop the run by returning an error).
fn read_batches(
    reader: &CsvReader,
    file: &CsvFile,
    range: Option<Range<'_>>,
    mut emit: impl FnMut(RecordBatch) -> Result<()>,
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
    let mut rows = csv_rows::Rows::new(width);
    while input
        .read(&mut rows, GROUP_ROWS.min(batch.room()))
        .map_err(|e| EtlError::source(&file.label, e.to_string()))?
    {
        let refused = batch.push(&rows);
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
            emit(b)?;
        }
    }
    if let Some(b) = batch.take()? {
        emit(b)?;
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
    rows: &'a csv_rows::Rows,
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
    /// How each column's values are written, where not plainly (`1.234,56`, `31.12.2025`).
    formats: Vec<Option<crate::formats::ValueFormat>>,
    hints: Vec<crate::formats::Hint>,
    /// Columns whose type is configured (or published): a value that breaks it is a bad row. Other columns'
    /// types are inferred; when those came from a sample, a breaking value stops the read (`TypeChanged`).
    fixed: Vec<bool>,
    /// Columns that were all null in the sample.
    unsettled: Vec<usize>,
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

impl super::TableReader for CsvReader {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn hints(&self) -> Vec<crate::formats::Hint> {
        self.hints.clone()
    }

    fn read(
        &mut self,
        sink: &mut super::RowSink<'_>,
    ) -> Result<std::collections::BTreeMap<String, String>> {
        // File k is stream 2k (its first half, or all of it) and 2k + 1 (its second half): the manifest lists
        // streams in order, so rows keep the order of the files and of the rows in them. An empty batch ends a
        // stream (its Parquet files are closed).
        let schema = self.schema.clone();
        let end_of = |stream: usize, sink: &mut super::RowSink<'_>| {
            (sink.emit)(stream, RecordBatch::new_empty(schema.clone()))
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
                    |b| {
                        if stop.load(std::sync::atomic::Ordering::Relaxed) {
                            return Err(EtlError::source(&f.label, STOPPED));
                        }
                        let mut sink = shared.lock().expect("sink lock");
                        (sink.emit)(stream, b)
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
                    |b| (sink.emit)(first_stream, b),
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

    #[test]
    fn record_ends_follow_the_quoting_rules() {
        // A `"` inside an unquoted field is a literal; the newline inside the quoted field is not a record end.
        let text: &[u8] = b"1,27\" monitor,\"a\nb\"\"c\"\n2,x,\"\"\n3,\"\n\"\n";
        let expected: Vec<usize> = vec![22, 29, 35];
        let mut ends = Vec::new();
        let mut scan = QuoteScan::new(b',');
        let mut at = 0;
        let mut inside = 0;
        while let Some(end) = scan.advance(&text[at..], Some(&mut inside)) {
            at += end;
            ends.push(at - 1);
        }
        assert_eq!(ends, expected, "{:?}", String::from_utf8_lossy(text));
        assert_eq!(inside, 2, "the newlines inside quoted fields");
        // The same, fed one byte at a time (block boundaries anywhere).
        let mut scan = QuoteScan::new(b',');
        let mut ends = Vec::new();
        for (i, b) in text.iter().enumerate() {
            if scan
                .advance(std::slice::from_ref(b), Some(&mut 0))
                .is_some()
            {
                ends.push(i);
            }
        }
        assert_eq!(ends, expected);
    }

    #[test]
    fn a_quote_after_a_bare_carriage_return_opens_a_field() {
        // Records ended by `\r` only: the `\n` inside the quoted first field is not a record end.
        let mut text = b"a,b\r".to_vec();
        for _ in 0..10 {
            text.extend_from_slice(b"\"note\nmore\",7\r");
        }
        text.extend_from_slice(b"x,y\n");
        let mut scan = QuoteScan::new(b',');
        let end = scan.advance(&text, Some(&mut 0));
        assert_eq!(
            end,
            Some(text.len()),
            "{:?}",
            String::from_utf8_lossy(&text)
        );
        let mut bytes = QuoteScan::new(b',');
        let mut at = 0;
        let mut lines = 0;
        while let Some(k) = bytes.advance_bytes(&text[at..], Some(&mut lines)) {
            at += k;
        }
        assert_eq!(at, text.len());
        assert_eq!(lines, 10, "the newlines inside quotes");
    }

    #[test]
    fn block_scan_agrees_with_the_byte_scan() {
        // Pseudo-random text over the bytes that matter, long enough for many 64-byte blocks.
        let mut seed = 7u64;
        let text: Vec<u8> = (0..20_000)
            .map(|_| {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                b"ab,\"\n\"x,\r"[(seed >> 33) as usize % 9]
            })
            .collect();
        for offset in [0, 1, 63] {
            let mut whole = QuoteScan::new(b',');
            let mut bytes = QuoteScan::new(b',');
            whole.advance(&text[..offset], None);
            bytes.advance_bytes(&text[..offset], None);
            let (mut at_whole, mut at_bytes) = (offset, offset);
            let (mut lines_whole, mut lines_bytes) = (0, 0);
            loop {
                let a = whole.advance(&text[at_whole..], Some(&mut lines_whole));
                let b = bytes.advance_bytes(&text[at_bytes..], Some(&mut lines_bytes));
                assert_eq!(a.map(|k| at_whole + k), b.map(|k| at_bytes + k));
                assert_eq!(lines_whole, lines_bytes);
                match (a, b) {
                    (Some(x), Some(y)) => {
                        at_whole += x;
                        at_bytes += y;
                    }
                    _ => break,
                }
            }
            assert!(at_whole > 10_000, "many records found");
        }
    }
}
