//! [`CombineMap`]: the hash map of map-side and reduce-side aggregation: a hash map with
//! the engine's fast deterministic hasher whose combiners are updated in place (no
//! `Option` per entry to move them out and back), panic-safe.

/// A map from keys to combiners, for aggregation.
pub struct CombineMap<K, C> {
    map: rustc_hash::FxHashMap<K, C>,
    /// Set while a user function owns a combiner moved out of the map: if it panics, the
    /// map is leaked rather than dropping that combiner twice.
    poisoned: bool,
}

impl<K: std::hash::Hash + Eq, C> Default for CombineMap<K, C> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: std::hash::Hash + Eq, C> CombineMap<K, C> {
    /// An empty map.
    pub fn new() -> Self {
        CombineMap {
            map: Default::default(),
            poisoned: false,
        }
    }

    /// Number of keys.
    #[inline]
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Up to `n` entries, for size estimates.
    pub fn sample(&self, n: usize) -> Vec<(&K, &C)> {
        self.map.iter().take(n).collect()
    }

    /// Creates `key`'s combiner with `create(v)`, or merges `v` into it with `merge`.
    #[inline]
    pub fn upsert<V>(
        &mut self,
        key: K,
        v: V,
        create: impl FnOnce(V) -> C,
        merge: impl FnOnce(C, V) -> C,
    ) {
        // Look up first: in an aggregation most records hit an existing key, and a lookup
        // skips the entry API's capacity check and key move.
        if let Some(slot) = self.map.get_mut(&key) {
            let slot: *mut C = slot;
            self.poisoned = true;
            // SAFETY: the value is moved out and a new one written back before anything
            // reads the slot; if `merge` panics, `poisoned` stays set and Drop leaks the map
            // instead of dropping the moved-out value again.
            unsafe {
                let c = std::ptr::read(slot);
                std::ptr::write(slot, merge(c, v));
            }
            self.poisoned = false;
        } else {
            self.map.insert(key, create(v));
        }
    }

    /// Takes every entry out, leaving the map empty.
    pub fn drain(&mut self) -> Vec<(K, C)> {
        self.map.drain().collect()
    }

    /// The entries.
    pub fn into_entries(mut self) -> Vec<(K, C)> {
        self.drain()
    }
}

impl<K, C> Drop for CombineMap<K, C> {
    fn drop(&mut self) {
        if self.poisoned {
            std::mem::forget(std::mem::take(&mut self.map));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn matches_a_hash_map() {
        let mut m: CombineMap<u64, u64> = CombineMap::new();
        let mut r: HashMap<u64, u64> = HashMap::new();
        for i in 0..100_000u64 {
            let k = (i * 7919) % 3001;
            m.upsert(k, i, |v| v, |c, v| c + v);
            *r.entry(k).or_insert(0) += i;
        }
        assert_eq!(m.len(), r.len());
        let got: HashMap<u64, u64> = m.into_entries().into_iter().collect();
        assert_eq!(got, r);
    }

    #[test]
    fn a_panicking_merge_does_not_double_drop() {
        let mut m: CombineMap<u64, String> = CombineMap::new();
        m.upsert(1, "a".to_string(), |v| v, |c, v| c + &v);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            m.upsert(1, "b".to_string(), |v| v, |_c, _v| panic!("user bug"));
        }));
        assert!(r.is_err());
        drop(m); // leaks instead of double-dropping
    }
}
