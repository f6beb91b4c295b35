//! Object files: an RDD saved in spate's binary format ([`crate::codec`]) and read back
//! (Spark's `saveAsObjectFile` / `objectFile`, which use Java serialization in a
//! SequenceFile; spate has its own framing).
//!
//! One `part-NNNNN` file per partition, then `_SUCCESS` (see `part_files.rs`). A file:
//!
//! ```text
//! header  "SPATEOBJ" | version u32 | name length u16 | record type name | crc32 u32
//! chunk   length u32 | records u32 | crc32 u32 | payload (records, one after another)
//! ...
//! end     length u32 = 8 | records u32 = 0 | crc32 u32 | total records u64
//! ```
//!
//! Integers are little-endian; a chunk's crc32 covers its length, record count and
//! payload; the header's covers the bytes before it. The end chunk makes a file cut at a
//! chunk boundary detectable. A reader checks every chunk before decoding it, so a
//! truncated or damaged file fails with [`Error::Corrupt`] naming the file and the byte
//! offset, never with garbage records.

use super::input_paths::list_input_files;
use super::{BoxIter, Dependency, Rdd, RddBase, RddInfo, RddNode};
use crate::context::Context;
use crate::data::Data;
use crate::error::{Error, Result};
use crate::scheduler::TaskContext;
use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The first bytes of every object file.
pub const OBJECT_FILE_MAGIC: &[u8; 8] = b"SPATEOBJ";
/// The format version this build writes and reads.
pub const OBJECT_FILE_VERSION: u32 = 1;
/// Payload size at which a chunk is closed.
const CHUNK_BYTES: usize = 64 << 10;
const CHUNK_HEADER: usize = 12;

fn chunk_crc(len: u32, count: u32, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&len.to_le_bytes());
    h.update(&count.to_le_bytes());
    h.update(payload);
    h.finalize()
}

fn write_chunk(w: &mut impl Write, count: u32, payload: &[u8], file: &Path) -> Result<()> {
    let len = u32::try_from(payload.len()).map_err(|_| Error::InvalidArgument {
        op: "save_as_object_file",
        reason: format!(
            "{}: a record of {} bytes is larger than a chunk can hold (4 GiB)",
            file.display(),
            payload.len()
        ),
    })?;
    let mut head = [0u8; CHUNK_HEADER];
    head[..4].copy_from_slice(&len.to_le_bytes());
    head[4..8].copy_from_slice(&count.to_le_bytes());
    head[8..].copy_from_slice(&chunk_crc(len, count, payload).to_le_bytes());
    w.write_all(&head).map_err(|e| Error::io(file, e))?;
    w.write_all(payload).map_err(|e| Error::io(file, e))
}

/// Writes `records` as one object file to `w` (`file` names it in errors).
pub(crate) fn write_object_file<T: Data>(
    w: &mut impl Write,
    file: &Path,
    records: impl Iterator<Item = T>,
) -> Result<()> {
    let name = std::any::type_name::<T>().as_bytes();
    let name = &name[..name.len().min(u16::MAX as usize)];
    let mut header = Vec::with_capacity(18 + name.len());
    header.extend_from_slice(OBJECT_FILE_MAGIC);
    header.extend_from_slice(&OBJECT_FILE_VERSION.to_le_bytes());
    header.extend_from_slice(&(name.len() as u16).to_le_bytes());
    header.extend_from_slice(name);
    let crc = crc32fast::hash(&header);
    header.extend_from_slice(&crc.to_le_bytes());
    w.write_all(&header).map_err(|e| Error::io(file, e))?;
    let mut buf = Vec::with_capacity(CHUNK_BYTES + 1024);
    let (mut count, mut total) = (0u32, 0u64);
    for r in records {
        crate::codec::encode_into(&r, &mut buf, "object file record")?;
        count += 1;
        total += 1;
        if buf.len() >= CHUNK_BYTES || count == u32::MAX {
            write_chunk(w, count, &buf, file)?;
            buf.clear();
            count = 0;
        }
    }
    if count > 0 {
        write_chunk(w, count, &buf, file)?;
    }
    write_chunk(w, 0, &total.to_le_bytes(), file)
}

/// Reads an object file chunk by chunk, checking each.
pub(crate) struct ObjectFileReader<T> {
    r: BufReader<File>,
    path: PathBuf,
    file_len: u64,
    /// Offset of the next unread byte.
    offset: u64,
    written_as: String,
    pending: VecDeque<T>,
    total: u64,
    done: bool,
}

