//! The CSV quoting rules, in one place: which delimiters and line ends are outside quoted fields.
//!
//! Both the record reader ([`super::rows`]) and the search for a split point ([`super::split`]) see the text
//! through [`QuoteScan`], 64 bytes at a time, as bit masks (one bit per byte): the reader cuts fields at the
//! field ends it marks, the split search stops at the first line end it marks. The rules are `csv_core`'s (the
//! `csv` crate's), which the reader's tests compare against: a `"` opens a quoted field only as a field's first
//! byte (right after a delimiter or a line end, `\n` or a bare `\r`); inside one, `""` is a quote and delimiters
//! and line ends are text, and a lone `"` closes it; any other `"` is a literal.

/// Where a byte is, by the quoting rules.
#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    /// Outside quotes (in an unquoted field, or between fields).
    Unquoted,
    Quoted,
    /// A `"` inside a quoted field was the last byte scanned: the end of the field, or the first half of `""`.
    AfterQuote,
}

/// Up to 64 bytes of text, classified: bit `i` describes byte `i`.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Window {
    /// Field ends outside quoted fields: delimiters, `\n` and `\r`.
    pub ends: u64,
    /// Every `\n`, inside quoted fields or not.
    pub newlines: u64,
    /// Bytes inside quoted fields (after the opening quote).
    pub quoted: u64,
}

/// Follows the quoting rules through a text, one [`Window`] after another. Visits only the quotes: text without
/// any costs four vector compares per 64 bytes.
#[derive(Debug, Clone)]
pub struct QuoteScan {
    delimiter: u8,
    state: State,
    /// The byte before the next window (a line end at the start of the text, as at any record start).
    prev: u8,
}

impl QuoteScan {
    /// A scan starting at a record's start.
    pub fn new(delimiter: u8) -> Self {
        Self {
            delimiter,
            state: State::Unquoted,
            prev: b'\n',
        }
    }

    fn ends_field(&self, byte: u8) -> bool {
        byte == self.delimiter || byte == b'\n' || byte == b'\r'
    }

    /// Classifies the next `bytes` (at most 64) of the text. Shorter windows are as exact as full ones, so a text
    /// may be fed in pieces of any length.
    pub fn classify(&mut self, bytes: &[u8]) -> Window {
        let len = bytes.len();
        debug_assert!(len <= 64, "a window is at most 64 bytes");
        if len == 0 {
            return Window::default();
        }
        let mut padded = [0u8; 64];
        let block: &[u8; 64] = match bytes.try_into() {
            Ok(block) => block,
            Err(_) => {
                // Zero bytes are none of the bytes that matter; their bits are masked off below anyway.
                padded[..len].copy_from_slice(bytes);
                &padded
            }
        };
        let valid = if len == 64 { !0 } else { (1u64 << len) - 1 };
        let quotes = byte_mask(block, b'"') & valid;
        let newlines = byte_mask(block, b'\n') & valid;
        let ends = (newlines | byte_mask(block, b'\r') | byte_mask(block, self.delimiter)) & valid;
        // Bytes right after a field end: where a quote opens a quoted field.
        let starts = (ends << 1) | u64::from(self.ends_field(self.prev));
        let mut events = quotes;
        // Where the quoted part that reaches into this window, or the one opened in it, started.
        let mut open_from = (self.state != State::Unquoted).then_some(0);
        if self.state == State::AfterQuote {
            if quotes & 1 != 0 {
                // `""`: a quote inside the field.
                self.state = State::Quoted;
                events &= !1;
            } else {
                self.state = State::Unquoted;
                open_from = None;
            }
        }
        let mut quoted = 0u64;
        while events != 0 {
            let p = events.trailing_zeros() as usize;
            let bit = 1u64 << p;
            events &= events - 1;
            match self.state {
                State::Unquoted => {
                    if starts & bit != 0 {
                        self.state = State::Quoted;
                        open_from = Some(p + 1);
                    }
                }
                // The next byte decides, and it is in the next window.
                State::Quoted if p == len - 1 => self.state = State::AfterQuote,
                State::Quoted if quotes & (bit << 1) != 0 => events &= !(bit << 1),
                State::Quoted => {
                    self.state = State::Unquoted;
                    quoted |= span_mask(open_from.take().unwrap_or(0), p);
                }
                State::AfterQuote => unreachable!("settled at the window's start or within it"),
            }
        }
        if let Some(from) = open_from {
            quoted |= span_mask(from, len);
        }
        self.prev = bytes[len - 1];
        Window {
            ends: ends & !quoted,
            newlines,
            quoted,
        }
    }
}

/// Bits `from..to` set (`to` at most 64).
fn span_mask(from: usize, to: usize) -> u64 {
    let below = |n: usize| if n >= 64 { !0 } else { (1u64 << n) - 1 };
    below(to) & !below(from)
}

