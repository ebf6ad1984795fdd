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
    /// Every `"`.
    pub quotes: u64,
    /// Bytes inside quoted fields other than quotes (between the opening and the closing one).
    pub quoted: u64,
}

/// Follows the quoting rules through a text, one [`Window`] after another: four vector compares per 64 bytes and a
/// few bit operations, with a visit to each quote only in the rare window where one is a literal.
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
        let window = match bytes.try_into() {
            Ok(block) => self.classify_block(block, 64),
            Err(_) => {
                // Zero bytes are none of the bytes that matter; their bits are masked off anyway.
                let mut padded = [0u8; 64];
                padded[..len].copy_from_slice(bytes);
                self.classify_block(&padded, len)
            }
        };
        self.prev = bytes[len - 1];
        window
    }

    /// Classifies the first `len` bytes of `block`.
    #[inline]
    fn classify_block(&mut self, block: &[u8; 64], len: usize) -> Window {
        let valid = span_mask(0, len);
        let [quotes, newlines, returns, delimiters] =
            byte_masks(block, [b'"', b'\n', b'\r', self.delimiter]).map(|mask| mask & valid);
        let masks = Masks {
            len,
            quotes,
            newlines,
            ends: newlines | returns | delimiters,
        };
        self.classify_structural(&masks)
            .unwrap_or_else(|| self.classify_each_quote(&masks))
    }

    /// Bytes right after a field end: where a quote opens a quoted field.
    fn starts(&self, masks: &Masks) -> u64 {
        (masks.ends << 1) | u64::from(self.ends_field(self.prev))
    }

    /// The usual case in one go: when every quote opens a field, closes one or is half of a `""`, the bytes inside
    /// quotes are those after an odd number of quotes (a prefix XOR of the quote bits, as simdjson finds strings).
    /// `None` when a quote is a literal (`27" monitor`, or text after a closing quote then a quote): the rules
    /// then need [`Self::classify_each_quote`].
    fn classify_structural(&mut self, masks: &Masks) -> Option<Window> {
        let inside_before = if self.state == State::Quoted { !0 } else { 0 };
        let inside = (prefix_xor(masks.quotes) ^ inside_before) & span_mask(0, masks.len);
        let opening = masks.quotes & inside;
        let closing = masks.quotes & !inside;
        // A quote that starts a quoted part must be a field's first byte or follow a closing quote (`""`).
        let after_closing = (closing << 1) | u64::from(self.state == State::AfterQuote);
        if opening & !(self.starts(masks) | after_closing) != 0 {
            return None;
        }
        let last = 1u64 << (masks.len - 1);
        self.state = if inside & last != 0 {
            State::Quoted
        } else if closing & last != 0 {
            State::AfterQuote
        } else {
            State::Unquoted
        };
        let quoted = inside & !masks.quotes;
        Some(Window {
            ends: masks.ends & !quoted,
            newlines: masks.newlines,
            quotes: masks.quotes,
            quoted,
        })
    }

    /// The rules followed quote by quote: right for any text.
    fn classify_each_quote(&mut self, masks: &Masks) -> Window {
        let Masks {
            len,
            quotes,
            newlines,
            ends,
        } = *masks;
        let starts = self.starts(masks);
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
        let quoted = quoted & !quotes;
        Window {
            ends: ends & !quoted,
            newlines,
            quotes,
            quoted,
        }
    }
}

/// The bytes of one window that the rules look at, one bit per byte.
#[derive(Debug, Clone, Copy)]
struct Masks {
    len: usize,
    quotes: u64,
    newlines: u64,
    /// Delimiters, `\n` and `\r`, quoted or not.
    ends: u64,
}

/// Bit `i` set where an odd number of bits `0..=i` of `bits` are.
fn prefix_xor(mut bits: u64) -> u64 {
    for shift in [1, 2, 4, 8, 16, 32] {
        bits ^= bits << shift;
    }
    bits
}

/// Bits `from..to` set (`to` at most 64).
fn span_mask(from: usize, to: usize) -> u64 {
    let below = |n: usize| if n >= 64 { !0 } else { (1u64 << n) - 1 };
    below(to) & !below(from)
}

/// For each needle, bit `i` set where `block[i]` is that byte: the masks of one window, from one pass over it.
#[inline]
pub fn byte_masks<const N: usize>(block: &[u8; 64], needles: [u8; N]) -> [u64; N] {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, detected just above.
            return unsafe { x86::byte_masks_avx2(block, needles) };
        }
        x86::byte_masks_sse2(block, needles)
    }
    #[cfg(not(target_arch = "x86_64"))]
    needles.map(|byte| byte_mask_portable(block, byte))
}

