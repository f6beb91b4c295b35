//! The reduce side's read of one bucket from every map output.

use super::writer::MapOutput;
use crate::codec;
use crate::context::Context;
use crate::data::Data;
use crate::error::{Error, Result};
use crate::rdd::BoxIter;
use crate::storage::BlockId;
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

fn read_segment<R: Data>(
    out: &MapOutput<R>,
    offset: u64,
    len: u64,
    shuffle_id: usize,
    map_id: usize,
) -> Vec<R> {
    let disk = out.disk.as_ref().expect("segment implies a spill file");
    let path = &disk.file.path;
    let read = || -> Result<Vec<R>> {
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
            // A spill file that cannot be read is lost output: recompute the map task.
            std::panic::panic_any(Error::FetchFailed { shuffle_id, map_id })
        }
    }
}

/// The records of reduce partition `bucket` from all `num_maps` map outputs of
/// `shuffle_id`. A missing output is [`Error::FetchFailed`].
pub(crate) fn read_bucket<R: Data>(
    ctx: &Context,
    shuffle_id: usize,
    num_maps: usize,
    bucket: usize,
) -> Result<BoxIter<R>> {
    let bs = ctx.block_store();
    let mut parts: Vec<BoxIter<R>> = Vec::with_capacity(num_maps);
    for map_id in 0..num_maps {
        let block = bs
            .get_pinned(BlockId::Shuffle {
                shuffle: shuffle_id,
                map: map_id,
            })
            .ok_or(Error::FetchFailed { shuffle_id, map_id })?;
        let out = block.downcast::<MapOutput<R>>().map_err(|_| {
            Error::Task(format!(
                "shuffle {shuffle_id} map {map_id}: unexpected record type"
            ))
        })?;
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
