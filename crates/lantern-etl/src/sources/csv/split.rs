//! Big UTF-8 files read in two halves at once: one thread starts on the first half while another finds where
//! the second one starts (a record boundary near the middle of what is left), then reads from there.

use std::io::{Read, Seek};

use super::dialect::CsvFile;
use super::quotes::QuoteScan;
use crate::error::{EtlError, Result};

/// A part of a UTF-8 file: bytes `from..to`, whether it starts with the header, and the lines before it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Range<'a> {
    pub from: u64,
    pub to: End<'a>,
    pub header: bool,
    pub lines_before: u64,
}

/// Where a [`Range`] ends: a known offset, or the split point that another thread is still looking for.
#[derive(Debug, Clone, Copy)]
pub(super) enum End<'a> {
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
pub(super) struct SplitPoint {
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
pub(super) struct RangeReader<'a> {
    pub file: std::fs::File,
    pub pos: u64,
    pub end: End<'a>,
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

/// Files smaller than this are read on one thread.
const PARALLEL_BYTES: u64 = 4 << 20;

/// For a UTF-8 file worth splitting in two: (first data byte, file length).
fn splittable(file: &CsvFile) -> Result<Option<(u64, u64)>> {
    let err = |e: std::io::Error| EtlError::failed(&file.label, e);
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
pub(super) fn in_two_halves<T: Send>(
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
/// A record boundary is a `\n` outside quoted fields, as [`QuoteScan`] marks them, following the rules from the
/// start of the data: it visits only the quotes, so text without any is skipped at memory speed.
fn find_split(file: &CsvFile, start: u64, split: &SplitPoint) -> Result<Option<(u64, u64)>> {
    let err = |e: std::io::Error| EtlError::failed(&file.label, e);
    let mut f = std::fs::File::open(&file.path).map_err(err)?;
    let mut block = vec![0u8; 1 << 20];
    f.seek(std::io::SeekFrom::Start(start)).map_err(err)?;
    let mut pos = start;
    let mut scan = QuoteScan::new(file.delimiter);
    // Newlines before `pos`.
    let mut lines = 0u64;
    // A bound the split cannot be below: the first half's promise only grows, so it is read again only when a
    // boundary past it is turned down.
    let mut target = split.target();
    loop {
        let n = f.read(&mut block).map_err(err)?;
        if n == 0 {
            return Ok(None);
        }
        let chunk = &block[..n];
        for (k, piece) in chunk.chunks(64).enumerate() {
            let window = scan.classify(piece);
            if pos + ((64 * k + piece.len()) as u64) < target {
                continue;
            }
            let mut record_ends = window.ends & window.newlines;
            while record_ends != 0 {
                let i = 64 * k + record_ends.trailing_zeros() as usize;
                record_ends &= record_ends - 1;
                let at = pos + i as u64 + 1;
                if at < target {
                    continue;
                }
                if split.commit(at) {
                    let before = memchr::memchr_iter(b'\n', &chunk[..=i]).count() as u64;
                    return Ok(Some((at, lines + before)));
                }
                target = split.target();
            }
        }
        lines += memchr::memchr_iter(b'\n', chunk).count() as u64;
        pos += n as u64;
    }
}
