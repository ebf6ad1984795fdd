//! CSV records read many at a time: what the CSV source infers types from and converts.
//!
//! The input is read in large blocks and split into records and fields in place. A field is a span of the block
//! (unquoted, or quoted without `""` inside): nothing is copied. Only quoted fields with `""` (or text after the
//! closing quote) are rewritten, into an area after the block. One UTF-8 check covers a whole block, and a
//! [`crate::batch::BatchBuilder`] reads the fields column by column, with no allocation per row.
//!
//! Fields are cut at the field ends [`QuoteScan`] marks (the quoting rules live there, shared with the split
//! search); after a quoted field's closing quote, any text up to the next delimiter is kept as it is; `\n`, `\r`
//! and `\r\n` end a record; blank lines are skipped; a quote left open at the end of the input ends there. The
//! tests compare all of it with the `csv` crate.

use std::io::Read;

use super::quotes::QuoteScan;
use crate::batch::Cells;

/// Rows read by [`RowReader::read`]: those with the expected number of fields, and the others (`odd`).
pub struct Rows {
    text: String,
    /// Where each field starts and ends in `text`, row after row (every row has `width` fields).
    spans: Vec<(usize, usize)>,
    width: usize,
    /// The 1-based line of the file where each row starts.
    lines: Vec<u64>,
    /// Rows with another number of fields than `width`: their line and fields.
    pub odd: Vec<(u64, Vec<String>)>,
}

