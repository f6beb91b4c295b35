//! Source RDDs: in-memory collections, ranges and text files (plain or compressed).

use super::input_paths::{
    list_input_files, list_literal, open_decompressed, Compression, InputFile,
};
use super::{BoxIter, Dependency, Rdd, RddBase, RddInfo, RddNode, RecordCounter};
use crate::context::Context;
use crate::data::Data;
use crate::error::{Error, Result};
use crate::scheduler::TaskContext;
use crate::storage::ArcVecIter;
use crate::text::Str;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// `parallelize`: partition i of p over n records holds indices `[i*n/p, (i+1)*n/p)`.
pub(crate) struct ParallelCollection<T: Data> {
    info: RddInfo,
    data: Arc<Vec<T>>,
}

impl<T: Data> ParallelCollection<T> {
    pub(crate) fn create(ctx: &Context, data: Vec<T>, slices: usize) -> Rdd<T> {
        let info = RddInfo::new(ctx, "parallelize", slices.max(1), &[]);
        Rdd::from_node(Arc::new(ParallelCollection {
            info,
            data: Arc::new(data),
        }))
    }
}

/// Bounds of slice `i` of `p` over `n` records, as Spark's `ParallelCollectionRDD.slice`.
pub(crate) fn slice_bounds(n: usize, p: usize, i: usize) -> (usize, usize) {
    let n = n as u128;
    let p = p as u128;
    let i = i as u128;
    ((i * n / p) as usize, ((i + 1) * n / p) as usize)
}

impl<T: Data> RddBase for ParallelCollection<T> {
    fn info(&self) -> &RddInfo {
        &self.info
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
}

impl<T: Data> RddNode<T> for ParallelCollection<T> {
    fn compute(&self, split: usize, _tc: &TaskContext) -> Result<BoxIter<T>> {
        let (s, e) = slice_bounds(self.data.len(), self.info.num_partitions(), split);
        Ok(Box::new(ArcVecIter::range(self.data.clone(), s, e)))
    }
}

/// `range(start, end, step)`, generated on the fly.
pub(crate) struct RangeRdd {
    info: RddInfo,
    start: i64,
    step: i64,
    len: u64,
}

impl RangeRdd {
    pub(crate) fn create(
        ctx: &Context,
        start: i64,
        end: i64,
        step: i64,
        slices: usize,
    ) -> Result<Rdd<i64>> {
        if step == 0 {
            return Err(Error::InvalidArgument {
                op: "range",
                reason: "step must not be 0".into(),
            });
        }
        let span = end as i128 - start as i128;
        let len = if (span > 0) != (step > 0) || span == 0 {
            0
        } else {
            ((span.abs() + step.abs() as i128 - 1) / step.abs() as i128) as u64
        };
        let info = RddInfo::new(ctx, "range", slices.max(1), &[]);
        Ok(Rdd::from_node(Arc::new(RangeRdd {
            info,
            start,
            step,
            len,
        })))
    }
}

impl RddBase for RangeRdd {
    fn info(&self) -> &RddInfo {
        &self.info
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
}

impl RddNode<i64> for RangeRdd {
    fn compute(&self, split: usize, _tc: &TaskContext) -> Result<BoxIter<i64>> {
        let (s, e) = slice_bounds(self.len as usize, self.info.num_partitions(), split);
        let (start, step) = (self.start as i128, self.step as i128);
        // In i128: `i * step` can leave the i64 range even when every result fits.
        Ok(Box::new(
            (s as u64..e as u64).map(move |i| (start + i as i128 * step) as i64),
        ))
    }
}

/// Byte range of one file read by one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSplit {
    /// The file.
    pub path: PathBuf,
    /// First byte (a line starting before it belongs to the previous split).
    pub start: u64,
    /// One past the last byte at which a line of this split may start.
    pub end: u64,
}

const BLOCK_SIZE: u64 = 32 << 20;

/// The files of `path` cut into byte-range splits the way Hadoop's `FileInputFormat`
/// does for `min_partitions`. `path` is a file, a directory (its files, sorted; names
/// starting with `.` or `_` skipped as Hadoop does), a glob, or a comma-separated list of
/// these (see [`crate::Context::text_file_with`]). A compressed file (`.gz`, `.zst`) is
/// one split covering the whole file (`end` is `u64::MAX`: its length once decompressed
/// is not known).
pub fn text_file_splits(path: &Path, min_partitions: usize) -> Result<Vec<FileSplit>> {
    Ok(split_files(
        list_input_files(&path.to_string_lossy())?,
        min_partitions,
    ))
}

/// [`text_file_splits`] of `files`.
fn split_files(files: Vec<InputFile>, min_partitions: usize) -> Vec<FileSplit> {
    let files: Vec<(PathBuf, u64)> = files.into_iter().map(|f| (f.path, f.len)).collect();
    let total: u64 = files.iter().map(|f| f.1).sum();
    let goal = total / min_partitions.max(1) as u64;
    let split_size = goal.clamp(1, BLOCK_SIZE);
    let mut splits = Vec::new();
    for (p, len) in files {
        if len == 0 {
            splits.push(FileSplit {
                path: p,
                start: 0,
                end: 0,
            });
            continue;
        }
        if !Compression::of(&p).splittable() {
            splits.push(FileSplit {
                path: p,
                start: 0,
                end: u64::MAX,
            });
            continue;
        }
        let mut start = 0u64;
        while ((len - start) as f64) / (split_size as f64) > 1.1 {
            splits.push(FileSplit {
                path: p.clone(),
                start,
                end: start + split_size,
            });
            start += split_size;
        }
        splits.push(FileSplit {
            path: p.clone(),
            start,
            end: len,
        });
    }
    splits
}

/// `text_file`: one partition per [`FileSplit`], lines streamed in 1 MiB chunks and
/// handed out as [`Str`]s sharing the chunk. With a line cap, longer lines are skipped
/// (not buffered) and counted per partition in `dropped`.
pub(crate) struct TextFileRdd {
    info: RddInfo,
    splits: Vec<FileSplit>,
    cap: Option<(usize, Arc<RecordCounter>)>,
}

impl TextFileRdd {
    pub(crate) fn create(
        ctx: &Context,
        path: &Path,
        min_partitions: usize,
        cap: Option<(usize, Arc<RecordCounter>)>,
    ) -> Result<Rdd<Str>> {
        let splits = text_file_splits(path, min_partitions)?;
        let info = RddInfo::new(ctx, "text_file", splits.len(), &[]);
        Ok(Rdd::from_node(Arc::new(TextFileRdd { info, splits, cap })))
    }

