//! The map side's output: records per reduce bucket, in memory or in a spill file.

use crate::codec;
use crate::data::Data;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::scheduler::MapStatus;
use crate::storage::{BlockId, BlockStore, ScratchFile};
use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// A map task's output, stored as one block.
pub(crate) struct MapOutput<R> {
    pub(crate) mem: Vec<Vec<R>>,
    pub(crate) disk: Option<DiskOutput>,
}

/// Buckets written to a scratch file: per bucket, the (offset, length) of its segments.
pub(crate) struct DiskOutput {
    pub(crate) file: ScratchFile,
    pub(crate) segments: Vec<Vec<(u64, u64)>>,
}

/// Collects a map task's records into buckets, spilling them to disk on request.
pub(crate) struct BucketWriter<R> {
    buckets: Vec<Vec<R>>,
    count: usize,
    record_bytes: usize,
    disk: Option<(std::fs::File, DiskOutput, u64)>,
    bucket_bytes: Vec<u64>,
}

impl<R: Data> BucketWriter<R> {
    pub(crate) fn new(n: usize) -> Self {
        BucketWriter {
            buckets: (0..n).map(|_| Vec::new()).collect(),
            count: 0,
            record_bytes: 0,
            disk: None,
            bucket_bytes: vec![0; n],
        }
    }

    #[inline]
    pub(crate) fn push(&mut self, bucket: usize, r: R) {
        self.buckets[bucket].push(r);
        self.count += 1;
    }

    pub(crate) fn count(&self) -> usize {
        self.count
    }

    /// Estimated bytes of the records held in memory.
    pub(crate) fn estimated_bytes(&mut self) -> usize {
        if self.record_bytes == 0 {
            let sample: Vec<&R> = self
                .buckets
                .iter()
                .flat_map(|b| b.iter().take(4))
                .take(16)
                .collect();
            if sample.is_empty() {
                return 0;
            }
            self.record_bytes = codec::estimate_record_bytes(&sample) - std::mem::size_of::<&R>()
                + std::mem::size_of::<R>();
        }
        self.buckets.iter().map(Vec::len).sum::<usize>() * self.record_bytes
    }

    /// Writes the in-memory buckets to the spill file.
    pub(crate) fn spill(&mut self, bs: &BlockStore) -> Result<()> {
        if self.disk.is_none() {
            bs.ensure_dir()?;
            let path = bs.scratch_path("shuffle-spill");
            let f = std::fs::File::create(&path).map_err(|e| Error::io(&path, e))?;
            let n = self.buckets.len();
            self.disk = Some((
                f,
                DiskOutput {
                    file: ScratchFile { path },
                    segments: vec![Vec::new(); n],
                },
                0,
            ));
        }
        let (f, out, pos) = self.disk.as_mut().expect("spill file open");
        let mut buf = Vec::new();
        for (b, records) in self.buckets.iter_mut().enumerate() {
            if records.is_empty() {
                continue;
            }
            buf.clear();
            codec::encode_into(records, &mut buf, "shuffle spill")?;
            f.write_all(&buf)
                .map_err(|e| Error::io(&out.file.path, e))?;
            out.segments[b].push((*pos, buf.len() as u64));
            self.bucket_bytes[b] += buf.len() as u64;
            *pos += buf.len() as u64;
            records.clear();
        }
        bs.metrics().spills.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(file = %out.file.path.display(), bytes = *pos, "shuffle map output spilled");
        Ok(())
    }

    /// Stores the output as block `shuffle_<id>_<map>`: in memory if the block store has
    /// room, otherwise on disk.
    pub(crate) fn finish(
        mut self,
        env: &Env,
        shuffle_id: usize,
        map_id: usize,
    ) -> Result<MapStatus> {
        let bs = env.block_store();
        let est = self.estimated_bytes() as u64;
        let mem_bytes = if est == 0 {
            0
        } else if bs.try_reserve(est) {
            est
        } else {
            self.spill(bs)?;
            0
        };
        let record_bytes = self.record_bytes as u64;
        let mut bucket_bytes = self.bucket_bytes;
        for (b, v) in self.buckets.iter().enumerate() {
            bucket_bytes[b] += v.len() as u64 * record_bytes;
        }
        let disk = match self.disk.take() {
            Some((mut f, out, _)) => {
                f.flush().map_err(|e| Error::io(&out.file.path, e))?;
                Some(out)
            }
            None => None,
        };
        let output = MapOutput {
            mem: self.buckets,
            disk,
        };
        bs.put_pinned(
            BlockId::Shuffle {
                shuffle: shuffle_id,
                map: map_id,
            },
            Arc::new(output),
            mem_bytes,
        );
        Ok(MapStatus {
            executor_id: env.executor_id().to_string(),
            bucket_bytes,
        })
    }
}
