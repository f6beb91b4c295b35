//! `binary_records`: fixed-length records of flat binary files (Spark's `binaryRecords`,
//! Hadoop's `FixedLengthBinaryInputFormat`). Plain files are split at record boundaries;
//! a compressed file (`.gz`, `.zst`) is one partition, checked as it is read.

use super::input_paths::{list_input_files, open_decompressed, Compression};
use super::{BoxIter, Dependency, Rdd, RddBase, RddInfo, RddNode};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::scheduler::TaskContext;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;

const BLOCK_SIZE: u64 = 32 << 20;

/// Bytes `[start, end)` of one file (`end` is `u64::MAX` for a compressed file: to its
/// end once decompressed).
#[derive(Debug, Clone)]
struct RecordSplit {
    path: PathBuf,
    start: u64,
    end: u64,
}

pub(crate) struct BinaryRecordsRdd {
    info: RddInfo,
    splits: Vec<RecordSplit>,
    record_length: usize,
}

impl BinaryRecordsRdd {
    pub(crate) fn create(
        ctx: &Context,
        path: &str,
        record_length: usize,
        min_partitions: usize,
    ) -> Result<Rdd<Vec<u8>>> {
        if record_length == 0 {
            return Err(Error::InvalidArgument {
                op: "binary_records",
                reason: "record_length must be at least 1".into(),
            });
        }
        let rl = record_length as u64;
        let files = list_input_files(path)?;
        for f in &files {
            if Compression::of(&f.path).splittable() && f.len % rl != 0 {
                return Err(Error::BadInput {
                    path: f.path.clone(),
                    reason: format!(
                        "length {} bytes is not a multiple of the record length {record_length}",
                        f.len
                    ),
                });
            }
        }
        let total: u64 = files.iter().map(|f| f.len).sum();
        let goal = (total / min_partitions.max(1) as u64).clamp(1, BLOCK_SIZE);
        // Hadoop's FixedLengthBinaryInputFormat: a whole number of records per split.
        let split_size = (goal / rl * rl).max(rl);
        let mut splits = Vec::new();
        for f in files {
            if !Compression::of(&f.path).splittable() {
                splits.push(RecordSplit {
                    path: f.path,
                    start: 0,
                    end: u64::MAX,
                });
                continue;
            }
            let mut start = 0u64;
            while ((f.len - start) as f64) / (split_size as f64) > 1.1 {
                splits.push(RecordSplit {
                    path: f.path.clone(),
                    start,
                    end: start + split_size,
                });
                start += split_size;
            }
            splits.push(RecordSplit {
                path: f.path,
                start,
                end: f.len,
            });
        }
        let info = RddInfo::new(ctx, "binary_records", splits.len(), &[]);
        Ok(Rdd::from_node(Arc::new(BinaryRecordsRdd {
            info,
            splits,
            record_length,
        })))
    }
}

impl RddBase for BinaryRecordsRdd {
    fn info(&self) -> &RddInfo {
        &self.info
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
}

impl RddNode<Vec<u8>> for BinaryRecordsRdd {
    fn compute(&self, split: usize, _tc: &TaskContext) -> Result<BoxIter<Vec<u8>>> {
        let s = self
            .splits
            .get(split)
            .cloned()
            .ok_or(Error::InvalidArgument {
                op: "binary_records",
                reason: format!("no partition {split}"),
            })?;
        let reader: Box<dyn Read + Send> = if s.end == u64::MAX {
            open_decompressed(&s.path)?
        } else {
            let mut f = std::fs::File::open(&s.path).map_err(|e| Error::io(&s.path, e))?;
            f.seek(SeekFrom::Start(s.start))
                .map_err(|e| Error::io(&s.path, e))?;
            Box::new(f.take(s.end - s.start))
        };
        Ok(Box::new(RecordReader {
            r: BufReader::with_capacity(64 << 10, reader),
            path: s.path,
            offset: s.start,
            record_length: self.record_length,
            done: false,
        }))
    }
}

struct RecordReader {
    r: BufReader<Box<dyn Read + Send>>,
    path: PathBuf,
    /// Offset of the next record (in the decompressed stream for a compressed file).
    offset: u64,
    record_length: usize,
    done: bool,
}

impl RecordReader {
    fn next_record(&mut self) -> Result<Option<Vec<u8>>> {
        let mut rec = vec![0u8; self.record_length];
        let mut got = 0;
        while got < rec.len() {
            let n = self
                .r
                .read(&mut rec[got..])
                .map_err(|e| Error::io(&self.path, e))?;
            if n == 0 {
                break;
            }
            got += n;
        }
        if got == 0 {
            return Ok(None);
        }
        if got < rec.len() {
            return Err(Error::BadInput {
                path: self.path.clone(),
                reason: format!(
                    "length {} bytes is not a multiple of the record length {} (a partial record of {got} bytes at the end)",
                    self.offset + got as u64,
                    self.record_length
                ),
            });
        }
        self.offset += rec.len() as u64;
        Ok(Some(rec))
    }
}

impl Iterator for RecordReader {
    type Item = Vec<u8>;
    fn next(&mut self) -> Option<Vec<u8>> {
        if self.done {
            return None;
        }
        match self.next_record() {
            Ok(Some(r)) => Some(r),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                TaskContext::fail_current(e);
                None
            }
        }
    }
}
