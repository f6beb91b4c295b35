//! Accumulators: variables tasks add to and the driver reads.
//!
//! A task adds to its own copy; the copy travels back with the task's result and the driver
//! merges it once, only if the task succeeded. A failed attempt's updates are dropped, so a
//! retried task does not count twice. Merges must be associative and commutative.

use crate::env::{AccumulatorSlot, Env};
use crate::error::Result;
use crate::scheduler::TaskContext;
use parking_lot::Mutex;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::any::Any;
use std::fmt;
use std::sync::{Arc, Weak};

/// The state of an accumulator (Spark's `AccumulatorV2`): a zero, an `add`, an
/// associative and commutative `merge`, and the value read on the driver. Implement it for
/// a custom accumulator and register it with [`crate::Context::register_accumulator`].
pub trait AccumulatorV2: Clone + Send + Sync + Serialize + DeserializeOwned + 'static {
    /// What tasks add.
    type In;
    /// What the driver reads.
    type Out;
    /// Adds one input.
    fn add(&mut self, v: Self::In);
    /// Merges another partial state into this one.
    fn merge(&mut self, other: Self);
    /// The value.
    fn value(&self) -> Self::Out;
    /// The value as people read it (the web UI's accumulators page); `None` shows as
    /// not displayable.
    fn describe(&self) -> Option<String> {
        None
    }
}

/// A sum of `i64`s, with count and average (Spark's `LongAccumulator`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LongSum {
    sum: i64,
    count: i64,
}

impl AccumulatorV2 for LongSum {
    type In = i64;
    type Out = i64;
    fn add(&mut self, v: i64) {
        self.sum += v;
        self.count += 1;
    }
    fn merge(&mut self, o: Self) {
        self.sum += o.sum;
        self.count += o.count;
    }
    fn value(&self) -> i64 {
        self.sum
    }
    fn describe(&self) -> Option<String> {
        Some(self.value().to_string())
    }
}

/// A sum of `f64`s, with count and average (Spark's `DoubleAccumulator`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DoubleSum {
    sum: f64,
    count: i64,
}

impl AccumulatorV2 for DoubleSum {
    type In = f64;
    type Out = f64;
    fn add(&mut self, v: f64) {
        self.sum += v;
        self.count += 1;
    }
    fn merge(&mut self, o: Self) {
        self.sum += o.sum;
        self.count += o.count;
    }
    fn value(&self) -> f64 {
        self.sum
    }
    fn describe(&self) -> Option<String> {
        Some(self.value().to_string())
    }
}

/// A list of added elements (Spark's `CollectionAccumulator`); the order across tasks is
/// not defined.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound = "T: Serialize + DeserializeOwned")]
pub struct Collection<T> {
    items: Vec<T>,
}

impl<T> Default for Collection<T> {
    fn default() -> Self {
        Collection { items: Vec::new() }
    }
}

impl<T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static> AccumulatorV2
    for Collection<T>
{
    type In = T;
    type Out = Vec<T>;
    fn add(&mut self, v: T) {
        self.items.push(v);
    }
    fn merge(&mut self, mut o: Self) {
        self.items.append(&mut o.items);
    }
    fn value(&self) -> Vec<T> {
        self.items.clone()
    }
    fn describe(&self) -> Option<String> {
        Some(format!("{} items", self.items.len()))
    }
}

struct Inner<A> {
    id: usize,
    name: Option<String>,
    zero: A,
    value: Mutex<A>,
    /// The environment it is registered with: updates are merged by id there, so a task
    /// of another context's environment cannot carry them.
    env: Weak<Env>,
}

/// A registered accumulator: a cheap clonable handle, usable inside task closures.
pub struct Accumulator<A: AccumulatorV2> {
    inner: Arc<Inner<A>>,
}

impl<A: AccumulatorV2> Clone for Accumulator<A> {
    fn clone(&self) -> Self {
        Accumulator {
            inner: self.inner.clone(),
        }
    }
}

impl<A: AccumulatorV2> fmt::Debug for Accumulator<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Accumulator(id: {}, name: {:?})",
            self.inner.id, self.inner.name
        )
    }
}

impl<A: AccumulatorV2> AccumulatorSlot for Inner<A> {
    fn merge_bytes(&self, bytes: &[u8]) -> Result<()> {
        let update: A = crate::codec::decode(bytes, &format!("update of accumulator {}", self.id))?;
        self.value.lock().merge(update);
        Ok(())
    }
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    fn value_bytes(&self) -> Result<Vec<u8>> {
        let value = self.value.lock().clone();
        crate::codec::encode(&value, &format!("value of accumulator {:?}", self.name))
    }
    fn describe(&self) -> Option<String> {
        self.value.lock().describe()
    }
    fn restore_bytes(&self, bytes: &[u8]) -> Result<()> {
        let value: A = crate::codec::decode(
            bytes,
            &format!("checkpointed value of accumulator {:?}", self.name),
        )?;
        *self.value.lock() = value;
        Ok(())
    }
}