    pub(crate) fn create_capped(
        ctx: &Context,
        path: &Path,
        min_partitions: usize,
        max_line_bytes: usize,
    ) -> Result<(Rdd<Str>, Arc<RecordCounter>)> {
        // The path is a file the caller found (a file stream's): taken literally, so a
        // name holding `*`, `[` or `,` is not read as a glob or a list.
        let splits = split_files(list_literal(path)?, min_partitions);
        let dropped = RecordCounter::new(splits.len());
        let info = RddInfo::new(ctx, "text_file", splits.len(), &[]);
        let rdd = Rdd::from_node(Arc::new(TextFileRdd {
            info,
            splits,
            cap: Some((max_line_bytes, dropped.clone())),
        }));
        Ok((rdd, dropped))
    }
}

impl RddBase for TextFileRdd {
    fn info(&self) -> &RddInfo {
        &self.info
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
}

impl RddNode<Str> for TextFileRdd {
    fn compute(&self, split: usize, _tc: &TaskContext) -> Result<BoxIter<Str>> {
        let mut r = LineReader::open(&self.splits[split])?;
        if let Some((max, dropped)) = &self.cap {
            r.max_line = *max;
            r.dropped_to = Some((dropped.clone(), split));
        }
        Ok(Box::new(r))
    }
}

const CHUNK: usize = 64 << 10;

/// Reads the lines of one split.
pub(crate) struct LineReader {
    file: Box<dyn Read + Send>,
    path: PathBuf,
    end: u64,
    /// File offset of `buf[0]`.
    buf_off: u64,
    buf: Arc<Vec<u8>>,
    cursor: usize,
    /// A partial line carried over from the previous chunk, and its file offset.
    carry: Vec<u8>,
    carry_off: u64,
    /// `buf[..valid_to]` is valid UTF-8.
    valid_to: usize,
    eof: bool,
    done: bool,
    /// Longest line kept; longer ones are skipped as they are read.
    max_line: usize,
    /// Skipping the rest of an over-long line (which started at `carry_off`).
    skipping: bool,
    /// Over-long lines skipped so far.
    dropped: u64,
    /// Where to record `dropped` once the split is read to its end.
    dropped_to: Option<(Arc<RecordCounter>, usize)>,
}

impl LineReader {
    pub(crate) fn open(split: &FileSplit) -> Result<Self> {
        let mut start = split.start;
        let file: Box<dyn Read + Send> = if Compression::of(&split.path).splittable() {
            let mut file =
                std::fs::File::open(&split.path).map_err(|e| Error::io(&split.path, e))?;
            if start > 0 {
                // A line starting exactly at `start` is ours; otherwise skip to the next.
                file.seek(SeekFrom::Start(start - 1))
                    .map_err(|e| Error::io(&split.path, e))?;
                start -= 1;
            }
            Box::new(file)
        } else {
            // A compressed file is one split, read from its start.
            start = 0;
            open_decompressed(&split.path)?
        };
        let mut r = LineReader {
            file,
            path: split.path.clone(),
            end: split.end,
            buf_off: start,
            buf: Arc::new(Vec::new()),
            cursor: 0,
            carry: Vec::new(),
            carry_off: start,
            valid_to: 0,
            eof: false,
            done: split.start >= split.end,
            max_line: usize::MAX,
            skipping: false,
            dropped: 0,
            dropped_to: None,
        };
        if split.start > 0 && !r.done {
            // Skip through the first newline at or after start-1.
            loop {
                if r.cursor >= r.buf.len() && !r.fill()? {
                    r.done = true;
                    break;
                }
                match memchr::memchr(b'\n', &r.buf[r.cursor..]) {
                    Some(i) => {
                        r.cursor += i + 1;
                        break;
                    }
                    None => r.cursor = r.buf.len(),
                }
            }
        }
        Ok(r)
    }