impl Rows {
    pub fn new(width: usize) -> Self {
        Self {
            text: String::new(),
            spans: Vec::new(),
            width,
            lines: Vec::new(),
            odd: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// The line of the file where row `row` starts.
    pub fn line(&self, row: usize) -> u64 {
        self.lines[row]
    }

    pub fn field(&self, row: usize, column: usize) -> &str {
        let (start, end) = self.spans[row * self.width + column];
        &self.text[start..end]
    }

    /// A row's fields, for a quarantine file.
    pub fn fields(&self, row: usize) -> Vec<String> {
        (0..self.width)
            .map(|c| self.field(row, c).to_string())
            .collect()
    }
}

impl Cells for Rows {
    fn rows(&self) -> usize {
        self.len()
    }

    fn cell(&self, row: usize, column: usize) -> Option<&str> {
        Some(self.field(row, column))
    }
}

/// How much input is read at a time, at least and at most.
const MIN_READ_BYTES: usize = 16 * 1024;
const MAX_READ_BYTES: usize = 1 << 20;

/// Marks a span that points into the rewritten fields rather than the block (moved once the block is final).
const REWRITTEN: usize = 1 << (usize::BITS - 1);

/// Reads CSV records from `input`, a group of rows at a time.
pub struct RowReader<R> {
    input: R,
    delimiter: u8,
    /// The line where the next record starts (after `line_offset` lines before the part being read).
    line: u64,
    /// The first record is a header to skip.
    skip_first: bool,
    /// Input read but not yet parsed: the start of the next record, carried to the next block.
    pending: Vec<u8>,
    started: bool,
    eof: bool,
    /// Spans of the record being parsed.
    record: Vec<(usize, usize)>,
    /// Quoted fields rewritten without their `""`.
    rewritten: Vec<u8>,
    /// Bytes per row in the last group read.
    row_bytes: usize,
    /// Where the field ends are, from the record being parsed on.
    cursor: Cursor,
}

/// What [`RowReader::parse_record`] found at a position.
enum Parsed {
    /// A record (its spans are in `RowReader::record`), where the next one starts, the blank lines before it
    /// and the newlines in it (its own and those in quoted fields).
    Record {
        next: usize,
        blank_lines: u64,
        newlines: u64,
    },
    /// The record goes on past the bytes read so far.
    Incomplete,
    /// Nothing but blank lines until the end of the input.
    End,
}

impl<R: Read> RowReader<R> {
    /// `strip_bom`: the input starts at the file's first byte, where a UTF-8 byte order mark is not data.
    pub fn new(
        input: R,
        delimiter: u8,
        line_offset: u64,
        skip_first: bool,
        strip_bom: bool,
    ) -> Self {
        Self {
            input,
            delimiter,
            line: line_offset + 1,
            skip_first,
            pending: Vec::new(),
            started: !strip_bom,
            eof: false,
            record: Vec::new(),
            rewritten: Vec::new(),
            row_bytes: 256,
            cursor: Cursor::at(delimiter, 0),
        }
    }

    /// Replaces `rows` with the next records, at most `max_rows` with `rows.width` fields (and any others met on
    /// the way, in `rows.odd`). `false` once the input is exhausted and nothing was read.
    pub fn read(&mut self, rows: &mut Rows, max_rows: usize) -> std::io::Result<bool> {
        rows.spans.clear();
        rows.lines.clear();
        rows.odd.clear();
        self.rewritten.clear();
        let mut block = std::mem::take(&mut rows.text).into_bytes();
        block.clear();
        block.append(&mut self.pending);
        self.cursor = Cursor::at(self.delimiter, 0);
        let mut at = 0;
        while rows.lines.len() < max_rows {
            let parsed = self.parse_record(&block, at);
            match parsed {
                Parsed::Record {
                    next,
                    blank_lines,
                    newlines,
                } => {
                    let line = self.line + blank_lines;
                    self.line = line + newlines;
                    at = next;
                    if std::mem::take(&mut self.skip_first) {
                        continue;
                    }
                    if self.record.len() == rows.width {
                        rows.spans.extend_from_slice(&self.record);
                        rows.lines.push(line);
                    } else {
                        let fields = self
                            .record
                            .iter()
                            .map(|&span| {
                                String::from_utf8_lossy(self.span(&block, span)).into_owned()
                            })
                            .collect();
                        rows.odd.push((line, fields));
                    }
                }
                Parsed::End => break,
                Parsed::Incomplete => {
                    // What the rows still wanted should take, by the size of the rows so far: whatever is read
                    // past them is copied over to the next group.
                    let row_bytes = if rows.lines.is_empty() {
                        self.row_bytes
                    } else {
                        at / (rows.lines.len() + rows.odd.len())
                    };
                    self.row_bytes = row_bytes.max(1);
                    let wanted = (max_rows - rows.lines.len()) * self.row_bytes + 4096;
                    let have = block.len() - at;
                    // At least as much again as is already waiting: a record longer than the reads (a huge
                    // field) is parsed again after each read, so reads double to keep that linear.
                    let more = wanted
                        .saturating_sub(have)
                        .clamp(MIN_READ_BYTES, MAX_READ_BYTES)
                        .max(have);
                    if self.fill(&mut block, more)? == 0 {
                        self.eof = true;
                    }
                    // The record is parsed again from its start, its field ends with it.
                    self.cursor = Cursor::at(self.delimiter, at);
                }
            }
        }
        self.pending.extend_from_slice(&block[at..]);
        block.truncate(at);
        if !self.rewritten.is_empty() {
            let base = block.len();
            block.extend_from_slice(&self.rewritten);
            for span in rows.spans.iter_mut().filter(|(s, _)| s & REWRITTEN != 0) {
                *span = ((span.0 & !REWRITTEN) + base, (span.1 & !REWRITTEN) + base);
            }
        }
        rows.text = into_text(block, &mut rows.spans);
        Ok(!rows.lines.is_empty() || !rows.odd.is_empty())
    }

    /// The fields of the first record (a header), or `None` for an input without any.
    pub fn first_record(&mut self) -> std::io::Result<Option<Vec<String>>> {
        let mut block = std::mem::take(&mut self.pending);
        loop {
            match self.parse_record(&block, 0) {
                Parsed::Record { .. } => {
                    let fields = self
                        .record
                        .iter()
                        .map(|&span| String::from_utf8_lossy(self.span(&block, span)).into_owned())
                        .collect();
                    return Ok(Some(fields));
                }
                Parsed::End => return Ok(None),
                Parsed::Incomplete => {
                    let have = block.len();
                    if self.fill(&mut block, have.max(MIN_READ_BYTES))? == 0 {
                        self.eof = true;
                    }
                    self.cursor = Cursor::at(self.delimiter, 0);
                }
            }
        }
    }

    /// Appends at most `wanted` more bytes of input to `block`; 0 at the end of the input.
    fn fill(&mut self, block: &mut Vec<u8>, wanted: usize) -> std::io::Result<usize> {
        let before = block.len();
        (&mut self.input).take(wanted as u64).read_to_end(block)?;
        if !self.started {
            self.started = true;
            // A UTF-8 byte order mark is not part of the first field.
            if block[before..].starts_with(b"\xEF\xBB\xBF") {
                block.drain(before..before + 3);
            }
        }
        Ok(block.len() - before)
    }

    fn span<'a>(&'a self, block: &'a [u8], (start, end): (usize, usize)) -> &'a [u8] {
        if start & REWRITTEN != 0 {
            &self.rewritten[start & !REWRITTEN..end & !REWRITTEN]
        } else {
            &block[start..end]
        }
    }

    /// Parses the record that starts at `data[at..]` (after any blank lines) into `self.record`, cutting fields
    /// at the field ends [`QuoteScan`] marks.
    fn parse_record(&mut self, data: &[u8], mut at: usize) -> Parsed {
        let (len, eof) = (data.len(), self.eof);
        self.record.clear();
        let rewritten_before = self.rewritten.len();
        let incomplete = |this: &mut Self| {
            this.rewritten.truncate(rewritten_before);
            Parsed::Incomplete
        };
        // Blank lines (and the `\n` of a `\r\n`) before the record.
        let mut blank_lines = 0;
        while at < len && (data[at] == b'\n' || data[at] == b'\r') {
            blank_lines += u64::from(data[at] == b'\n');
            at += 1;
        }
        if at == len {
            return if eof { Parsed::End } else { incomplete(self) };
        }
        let start = at;
        let mut quoted = false;
        loop {
            let end = match self.cursor.next_end(data, at) {
                Some(end) => end,
                None if eof => len,
                None => return incomplete(self),
            };
            if data.get(at) == Some(&b'"') {
                quoted = true;
                if self.cursor.plain_quoted(at, end) {
                    self.record.push((at + 1, end - 1));
                } else {
                    self.push_quoted(data, at, end);
                }
            } else {
                self.record.push((at, end));
            }
            let next = match data.get(end) {
                None => len,
                Some(b'\n') => end + 1,
                Some(b'\r') if end + 1 < len => end + 1 + usize::from(data[end + 1] == b'\n'),
                Some(b'\r') if eof => end + 1,
                Some(b'\r') => return incomplete(self),
                Some(_) => {
                    // The delimiter: another field follows.
                    at = end + 1;
                    continue;
                }
            };
            // Newlines inside quoted fields count too: lines are the file's. Counting them costs a pass over the
            // record, so only where a window had one.
            let newlines = if quoted && self.cursor.quoted_newlines_until > start {
                memchr::memchr_iter(b'\n', &data[start..next]).count() as u64
            } else {
                u64::from(data[next - 1] == b'\n')
            };
            return Parsed::Record {
                next,
                blank_lines,
                newlines,
            };
        }
    }

    /// Adds the quoted field `data[at..end]` (from its opening quote to the field end) to the record: a span of
    /// the block when it is simply `"…"`, else its text without the quotes and with `""` as one quote, and any
    /// text after the closing quote kept as it is.
    fn push_quoted(&mut self, data: &[u8], at: usize, end: usize) {
        let content = &data[at + 1..end];
        if let [inner @ .., b'"'] = content
            && memchr::memchr(b'"', inner).is_none()
        {
            self.record.push((at + 1, end - 1));
            return;
        }
        let start = self.rewritten.len();
        let mut rest = content;
        loop {
            match memchr::memchr(b'"', rest) {
                // A quote left open at the end of the input ends there.
                None => {
                    self.rewritten.extend_from_slice(rest);
                    break;
                }
                Some(k) if rest.get(k + 1) == Some(&b'"') => {
                    self.rewritten.extend_from_slice(&rest[..=k]);
                    rest = &rest[k + 2..];
                }
                Some(k) => {
                    self.rewritten.extend_from_slice(&rest[..k]);
                    self.rewritten.extend_from_slice(&rest[k + 1..]);
                    break;
                }
            }
        }
        let end = self.rewritten.len();
        self.record.push((start | REWRITTEN, end | REWRITTEN));
    }
}

/// The windows [`QuoteScan`] classified, from a record's start on: each follows the last.
struct Cursor {
    scan: QuoteScan,
    /// Where the current window starts and ends in the block.
    base: usize,
    next: usize,
    /// Its field ends (bit `i` for byte `base + i`).
    ends: u64,
    /// The quotes of this window and the one before it: bit `i` for byte `quotes_from + i`.
    quotes: u128,
    quotes_from: usize,
    /// Where the last window with a newline inside quotes ended: a record that starts there or later has none.
    quoted_newlines_until: usize,
}

impl Cursor {
    /// Classifying from `at`, a record's start (where the quoting rules start afresh).
    fn at(delimiter: u8, at: usize) -> Self {
        Self {
            scan: QuoteScan::new(delimiter),
            base: at,
            next: at,
            ends: 0,
            quotes: 0,
            quotes_from: at,
            quoted_newlines_until: 0,
        }
    }

    /// Whether the field `data[at..end]`, which starts with a quote, is simply `"…"` (no other quote inside, none
    /// after): then it is a span of the block. `false` also when the quote bits no longer reach back to `at`.
    #[inline]
    fn plain_quoted(&self, at: usize, end: usize) -> bool {
        let (Some(from), Some(len)) = (at.checked_sub(self.quotes_from), end.checked_sub(at))
        else {
            return false;
        };
        if len < 2 || from + len >= 128 || end > self.next {
            return false;
        }
        let quotes = (self.quotes >> from) & ((1u128 << len) - 1);
        quotes == 1 | (1 << (len - 1))
    }

    /// The first field end at or after `from` (which only moves forward), or `None` when `data` ends first.
    #[inline]
    fn next_end(&mut self, data: &[u8], from: usize) -> Option<usize> {
        loop {
            let start = from.max(self.base);
            if start < self.next {
                let ends = self.ends >> (start - self.base);
                if ends != 0 {
                    return Some(start + ends.trailing_zeros() as usize);
                }
            }
            if self.next >= data.len() {
                return None;
            }
            let end = (self.next + 64).min(data.len());
            let window = self.scan.classify(&data[self.next..end]);
            self.ends = window.ends;
            // Windows are 64 bytes but for the last one in the data, after which no other is classified. The
            // window before this one is in the low half when it was the first since the cursor started, else in
            // the high half.
            if self.next - self.base == 64 {
                let before = if self.quotes_from == self.base {
                    self.quotes
                } else {
                    self.quotes >> 64
                };
                self.quotes = before | (u128::from(window.quotes) << 64);
                self.quotes_from = self.base;
            } else {
                self.quotes = u128::from(window.quotes);
                self.quotes_from = self.next;
            }
            if window.newlines & window.quoted != 0 {
                self.quoted_newlines_until = end;
            }
            self.base = self.next;
            self.next = end;
        }
    }
}

/// The block as a string. Invalid UTF-8 becomes U+FFFD, field by field, as a decoder would have it.
///
/// Every span starts and ends next to an ASCII byte (a delimiter, a quote, a newline) or at the start of the
/// block or of a rewritten field, so when the block is valid UTF-8 as a whole, each field is too.
fn into_text(block: Vec<u8>, spans: &mut [(usize, usize)]) -> String {
    let bytes = match String::from_utf8(block) {
        Ok(text) => return text,
        Err(e) => e.into_bytes(),
    };
    let mut text = String::with_capacity(bytes.len());
    for span in spans.iter_mut() {
        let start = text.len();
        text.push_str(&String::from_utf8_lossy(&bytes[span.0..span.1]));
        *span = (start, text.len());
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(text: &[u8], width: usize, max_rows: usize) -> Vec<(u64, Vec<String>)> {
        let mut reader = RowReader::new(text, b',', 0, true, true);
        let mut rows = Rows::new(width);
        let mut out = Vec::new();
        while reader.read(&mut rows, max_rows).unwrap() {
            let mut group: Vec<(u64, Vec<String>)> = (0..rows.len())
                .map(|r| (rows.line(r), rows.fields(r)))
                .chain(rows.odd.iter().cloned())
                .collect();
            group.sort_by_key(|(line, _)| *line);
            out.extend(group);
        }
        out
    }

    /// The same text read by the `csv` crate (`csv_core`'s rules), with the line of each record's first byte.
    fn read_with_csv_crate(text: &[u8]) -> Vec<Vec<String>> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_reader(text);
        reader
            .byte_records()
            .map(|r| {
                r.unwrap()
                    .iter()
                    .map(|f| String::from_utf8_lossy(f).into_owned())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn reads_records_in_groups_with_their_lines() {
        let text = b"a,b\r\n1,\"x,\"\"y\"\"\nz\"\n\n2,w\n3\n4,\xff\xfe\n5,\xc3\n";
        let expected: Vec<(u64, Vec<String>)> = vec![
            (2, vec!["1".into(), "x,\"y\"\nz".into()]),
            (5, vec!["2".into(), "w".into()]),
            (6, vec!["3".into()]),
            (7, vec!["4".into(), "\u{fffd}\u{fffd}".into()]),
            (8, vec!["5".into(), "\u{fffd}".into()]),
        ];
        for max_rows in [1, 2, 100] {
            assert_eq!(
                read_all(text, 2, max_rows),
                expected,
                "{max_rows} rows at a time"
            );
        }
    }

    #[test]
    fn fields_are_split_as_the_csv_crate_splits_them() {
        let cases: [&[u8]; 12] = [
            b"h1,h2\n\"a\"\"b\",c\n",
            b"h1,h2\n\"ab\"cd,e\n",
            b"h1,h2\n27\" monitor,x\n",
            b"h1,h2\n \"q\" ,x\n",
            b"h1,h2\n\"\",\"\"\"\"\n",
            b"h1,h2\r\n1,2\r\n\r\n3,4",
            b"h1,h2\r1,2\r3,4\r",
            b"h1,h2\n1,\"open\nto the end",
            b"h1,h2\n1,2,\n,\n\n",
            b"\xEF\xBB\xBFh1,h2\n\xEF\xBB\xBF,x\n",
            b"h1,h2\n\"a\r\nb\",\"\"\"x\"\"\"y\n",
            b"h1\n\n\n",
        ];
        for text in cases {
            let ours: Vec<Vec<String>> = read_all(text, 2, 3).into_iter().map(|(_, f)| f).collect();
            assert_eq!(
                ours,
                read_with_csv_crate(text),
                "{:?}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn random_text_is_split_as_the_csv_crate_splits_it() {
        // Records of every shape (long and short fields, quotes in every place, CRLF, bare CR, blank lines),
        // enough of them for the bit-mask path, the byte-by-byte path and read boundaries to meet them all.
        let pieces: [&[u8]; 14] = [
            b"plain",
            b"",
            b"\"quoted, with comma\"",
            b"\"say \"\"hi\"\"\"",
            b"\"two\nlines\"",
            b"\"ab\"tail",
            b"ab\"c",
            b" \"q\" ",
            b"\"\"",
            b"a rather longer unquoted field that runs past one window of sixty-four bytes, easily",
            b"\"a rather longer quoted field, with a comma, that runs past one window of sixty-four bytes\"",
            b"12345",
            b"\"x\r\ny\"",
            b"2025-03-01",
        ];
        let endings: [&[u8]; 5] = [b"\n", b"\n", b"\r\n", b"\r", b"\n\n"];
        let mut next = super::super::seeded(11);
        let mut text = b"h1,h2,h3\n".to_vec();
        for _ in 0..20_000 {
            let fields = if next(10) == 0 { 1 + next(5) } else { 3 };
            for f in 0..fields {
                if f > 0 {
                    text.push(b',');
                }
                text.extend_from_slice(pieces[next(pieces.len())]);
            }
            text.extend_from_slice(endings[next(endings.len())]);
        }
        for max_rows in [7, 4096] {
            // No row has 99 fields: all come back in `odd`, in the order read (bare `\r` endings put several
            // records on one line, so lines cannot order them).
            let ours: Vec<Vec<String>> = read_all(&text, 99, max_rows)
                .into_iter()
                .map(|(_, f)| f)
                .collect();
            let theirs = read_with_csv_crate(&text);
            assert_eq!(ours.len(), theirs.len());
            for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
                assert_eq!(a, b, "record {i}");
            }
        }
    }

    #[test]
    fn quoted_fields_across_windows_are_known_plain_only_without_inner_quotes() {
        // 52-byte fields: the first inside the first 64-byte window, the others each across two windows (the
        // first pair, then later ones).
        let long = "a".repeat(50);
        let text = format!("\"{long}\",\"{long}\",\"{long}\"\"q\",\"{long}\",x\n");
        let data = text.as_bytes();
        let mut cursor = Cursor::at(b',', 0);
        let mut at = 0;
        let mut plain = Vec::new();
        while let Some(end) = cursor.next_end(data, at) {
            if data[at] == b'"' {
                plain.push(cursor.plain_quoted(at, end));
            }
            at = end + 1;
        }
        assert_eq!(plain, [true, true, false, true]);
    }

    #[test]
    fn a_byte_order_mark_is_data_except_at_the_start_of_the_file() {
        let text = b"\xEF\xBB\xBFa,b\n";
        let mut rows = Rows::new(2);
        // A part of a file that starts with the character U+FEFF: the part's first field keeps it.
        let mut reader = RowReader::new(&text[..], b',', 10, false, false);
        assert!(reader.read(&mut rows, 10).unwrap());
        assert_eq!(rows.fields(0), ["\u{feff}a", "b"]);
        assert_eq!(rows.line(0), 11);
        let mut reader = RowReader::new(&text[..], b',', 0, false, true);
        assert!(reader.read(&mut rows, 10).unwrap());
        assert_eq!(rows.fields(0), ["a", "b"]);
    }

    #[test]
    fn a_field_far_longer_than_a_read_comes_out_whole() {
        let long = "x".repeat(5 << 20);
        let text = format!("h1,h2\n1,\"{long}\"\n2,{long}\n3,end\n");
        let rows = read_all(text.as_bytes(), 2, 4096);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].1[1].len(), long.len());
        assert_eq!(rows[1].1[1].len(), long.len());
        assert_eq!(rows[2], (4, vec!["3".to_string(), "end".into()]));
    }

    #[test]
    fn the_first_record_is_read_whole() {
        let text = format!("\u{feff}\"a,\"\"b\"\"\",{}\r\n1,2\n", "c".repeat(100_000));
        let mut reader = RowReader::new(text.as_bytes(), b',', 0, false, true);
        let first = reader.first_record().unwrap().unwrap();
        assert_eq!(first, ["a,\"b\"".to_string(), "c".repeat(100_000)]);
        assert_eq!(
            RowReader::new(&b"\n\r\n"[..], b',', 0, false, true)
                .first_record()
                .unwrap(),
            None
        );
    }

    #[test]
    fn a_character_split_by_a_delimiter_is_not_joined() {
        // The bytes of `é` on both sides of a delimiter: valid once the delimiter is gone, invalid in each field.
        let rows = read_all(b"h1,h2\n\xc3,\xa9\n", 2, 10);
        assert_eq!(rows, [(2, vec!["\u{fffd}".to_string(), "\u{fffd}".into()])]);
    }

    #[test]
    fn records_split_across_reads_come_out_whole() {
        // Far more than one read: records, quotes and `""` fall across every read boundary somewhere.
        let mut text = String::from("id,note\n");
        let mut expected = Vec::new();
        for i in 0..40_000u64 {
            let note = match i % 4 {
                0 => format!("plain {i}"),
                1 => format!("\"with, comma {i}\""),
                2 => format!("\"say \"\"hi\"\" {i}\""),
                _ => format!("\"two\nlines {i}\""),
            };
            text.push_str(&format!("{i},{note}\n"));
            expected.push(vec![
                i.to_string(),
                read_with_csv_crate(format!("h,n\n1,{note}\n").as_bytes())[0][1].clone(),
            ]);
        }
        let rows = read_all(text.as_bytes(), 2, 4096);
        assert_eq!(rows.len(), 40_000);
        let fields: Vec<Vec<String>> = rows.iter().map(|(_, f)| f.clone()).collect();
        assert_eq!(fields, expected);
        // Lines: every fourth record spans two lines.
        assert_eq!(rows[3].0, 5);
        assert_eq!(rows[4].0, 7);
        assert_eq!(rows[39_999].0, 2 + 39_999 + 9_999);
    }
}
