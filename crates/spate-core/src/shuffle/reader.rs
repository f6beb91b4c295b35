//! The reduce side's read of one bucket from every map output.

use super::writer::MapOutput;
use crate::codec;
use crate::data::Data;
use crate::env::{Env, FetchedOutput};
use crate::error::{Error, Result};
use crate::rdd::BoxIter;
use crate::scheduler::TaskContext;
use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;

/// Iterates one in-memory bucket (`out.mem[slot]`) of a map output, cloning records.
struct MemBucketIter<R> {
    out: Arc<MapOutput<R>>,
    slot: usize,
    pos: usize,
}

impl<R: Clone> Iterator for MemBucketIter<R> {
    type Item = R;
    #[inline]
    fn next(&mut self) -> Option<R> {
        let v = self.out.mem.get(self.slot)?.1.get(self.pos)?.clone();
        self.pos += 1;
        Some(v)
    }
}

/// Reads one spilled segment of a bucket.
fn try_read_segment<R: Data>(
    out: &MapOutput<R>,
    offset: u64,
    len: u64,
    shuffle_id: usize,
    map_id: usize,
) -> Result<Vec<R>> {
    let disk = out
        .disk
        .as_ref()
        .ok_or(Error::FetchFailed { shuffle_id, map_id })?;
    let path = &disk.file.path;
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    f.seek(SeekFrom::Start(offset))
        .map_err(|e| Error::io(path, e))?;
    let mut buf = vec![0u8; len as usize];
    f.read_exact(&mut buf).map_err(|e| Error::io(path, e))?;
    codec::decode(&buf, &format!("shuffle file {}", path.display()))
}

/// Bucket `bucket` of this process's output of map `map_id` of `shuffle_id`, encoded as a
/// `Vec<R>` for a reduce task in another process (what its `FetchedOutput::Remote` holds).
///
/// # Errors
/// [`Error::FetchFailed`] when the output is not here (or its spill cannot be read).
pub(crate) fn encode_local_bucket<R: Data>(
    env: &Env,
    shuffle_id: usize,
    map_id: usize,
    bucket: usize,
) -> Result<Vec<u8>> {
    let lost = Error::FetchFailed { shuffle_id, map_id };
    let block = env
        .block_store()
        .get_pinned(crate::storage::BlockId::Shuffle {
            shuffle: shuffle_id,
            map: map_id,
        })
        .ok_or(Error::FetchFailed { shuffle_id, map_id })?;
    let out = block.downcast::<MapOutput<R>>().map_err(|_| lost)?;
    let mut records: Vec<R> = Vec::new();
    if let Some(disk) = &out.disk {
        for &(off, len) in disk.segments.get(bucket).map(Vec::as_slice).unwrap_or(&[]) {
            records.extend(try_read_segment(&out, off, len, shuffle_id, map_id)?);
        }
    }
    if let Ok(slot) = out.mem.binary_search_by_key(&bucket, |(b, _)| *b) {
        records.extend(out.mem[slot].1.iter().cloned());
    }
    codec::encode(
        &records,
        &format!("shuffle {shuffle_id} map {map_id} bucket {bucket}"),
    )
}

/// Reads one spilled segment of a bucket. A spill file that cannot be read is lost
/// output: the running task fails with [`Error::FetchFailed`], so the scheduler
/// recomputes the map task, and the segment yields nothing.
fn read_segment<R: Data>(
    out: &MapOutput<R>,
    offset: u64,
    len: u64,
    shuffle_id: usize,
    map_id: usize,
) -> Vec<R> {
    match try_read_segment(out, offset, len, shuffle_id, map_id) {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!("shuffle {shuffle_id} map {map_id}: {e}");
            TaskContext::fail_current(Error::FetchFailed { shuffle_id, map_id });
            Vec::new()
        }
    }
}

/// The records of reduce partition `bucket` from all `num_maps` map outputs of
/// `shuffle_id`, located through the map-output tracker and read through the
/// environment's [`crate::env::ShuffleFetch`]. A missing output is [`Error::FetchFailed`].
pub(crate) fn read_bucket<R: Data>(
    env: &Env,
    shuffle_id: usize,
    num_maps: usize,
    bucket: usize,
) -> Result<BoxIter<R>> {
    let fetch = env.shuffle_fetch();
    // One snapshot of the statuses for the whole read, and only the map outputs with
    // records for this bucket are visited: with many partitions over little data most
    // buckets are empty, and visiting every map output from every reduce task would cost
    // maps x reduce partitions.
    let (statuses, sources) = env
        .map_output_tracker()
        .reduce_plan(shuffle_id, num_maps)
        .map_err(|map_id| Error::FetchFailed { shuffle_id, map_id })?;
    let maps = sources.get(bucket).map(Vec::as_slice).unwrap_or(&[]);
    let mut parts: Vec<BoxIter<R>> = Vec::with_capacity(maps.len());
    for &map_id in maps {
        let map_id = map_id as usize;
        let status = statuses[map_id]
            .as_deref()
            .ok_or(Error::FetchFailed { shuffle_id, map_id })?;
        let out = match fetch.fetch(shuffle_id, map_id, bucket, status)? {
            FetchedOutput::Remote(bytes) => {
                let records: Vec<R> = codec::decode(
                    &bytes,
                    &format!("shuffle {shuffle_id} map {map_id} bucket {bucket}"),
                )
                .map_err(|_| Error::FetchFailed { shuffle_id, map_id })?;
                parts.push(Box::new(records.into_iter()));
                continue;
            }
            FetchedOutput::Local(block) => block.downcast::<MapOutput<R>>().map_err(|_| {
                Error::Task(format!(
                    "shuffle {shuffle_id} map {map_id}: unexpected record type"
                ))
            })?,
        };
        if let Some(disk) = &out.disk {
            let segs = disk.segments[bucket].clone();
            let o = out.clone();
            parts.push(Box::new(segs.into_iter().flat_map(move |(off, len)| {
                read_segment(&o, off, len, shuffle_id, map_id)
            })));
        }
        if let Ok(slot) = out.mem.binary_search_by_key(&bucket, |(b, _)| *b) {
            parts.push(Box::new(MemBucketIter { out, slot, pos: 0 }));
        }
    }
    Ok(Box::new(parts.into_iter().flatten()))
}