    /// Reads the next chunk; false at end of file.
    fn fill(&mut self) -> Result<bool> {
        if self.eof {
            return Ok(false);
        }
        self.buf_off += self.buf.len() as u64;
        let mut b = Vec::with_capacity(CHUNK);
        (&mut self.file)
            .take(CHUNK as u64)
            .read_to_end(&mut b)
            .map_err(|e| Error::io(&self.path, e))?;
        let n = b.len();
        if n < CHUNK {
            self.eof = true;
        }
        // Validate UTF-8 once per chunk; lines inside the valid prefix skip the check.
        self.valid_to = match std::str::from_utf8(&b) {
            Ok(_) => n,
            Err(e) => e.valid_up_to(),
        };
        self.buf = Arc::new(b);
        self.cursor = 0;
        Ok(n > 0)
    }

    fn next_line(&mut self) -> Result<Option<Str>> {
        let line = self.next_line_inner()?;
        if line.is_none() {
            if let Some((counter, split)) = self.dropped_to.take() {
                counter.set(split, self.dropped);
            }
        }
        Ok(line)
    }

    fn next_line_inner(&mut self) -> Result<Option<Str>> {
        if self.done {
            return Ok(None);
        }
        loop {
            if self.cursor < self.buf.len() {
                let start_off = self.buf_off + self.cursor as u64;
                let line_off = if self.carry.is_empty() && !self.skipping {
                    start_off
                } else {
                    self.carry_off
                };
                if line_off >= self.end {
                    self.done = true;
                    return Ok(None);
                }
                match memchr::memchr(b'\n', &self.buf[self.cursor..]) {
                    Some(i) => {
                        let start = self.cursor;
                        self.cursor += i + 1;
                        if self.skipping || self.carry.len() + i > self.max_line {
                            // The end of an over-long line: skipped.
                            self.skipping = false;
                            self.carry.clear();
                            self.dropped += 1;
                            continue;
                        }
                        if self.carry.is_empty() {
                            let mut len = i;
                            if len > 0 && self.buf[start + len - 1] == b'\r' {
                                len -= 1;
                            }
                            if start + len <= self.valid_to {
                                // SAFETY: within the chunk's validated UTF-8 prefix, cut at
                                // ASCII bytes.
                                return Ok(Some(unsafe {
                                    Str::from_buffer_unchecked(&self.buf, start, len)
                                }));
                            }
                            return Ok(Some(to_str(&self.buf, start, i)));
                        }
                        self.carry.extend_from_slice(&self.buf[start..start + i]);
                        let line = Arc::new(std::mem::take(&mut self.carry));
                        return Ok(Some(to_str(&line, 0, line.len())));
                    }
                    None => {
                        if self.carry.is_empty() && !self.skipping {
                            self.carry_off = start_off;
                        }
                        let rest = self.buf.len() - self.cursor;
                        if !self.skipping && self.carry.len() + rest > self.max_line {
                            // Too long already: skip the rest of it without buffering.
                            self.skipping = true;
                            self.carry = Vec::new();
                        }
                        if !self.skipping {
                            self.carry.extend_from_slice(&self.buf[self.cursor..]);
                        }
                        self.cursor = self.buf.len();
                    }
                }
            }
            if !self.fill()? {
                self.done = true;
                if self.skipping {
                    self.skipping = false;
                    if self.carry_off < self.end.max(1) {
                        self.dropped += 1;
                    }
                    return Ok(None);
                }
                if !self.carry.is_empty() && self.carry_off < self.end.max(1) {
                    let line = Arc::new(std::mem::take(&mut self.carry));
                    return Ok(Some(to_str(&line, 0, line.len())));
                }
                return Ok(None);
            }
        }
    }
}

fn to_str(buf: &Arc<Vec<u8>>, start: usize, mut len: usize) -> Str {
    if len > 0 && buf[start + len - 1] == b'\r' {
        len -= 1;
    }
    Str::from_buffer_lossy(buf, start, len)
}

impl Iterator for LineReader {
    type Item = Str;
    fn next(&mut self) -> Option<Str> {
        match self.next_line() {
            Ok(l) => l,
            // Surfaces as a task failure naming the file; the task is retried.
            Err(e) => panic!("reading {}: {e}", self.path.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(path: &Path, parts: usize) -> Vec<String> {
        let splits = text_file_splits(path, parts).unwrap();
        let mut out = Vec::new();
        for s in &splits {
            out.extend(LineReader::open(s).unwrap().map(String::from));
        }
        out
    }

    #[test]
    fn splits_cover_every_line_once() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.txt");
        let mut text = String::new();
        for i in 0..5000 {
            text.push_str(&"x".repeat(i % 37));
            text.push_str(&format!("{i}\n"));
        }
        text.push_str("last-no-newline");
        std::fs::write(&p, &text).unwrap();
        let expected: Vec<String> = text.lines().map(String::from).collect();
        for parts in [1, 2, 3, 7, 50, 1000] {
            assert_eq!(read_all(&p, parts), expected, "min_partitions={parts}");
        }
    }

    #[test]
    fn crlf_and_directories() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "a1\r\na2\n").unwrap();
        std::fs::write(dir.path().join("b.txt"), "b1\n").unwrap();
        std::fs::write(dir.path().join("_SUCCESS"), "").unwrap();
        std::fs::write(dir.path().join(".hidden"), "h\n").unwrap();
        assert_eq!(read_all(dir.path(), 2), vec!["a1", "a2", "b1"]);
        assert!(text_file_splits(&dir.path().join("missing"), 2)
            .unwrap_err()
            .to_string()
            .contains("missing"));
    }

