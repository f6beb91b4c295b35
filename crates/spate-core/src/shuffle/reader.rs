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

/// Iterates bucket `bucket` of one in-memory map output, cloning records.
struct MemBucketIter<R> {
    out: Arc<MapOutput<R>>,
    bucket: usize,
    pos: usize,
}

impl<R: Clone> Iterator for MemBucketIter<R> {
    type Item = R;
    #[inline]
    fn next(&mut self) -> Option<R> {
        let v = self.out.mem.get(self.bucket)?.get(self.pos)?.clone();
        self.pos += 1;
        Some(v)
    }
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
    let read = || -> Result<Vec<R>> {
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
    };
    match read() {
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
    let tracker = env.map_output_tracker();
    let fetch = env.shuffle_fetch();
    let mut parts: Vec<BoxIter<R>> = Vec::with_capacity(num_maps);
    for map_id in 0..num_maps {
        let status = tracker
            .status(shuffle_id, map_id)
            .ok_or(Error::FetchFailed { shuffle_id, map_id })?;
        let out = match fetch.fetch(shuffle_id, map_id, bucket, &status)? {
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
        parts.push(Box::new(MemBucketIter {
            out,
            bucket,
            pos: 0,
        }));
    }
    Ok(Box::new(parts.into_iter().flatten()))
}
