//! Stopping the generator and the job workers (graceful or not), and a graceful stop's
//! draining of the receivers' last records.

use super::{Scheduler, STOP_WAIT};
use crate::time::Time;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;

impl Scheduler {
    /// Graceful stop: keeps generating batches until every record the (stopped) receivers
    /// stored has been given to a batch. On a manual clock, advances it batch by batch.
    /// Gives up at `deadline` (the graceful stop's).
    pub(crate) fn drain_inputs(&self, deadline: std::time::Instant) {
        if self.follower {
            return;
        }
        let inputs = self.ssc.inner.graph.inputs();
        let batch = self.ssc.batch_ms();
        let deadline = deadline.min(
            std::time::Instant::now()
                + std::time::Duration::from_millis((batch * 5) as u64 + 10_000),
        );
        while inputs.iter().any(|i| i.has_pending()) && std::time::Instant::now() < deadline {
            match self.ssc.manual_clock() {
                Some(clock) => {
                    let target = clock.now() + batch;
                    clock.set(target);
                    if let Err(e) = self.run_due(target) {
                        tracing::warn!("batch failed while draining: {e}");
                    }
                }
                None => std::thread::sleep(std::time::Duration::from_millis(5)),
            }
        }
        // The batch that took the last blocks may still be generating: let it be queued.
        if self.ssc.manual_clock().is_none() {
            let last = *self.next_ms.lock();
            while *self.next_ms.lock() == last && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        }
    }

    /// Stops generating; waits for queued batches when graceful (until `deadline`, the
    /// end of `spate.streaming.gracefulStopTimeout`), else drops their jobs. A graceful
    /// stop past its deadline goes on as a non-graceful one: queued jobs are dropped and
    /// running ones get [`STOP_WAIT`] more. Returns the times of the batches left
    /// unfinished (abandoned), oldest first.
    pub(crate) fn stop(&self, graceful: bool, deadline: std::time::Instant) -> Vec<Time> {
        self.stopping.store(true, Ordering::Release);
        if let Some(g) = self.generator.lock().take() {
            let _ = g.join();
        }
        // Cluster mode: the executors' copies stop after the batches generated so far.
        self.publish_stop();
        // An executor's copy runs every batch the driver generated, until its stop (the
        // driver's tasks need this process's copies of those batches' RDDs).
        let follower = self.follower_thread.lock().take();
        if let Some(f) = follower {
            if f.thread().id() == std::thread::current().id() {
                *self.follower_thread.lock() = Some(f);
            } else {
                let _ = f.join();
            }
        }
        if !graceful {
            self.discard.store(true, Ordering::Release);
        }
        // Closing the queue lets the workers finish what is queued (or discard it) and exit.
        self.tx.lock().take();
        let me = std::thread::current().id();
        let workers: Vec<_> = self
            .workers
            .lock()
            .drain(..)
            .filter(|w| w.thread().id() != me)
            .collect();
        let running = |workers: &[JoinHandle<()>]| workers.iter().any(|w| !w.is_finished());
        let wait_until = |until: std::time::Instant| {
            while running(&workers) && std::time::Instant::now() < until {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        };
        if graceful {
            wait_until(deadline);
            if running(&workers) {
                let pending = self.unfinished_batches();
                tracing::warn!(
                    batches = ?pending.iter().map(|t| t.0).collect::<Vec<_>>(),
                    "graceful stop timed out (spate.streaming.gracefulStopTimeout); \
                     stopping like a non-graceful stop"
                );
                self.discard.store(true, Ordering::Release);
            }
        }
        // A job that does not end is left behind after a while, as Spark does.
        wait_until(std::time::Instant::now() + STOP_WAIT);
        let mut left_behind = false;
        for w in workers {
            if w.is_finished() {
                let _ = w.join();
            } else {
                left_behind = true;
            }
        }
        if !left_behind {
            return Vec::new();
        }
        let abandoned = self.unfinished_batches();
        for t in &abandoned {
            tracing::warn!(
                batch = %t,
                "batch abandoned by the stop: an output job is still running; leaving it behind"
            );
        }
        abandoned
    }

    /// Times of the batches generated and not completed, oldest first.
    fn unfinished_batches(&self) -> Vec<Time> {
        let mut times: Vec<Time> = self
            .in_flight
            .lock()
            .iter()
            .map(|b| b.info.lock().batch_time)
            .collect();
        times.sort_by_key(|t| t.0);
        times
    }
}