/// Bit `i` set where `block[i] == byte`.
#[cfg(target_arch = "x86_64")]
#[inline]
pub fn byte_mask(block: &[u8; 64], byte: u8) -> u64 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
    };
    let mut mask = 0u64;
    // SAFETY: SSE2 is part of every x86_64 CPU; each load reads 16 bytes inside `block` (offsets 0, 16, 32, 48
    // of 64), unaligned loads being allowed.
    unsafe {
        let needle = _mm_set1_epi8(byte as i8);
        for k in 0..4 {
            let bytes = _mm_loadu_si128(block.as_ptr().add(16 * k).cast::<__m128i>());
            let equal = _mm_movemask_epi8(_mm_cmpeq_epi8(bytes, needle)) as u16;
            mask |= u64::from(equal) << (16 * k);
        }
    }
    mask
}

/// Bit `i` set where `block[i] == byte` (32 bytes at a time, which compilers turn into vector compares).
#[cfg(not(target_arch = "x86_64"))]
#[inline]
pub fn byte_mask(block: &[u8; 64], byte: u8) -> u64 {
    let mut mask = 0u64;
    for (k, half) in block.chunks_exact(32).enumerate() {
        let mut bits = 0u32;
        for (i, b) in half.iter().enumerate() {
            bits |= u32::from(*b == byte) << i;
        }
        mask |= u64::from(bits) << (32 * k);
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The record ends (the index of each `\n` outside quoted fields) and the newlines inside quoted fields, with
    /// the text fed in pieces of `piece` bytes.
    fn record_ends(text: &[u8], piece: usize) -> (Vec<usize>, u32) {
        let mut scan = QuoteScan::new(b',');
        let (mut ends, mut inside) = (Vec::new(), 0);
        for (k, bytes) in text.chunks(piece).enumerate() {
            let window = scan.classify(bytes);
            inside += (window.newlines & window.quoted).count_ones();
            let mut record_ends = window.ends & window.newlines;
            while record_ends != 0 {
                ends.push(k * piece + record_ends.trailing_zeros() as usize);
                record_ends &= record_ends - 1;
            }
        }
        (ends, inside)
    }

    #[test]
    fn byte_masks_mark_every_match() {
        let mut block = [b'x'; 64];
        for i in [0, 5, 15, 16, 31, 32, 47, 48, 63] {
            block[i] = b'"';
        }
        let expected = [0, 5, 15, 16, 31, 32, 47, 48, 63]
            .iter()
            .fold(0u64, |m, i| m | 1 << i);
        assert_eq!(byte_mask(&block, b'"'), expected);
        assert_eq!(byte_mask(&block, b'x'), !expected);
        assert_eq!(byte_mask(&block, b','), 0);
    }

    #[test]
    fn record_ends_follow_the_quoting_rules() {
        // A `"` inside an unquoted field is a literal; the newline inside the quoted field is not a record end.
        let text: &[u8] = b"1,27\" monitor,\"a\nb\"\"c\"\n2,x,\"\"\n3,\"\n\"\n";
        let expected: Vec<usize> = vec![22, 29, 35];
        let (ends, inside) = record_ends(text, 64);
        assert_eq!(ends, expected, "{:?}", String::from_utf8_lossy(text));
        assert_eq!(inside, 2, "the newlines inside quoted fields");
        // The same, fed one byte at a time (window boundaries anywhere).
        assert_eq!(record_ends(text, 1), (expected, 2));
    }

    #[test]
    fn a_quote_after_a_bare_carriage_return_opens_a_field() {
        // Records ended by `\r` only: the `\n` inside the quoted first field is not a record end.
        let mut text = b"a,b\r".to_vec();
        for _ in 0..10 {
            text.extend_from_slice(b"\"note\nmore\",7\r");
        }
        text.extend_from_slice(b"x,y\n");
        for piece in [64, 5, 1] {
            let (ends, inside) = record_ends(&text, piece);
            assert_eq!(
                ends,
                [text.len() - 1],
                "{:?}",
                String::from_utf8_lossy(&text)
            );
            assert_eq!(inside, 10, "the newlines inside quotes");
        }
    }

    #[test]
    fn windows_of_any_length_agree() {
        // Pseudo-random text over the bytes that matter, long enough for many 64-byte windows.
        let mut seed = 7u64;
        let text: Vec<u8> = (0..20_000)
            .map(|_| {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                b"ab,\"\n\"x,\r"[(seed >> 33) as usize % 9]
            })
            .collect();
        let whole = record_ends(&text, 64);
        assert!(
            whole.0.last().is_some_and(|&end| end > 10_000),
            "many records found"
        );
        for piece in [1, 7, 63] {
            assert_eq!(record_ends(&text, piece), whole, "pieces of {piece} bytes");
        }
    }
}