/// The masks with vector compares: 32 bytes at a time where the CPU has AVX2 (most since 2013), else 16 (SSE2 is
/// part of every x86_64 CPU). Fewer, wider compares matter here: a window's masks are most of what reading costs.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::{
        __m128i, __m256i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
        _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_movemask_epi8, _mm256_set1_epi8,
    };

    #[target_feature(enable = "avx2")]
    pub(super) fn byte_masks_avx2<const N: usize>(block: &[u8; 64], needles: [u8; N]) -> [u64; N] {
        // SAFETY: both loads read 32 bytes inside `block` (offsets 0 and 32 of 64); unaligned loads are allowed.
        let (low, high) = unsafe {
            (
                _mm256_loadu_si256(block.as_ptr().cast::<__m256i>()),
                _mm256_loadu_si256(block.as_ptr().add(32).cast::<__m256i>()),
            )
        };
        needles.map(|byte| {
            let needle = _mm256_set1_epi8(byte as i8);
            let low = _mm256_movemask_epi8(_mm256_cmpeq_epi8(low, needle)) as u32;
            let high = _mm256_movemask_epi8(_mm256_cmpeq_epi8(high, needle)) as u32;
            u64::from(low) | (u64::from(high) << 32)
        })
    }

    pub(super) fn byte_masks_sse2<const N: usize>(block: &[u8; 64], needles: [u8; N]) -> [u64; N] {
        // SAFETY: SSE2 is part of every x86_64 CPU; each load reads 16 bytes inside `block` (offsets 0, 16, 32, 48
        // of 64), unaligned loads being allowed.
        unsafe {
            let parts: [__m128i; 4] = std::array::from_fn(|k| {
                _mm_loadu_si128(block.as_ptr().add(16 * k).cast::<__m128i>())
            });
            needles.map(|byte| {
                let needle = _mm_set1_epi8(byte as i8);
                parts.iter().enumerate().fold(0u64, |mask, (k, part)| {
                    let equal = _mm_movemask_epi8(_mm_cmpeq_epi8(*part, needle)) as u16;
                    mask | (u64::from(equal) << (16 * k))
                })
            })
        }
    }
}

/// Bit `i` set where `block[i] == byte` (32 bytes at a time, which compilers turn into vector compares).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn byte_mask_portable(block: &[u8; 64], byte: u8) -> u64 {
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
        let masks = [expected, !expected, 0];
        assert_eq!(byte_masks(&block, [b'"', b'x', b',']), masks);
        assert_eq!(byte_mask_portable(&block, b'"'), expected);
        #[cfg(target_arch = "x86_64")]
        {
            assert_eq!(x86::byte_masks_sse2(&block, [b'"', b'x', b',']), masks);
            if std::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2.
                let avx2 = unsafe { x86::byte_masks_avx2(&block, [b'"', b'x', b',']) };
                assert_eq!(avx2, masks);
            }
        }
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
    fn the_structural_shortcut_agrees_with_the_rules_quote_by_quote() {
        // Random text heavy in quotes, with literal ones among them: the shortcut must decline those windows and
        // agree exactly (window and state after it) wherever it takes one.
        let mut next = super::super::seeded(3);
        let pieces: [&[u8]; 9] = [
            b"\"ab\"",
            b"\"a,b\"",
            b"\"x\"\"y\"",
            b"plain",
            b"27\" tv",
            b"\"q\"tail",
            b"\"\n\"",
            b"\"\"",
            b"12",
        ];
        let mut text = Vec::new();
        for _ in 0..5_000 {
            text.extend_from_slice(pieces[next(pieces.len())]);
            text.push(if next(4) == 0 { b'\n' } else { b',' });
        }
        let (mut taken, mut declined) = (0, 0);
        for piece in [64, 13] {
            let mut scan = QuoteScan::new(b',');
            for bytes in text.chunks(piece) {
                let len = bytes.len();
                let mut block = [0u8; 64];
                block[..len].copy_from_slice(bytes);
                let valid = if len == 64 { !0 } else { (1u64 << len) - 1 };
                let [quotes, newlines, ends] =
                    byte_masks(&block, [b'"', b'\n', b',']).map(|mask| mask & valid);
                let masks = Masks {
                    len,
                    quotes,
                    newlines,
                    ends: ends | newlines | (byte_masks(&block, [b'\r'])[0] & valid),
                };
                let mut by_quote = scan.clone();
                let expected = by_quote.classify_each_quote(&masks);
                match scan.classify_structural(&masks) {
                    Some(window) => {
                        taken += 1;
                        assert_eq!(window, expected, "{:?}", String::from_utf8_lossy(bytes));
                        assert_eq!(scan.state, by_quote.state);
                    }
                    None => {
                        declined += 1;
                        scan = by_quote;
                    }
                }
                scan.prev = bytes[len - 1];
            }
        }
        assert!(
            taken > 100 && declined > 100,
            "{taken} taken, {declined} declined"
        );
    }

    #[test]
    fn windows_of_any_length_agree() {
        // Pseudo-random text over the bytes that matter, long enough for many 64-byte windows.
        let mut next = super::super::seeded(7);
        let text: Vec<u8> = (0..20_000).map(|_| b"ab,\"\n\"x,\r"[next(9)]).collect();
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
