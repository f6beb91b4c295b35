//! Stateful operations: `update_state_by_key` (Spark's `StateDStream`) and
//! `map_with_state` (Spark's `MapWithStateDStream`), each batch's state computed from the
//! previous batch's state RDD and the batch's data, checkpointed periodically so the
//! lineage does not grow without bound.

use super::{Compute, DStream, DStreamBase, DStreamNode};
use crate::error::Result;
use crate::time::Time;
use serde::{Deserialize, Serialize};
use spate_core::rdd::{Dependency, RddBase, RddInfo, RddNode};
use spate_core::{
    BoxIter, Context, Data, Key, Partitioner, PartitionerDesc, Partitioning, Rdd, StorageLevel,
    TaskContext,
};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

type UpdateFn<K, V, S> = dyn Fn(Time, &K, Vec<V>, Option<S>) -> Option<S> + Send + Sync;

/// Spark's `StateDStream`.
struct StateStream<K: Key, V: Data, S: Data> {
    // The parent's node, not a `DStream` handle (which would hold the context).
    parent: Arc<dyn DStreamNode<(K, V)>>,
    update: Arc<UpdateFn<K, V, S>>,
    partitioner: Arc<dyn Partitioner<K>>,
    initial: Option<Rdd<(K, S)>>,
}

impl<K: Key, V: Data, S: Data> StateStream<K, V, S> {
    /// The new state from the batch's data cogrouped with the previous state.
    fn with_previous(&self, time: Time, data: Rdd<(K, V)>, prev: &Rdd<(K, S)>) -> Rdd<(K, S)> {
        let update = self.update.clone();
        data.cogroup_with(prev, Partitioning::With(self.partitioner.clone()))
            .map_partitions_preserving(move |_, it| {
                let update = update.clone();
                it.filter_map(move |(k, (vs, mut ss))| {
                    let s = if ss.is_empty() {
                        None
                    } else {
                        Some(ss.swap_remove(0))
                    };
                    update(time, &k, vs, s).map(|s| (k, s))
                })
            })
    }
}

impl<K: Key, V: Data, S: Data> Compute<(K, S)> for StateStream<K, V, S> {
    fn compute(&self, time: Time, this: &dyn DStreamNode<(K, S)>) -> Result<Option<Rdd<(K, S)>>> {
        let prev_time = Time(time.0 - this.meta().slide_ms());
        let prev = this.get_or_compute(prev_time)?;
        let data = self.parent.get_or_compute(time)?;
        Ok(match (prev, data) {
            (Some(prev), Some(data)) => Some(self.with_previous(time, data, &prev)),
            (Some(prev), None) => {
                // No data for this batch: the function still runs for every key.
                let update = self.update.clone();
                Some(prev.map_partitions_preserving(move |_, it| {
                    let update = update.clone();
                    it.filter_map(move |(k, s)| {
                        update(time, &k, Vec::new(), Some(s)).map(|s| (k, s))
                    })
                }))
            }
            (None, Some(data)) => Some(match &self.initial {
                Some(initial) => self.with_previous(time, data, initial),
                None => {
                    let update = self.update.clone();
                    data.group_by_key_with(Partitioning::With(self.partitioner.clone()))
                        .map_partitions_preserving(move |_, it| {
                            let update = update.clone();
                            it.filter_map(move |(k, vs)| update(time, &k, vs, None).map(|s| (k, s)))
                        })
                }
            }),
            (None, None) => None,
        })
    }
    fn dependencies(&self) -> Vec<Arc<dyn DStreamBase>> {
        vec![self.parent.clone()]
    }
}

impl<K: Key, V: Data> DStream<(K, V)> {
    /// The state of every key, updated each batch by `f(new_values, previous_state)`:
    /// called for every key with new values or state (with no values for keys without
    /// data, even when the batch has no RDD); `None` removes the key. The whole state is
    /// output every batch. Needs a checkpoint directory (checkpointed every 10 s by
    /// default).
    pub fn update_state_by_key<S: Data, F>(&self, f: F) -> DStream<(K, S)>
    where
        F: Fn(Vec<V>, Option<S>) -> Option<S> + Send + Sync + 'static,
    {
        self.update_state_by_key_full(move |_, _, vs, s| f(vs, s), Partitioning::Default, None)
    }

    /// [`DStream::update_state_by_key`] into a partition count or partitioner.
    pub fn update_state_by_key_with<S: Data, F>(
        &self,
        f: F,
        p: impl Into<Partitioning<K>>,
    ) -> DStream<(K, S)>
    where
        F: Fn(Vec<V>, Option<S>) -> Option<S> + Send + Sync + 'static,
    {
        self.update_state_by_key_full(move |_, _, vs, s| f(vs, s), p, None)
    }

