//! [`BlockStore`]: blocks by id, a memory budget with least-recently-used eviction, and
//! disk for what does not fit.

use crate::codec;
use crate::data::Data;
use crate::error::{Error, Result};
use crate::storage::StorageLevel;
use parking_lot::Mutex;
use std::any::Any;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// The name of a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BlockId {
    /// Partition `split` of persisted RDD `rdd`.
    Rdd {
        /// RDD id.
        rdd: usize,
        /// Partition.
        split: usize,
    },
    /// The output of map task `map` of shuffle `shuffle`.
    Shuffle {
        /// Shuffle id.
        shuffle: usize,
        /// Map partition.
        map: usize,
    },
    /// An executor's copy of broadcast variable `id`.
    Broadcast {
        /// Broadcast id.
        id: usize,
    },
    /// A block a streaming receiver stored: stream id and sequence number.
    Input {
        /// Input stream id.
        stream: usize,
        /// Sequence number within the stream.
        seq: u64,
    },
}

impl BlockId {
    /// Its name as Spark writes it (`rdd_3_0`, `shuffle_1_2`, `broadcast_0`, `input_0_7`).
    pub fn name(&self) -> String {
        self.file_name()
    }

    fn file_name(&self) -> String {
        match self {
            BlockId::Rdd { rdd, split } => format!("rdd_{rdd}_{split}"),
            BlockId::Shuffle { shuffle, map } => format!("shuffle_{shuffle}_{map}"),
            BlockId::Broadcast { id } => format!("broadcast_{id}"),
            BlockId::Input { stream, seq } => format!("input_{stream}_{seq}"),
        }
    }
}

/// A file in the scratch directory, deleted when dropped.
#[derive(Debug)]
pub(crate) struct ScratchFile {
    pub(crate) path: PathBuf,
}

impl Drop for ScratchFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

type ToBytes = fn(&(dyn Any + Send + Sync)) -> Result<Vec<u8>>;

enum Stored {
    /// Values, as an `Arc<Vec<T>>` (or any shared value for shuffle/broadcast blocks).
    Values(Arc<dyn Any + Send + Sync>),
    /// Encoded bytes in memory.
    Bytes(Arc<Vec<u8>>),
    /// Encoded bytes in a scratch file.
    Disk(Arc<ScratchFile>),
}

struct Entry {
    stored: Stored,
    mem_bytes: u64,
    level: StorageLevel,
    last_use: u64,
    /// Blocks of shuffles and broadcasts are not evicted.
    evictable: bool,
    to_bytes: Option<ToBytes>,
}

struct Inner {
    blocks: HashMap<BlockId, Entry>,
    used: u64,
    clock: u64,
}

/// Counters of what the block store did, for tests and monitoring.
#[derive(Debug, Default)]
pub struct BlockStoreMetrics {
    /// Partitions evicted from memory.
    pub evictions: AtomicU64,
    /// Blocks written to disk.
    pub disk_writes: AtomicU64,
    /// Partitions not stored because they did not fit.
    pub dropped: AtomicU64,
    /// Broadcast values fetched by an executor from the driver.
    pub broadcast_fetches: AtomicU64,
    /// Shuffle or aggregation spills to disk.
    pub spills: AtomicU64,
}

/// One block as [`BlockStore::block_infos`] reports it.
#[derive(Debug, Clone, Copy)]
pub struct BlockInfo {
    /// The block.
    pub id: BlockId,
    /// `memory`, `memory_ser` or `disk`.
    pub location: &'static str,
    /// Memory it takes (estimated for values).
    pub memory_bytes: u64,
    /// Bytes of its file on disk.
    pub disk_bytes: u64,
    /// The level it was stored with.
    pub level: StorageLevel,
}

/// Blocks held by one executor (in local mode, the process).
pub struct BlockStore {
    inner: Mutex<Inner>,
    budget: u64,
    dir: PathBuf,
    file_seq: AtomicU64,
    metrics: BlockStoreMetrics,
    /// Set when the context stopped and its scratch directory was removed: nothing may
    /// create it again.
    dir_closed: AtomicBool,
}

fn values_to_bytes<T: Data>(v: &(dyn Any + Send + Sync)) -> Result<Vec<u8>> {
    let vec = v
        .downcast_ref::<Vec<T>>()
        .ok_or_else(|| Error::Task("block holds a different record type".into()))?;
    codec::encode(vec, "cached partition")
}

/// Iterates an `Arc<Vec<T>>` by cloning each element.
pub(crate) struct ArcVecIter<T> {
    data: Arc<Vec<T>>,
    pos: usize,
    end: usize,
}