    fn read_capped(path: &Path, parts: usize, max: usize) -> (Vec<String>, u64) {
        let splits = text_file_splits(path, parts).unwrap();
        let counter = RecordCounter::new(splits.len());
        let mut out = Vec::new();
        for (i, s) in splits.iter().enumerate() {
            let mut r = LineReader::open(s).unwrap();
            r.max_line = max;
            r.dropped_to = Some((counter.clone(), i));
            out.extend(r.map(String::from));
        }
        let (dropped, missing) = counter.counted();
        assert!(missing.is_empty());
        (out, dropped)
    }

    /// `spate.streaming.maxLineBytes` for files: a line one byte over the cap is skipped
    /// and counted, one at the cap is kept, whether the long line sits inside one read
    /// chunk, spans chunks (200 KB) or ends the file without a newline, and however the
    /// file is split.
    #[test]
    fn lines_over_the_cap_are_skipped_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.txt");
        let cap = 100;
        let mut text = String::new();
        let mut expected = Vec::new();
        let mut over = 0;
        for i in 0..400 {
            let line = match i % 5 {
                0 => "y".repeat(cap + 1),
                1 => "x".repeat(cap),
                2 if i % 50 == 2 => "z".repeat(200_000),
                _ => format!("line{i}"),
            };
            if line.len() > cap {
                over += 1;
            } else {
                expected.push(line.clone());
            }
            text.push_str(&line);
            text.push('\n');
        }
        text.push_str(&"w".repeat(cap + 1));
        over += 1;
        std::fs::write(&p, &text).unwrap();
        for parts in [1, 2, 3, 7, 50] {
            assert_eq!(
                read_capped(&p, parts, cap),
                (expected.clone(), over),
                "parts={parts}"
            );
        }
        assert_eq!(read_all(&p, 3).len(), expected.len() + over as usize);
    }
}