    /// [`DStream::update_state_by_key`] starting from `initial` state.
    pub fn update_state_by_key_with_initial<S: Data, F>(
        &self,
        f: F,
        p: impl Into<Partitioning<K>>,
        initial: Rdd<(K, S)>,
    ) -> DStream<(K, S)>
    where
        F: Fn(Vec<V>, Option<S>) -> Option<S> + Send + Sync + 'static,
    {
        self.update_state_by_key_full(move |_, _, vs, s| f(vs, s), p, Some(initial))
    }

    /// The general form: `f(batch_time, key, new_values, previous_state)`.
    pub fn update_state_by_key_full<S: Data, F>(
        &self,
        f: F,
        p: impl Into<Partitioning<K>>,
        initial: Option<Rdd<(K, S)>>,
    ) -> DStream<(K, S)>
    where
        F: Fn(Time, &K, Vec<V>, Option<S>) -> Option<S> + Send + Sync + 'static,
    {
        let partitioner = self.partitioner_for(p);
        let s = StateStream {
            parent: self.node.clone(),
            update: Arc::new(f),
            partitioner,
            initial,
        };
        DStream::create(&self.ssc, "update_state_by_key", self.slide_ms(), true, s)
            .persist(StorageLevel::MEMORY_ONLY_SER)
    }
}

/// The state of one key inside a `map_with_state` function (Spark's `State`).
#[derive(Debug)]
pub struct State<S> {
    value: Option<S>,
    updated: bool,
    removed: bool,
    timing_out: bool,
}

impl<S: Clone> State<S> {
    /// Whether the key has state.
    pub fn exists(&self) -> bool {
        self.value.is_some()
    }
    /// The state, if any.
    pub fn get(&self) -> Option<&S> {
        self.value.as_ref()
    }
    /// A copy of the state, if any (Spark's `getOption`).
    pub fn get_option(&self) -> Option<S> {
        self.value.clone()
    }
    /// The state or a default.
    pub fn get_or(&self, default: S) -> S {
        self.value.clone().unwrap_or(default)
    }
    /// Sets the state.
    ///
    /// # Panics
    /// When the key is timing out (Spark forbids updating it then) or was removed.
    pub fn update(&mut self, s: S) {
        assert!(
            !self.timing_out,
            "cannot update the state of a key that is timing out"
        );
        assert!(!self.removed, "cannot update a state that was removed");
        self.value = Some(s);
        self.updated = true;
    }
    /// Removes the state.
    pub fn remove(&mut self) {
        assert!(
            !self.timing_out,
            "cannot remove the state of a key that is timing out"
        );
        self.value = None;
        self.removed = true;
    }
    /// Whether the function is called because the key timed out (then its value is
    /// `None` and the state goes away afterwards).
    pub fn is_timing_out(&self) -> bool {
        self.timing_out
    }
}

type MappingFn<K, V, S, M> = dyn Fn(Time, &K, Option<V>, &mut State<S>) -> Option<M> + Send + Sync;

/// What `map_with_state` does (Spark's `StateSpec`): the function, and optionally the
/// initial state, partitioning and idle timeout.
pub struct StateSpec<K: Key, V: Data, S: Data, M: Data> {
    f: Arc<MappingFn<K, V, S, M>>,
    initial: Option<Rdd<(K, S)>>,
    partitioning: Partitioning<K>,
    timeout_ms: Option<i64>,
}

impl<K: Key, V: Data, S: Data, M: Data> StateSpec<K, V, S, M> {
    /// A spec from `f(key, value, state) -> mapped`, Spark's common form
    /// (`StateSpec.function((key, value, state) => ...)`): called once per record, and
    /// with `None` for keys timing out; every call emits what it returns.
    ///
    /// ```
    /// # use spate_streaming::dstream::{State, StateSpec};
    /// // A running count per word, emitted as (word, count).
    /// let spec = StateSpec::function(|word: &String, one: Option<i64>, state: &mut State<i64>| {
    ///     let sum = one.unwrap_or(0) + state.get_option().unwrap_or(0);
    ///     state.update(sum);
    ///     (word.clone(), sum)
    /// });
    /// # let _: StateSpec<String, i64, i64, (String, i64)> = spec;
    /// ```
    pub fn function<F>(f: F) -> Self
    where
        F: Fn(&K, Option<V>, &mut State<S>) -> M + Send + Sync + 'static,
    {
        Self::function_with_time(move |_, k, v, s| Some(f(k, v, s)))
    }

