//! [`CombineMap`]: the hash map of map-side and reduce-side aggregation: a hash map with
//! the engine's fast deterministic hasher whose combiners are updated in place (no
//! `Option` per entry to move them out and back), panic-safe: a merge function that
//! panics loses its key's entry (its combiner was moved into the function and dropped by
//! the unwinding), and nothing is dropped twice or leaked.

use std::hash::Hash;

/// A map from keys to combiners, for aggregation.
pub struct CombineMap<K, C> {
    map: rustc_hash::FxHashMap<K, C>,
}

/// Armed while a user function owns a combiner moved out of `key`'s slot: if the function
/// panics, the slot (a stale copy) is taken out of the map and forgotten, so it is neither
/// dropped twice nor leaked with the map.
struct SlotGuard<'a, K: Hash + Eq, C> {
    map: &'a mut rustc_hash::FxHashMap<K, C>,
    key: &'a K,
    armed: bool,
}

impl<K: Hash + Eq, C> Drop for SlotGuard<'_, K, C> {
    fn drop(&mut self) {
        if self.armed {
            if let Some(stale) = self.map.remove(self.key) {
                std::mem::forget(stale);
            }
        }
    }
}

impl<K: Hash + Eq, C> Default for CombineMap<K, C> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Hash + Eq, C> CombineMap<K, C> {
    /// An empty map.
    pub fn new() -> Self {
        CombineMap {
            map: Default::default(),
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
        let mut guard = SlotGuard {
            map: &mut self.map,
            key: &key,
            armed: false,
        };
        if let Some(slot) = guard.map.get_mut(&key) {
            let slot: *mut C = slot;
            guard.armed = true;
            // SAFETY: the value is moved out and a new one written back before anything
            // reads the slot, and the map's layout does not change in between (the slot
            // pointer stays valid); if `merge` panics, the guard takes the stale slot out
            // of the map and forgets it instead of dropping the moved-out value again.
            unsafe {
                let c = std::ptr::read(slot);
                std::ptr::write(slot, merge(c, v));
            }
            guard.armed = false;
        } else {
            drop(guard);
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
        // The key's entry is gone (its combiner went with the panic); the map goes on,
        // and dropping it neither double-drops nor leaks (AddressSanitizer checks both).
        assert_eq!(m.len(), 0);
        m.upsert(2, "c".to_string(), |v| v, |c, v| c + &v);
        m.upsert(2, "d".to_string(), |v| v, |c, v| c + &v);
        assert_eq!(m.into_entries(), vec![(2, "cd".to_string())]);
    }
}