impl<T> ArcVecIter<T> {
    pub(crate) fn new(data: Arc<Vec<T>>) -> Self {
        let end = data.len();
        ArcVecIter { data, pos: 0, end }
    }
    pub(crate) fn range(data: Arc<Vec<T>>, start: usize, end: usize) -> Self {
        ArcVecIter {
            data,
            pos: start,
            end,
        }
    }
}

impl<T: Clone> Iterator for ArcVecIter<T> {
    type Item = T;
    #[inline]
    fn next(&mut self) -> Option<T> {
        if self.pos < self.end {
            let v = self.data[self.pos].clone();
            self.pos += 1;
            Some(v)
        } else {
            None
        }
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.end - self.pos;
        (n, Some(n))
    }
}

impl BlockStore {
    /// A store with a memory budget of `budget` bytes, spilling to `dir`.
    pub fn new(budget: u64, dir: PathBuf) -> Self {
        BlockStore {
            inner: Mutex::new(Inner {
                blocks: HashMap::new(),
                used: 0,
                clock: 0,
            }),
            budget,
            dir,
            file_seq: AtomicU64::new(0),
            metrics: BlockStoreMetrics::default(),
            dir_closed: AtomicBool::new(false),
        }
    }

    /// What the store did so far.
    pub fn metrics(&self) -> &BlockStoreMetrics {
        &self.metrics
    }

    /// The memory budget in bytes.
    pub fn budget(&self) -> u64 {
        self.budget
    }

    /// Bytes of memory in use.
    pub fn memory_used(&self) -> u64 {
        self.inner.lock().used
    }

