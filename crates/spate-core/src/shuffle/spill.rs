//! Sorted runs spilled to scratch files: written as length-prefixed encoded chunks, read
//! back one chunk at a time. Shared by the reduce-side aggregation and the sort.

use crate::codec;
use crate::error::{Error, Result};
use crate::scheduler::TaskContext;
use crate::storage::{BlockStore, ScratchFile};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::VecDeque;
use std::io::{BufReader, BufWriter, Read, Write};
use std::sync::atomic::Ordering;

/// Records per encoded chunk of a run.
pub(crate) const RUN_BATCH: usize = 4096;

/// A run written to a scratch file, with the number of chunks written: a file that ends
/// before its last chunk was cut short, not a short run.
pub(crate) struct SpilledRun {
    file: ScratchFile,
    chunks: usize,
}

/// Writes `records`, already in run order, to a new scratch file named after `prefix`.
pub(crate) fn write_run<R: Serialize>(
    bs: &BlockStore,
    prefix: &str,
    records: &[R],
) -> Result<SpilledRun> {
    bs.ensure_dir()?;
    let path = bs.scratch_path(prefix);
    let file = std::fs::File::create(&path).map_err(|e| Error::io(&path, e))?;
    let mut w = BufWriter::new(file);
    let mut buf = Vec::new();
    let mut chunks = 0;
    for chunk in records.chunks(RUN_BATCH) {
        chunks += 1;
        buf.clear();
        codec::encode_into(chunk, &mut buf, prefix)?;
        w.write_all(&(buf.len() as u64).to_le_bytes())
            .and_then(|_| w.write_all(&buf))
            .map_err(|e| Error::io(&path, e))?;
    }
    w.flush().map_err(|e| Error::io(&path, e))?;
    bs.metrics().spills.fetch_add(1, Ordering::Relaxed);
    tracing::debug!(records = records.len(), file = %path.display(), "{prefix}");
    Ok(SpilledRun {
        file: ScratchFile { path },
        chunks,
    })
}

/// A run being read back: a spill file, or the records that stayed in memory.
pub(crate) enum Run<R> {
    File {
        reader: BufReader<std::fs::File>,
        buf: VecDeque<R>,
        file: ScratchFile,
        /// Chunks not read yet.
        chunks_left: usize,
        /// The file's length when opened.
        file_len: u64,
    },
    Mem(std::vec::IntoIter<R>),
}

impl<R: DeserializeOwned> Run<R> {
    /// Opens a spilled run.
    pub(crate) fn open(run: SpilledRun) -> Result<Self> {
        let SpilledRun { file, chunks } = run;
        let f = std::fs::File::open(&file.path).map_err(|e| Error::io(&file.path, e))?;
        let file_len = f.metadata().map_err(|e| Error::io(&file.path, e))?.len();
        Ok(Run::File {
            reader: BufReader::new(f),
            buf: VecDeque::new(),
            file,
            chunks_left: chunks,
            file_len,
        })
    }

    /// The next record. A run file that cannot be read fails the running task with an
    /// error naming the file (see [`TaskContext::fail_current`]) and ends the run.
    pub(crate) fn next_record(&mut self) -> Option<R> {
        match self {
            Run::Mem(it) => it.next(),
            Run::File {
                reader,
                buf,
                file,
                chunks_left,
                file_len,
            } => {
                if buf.is_empty() {
                    if *chunks_left == 0 {
                        return None;
                    }
                    *chunks_left -= 1;
                    // A file that ends before its last chunk was truncated: an error, never
                    // a shorter run.
                    let mut len = [0u8; 8];
                    if let Err(e) = reader.read_exact(&mut len) {
                        TaskContext::fail_current(Error::io(&file.path, e));
                        return None;
                    }
                    let len = u64::from_le_bytes(len);
                    // A corrupted length must not allocate more than the file holds.
                    if len > *file_len {
                        TaskContext::fail_current(Error::io(
                            &file.path,
                            std::io::Error::new(
                                std::io::ErrorKind::InvalidData,
                                format!("chunk length {len} past the end of the file"),
                            ),
                        ));
                        return None;
                    }
                    let mut data = vec![0u8; len as usize];
                    if let Err(e) = reader.read_exact(&mut data) {
                        TaskContext::fail_current(Error::io(&file.path, e));
                        return None;
                    }
                    match codec::decode::<Vec<R>>(
                        &data,
                        &format!("spill file {}", file.path.display()),
                    ) {
                        Ok(v) => buf.extend(v),
                        Err(e) => {
                            TaskContext::fail_current(e);
                            return None;
                        }
                    }
                }
                buf.pop_front()
            }
        }
    }
}