impl<T: Data> ObjectFileReader<T> {
    /// Opens `path` and checks its header.
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let f = File::open(path).map_err(|e| Error::io(path, e))?;
        let file_len = f.metadata().map_err(|e| Error::io(path, e))?.len();
        let mut r = ObjectFileReader {
            r: BufReader::with_capacity(CHUNK_BYTES, f),
            path: path.to_path_buf(),
            file_len,
            offset: 0,
            written_as: String::new(),
            pending: VecDeque::new(),
            total: 0,
            done: false,
        };
        let mut fixed = [0u8; 14];
        r.read_exact_at(&mut fixed, "the header")?;
        if &fixed[..8] != OBJECT_FILE_MAGIC {
            return Err(r.corrupt(
                0,
                "not a spate object file (its first bytes are not SPATEOBJ)",
            ));
        }
        let version = u32::from_le_bytes([fixed[8], fixed[9], fixed[10], fixed[11]]);
        if version != OBJECT_FILE_VERSION {
            return Err(r.corrupt(
                8,
                &format!(
                    "format version {version}; this build reads version {OBJECT_FILE_VERSION}"
                ),
            ));
        }
        let name_len = u16::from_le_bytes([fixed[12], fixed[13]]) as usize;
        let mut rest = vec![0u8; name_len + 4];
        r.read_exact_at(&mut rest, "the header")?;
        let mut h = crc32fast::Hasher::new();
        h.update(&fixed);
        h.update(&rest[..name_len]);
        let stored = u32::from_le_bytes([
            rest[name_len],
            rest[name_len + 1],
            rest[name_len + 2],
            rest[name_len + 3],
        ]);
        if h.finalize() != stored {
            return Err(r.corrupt(0, "header checksum mismatch"));
        }
        r.written_as = String::from_utf8_lossy(&rest[..name_len]).into_owned();
        Ok(r)
    }

    fn corrupt(&self, offset: u64, reason: &str) -> Error {
        Error::Corrupt {
            path: self.path.clone(),
            offset,
            reason: reason.to_string(),
        }
    }

    /// Reads exactly `buf.len()` bytes at the current offset; running out is truncation.
    fn read_exact_at(&mut self, buf: &mut [u8], what: &str) -> Result<()> {
        let at = self.offset;
        let mut got = 0;
        while got < buf.len() {
            match self.r.read(&mut buf[got..]) {
                Ok(0) => {
                    return Err(self.corrupt(
                        at,
                        &format!(
                            "truncated: {what} needs {} bytes, the file ends after {got}",
                            buf.len()
                        ),
                    ))
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io(&self.path, e)),
            }
        }
        self.offset += buf.len() as u64;
        Ok(())
    }

    /// Reads and checks the next chunk; false after the end chunk.
    fn next_chunk(&mut self) -> Result<bool> {
        let at = self.offset;
        if at == self.file_len {
            return Err(self.corrupt(at, "truncated: the file ends before its end marker"));
        }
        let mut head = [0u8; CHUNK_HEADER];
        self.read_exact_at(&mut head, "a chunk header")?;
        let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        let count = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        let crc = u32::from_le_bytes([head[8], head[9], head[10], head[11]]);
        let left = self.file_len - self.offset;
        if u64::from(len) > left {
            return Err(self.corrupt(
                at,
                &format!(
                    "truncated or corrupt: the chunk declares {len} bytes, {left} remain in the file"
                ),
            ));
        }
        let mut payload = vec![0u8; len as usize];
        self.read_exact_at(&mut payload, "a chunk")?;
        if chunk_crc(len, count, &payload) != crc {
            return Err(self.corrupt(at, "chunk checksum mismatch"));
        }
        if count == 0 {
            let total = <[u8; 8]>::try_from(payload.as_slice())
                .map(u64::from_le_bytes)
                .map_err(|_| self.corrupt(at, "malformed end marker"))?;
            if total != self.total {
                return Err(self.corrupt(
                    at,
                    &format!(
                        "the end marker counts {total} records, the chunks hold {}",
                        self.total
                    ),
                ));
            }
            if self.offset != self.file_len {
                return Err(self.corrupt(self.offset, "bytes after the end marker"));
            }
            return Ok(false);
        }
        let mut rest: &[u8] = &payload;
        for i in 0..count {
            let (v, tail) = crate::codec::decode_prefix::<T>(rest, "object file record")
                .map_err(|e| {
                    self.corrupt(
                        at,
                        &format!(
                            "record {i} of the chunk does not decode as {} (the file holds {}): {e}",
                            std::any::type_name::<T>(),
                            self.written_as
                        ),
                    )
                })?;
            self.pending.push_back(v);
            rest = tail;
        }
        if !rest.is_empty() {
            return Err(self.corrupt(
                at,
                &format!(
                    "{} bytes left after the chunk's {count} records (records written as {}, read as {})",
                    rest.len(),
                    self.written_as,
                    std::any::type_name::<T>()
                ),
            ));
        }
        self.total += u64::from(count);
        Ok(true)
    }

    /// The next record, or `None` at the end; an error for a damaged file.
    pub(crate) fn next_record(&mut self) -> Result<Option<T>> {
        loop {
            if let Some(v) = self.pending.pop_front() {
                return Ok(Some(v));
            }
            if self.done || !self.next_chunk()? {
                self.done = true;
                return Ok(None);
            }
        }
    }
}

