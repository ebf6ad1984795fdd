//! CSV files (local paths and globs): encoding detection, delimiter sniffing, quoted fields with embedded
//! delimiters and newlines, CRLF, Excel's `sep=` line, and header names made unique deterministically.
//!
//! Column types come from a sample of each file's first rows and are confirmed on every row while converting (a
//! value that breaks one makes the pipeline start again with inference over every row). Big UTF-8 files are
//! converted in two halves at once ([`split`]). Files are streamed: memory stays bounded by the batch size
//! whatever the file size.
//!
//! One job a file: [`config`] (the `source:` block), [`dialect`] (encoding, delimiter, header), [`quotes`] (the
//! quoting rules), [`rows`] (records cut into fields), [`split`] (two halves at once), [`infer`] (pass 1, types),
//! [`convert`] (pass 2, batches and bad rows) and [`reader`] (the [`crate::sources::TableReader`]).

mod config;
mod convert;
mod dialect;
mod infer;
mod quotes;
mod reader;
mod rows;
mod split;

pub use config::{CsvConfig, S3Access};
pub(crate) use config::{delimiter_named, encoding_named};
pub use dialect::{CsvFile, decode_all, detect_encoding, inspect, sniff_delimiter};
pub use infer::infer_columns;
pub use reader::CsvReader;

/// A seeded pseudo-random pick in `0..n` (a 64-bit LCG): the same text every run for the randomized tests.
#[cfg(test)]
fn seeded(mut seed: u64) -> impl FnMut(usize) -> usize {
    move |n| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as usize % n
    }
}
