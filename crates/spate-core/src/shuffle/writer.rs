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
    /// `(bucket, records)` of the non-empty in-memory buckets, by bucket.
    pub(crate) mem: Vec<(usize, Vec<R>)>,
    pub(crate) disk: Option<DiskOutput>,
}

/// Buckets written to a scratch file: per bucket, the (offset, length) of its segments.
pub(crate) struct DiskOutput {
    pub(crate) file: ScratchFile,
    pub(crate) segments: Vec<Vec<(u64, u64)>>,
}

/// Collects a map task's records into buckets, spilling them to disk on request.
///
/// Work and memory per map task are in proportion to its records and the buckets they
/// fall in, not to the number of buckets (beyond one zeroed `u32` per bucket): only the
/// buckets holding records get a vector, and sizes and outputs keep only those.
pub(crate) struct BucketWriter<R> {
    /// Per bucket: 0, or 1 + its index in `buckets`.
    slots: Vec<u32>,
    /// `(bucket, records in memory)` of the buckets that got records, in first-record
    /// order.
    buckets: Vec<(usize, Vec<R>)>,
    /// Records held in memory.
    held: usize,
    count: usize,
    record_bytes: usize,
    disk: Option<(std::fs::File, DiskOutput, u64)>,
    /// Bytes spilled per bucket (only buckets that were spilled).
    spilled_bytes: std::collections::BTreeMap<usize, u64>,
}

impl<R: Data> BucketWriter<R> {
    pub(crate) fn new(n: usize) -> Self {
        BucketWriter {
            // Zeroed memory: no per-bucket work.
            slots: vec![0; n],
            buckets: Vec::new(),
            held: 0,
            count: 0,
            record_bytes: 0,
            disk: None,
            spilled_bytes: Default::default(),
        }
    }

    #[inline]
    pub(crate) fn push(&mut self, bucket: usize, r: R) {
        let slot = self.slots[bucket];
        let i = if slot == 0 {
            self.buckets.push((bucket, Vec::new()));
            let i = self.buckets.len() - 1;
            self.slots[bucket] = i as u32 + 1;
            i
        } else {
            slot as usize - 1
        };
        self.buckets[i].1.push(r);
        self.held += 1;
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
                .flat_map(|(_, b)| b.iter().take(4))
                .take(16)
                .collect();
            if sample.is_empty() {
                return 0;
            }
            self.record_bytes = codec::estimate_record_bytes(&sample) - std::mem::size_of::<&R>()
                + std::mem::size_of::<R>();
        }
        self.held * self.record_bytes
    }

    /// Writes the in-memory buckets to the spill file.
    pub(crate) fn spill(&mut self, bs: &BlockStore) -> Result<()> {
        if self.disk.is_none() {
            bs.ensure_dir()?;
            let path = bs.scratch_path("shuffle-spill");
            let f = std::fs::File::create(&path).map_err(|e| Error::io(&path, e))?;
            let n = self.slots.len();
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
        for (b, records) in self.buckets.iter_mut() {
            if records.is_empty() {
                continue;
            }
            buf.clear();
            codec::encode_into(records, &mut buf, "shuffle spill")?;
            f.write_all(&buf)
                .map_err(|e| Error::io(&out.file.path, e))?;
            out.segments[*b].push((*pos, buf.len() as u64));
            *self.spilled_bytes.entry(*b).or_insert(0) += buf.len() as u64;
            *pos += buf.len() as u64;
            records.clear();
        }
        self.held = 0;
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
        let num_buckets = self.slots.len();
        let mut sizes = std::mem::take(&mut self.spilled_bytes);
        let mut mem = std::mem::take(&mut self.buckets);
        mem.retain(|(_, records)| !records.is_empty());
        mem.sort_unstable_by_key(|(b, _)| *b);
        for (b, records) in &mem {
            // At least 1: a size of 0 means an empty bucket, which readers skip.
            *sizes.entry(*b).or_insert(0) += (records.len() as u64 * record_bytes).max(1);
        }
        let disk = match self.disk.take() {
            Some((mut f, out, _)) => {
                f.flush().map_err(|e| Error::io(&out.file.path, e))?;
                Some(out)
            }
            None => None,
        };
        // Only the non-empty buckets are kept: a map output over many reduce partitions
        // costs memory in proportion to its records, not to the partition count.
        let output = MapOutput { mem, disk };
        bs.put_pinned(
            BlockId::Shuffle {
                shuffle: shuffle_id,
                map: map_id,
            },
            Arc::new(output),
            mem_bytes,
        );
        Ok(MapStatus::from_sizes(
            env.executor_id().to_string(),
            num_buckets,
            sizes.into_iter().filter(|(_, n)| *n > 0).collect(),
        ))
    }
}