    /// A spec from `f(batch_time, key, value, state) -> Option<mapped>` (Spark's
    /// four-argument `StateSpec.function`): called once per record, and with `None` for
    /// keys timing out; `None` emits nothing.
    pub fn function_with_time<F>(f: F) -> Self
    where
        F: Fn(Time, &K, Option<V>, &mut State<S>) -> Option<M> + Send + Sync + 'static,
    {
        StateSpec {
            f: Arc::new(f),
            initial: None,
            partitioning: Partitioning::Default,
            timeout_ms: None,
        }
    }
    /// Starts from this state.
    pub fn initial_state(mut self, rdd: Rdd<(K, S)>) -> Self {
        self.initial = Some(rdd);
        self
    }
    /// Partitions the state this way (a count or a partitioner).
    pub fn partitions(mut self, p: impl Into<Partitioning<K>>) -> Self {
        self.partitioning = p.into();
        self
    }
    /// Removes keys that received no record for `idle` (checked on checkpoint batches,
    /// as Spark does), calling the function for them once with `is_timing_out()`.
    pub fn timeout(mut self, idle: Duration) -> Self {
        self.timeout_ms = Some(idle.as_millis() as i64);
        self
    }
}

/// One partition of a `map_with_state` state RDD: the state map and the batch's mapped
/// records (Spark's `MapWithStateRDDRecord`).
#[derive(Clone, Serialize, Deserialize)]
#[serde(bound = "K: Key, S: Data, M: Data")]
pub struct StateRecord<K, S, M> {
    /// Key -> (state, time of its last update in ms).
    pub state: HashMap<K, (S, i64)>,
    /// What the function returned for this batch.
    pub mapped: Vec<M>,
}

/// The state RDD of one batch: partition i from partition i of the previous state and of
/// the batch's data partitioned the same way.
struct MapWithStateRdd<K: Key, V: Data, S: Data, M: Data> {
    info: RddInfo,
    prev: Rdd<StateRecord<K, S, M>>,
    data: Rdd<(K, V)>,
    f: Arc<MappingFn<K, V, S, M>>,
    time: Time,
    timeout_threshold: Option<i64>,
    full_scan: bool,
    partitioner: PartitionerDesc,
}

impl<K: Key, V: Data, S: Data, M: Data> RddBase for MapWithStateRdd<K, V, S, M> {
    fn info(&self) -> &RddInfo {
        &self.info
    }
    fn dependencies(&self) -> Vec<Dependency> {
        vec![
            Dependency::Narrow(self.prev.base()),
            Dependency::Narrow(self.data.base()),
        ]
    }
    fn partitioner(&self) -> Option<PartitionerDesc> {
        Some(self.partitioner.clone())
    }
}

impl<K: Key, V: Data, S: Data, M: Data> RddNode<StateRecord<K, S, M>>
    for MapWithStateRdd<K, V, S, M>
{
    fn compute(
        &self,
        split: usize,
        tc: &TaskContext,
    ) -> spate_core::Result<BoxIter<StateRecord<K, S, M>>> {
        let mut state = match self.prev.iterator(split, tc)?.next() {
            Some(r) => r.state,
            None => HashMap::new(),
        };
        let mut mapped = Vec::new();
        let with_timeout = self.timeout_threshold.is_some();
        let now = self.time.0;
        for (k, v) in self.data.iterator(split, tc)? {
            let mut st = State {
                value: state.get(&k).map(|(s, _)| s.clone()),
                updated: false,
                removed: false,
                timing_out: false,
            };
            if let Some(m) = (self.f)(self.time, &k, Some(v), &mut st) {
                mapped.push(m);
            }
            if st.removed {
                state.remove(&k);
            } else if st.updated || (st.value.is_some() && with_timeout) {
                if let Some(s) = st.value {
                    state.insert(k, (s, now));
                }
            }
        }
        if let (true, Some(threshold)) = (self.full_scan, self.timeout_threshold) {
            let expired: Vec<K> = state
                .iter()
                .filter(|(_, (_, t))| *t < threshold)
                .map(|(k, _)| k.clone())
                .collect();
            for k in expired {
                let (s, _) = state.remove(&k).expect("expired key present");
                let mut st = State {
                    value: Some(s),
                    updated: false,
                    removed: false,
                    timing_out: true,
                };
                if let Some(m) = (self.f)(self.time, &k, None, &mut st) {
                    mapped.push(m);
                }
            }
        }
        Ok(Box::new(std::iter::once(StateRecord { state, mapped })))
    }
}

/// Spark's `InternalMapWithStateDStream`: the stream of state RDDs.
struct MapWithStateStream<K: Key, V: Data, S: Data, M: Data> {
    // The parent's node and the core context, not a `DStream` handle (which would hold
    // the streaming context).
    parent: Arc<dyn DStreamNode<(K, V)>>,
    ctx: Context,
    f: Arc<MappingFn<K, V, S, M>>,
    partitioner: Arc<dyn Partitioner<K>>,
    initial: Option<Rdd<(K, S)>>,
    timeout_ms: Option<i64>,
}

