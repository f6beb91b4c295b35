//! Broadcast variables: a read-only value made on the driver and shipped at most once to
//! each executor, which caches it in its block store.

use crate::codec;
use crate::context::ContextInner;
use crate::data::Data;
use crate::error::{Error, Result};
use crate::scheduler::TaskContext;
use crate::storage::BlockId;
use parking_lot::{Mutex, RwLock};
use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

struct Inner<T> {
    id: usize,
    /// The driver's value, and its encoding (what is shipped).
    driver: RwLock<Option<(Arc<T>, Arc<Vec<u8>>)>>,
    fetch_lock: Mutex<()>,
    ctx: Weak<ContextInner>,
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
    pub(crate) fn new(id: usize, value: T, ctx: Weak<ContextInner>) -> Result<Self> {
        let bytes = codec::encode(&value, &format!("broadcast {id}"))?;
        Ok(Broadcast {
            inner: Arc::new(Inner {
                id,
                driver: RwLock::new(Some((Arc::new(value), Arc::new(bytes)))),
                fetch_lock: Mutex::new(()),
                ctx,
            }),
        })
    }

    /// The id.
    pub fn id(&self) -> usize {
        self.inner.id
    }

    /// The value. Inside a task it is the executor's cached copy, fetched from the driver
    /// on first use.
    ///
    /// # Panics
    /// After [`Broadcast::destroy`] (inside a task this fails the task with that message).
    pub fn value(&self) -> Arc<T> {
        match self.try_value() {
            Ok(v) => v,
            Err(e) => std::panic::panic_any(e),
        }
    }

    /// The value, or [`Error::BroadcastDestroyed`].
    pub fn try_value(&self) -> Result<Arc<T>> {
        let on_executor = TaskContext::with_current(|tc| tc.is_some());
        if !on_executor {
            return self
                .inner
                .driver
                .read()
                .as_ref()
                .map(|(v, _)| v.clone())
                .ok_or(Error::BroadcastDestroyed(self.inner.id));
        }
        let ctx = self.inner.ctx.upgrade().ok_or(Error::Stopped)?;
        let bs = &ctx.block_store;
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
        // Fetch from the driver: the bytes an executor process would receive.
        let bytes = self
            .inner
            .driver
            .read()
            .as_ref()
            .map(|(_, b)| b.clone())
            .ok_or(Error::BroadcastDestroyed(self.inner.id))?;
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
        if let Some(ctx) = self.inner.ctx.upgrade() {
            ctx.block_store
                .remove(BlockId::Broadcast { id: self.inner.id });
        }
    }

    /// Drops the value everywhere; any later use is an error.
    pub fn destroy(&self) {
        let _guard = self.inner.fetch_lock.lock();
        *self.inner.driver.write() = None;
        self.remove_cached();
    }

    /// Whether [`Broadcast::destroy`] was called.
    pub fn is_destroyed(&self) -> bool {
        self.inner.driver.read().is_none()
    }
}