    /// The scratch directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Creates the scratch directory if it is missing (it may have been deleted under a
    /// running context), unless the context stopped and removed it for good.
    ///
    /// # Errors
    /// [`Error::Stopped`] after [`Self::close_dir`]; an i/o error creating it.
    pub(crate) fn ensure_dir(&self) -> Result<&Path> {
        if self.dir_closed.load(Ordering::Acquire) {
            return Err(Error::Stopped);
        }
        std::fs::create_dir_all(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        Ok(&self.dir)
    }

    /// Removes the scratch directory for good: later writes fail with [`Error::Stopped`]
    /// instead of creating it again.
    pub(crate) fn close_dir(&self) {
        self.dir_closed.store(true, Ordering::Release);
        crate::scratch::remove_dir(&self.dir);
    }

    /// A fresh scratch file path with this prefix.
    pub(crate) fn scratch_path(&self, prefix: &str) -> PathBuf {
        let n = self.file_seq.fetch_add(1, Ordering::Relaxed);
        self.dir.join(format!("{prefix}-{n}"))
    }

    pub(crate) fn write_scratch(&self, prefix: &str, bytes: &[u8]) -> Result<Arc<ScratchFile>> {
        self.ensure_dir()?;
        let path = self.scratch_path(prefix);
        std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))?;
        self.metrics.disk_writes.fetch_add(1, Ordering::Relaxed);
        Ok(Arc::new(ScratchFile { path }))
    }

    /// Whether block `id` is present (in memory or on disk).
    pub fn contains(&self, id: BlockId) -> bool {
        self.inner.lock().blocks.contains_key(&id)
    }

    /// Ids of the blocks present, sorted.
    pub fn block_ids(&self) -> Vec<BlockId> {
        let mut v: Vec<BlockId> = self.inner.lock().blocks.keys().copied().collect();
        v.sort();
        v
    }

    /// Removes block `id`; returns whether it was there.
    pub fn remove(&self, id: BlockId) -> bool {
        let mut inner = self.inner.lock();
        let removed = inner.blocks.remove(&id);
        if let Some(e) = &removed {
            inner.used -= e.mem_bytes;
        }
        // The value is dropped after the lock is released: its drop may reach the store.
        drop(inner);
        removed.is_some()
    }

    /// Removes every block matching `pred`.
    pub fn remove_where(&self, pred: impl Fn(&BlockId) -> bool) -> usize {
        let mut inner = self.inner.lock();
        let ids: Vec<BlockId> = inner.blocks.keys().filter(|b| pred(b)).copied().collect();
        let mut removed = Vec::with_capacity(ids.len());
        for id in &ids {
            if let Some(e) = inner.blocks.remove(id) {
                inner.used -= e.mem_bytes;
                removed.push(e);
            }
        }
        // Dropped after the lock is released: their drops may reach the store.
        drop(inner);
        drop(removed);
        ids.len()
    }

    /// Reserves `bytes` of memory for a pinned block (shuffle output, broadcast), evicting
    /// cached partitions if needed; false when even that is not enough.
    pub(crate) fn try_reserve(&self, bytes: u64) -> bool {
        let mut inner = self.inner.lock();
        self.make_room(&mut inner, bytes, None)
    }

    /// Stores a pinned value whose memory was already reserved.
    pub(crate) fn put_pinned(
        &self,
        id: BlockId,
        value: Arc<dyn Any + Send + Sync>,
        mem_bytes: u64,
    ) {
        let mut inner = self.inner.lock();
        inner.clock += 1;
        let last_use = inner.clock;
        if let Some(old) = inner.blocks.insert(
            id,
            Entry {
                stored: Stored::Values(value),
                mem_bytes,
                level: StorageLevel::MEMORY_ONLY,
                last_use,
                evictable: false,
                to_bytes: None,
            },
        ) {
            inner.used -= old.mem_bytes;
        }
    }

    /// A pinned value stored with [`Self::put_pinned`].
    pub(crate) fn get_pinned(&self, id: BlockId) -> Option<Arc<dyn Any + Send + Sync>> {
        let inner = self.inner.lock();
        match inner.blocks.get(&id).map(|e| &e.stored) {
            Some(Stored::Values(v)) => Some(v.clone()),
            _ => None,
        }
    }

    /// Evicts least-recently-used evictable blocks (not of `keep_rdd`) until `bytes` more
    /// fit; reserves them on success.
    fn make_room(&self, inner: &mut Inner, bytes: u64, keep_rdd: Option<usize>) -> bool {
        if bytes > self.budget {
            return false;
        }
        while inner.used + bytes > self.budget {
            let victim = inner
                .blocks
                .iter()
                .filter(|(id, e)| {
                    e.evictable
                        && e.mem_bytes > 0
                        && !matches!(id, BlockId::Rdd { rdd, .. } if Some(*rdd) == keep_rdd)
                })
                .min_by_key(|(_, e)| e.last_use)
                .map(|(id, _)| *id);
            let Some(victim) = victim else { return false };
            let entry = inner.blocks.remove(&victim).expect("victim present");
            inner.used -= entry.mem_bytes;
            self.metrics.evictions.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(block = ?victim, bytes = entry.mem_bytes, "evicted from memory");
            if entry.level.use_disk {
                let bytes = match &entry.stored {
                    Stored::Values(v) => entry.to_bytes.map(|f| f(v.as_ref())),
                    Stored::Bytes(b) => Some(Ok(b.as_ref().clone())),
                    Stored::Disk(_) => None,
                };
                if let Some(Ok(b)) = bytes {
                    if let Ok(file) = self.write_scratch(&victim.file_name(), &b) {
                        inner.blocks.insert(
                            victim,
                            Entry {
                                stored: Stored::Disk(file),
                                mem_bytes: 0,
                                level: entry.level,
                                last_use: entry.last_use,
                                evictable: true,
                                to_bytes: None,
                            },
                        );
                    }
                }
            }
        }
        inner.used += bytes;
        true
    }

    /// Reads block `id` of records `T` (a cached partition or received data), if present.
    pub fn get_values<T: Data>(&self, id: BlockId) -> Result<Option<Arc<Vec<T>>>> {
        let stored = {
            let mut inner = self.inner.lock();
            inner.clock += 1;
            let clock = inner.clock;
            match inner.blocks.get_mut(&id) {
                None => return Ok(None),
                Some(e) => {
                    e.last_use = clock;
                    match &e.stored {
                        Stored::Values(v) => Stored::Values(v.clone()),
                        Stored::Bytes(b) => Stored::Bytes(b.clone()),
                        Stored::Disk(f) => Stored::Disk(f.clone()),
                    }
                }
            }
        };
        let what = format!("block {id:?}");
        match stored {
            Stored::Values(v) => match v.downcast::<Vec<T>>() {
                Ok(v) => Ok(Some(v)),
                Err(_) => Err(Error::Task(format!("{what} holds a different record type"))),
            },
            Stored::Bytes(b) => Ok(Some(Arc::new(codec::decode(&b, &what)?))),
            Stored::Disk(f) => {
                let bytes = std::fs::read(&f.path).map_err(|e| Error::io(&f.path, e))?;
                Ok(Some(Arc::new(codec::decode(&bytes, &what)?)))
            }
        }
    }

    /// Stores block `id` of records at `level`; returns whether it was kept anywhere.
    pub fn put_values<T: Data>(
        &self,
        id: BlockId,
        values: Arc<Vec<T>>,
        level: StorageLevel,
    ) -> Result<bool> {
        let keep_rdd = match id {
            BlockId::Rdd { rdd, .. } => Some(rdd),
            _ => None,
        };
        let sample = &values[..values.len().min(16)];
        let est = (codec::estimate_record_bytes(sample) * values.len()) as u64 + 64;
        if level.use_memory {
            let (stored, mem) = if level.deserialized {
                (
                    Stored::Values(values.clone() as Arc<dyn Any + Send + Sync>),
                    est,
                )
            } else {
                let b = codec::encode(values.as_ref(), "cached partition")?;
                let n = b.len() as u64 + 64;
                (Stored::Bytes(Arc::new(b)), n)
            };
            let mut inner = self.inner.lock();
            if self.make_room(&mut inner, mem, keep_rdd) {
                inner.clock += 1;
                let last_use = inner.clock;
                let to_bytes: Option<ToBytes> = Some(values_to_bytes::<T>);
                if let Some(old) = inner.blocks.insert(
                    id,
                    Entry {
                        stored,
                        mem_bytes: mem,
                        level,
                        last_use,
                        evictable: true,
                        to_bytes,
                    },
                ) {
                    inner.used -= old.mem_bytes;
                }
                return Ok(true);
            }
        }
        if level.use_disk {
            let bytes = codec::encode(values.as_ref(), "cached partition")?;
            let file = self.write_scratch(&id.file_name(), &bytes)?;
            let mut inner = self.inner.lock();
            inner.clock += 1;
            let last_use = inner.clock;
            if let Some(old) = inner.blocks.insert(
                id,
                Entry {
                    stored: Stored::Disk(file),
                    mem_bytes: 0,
                    level,
                    last_use,
                    evictable: true,
                    to_bytes: None,
                },
            ) {
                inner.used -= old.mem_bytes;
            }
            return Ok(true);
        }
        self.metrics.dropped.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(block = ?id, bytes = est, "partition does not fit in memory; not cached");
        Ok(false)
    }

    /// Every block present with where it is and its size, sorted by id (the web UI's
    /// storage page).
    pub fn block_infos(&self) -> Vec<BlockInfo> {
        let inner = self.inner.lock();
        let mut v: Vec<BlockInfo> = inner
            .blocks
            .iter()
            .map(|(id, e)| BlockInfo {
                id: *id,
                location: match e.stored {
                    Stored::Values(_) => "memory",
                    Stored::Bytes(_) => "memory_ser",
                    Stored::Disk(_) => "disk",
                },
                memory_bytes: e.mem_bytes,
                disk_bytes: match &e.stored {
                    Stored::Disk(f) => std::fs::metadata(&f.path).map(|m| m.len()).unwrap_or(0),
                    _ => 0,
                },
                level: e.level,
            })
            .collect();
        drop(inner);
        v.sort_by_key(|b| b.id);
        v
    }

    /// Where block `id` lives now: "memory", "memory_ser", "disk", or `None`.
    pub fn location(&self, id: BlockId) -> Option<&'static str> {
        self.inner.lock().blocks.get(&id).map(|e| match e.stored {
            Stored::Values(_) => "memory",
            Stored::Bytes(_) => "memory_ser",
            Stored::Disk(_) => "disk",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lru_eviction_and_disk_levels() {
        let dir = tempfile::tempdir().unwrap();
        let bs = BlockStore::new(10_000, dir.path().to_path_buf());
        let big: Arc<Vec<u64>> = Arc::new((0..500).collect());
        let a = BlockId::Rdd { rdd: 1, split: 0 };
        let b = BlockId::Rdd { rdd: 2, split: 0 };
        let c = BlockId::Rdd { rdd: 3, split: 0 };
        assert!(bs
            .put_values(a, big.clone(), StorageLevel::MEMORY_ONLY)
            .unwrap());
        assert!(bs
            .put_values(b, big.clone(), StorageLevel::MEMORY_AND_DISK)
            .unwrap());
        // Touch a so that b is the least recently used.
        bs.get_values::<u64>(a).unwrap().unwrap();
        assert!(bs
            .put_values(c, big.clone(), StorageLevel::MEMORY_ONLY)
            .unwrap());
        assert_eq!(bs.location(b), Some("disk"), "b evicted to disk");
        assert_eq!(*bs.get_values::<u64>(b).unwrap().unwrap(), *big);
        let d = BlockId::Rdd { rdd: 4, split: 0 };
        bs.put_values(d, big.clone(), StorageLevel::MEMORY_ONLY)
            .unwrap();
        assert!(bs.location(a).is_none(), "MEMORY_ONLY victim dropped");
        let e = BlockId::Rdd { rdd: 5, split: 0 };
        bs.put_values(e, big.clone(), StorageLevel::DISK_ONLY)
            .unwrap();
        assert_eq!(bs.location(e), Some("disk"));
        let f = BlockId::Rdd { rdd: 6, split: 0 };
        bs.put_values(f, big.clone(), StorageLevel::MEMORY_ONLY_SER)
            .unwrap();
        assert_eq!(bs.location(f), Some("memory_ser"));
        assert_eq!(*bs.get_values::<u64>(f).unwrap().unwrap(), *big);
        assert!(bs.metrics().evictions.load(Ordering::Relaxed) >= 2);
    }
}