/// A task's partial update of one accumulator: sent back encoded with the task's result
/// and merged by the driver if the task succeeds.
pub(crate) trait PendingUpdate: Send {
    fn id(&self) -> usize;
    fn as_any_mut(&mut self) -> &mut dyn Any;
    /// `(accumulator id, encoded partial value)`.
    fn encode(&self) -> Result<(usize, Vec<u8>)>;
}

struct Pending<A: AccumulatorV2> {
    target: Arc<Inner<A>>,
    local: A,
}

impl<A: AccumulatorV2> PendingUpdate for Pending<A> {
    fn id(&self) -> usize {
        self.target.id
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
    fn encode(&self) -> Result<(usize, Vec<u8>)> {
        let bytes = crate::codec::encode(
            &self.local,
            &format!("update of accumulator {}", self.target.id),
        )?;
        Ok((self.target.id, bytes))
    }
}

impl<A: AccumulatorV2> Accumulator<A> {
    /// A new accumulator, registered with `env` so task updates find it by id.
    pub(crate) fn new(id: usize, name: Option<String>, zero: A, env: &Arc<Env>) -> Self {
        let inner = Arc::new(Inner {
            id,
            name,
            value: Mutex::new(zero.clone()),
            zero,
            env: Arc::downgrade(env),
        });
        let slot: Arc<dyn AccumulatorSlot> = inner.clone();
        env.register_accumulator(id, Arc::downgrade(&slot));
        Accumulator { inner }
    }

    /// The id.
    pub fn id(&self) -> usize {
        self.inner.id
    }

    /// The name given at registration.
    pub fn name(&self) -> Option<&str> {
        self.inner.name.as_deref()
    }

    /// Adds `v`: to the running task's copy inside a task, to the value on the driver.
    pub fn add(&self, v: A::In) {
        TaskContext::with_current(|tc| match tc {
            Some(tc) => {
                if !std::ptr::eq(Arc::as_ptr(tc.env()), self.inner.env.as_ptr()) {
                    // Its id means another accumulator (or none) in this task's context.
                    tc.fail(crate::error::Error::InvalidArgument {
                        op: "accumulator",
                        reason: format!(
                            "accumulator {} ({:?}) belongs to another context than the task's",
                            self.inner.id, self.inner.name
                        ),
                    });
                    return;
                }
                let mut ups = tc.updates.borrow_mut();
                let id = self.inner.id;
                if let Some(p) = ups.iter_mut().find(|p| p.id() == id) {
                    if let Some(p) = p.as_any_mut().downcast_mut::<Pending<A>>() {
                        p.local.add(v);
                        return;
                    }
                }
                let mut local = self.inner.zero.clone();
                local.add(v);
                ups.push(Box::new(Pending {
                    target: self.inner.clone(),
                    local,
                }));
            }
            None => self.inner.value.lock().add(v),
        })
    }

    /// The merged value (on the driver).
    pub fn value(&self) -> A::Out {
        self.inner.value.lock().value()
    }

    /// The merged state, for accumulators with more to read than `value`.
    pub fn state(&self) -> A {
        self.inner.value.lock().clone()
    }

    /// Resets the value to zero.
    pub fn reset(&self) {
        *self.inner.value.lock() = self.inner.zero.clone();
    }
}

impl Accumulator<LongSum> {
    /// Sum of the added values.
    pub fn sum(&self) -> i64 {
        self.inner.value.lock().sum
    }
    /// Number of added values.
    pub fn count(&self) -> i64 {
        self.inner.value.lock().count
    }
    /// Average of the added values (NaN when none).
    pub fn avg(&self) -> f64 {
        let v = self.inner.value.lock();
        v.sum as f64 / v.count as f64
    }
}

impl Accumulator<DoubleSum> {
    /// Sum of the added values.
    pub fn sum(&self) -> f64 {
        self.inner.value.lock().sum
    }
    /// Number of added values.
    pub fn count(&self) -> i64 {
        self.inner.value.lock().count
    }
    /// Average of the added values (NaN when none).
    pub fn avg(&self) -> f64 {
        let v = self.inner.value.lock();
        v.sum / v.count as f64
    }
}

/// Spark's `LongAccumulator`.
pub type LongAccumulator = Accumulator<LongSum>;
/// Spark's `DoubleAccumulator`.
pub type DoubleAccumulator = Accumulator<DoubleSum>;
/// Spark's `CollectionAccumulator`.
pub type CollectionAccumulator<T> = Accumulator<Collection<T>>;
