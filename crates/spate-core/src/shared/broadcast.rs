//! Broadcast variables: a read-only value made on the driver and shipped at most once to
//! each executor, which caches it in its block store.

use crate::codec;
use crate::data::Data;
use crate::env::{BroadcastSource, Env};
use crate::error::{Error, Result};
use crate::scheduler::TaskContext;
use crate::storage::BlockId;
use parking_lot::{Mutex, RwLock};
use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

/// What this process holds of the value.
enum Held<T> {
    /// The driver's value and its encoding (what is shipped).
    Value(Arc<T>, Arc<Vec<u8>>),
    /// Made on the driver only ([`crate::Context::broadcast_with`] on an executor): fetched
    /// through the broadcast manager on first use.
    OnDriver,
    /// Destroyed.
    Destroyed,
}

struct Inner<T> {
    id: usize,
    held: RwLock<Held<T>>,
    fetch_lock: Mutex<()>,
    env: Weak<Env>,
}

impl<T: Data> BroadcastSource for Inner<T> {
    fn driver_bytes(&self) -> Result<Arc<Vec<u8>>> {
        match &*self.held.read() {
            Held::Value(_, b) => Ok(b.clone()),
            Held::OnDriver => Err(Error::BroadcastOnDriver(self.id)),
            Held::Destroyed => Err(Error::BroadcastDestroyed(self.id)),
        }
    }
}

impl<T> Drop for Inner<T> {
    fn drop(&mut self) {
        // The last handle is gone: no task can read this process's cached copy again.
        if let Some(env) = self.env.upgrade() {
            env.block_store().remove(BlockId::Broadcast { id: self.id });
        }
    }
}

/// A broadcast variable; clone it into task closures and read it with [`Broadcast::value`].
pub struct Broadcast<T: Data> {
    inner: Arc<Inner<T>>,
}

impl<T: Data> Clone for Broadcast<T> {
    fn clone(&self) -> Self {
        Broadcast {
            inner: self.inner.clone(),
        }
    }
}

impl<T: Data> fmt::Debug for Broadcast<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Broadcast({})", self.inner.id)
    }
}

impl<T: Data> Broadcast<T> {
    /// A broadcast of `value`, or of the driver's value when this process did not make
    /// one (`None`, on an executor), registered with the environment's broadcast manager.
    pub(crate) fn new(id: usize, value: Option<T>, env: &Arc<Env>) -> Result<Self> {
        let held = match value {
            Some(value) => {
                let bytes = codec::encode(&value, &format!("broadcast {id}"))?;
                Held::Value(Arc::new(value), Arc::new(bytes))
            }
            None => Held::OnDriver,
        };
        let inner = Arc::new(Inner {
            id,
            held: RwLock::new(held),
            fetch_lock: Mutex::new(()),
            env: Arc::downgrade(env),
        });
        let source: Arc<dyn BroadcastSource> = inner.clone();
        env.register_broadcast(id, Arc::downgrade(&source));
        Ok(Broadcast { inner })
    }

    /// The id.
    pub fn id(&self) -> usize {
        self.inner.id
    }

    /// The value. Inside a task it is the executor's cached copy, fetched from the driver
    /// on first use.
    ///
    /// # Panics
    /// After [`Broadcast::destroy`], with the error's message (inside a task this fails
    /// the task with that message). [`Broadcast::try_value`] returns the error instead.
    pub fn value(&self) -> Arc<T> {
        match self.try_value() {
            Ok(v) => v,
            Err(e) => panic!("{e}"),
        }
    }

    /// The value, or [`Error::BroadcastDestroyed`].
    pub fn try_value(&self) -> Result<Arc<T>> {
        let in_task = TaskContext::with_current(|tc| tc.is_some());
        match &*self.inner.held.read() {
            Held::Destroyed => return Err(Error::BroadcastDestroyed(self.inner.id)),
            Held::Value(v, _) if !in_task => return Ok(v.clone()),
            _ => {}
        }
        let env = self.inner.env.upgrade().ok_or(Error::Stopped)?;
        let bs = env.block_store();
        let id = BlockId::Broadcast { id: self.inner.id };
        if let Some(v) = bs.get_pinned(id) {
            if let Ok(v) = v.downcast::<T>() {
                return Ok(v);
            }
        }
        let _guard = self.inner.fetch_lock.lock();
        if let Some(v) = bs.get_pinned(id) {
            if let Ok(v) = v.downcast::<T>() {
                return Ok(v);
            }
        }
        // Fetch from the driver through the broadcast manager: the bytes an executor
        // process receives.
        let bytes = env.fetch_broadcast(self.inner.id)?;
        let value: Arc<T> = Arc::new(codec::decode(
            &bytes,
            &format!("broadcast {}", self.inner.id),
        )?);
        bs.metrics()
            .broadcast_fetches
            .fetch_add(1, Ordering::Relaxed);
        let size = bytes.len() as u64;
        let mem = if bs.try_reserve(size) { size } else { 0 };
        bs.put_pinned(id, value.clone(), mem);
        tracing::debug!(
            broadcast = self.inner.id,
            bytes = size,
            "broadcast fetched by executor"
        );
        Ok(value)
    }

    /// Drops the executors' cached copies; they fetch again on next use.
    pub fn unpersist(&self) {
        // Under the fetch lock: a fetch in progress finishes first, then its copy goes.
        let _guard = self.inner.fetch_lock.lock();
        self.remove_cached();
    }

    fn remove_cached(&self) {
        if let Some(env) = self.inner.env.upgrade() {
            env.block_store()
                .remove(BlockId::Broadcast { id: self.inner.id });
        }
    }

    /// Drops the value everywhere; any later use is an error.
    pub fn destroy(&self) {
        let _guard = self.inner.fetch_lock.lock();
        *self.inner.held.write() = Held::Destroyed;
        self.remove_cached();
    }

    /// Whether [`Broadcast::destroy`] was called.
    pub fn is_destroyed(&self) -> bool {
        matches!(*self.inner.held.read(), Held::Destroyed)
    }
}