impl<T: Data> Iterator for ObjectFileReader<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        match self.next_record() {
            Ok(v) => v,
            Err(e) => {
                self.done = true;
                self.pending.clear();
                TaskContext::fail_current(e);
                None
            }
        }
    }
}

/// `object_file`: one partition per file.
pub(crate) struct ObjectFileRdd<T: Data> {
    info: RddInfo,
    files: Vec<PathBuf>,
    _t: std::marker::PhantomData<fn() -> T>,
}

impl<T: Data> ObjectFileRdd<T> {
    pub(crate) fn create(ctx: &Context, path: &str) -> Result<Rdd<T>> {
        let files: Vec<PathBuf> = list_input_files(path)?
            .into_iter()
            .map(|f| f.path)
            .collect();
        let info = RddInfo::new(ctx, "object_file", files.len(), &[]);
        Ok(Rdd::from_node(Arc::new(ObjectFileRdd {
            info,
            files,
            _t: std::marker::PhantomData,
        })))
    }
}

impl<T: Data> RddBase for ObjectFileRdd<T> {
    fn info(&self) -> &RddInfo {
        &self.info
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
}

impl<T: Data> RddNode<T> for ObjectFileRdd<T> {
    fn compute(&self, split: usize, _tc: &TaskContext) -> Result<BoxIter<T>> {
        let path = self.files.get(split).ok_or(Error::InvalidArgument {
            op: "object_file",
            reason: format!("no partition {split}"),
        })?;
        Ok(Box::new(ObjectFileReader::<T>::open(path)?))
    }
}

impl<T: Data> Rdd<T> {
    /// Writes the RDD into the new directory `path` in spate's binary format: one
    /// `part-NNNNN` file per partition (checksummed chunks, see [`Context::object_file`]),
    /// then `_SUCCESS` (Spark's `saveAsObjectFile`).
    ///
    /// # Errors
    /// `path` exists; a file cannot be written; a record cannot be encoded.
    pub fn save_as_object_file(&self, path: impl AsRef<Path>) -> Result<()> {
        super::part_files::save_part_files(
            self,
            path.as_ref(),
            "save_as_object_file",
            |w, file, it| write_object_file(w, file, it),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(records: Vec<(u32, String)>) -> Vec<u8> {
        let mut out = Vec::new();
        write_object_file(&mut out, Path::new("mem"), records.into_iter()).unwrap();
        out
    }

    fn read(bytes: &[u8]) -> Result<Vec<(u32, String)>> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("part-00000");
        std::fs::write(&p, bytes).unwrap();
        let mut r = ObjectFileReader::<(u32, String)>::open(&p)?;
        let mut out = Vec::new();
        while let Some(v) = r.next_record()? {
            out.push(v);
        }
        Ok(out)
    }

    #[test]
    fn every_truncation_and_every_flipped_byte_is_caught() {
        let recs: Vec<(u32, String)> = (0..40).map(|i| (i, "x".repeat(i as usize))).collect();
        let bytes = write(recs.clone());
        assert_eq!(read(&bytes).unwrap(), recs);
        assert_eq!(read(&write(Vec::new())).unwrap(), Vec::new());
        for cut in 0..bytes.len() {
            let e = read(&bytes[..cut]).unwrap_err();
            assert!(matches!(e, Error::Corrupt { .. }), "cut {cut}: {e}");
        }
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x10;
            let e = read(&b).unwrap_err();
            assert!(matches!(e, Error::Corrupt { .. }), "byte {i}: {e}");
        }
        let mut extra = bytes.clone();
        extra.push(0);
        assert!(read(&extra)
            .unwrap_err()
            .to_string()
            .contains("after the end marker"));
    }
}