impl<K: Key, V: Data, S: Data, M: Data> Compute<StateRecord<K, S, M>>
    for MapWithStateStream<K, V, S, M>
{
    fn compute(
        &self,
        time: Time,
        this: &dyn DStreamNode<StateRecord<K, S, M>>,
    ) -> Result<Option<Rdd<StateRecord<K, S, M>>>> {
        let ctx = self.ctx.clone();
        let p = Partitioning::With(self.partitioner.clone());
        let prev = match this.get_or_compute(Time(time.0 - this.meta().slide_ms()))? {
            Some(prev) => prev,
            None => {
                // The first batch: the initial state (or none), partitioned.
                let initial = self.initial.clone().unwrap_or_else(|| ctx.empty());
                initial
                    .partition_by(p.clone())
                    .map_partitions_preserving(move |_, it| {
                        let state: HashMap<K, (S, i64)> =
                            it.map(|(k, s)| (k, (s, time.0))).collect();
                        std::iter::once(StateRecord {
                            state,
                            mapped: Vec::new(),
                        })
                    })
            }
        };
        // Even without data the state moves on (and keys can time out).
        let data = self
            .parent
            .get_or_compute(time)?
            .unwrap_or_else(|| ctx.empty())
            .partition_by(p);
        let zero = this.meta().zero_ms().unwrap_or(0);
        let full_scan = this
            .meta()
            .checkpoint_ms()
            .is_some_and(|ck| (time.0 - zero) % ck == 0);
        let node = MapWithStateRdd {
            info: RddInfo::new(
                &ctx,
                "map_with_state",
                self.partitioner.num_partitions(),
                &[
                    Dependency::Narrow(prev.base()),
                    Dependency::Narrow(data.base()),
                ],
            ),
            prev,
            data,
            f: self.f.clone(),
            time,
            timeout_threshold: self.timeout_ms.map(|t| time.0 - t),
            full_scan,
            partitioner: self.partitioner.desc(),
        };
        Ok(Some(Rdd::from_node(Arc::new(node))))
    }
    fn dependencies(&self) -> Vec<Arc<dyn DStreamBase>> {
        vec![self.parent.clone()]
    }
}

/// The result of `map_with_state`: the mapped records, with the state snapshots
/// available through [`MapWithStateDStream::state_snapshots`].
pub struct MapWithStateDStream<K: Key, S: Data, M: Data> {
    mapped: DStream<M>,
    states: DStream<StateRecord<K, S, M>>,
}

impl<K: Key, S: Data, M: Data> MapWithStateDStream<K, S, M> {
    /// The stream of what the function returned.
    pub fn stream(&self) -> &DStream<M> {
        &self.mapped
    }
    /// Every key's state after each batch.
    pub fn state_snapshots(&self) -> DStream<(K, S)> {
        self.states.transform_named("state_snapshots", |rdd, _| {
            Ok(rdd.flat_map(|r: StateRecord<K, S, M>| {
                r.state
                    .into_iter()
                    .map(|(k, (s, _))| (k, s))
                    .collect::<Vec<_>>()
            }))
        })
    }
}

impl<K: Key, S: Data, M: Data> std::ops::Deref for MapWithStateDStream<K, S, M> {
    type Target = DStream<M>;
    fn deref(&self) -> &DStream<M> {
        &self.mapped
    }
}

impl<K: Key, V: Data> DStream<(K, V)> {
    /// Spark's `mapWithState`: the spec's function runs once per record with the key's
    /// state, and once for each key timing out. Needs a checkpoint directory; the state
    /// is checkpointed every 10 batches by default.
    pub fn map_with_state<S: Data, M: Data>(
        &self,
        spec: StateSpec<K, V, S, M>,
    ) -> MapWithStateDStream<K, S, M> {
        let partitioner = self.partitioner_for(spec.partitioning);
        let inner = MapWithStateStream {
            parent: self.node.clone(),
            ctx: self.ssc.ctx().clone(),
            f: spec.f,
            partitioner,
            initial: spec.initial,
            timeout_ms: spec.timeout_ms,
        };
        let slide = self.slide_ms();
        let states = DStream::create(&self.ssc, "map_with_state", slide, true, inner)
            .persist(StorageLevel::MEMORY_ONLY);
        // Spark's default for map_with_state: checkpoint every 10 batches.
        *states.node.meta().checkpoint_ms.lock() = Some(slide * 10);
        let mapped = states.transform_named("map_with_state_mapped", |rdd, _| {
            Ok(rdd.flat_map(|r: StateRecord<K, S, M>| r.mapped))
        });
        MapWithStateDStream { mapped, states }
    }
}
