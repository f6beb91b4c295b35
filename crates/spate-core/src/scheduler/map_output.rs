//! Where each shuffle's map outputs are.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;

/// The result of a shuffle map task: where its output lives and how big each bucket is.
///
/// Bucket sizes are kept sparse when most buckets are empty (many reduce partitions over
/// little data, Spark's `HighlyCompressedMapStatus` case): a status costs memory in
/// proportion to its non-empty buckets, not to the reduce partition count.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MapStatus {
    /// The executor holding the output.
    pub executor_id: String,
    sizes: BucketSizes,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
enum BucketSizes {
    /// One size per bucket.
    Dense(Vec<u64>),
    /// `(bucket, size)` of the non-empty buckets, by bucket, out of `len`.
    Sparse {
        len: usize,
        nonzero: Vec<(u32, u64)>,
    },
}

impl MapStatus {
    /// A status for the output on `executor_id` whose bucket `b` holds about
    /// `bucket_bytes[b]` bytes; 0 must mean the bucket is empty (readers skip it).
    pub fn new(executor_id: String, bucket_bytes: Vec<u64>) -> Self {
        let len = bucket_bytes.len();
        let nonzero = bucket_bytes
            .iter()
            .enumerate()
            .filter(|(_, b)| **b > 0)
            .map(|(i, b)| (i, *b))
            .collect();
        Self::from_sizes(executor_id, len, nonzero)
    }

    /// A status over `num_buckets` buckets given the `(bucket, bytes)` of the non-empty
    /// ones, by bucket: costs work in proportion to those unless they are many.
    pub fn from_sizes(executor_id: String, num_buckets: usize, nonzero: Vec<(usize, u64)>) -> Self {
        let sizes = if nonzero.len() * 4 < num_buckets && num_buckets <= u32::MAX as usize {
            BucketSizes::Sparse {
                len: num_buckets,
                nonzero: nonzero.into_iter().map(|(b, n)| (b as u32, n)).collect(),
            }
        } else {
            let mut dense = vec![0; num_buckets];
            for (b, n) in nonzero {
                dense[b] = n;
            }
            BucketSizes::Dense(dense)
        };
        MapStatus { executor_id, sizes }
    }

    /// `(bucket, bytes)` of the non-empty buckets, by bucket.
    pub fn nonempty_buckets(&self) -> Box<dyn Iterator<Item = (usize, u64)> + '_> {
        match &self.sizes {
            BucketSizes::Dense(v) => Box::new(
                v.iter()
                    .enumerate()
                    .filter(|(_, n)| **n > 0)
                    .map(|(b, n)| (b, *n)),
            ),
            BucketSizes::Sparse { nonzero, .. } => {
                Box::new(nonzero.iter().map(|(b, n)| (*b as usize, *n)))
            }
        }
    }

    /// The number of buckets (reduce partitions).
    pub fn num_buckets(&self) -> usize {
        match &self.sizes {
            BucketSizes::Dense(v) => v.len(),
            BucketSizes::Sparse { len, .. } => *len,
        }
    }

    /// Estimated bytes of bucket `bucket`; 0 exactly when it is empty.
    pub fn bucket_bytes(&self, bucket: usize) -> u64 {
        match &self.sizes {
            BucketSizes::Dense(v) => v.get(bucket).copied().unwrap_or(0),
            BucketSizes::Sparse { nonzero, .. } => u32::try_from(bucket)
                .ok()
                .and_then(|b| nonzero.binary_search_by_key(&b, |(i, _)| *i).ok())
                .map_or(0, |i| nonzero[i].1),
        }
    }
}

/// The registered outputs of one shuffle, by map partition: shared copy-on-write, so a
/// reduce task takes all of them with one lock and one reference count.
pub type MapStatuses = Arc<Vec<Option<Arc<MapStatus>>>>;

/// For each bucket, the map partitions whose output holds records for it.
pub type BucketSources = Arc<Vec<Vec<u32>>>;

#[derive(Debug, Default)]
struct ShuffleOutputs {
    statuses: MapStatuses,
    /// How many of `statuses` are `Some`.
    registered: usize,
    /// Built on the first read after the outputs changed.
    sources: Option<BucketSources>,
}

/// Shuffle id -> map partition -> status.
#[derive(Debug, Default)]
pub struct MapOutputTracker {
    outputs: Mutex<HashMap<usize, ShuffleOutputs>>,
}

