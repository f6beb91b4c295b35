//! The active streaming context of this process (Spark's `StreamingContext.getActive`,
//! `getActiveOrCreate`).
//!
//! Spark allows one active `StreamingContext` per JVM. spate does not refuse a second:
//! a process may run several (tests run many at once, over one core context or several),
//! and nothing in the engine is shared between them. [`StreamingContext::get_active`]
//! returns the one started last that is still active.

use crate::context::{Inner, State, StreamingContext};
use crate::error::Result;
use parking_lot::Mutex;
use std::sync::{Arc, Weak};

/// The contexts started (or starting) and not stopped, in the order they started.
static ACTIVE: Mutex<Vec<Weak<Inner>>> = Mutex::new(Vec::new());

impl StreamingContext {
    /// The streaming context of this process that is started and not stopped (Spark's
    /// `StreamingContext.getActive`). With several (over different core contexts), the
    /// one started last.
    pub fn get_active() -> Option<StreamingContext> {
        // Upgraded outside the lock: a handle dropped meanwhile may drop the context here.
        let active: Vec<Weak<Inner>> = ACTIVE.lock().clone();
        active
            .iter()
            .rev()
            .filter_map(Weak::upgrade)
            .map(|inner| StreamingContext { inner })
            .find(|ssc| ssc.state() == State::Active)
    }

    /// The active streaming context ([`Self::get_active`]), or a new one made by `create`
    /// (Spark's `StreamingContext.getActiveOrCreate(creatingFunc)`). The context made is
    /// not started.
    ///
    /// # Errors
    /// `create`'s.
    pub fn get_active_or_create(
        create: impl FnOnce() -> Result<StreamingContext>,
    ) -> Result<StreamingContext> {
        match Self::get_active() {
            Some(ssc) => Ok(ssc),
            None => create(),
        }
    }

    /// The active streaming context ([`Self::get_active`]), or one recovered from the
    /// checkpoints in `dir` or made by `create` ([`Self::get_or_create`]) (Spark's
    /// `StreamingContext.getActiveOrCreate(checkpointPath, creatingFunc)`).
    ///
    /// # Errors
    /// Those of [`Self::get_or_create`].
    pub fn get_active_or_create_from_checkpoint(
        dir: impl AsRef<std::path::Path>,
        create: impl FnOnce() -> Result<StreamingContext>,
    ) -> Result<StreamingContext> {
        match Self::get_active() {
            Some(ssc) => Ok(ssc),
            None => Self::get_or_create(dir, create),
        }
    }

    /// Records this context as active (from the start of [`Self::start`]).
    pub(crate) fn claim_active(&self) -> Result<()> {
        let mut active = ACTIVE.lock();
        active.retain(|w| {
            w.upgrade()
                .is_some_and(|i| StreamingContext { inner: i }.state() != State::Stopped)
        });
        if !active
            .iter()
            .any(|w| std::ptr::eq(w.as_ptr(), Arc::as_ptr(&self.inner)))
        {
            active.push(Arc::downgrade(&self.inner));
        }
        Ok(())
    }

    /// This context is no longer active (stopped, or its start failed).
    pub(crate) fn release_active(&self) {
        let me = Arc::as_ptr(&self.inner);
        ACTIVE
            .lock()
            .retain(|w| w.strong_count() > 0 && w.as_ptr() != me);
    }
}
