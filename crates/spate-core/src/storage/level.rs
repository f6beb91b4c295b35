//! Storage levels of persisted RDDs.

use std::fmt;

/// Where and how a persisted RDD's partitions are kept (Spark's `StorageLevel`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StorageLevel {
    /// Keep in memory, within `spate.memory.storageBytes`.
    pub use_memory: bool,
    /// Write to `spate.local.dir` when memory is full (or always, without `use_memory`).
    pub use_disk: bool,
    /// Keep in memory as values (`true`) or encoded bytes (`false`, smaller).
    pub deserialized: bool,
}

impl StorageLevel {
    /// Values in memory; a partition that does not fit is recomputed when needed.
    pub const MEMORY_ONLY: Self = Self::new(true, false, true);
    /// Encoded bytes in memory; smaller, costs decoding on read.
    pub const MEMORY_ONLY_SER: Self = Self::new(true, false, false);
    /// Values in memory, partitions that do not fit (or are evicted) on disk.
    pub const MEMORY_AND_DISK: Self = Self::new(true, true, true);
    /// Encoded bytes in memory, the rest on disk.
    pub const MEMORY_AND_DISK_SER: Self = Self::new(true, true, false);
    /// Only on disk.
    pub const DISK_ONLY: Self = Self::new(false, true, false);

    const fn new(use_memory: bool, use_disk: bool, deserialized: bool) -> Self {
        StorageLevel {
            use_memory,
            use_disk,
            deserialized,
        }
    }

    /// Spark's name of the level.
    pub fn name(&self) -> &'static str {
        match (self.use_memory, self.use_disk, self.deserialized) {
            (true, false, true) => "MEMORY_ONLY",
            (true, false, false) => "MEMORY_ONLY_SER",
            (true, true, true) => "MEMORY_AND_DISK",
            (true, true, false) => "MEMORY_AND_DISK_SER",
            (false, true, _) => "DISK_ONLY",
            _ => "NONE",
        }
    }
}

impl fmt::Debug for StorageLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
