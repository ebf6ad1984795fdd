//! What a CSV file is written like: its encoding, delimiter, Excel's `sep=` line and header, read from its
//! first bytes, and the decoded text for files that are not UTF-8.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use encoding_rs::Encoding;

use super::CsvConfig;
use super::quotes::QuoteScan;
use super::rows::RowReader;
use crate::error::{EtlError, Result};
use crate::sources::clean_names;

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

/// How many times `d` separates fields in `line`, by the quoting rules the reader follows ([`QuoteScan`]): a
/// `"` opens a quoted field only as a field's first byte, so `27" monitor` hides no delimiters.
fn count_outside_quotes(line: &str, d: u8) -> usize {
    let mut scan = QuoteScan::new(d);
    line.as_bytes()
        .chunks(64)
        .map(|window| {
            let mut ends = scan.classify(window).ends;
            let mut n = 0;
            while ends != 0 {
                n += usize::from(window[ends.trailing_zeros() as usize] == d);
                ends &= ends - 1;
            }
            n
        })
        .sum()
}

/// Opens `path` as decoded UTF-8 text, without its BOM and without Excel's `sep=` line.
pub(super) fn open_text(file: &CsvFile) -> Result<Box<dyn BufRead + Send>> {
    let raw =
        std::fs::File::open(&file.path).map_err(|e| EtlError::failed(file.label.clone(), e))?;
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
            .map_err(|e| EtlError::failed(file.label.clone(), e))?;
    }
    Ok(Box::new(reader))
}

/// Inspects a file: encoding, `sep=` line, delimiter and header.
pub fn inspect(path: &Path, config: &CsvConfig, normalize_names: bool) -> Result<CsvFile> {
    let name = path.display().to_string();
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    std::fs::File::open(path)
        .and_then(|f| f.take(SNIFF_BYTES as u64).read_to_end(&mut head))
        .map_err(|e| EtlError::failed(&name, e))?;
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
    let mut reader = RowReader::new(open_text(&file)?, file.delimiter, 0, false, false);
    let Some(first) = reader
        .first_record()
        .map_err(|e| EtlError::failed(&name, e))?
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

/// Reads a whole (small) text for tests and previews.
pub fn decode_all(file: &CsvFile) -> Result<String> {
    let mut s = String::new();
    open_text(file)?
        .read_to_string(&mut s)
        .map_err(|e| EtlError::failed(file.label.clone(), e))?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_delimiters_outside_quotes() {
        assert_eq!(sniff_delimiter("a;b;c\n1;\"x,y\";3\n4;5;6\n"), b';');
        assert_eq!(sniff_delimiter("a\tb\n1\t2\n"), b'\t');
        assert_eq!(sniff_delimiter("a|b|c\n1|2|3\n"), b'|');
        assert_eq!(sniff_delimiter("a,b\n\"1;2\",3\n"), b',');
        // A `"` inside a field is a literal (inches), not a quoted part that hides the commas after it.
        let inches = "id;code,size,price\n1;27\" monitor,large,199\n2;32\" tv,small,299\n3;x,y,z\n";
        assert_eq!(sniff_delimiter(inches), b',');
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
