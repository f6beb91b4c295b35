//! The small tokio runtime a store drives its asynchronous client on, so the engine's
//! synchronous calls can wait for it from any thread, including a thread that is itself
//! inside another tokio runtime (where `Runtime::block_on` and `Handle::block_on` would
//! panic).

use crate::error::{Error, Result};
use std::future::Future;
use std::time::Duration;
use tokio::runtime::Runtime;

/// One worker thread running a store's requests; shut down (without waiting) when the
/// store is dropped.
pub(crate) struct IoRuntime {
    rt: Option<Runtime>,
}

impl std::fmt::Debug for IoRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IoRuntime")
    }
}

impl IoRuntime {
    pub(crate) fn new() -> Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("spate-object-store")
            .enable_all()
            .build()
            .map_err(|source| Error::Runtime { source })?;
        Ok(IoRuntime { rt: Some(rt) })
    }

    /// Runs `f` inside the runtime's context (a client built there finds its reactor).
    pub(crate) fn enter<T>(&self, f: impl FnOnce() -> T) -> T {
        match &self.rt {
            Some(rt) => {
                let _guard = rt.enter();
                f()
            }
            None => f(),
        }
    }

    /// Runs `fut` on the runtime's worker and waits for it on this thread, at most
    /// `deadline`. `op` and `url` name the operation in errors.
    pub(crate) fn run<T, F>(
        &self,
        op: &'static str,
        url: &str,
        deadline: Duration,
        fut: F,
    ) -> Result<T>
    where
        T: Send + 'static,
        F: Future<Output = Result<T>> + Send + 'static,
    {
        let Some(rt) = &self.rt else {
            return Err(Error::Interrupted {
                op,
                url: url.to_string(),
            });
        };
        // A plain channel: waiting on it blocks this thread only, never a runtime's
        // scheduler, so this works from async code too (at the price of one blocked
        // worker of the caller's runtime, as any synchronous I/O there).
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        rt.spawn(async move {
            let r = tokio::time::timeout(deadline, fut).await;
            let _ = tx.send(r);
        });
        match rx.recv() {
            Ok(Ok(r)) => r,
            Ok(Err(_elapsed)) => Err(Error::TimedOut {
                op,
                url: url.to_string(),
                after: deadline,
            }),
            Err(_) => Err(Error::Interrupted {
                op,
                url: url.to_string(),
            }),
        }
    }
}

impl Drop for IoRuntime {
    fn drop(&mut self) {
        // Never blocks and never panics, even when the last store is dropped inside
        // another runtime's task.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}
