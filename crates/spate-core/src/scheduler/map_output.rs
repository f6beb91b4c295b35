//! Where each shuffle's map outputs are.

use parking_lot::Mutex;
use std::collections::HashMap;

/// The result of a shuffle map task: where its output lives and how big each bucket is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MapStatus {
    /// The executor holding the output.
    pub executor_id: String,
    /// Estimated bytes per reduce partition.
    pub bucket_bytes: Vec<u64>,
}

/// Shuffle id -> map partition -> status.
#[derive(Debug, Default)]
pub struct MapOutputTracker {
    outputs: Mutex<HashMap<usize, Vec<Option<MapStatus>>>>,
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
        let v = o.entry(shuffle_id).or_insert_with(|| vec![None; num_maps]);
        if v.len() < num_maps {
            v.resize(num_maps, None);
        }
        v[map_id] = Some(status);
    }

    pub(crate) fn unregister(&self, shuffle_id: usize, map_id: usize) {
        if let Some(v) = self.outputs.lock().get_mut(&shuffle_id) {
            if let Some(s) = v.get_mut(map_id) {
                *s = None;
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
            Some(v) => (0..num_maps)
                .filter(|m| v.get(*m).is_none_or(|s| s.is_none()))
                .collect(),
        }
    }

    /// The registered status of one map output.
    pub fn status(&self, shuffle_id: usize, map_id: usize) -> Option<MapStatus> {
        self.outputs.lock().get(&shuffle_id)?.get(map_id)?.clone()
    }
}
