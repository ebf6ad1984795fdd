//! CSV records read many at a time into one buffer: what the CSV source infers types from and converts.
//!
//! `csv_core` applies the quoting rules (quoted delimiters and newlines, `""`, CRLF). The fields of a few thousand
//! rows land back to back in one string, so a [`crate::batch::BatchBuilder`] reads them column by column, with
//! no allocation per row and one UTF-8 check per group of rows.

use std::io::BufRead;

use crate::batch::Cells;

/// Rows read by [`RowReader::read`]: those with the expected number of fields, and the others (`odd`).
pub struct Rows {
    text: String,
    /// Where each field ends in `text`, row after row (every row has `width` fields).
    ends: Vec<usize>,
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
            ends: Vec::new(),
            width,
            lines: Vec::new(),
            odd: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The line of the file where row `row` starts.
    pub fn line(&self, row: usize) -> u64 {
        self.lines[row]
    }

    pub fn field(&self, row: usize, column: usize) -> &str {
        let at = row * self.width + column;
        let start = if at == 0 { 0 } else { self.ends[at - 1] };
        &self.text[start..self.ends[at]]
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

/// Reads CSV records from `input`, a group of rows at a time.
pub struct RowReader<R> {
    input: R,
    core: csv_core::Reader,
    /// Added to `csv_core`'s line numbers: the lines before the part of the file being read.
    line_offset: u64,
    /// The first record is a header to skip.
    skip_first: bool,
    /// Record-relative field ends, as `csv_core` writes them.
    record_ends: Vec<usize>,
    done: bool,
}

impl<R: BufRead> RowReader<R> {
    pub fn new(input: R, delimiter: u8, line_offset: u64, skip_first: bool) -> Self {
        Self {
            input,
            core: csv_core::ReaderBuilder::new().delimiter(delimiter).build(),
            line_offset,
            skip_first,
            record_ends: vec![0; 64],
            done: false,
        }
    }

    /// Replaces `rows` with the next records, at most `max_rows` with `rows.width` fields (and any others met on
    /// the way, in `rows.odd`). `false` once the input is exhausted and nothing was read.
    pub fn read(&mut self, rows: &mut Rows, max_rows: usize) -> std::io::Result<bool> {
        use csv_core::ReadRecordResult::*;
        rows.ends.clear();
        rows.lines.clear();
        rows.odd.clear();
        let mut data = std::mem::take(&mut rows.text).into_bytes();
        let capacity = data.capacity().max(1 << 20);
        data.resize(capacity, 0);
        let mut used = 0;
        while !self.done && rows.lines.len() < max_rows {
            let line_before = self.core.line();
            let (mut out, mut nends) = (0, 0);
            let mut last_byte = 0;
            let finished = loop {
                let input = self.input.fill_buf()?;
                let (result, read, wrote, ended) = self.core.read_record(
                    input,
                    &mut data[used + out..],
                    &mut self.record_ends[nends..],
                );
                if read > 0 {
                    last_byte = input[read - 1];
                }
                self.input.consume(read);
                out += wrote;
                nends += ended;
                match result {
                    InputEmpty => {}
                    OutputFull => data.resize(data.len() * 2, 0),
                    OutputEndsFull => self.record_ends.resize(self.record_ends.len() * 2, 0),
                    Record => break true,
                    End => break false,
                }
            };
            if !finished {
                self.done = true;
                break;
            }
            if std::mem::take(&mut self.skip_first) {
                continue;
            }
            // The line of the record's first byte: back from where it ended, past its own newline and those in
            // quoted fields (counted only when some line was passed besides its own: a blank line skipped, the
            // `\n` of a CRLF, or a field with newlines).
            let after = self.core.line();
            let own_newline = u64::from(last_byte == b'\n');
            let inside = if after - line_before == own_newline {
                0
            } else {
                memchr::memchr_iter(b'\n', &data[used..used + out]).count() as u64
            };
            let line = self.line_offset + after - own_newline - inside;
            let ends = &self.record_ends[..nends];
            if nends == rows.width {
                rows.ends.extend(ends.iter().map(|e| used + e));
                rows.lines.push(line);
                used += out;
            } else {
                let record = &data[used..used + out];
                let fields = ends
                    .iter()
                    .scan(0, |start, &end| {
                        let field = String::from_utf8_lossy(&record[*start..end]).into_owned();
                        *start = end;
                        Some(field)
                    })
                    .collect();
                rows.odd.push((line, fields));
            }
        }
        data.truncate(used);
        rows.text = into_text(data, &mut rows.ends);
        Ok(!rows.lines.is_empty() || !rows.odd.is_empty())
    }
}

/// The fields as a string. Invalid UTF-8 becomes U+FFFD, field by field, as a decoder would have it.
fn into_text(data: Vec<u8>, ends: &mut [usize]) -> String {
    let bytes = match String::from_utf8(data) {
        // Valid as a whole, and every field on its own (a field boundary is never inside a character).
        Ok(text) if ends.iter().all(|&e| text.is_char_boundary(e)) => return text,
        Ok(text) => text.into_bytes(),
        Err(e) => e.into_bytes(),
    };
    let mut text = String::with_capacity(bytes.len());
    let mut start = 0;
    for end in ends.iter_mut() {
        text.push_str(&String::from_utf8_lossy(&bytes[start..*end]));
        start = *end;
        *end = text.len();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(text: &[u8], width: usize, max_rows: usize) -> Vec<(u64, Vec<String>)> {
        let mut reader = RowReader::new(text, b',', 0, true);
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
    fn a_character_split_by_a_delimiter_is_not_joined() {
        // The bytes of `é` on both sides of a delimiter: valid once the delimiter is gone, invalid in each field.
        let rows = read_all(b"h1,h2\n\xc3,\xa9\n", 2, 10);
        assert_eq!(rows, [(2, vec!["\u{fffd}".to_string(), "\u{fffd}".into()])]);
    }
}