impl MapOutputTracker {
    pub(crate) fn register(
        &self,
        shuffle_id: usize,
        num_maps: usize,
        map_id: usize,
        status: MapStatus,
    ) {
        let mut o = self.outputs.lock();
        let out = o.entry(shuffle_id).or_default();
        // Copies the list only when a reader still holds the previous one.
        let v = Arc::make_mut(&mut out.statuses);
        let len = num_maps.max(map_id + 1);
        if v.len() < len {
            v.resize(len, None);
        }
        if v[map_id].replace(Arc::new(status)).is_none() {
            out.registered += 1;
        }
        out.sources = None;
    }

    /// Sets every status of `shuffle_id` at once (an executor taking the driver's view).
    pub(crate) fn replace_shuffle(
        &self,
        shuffle_id: usize,
        num_maps: usize,
        statuses: &[Option<MapStatus>],
    ) {
        let mut v: Vec<Option<Arc<MapStatus>>> =
            statuses.iter().map(|s| s.clone().map(Arc::new)).collect();
        v.resize(num_maps.max(v.len()), None);
        let registered = v.iter().filter(|s| s.is_some()).count();
        self.outputs.lock().insert(
            shuffle_id,
            ShuffleOutputs {
                statuses: Arc::new(v),
                registered,
                sources: None,
            },
        );
    }

    pub(crate) fn unregister(&self, shuffle_id: usize, map_id: usize) {
        if let Some(out) = self.outputs.lock().get_mut(&shuffle_id) {
            if out.statuses.get(map_id).is_some_and(Option::is_some) {
                Arc::make_mut(&mut out.statuses)[map_id] = None;
                out.registered -= 1;
                out.sources = None;
            }
        }
    }

    pub(crate) fn unregister_shuffle(&self, shuffle_id: usize) {
        self.outputs.lock().remove(&shuffle_id);
    }

    /// Map partitions of `shuffle_id` with no registered output.
    pub fn missing(&self, shuffle_id: usize, num_maps: usize) -> Vec<usize> {
        let o = self.outputs.lock();
        match o.get(&shuffle_id) {
            None => (0..num_maps).collect(),
            Some(out) if out.registered >= num_maps && out.statuses.len() == num_maps => Vec::new(),
            Some(out) => (0..num_maps)
                .filter(|m| out.statuses.get(*m).is_none_or(|s| s.is_none()))
                .collect(),
        }
    }

    /// The registered status of one map output.
    pub fn status(&self, shuffle_id: usize, map_id: usize) -> Option<Arc<MapStatus>> {
        self.outputs
            .lock()
            .get(&shuffle_id)?
            .statuses
            .get(map_id)?
            .clone()
    }

    /// Every registered status of `shuffle_id`, by map partition (a snapshot).
    pub fn statuses(&self, shuffle_id: usize) -> Option<MapStatuses> {
        self.outputs
            .lock()
            .get(&shuffle_id)
            .map(|o| o.statuses.clone())
    }

    /// What a reduce task of `shuffle_id` reads: a snapshot of the statuses of all
    /// `num_maps` map outputs, and for each bucket the maps with records for it. Built
    /// once per set of outputs, in time proportional to the non-empty buckets, so that
    /// a reduce task visits only the map outputs it needs (with M maps and R reduce
    /// partitions, not M x R).
    ///
    /// # Errors
    /// The first map partition with no registered output.
    pub fn reduce_plan(
        &self,
        shuffle_id: usize,
        num_maps: usize,
    ) -> Result<(MapStatuses, BucketSources), usize> {
        if num_maps == 0 {
            // A shuffle of an empty RDD: nothing was registered, and nothing is to read.
            return Ok((Arc::default(), Arc::default()));
        }
        let mut o = self.outputs.lock();
        let Some(out) = o.get_mut(&shuffle_id) else {
            return Err(0);
        };
        if out.registered < num_maps || out.statuses.len() < num_maps {
            let first = (0..num_maps)
                .find(|m| out.statuses.get(*m).is_none_or(|s| s.is_none()))
                .unwrap_or(0);
            return Err(first);
        }
        let sources = match &out.sources {
            Some(s) => s.clone(),
            None => {
                let buckets = out
                    .statuses
                    .iter()
                    .flatten()
                    .map(|s| s.num_buckets())
                    .max()
                    .unwrap_or(0);
                let mut by_bucket: Vec<Vec<u32>> = Vec::with_capacity(buckets);
                by_bucket.resize_with(buckets, Vec::new);
                for (map_id, s) in out.statuses.iter().enumerate().take(num_maps) {
                    if let Some(s) = s {
                        for (b, _) in s.nonempty_buckets() {
                            by_bucket[b].push(map_id as u32);
                        }
                    }
                }
                let s = Arc::new(by_bucket);
                out.sources = Some(s.clone());
                s
            }
        };
        Ok((out.statuses.clone(), sources))
    }
}
