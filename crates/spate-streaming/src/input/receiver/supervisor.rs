//! A receiver's two threads: the block generator, which cuts the buffered records into a
//! block every block interval, and the supervisor, which starts the receiver, restarts it
//! (after the restart delay) when it asks or its `on_start` panics, and stops it.

use super::{
    block_interval, remote, Command, Receiver, ReceiverHandle, ReceiverInput, Shared, FAILED,
    FINISHED,
};
use crate::listener::StreamingListenerEvent;
use parking_lot::{Condvar, Mutex};
use spate_core::Data;
use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The receiver cannot run (a thread could not be started): `store` refuses from now on,
/// and listeners and the log say why.
fn cannot_run<T: Data>(s: &Shared<T>, what: &str, e: std::io::Error) {
    let message = format!(
        "receiver {}: could not start its {what} thread: {e}",
        s.name
    );
    tracing::error!(stream = s.stream_id, "{message}");
    *s.errors.lock() = Some(message);
    s.refuse.fetch_or(FINISHED, Ordering::AcqRel);
    s.announce(StreamingListenerEvent::ReceiverError(s.info(false)));
}

/// Starts the supervisor and the block generator of `shared`'s receiver; returns the
/// threads that started (a thread that could not start is reported, never a panic).
pub(super) fn spawn<T: Data>(
    shared: Arc<Shared<T>>,
    mut receiver: Box<dyn Receiver<T>>,
    slot: Arc<Mutex<Option<Box<dyn Receiver<T>>>>>,
    block_interval: Duration,
    restart_delay: Duration,
    stream_id: usize,
) -> Vec<JoinHandle<()>> {
    let mut threads = Vec::with_capacity(2);
    // Block generator.
    let s = shared.clone();
    let generator = std::thread::Builder::new()
        .name(format!("spate-block-generator-{stream_id}"))
        .spawn(move || {
            let mut next = Instant::now() + block_interval;
            loop {
                let finished = s.finished();
                if finished || Instant::now() >= next {
                    s.cut_block();
                    next = Instant::now() + block_interval;
                }
                if finished {
                    break;
                }
                std::thread::sleep(
                    next.saturating_duration_since(Instant::now())
                        .min(Duration::from_millis(10)),
                );
            }
        });
    match generator {
        Ok(g) => threads.push(g),
        Err(e) => {
            cannot_run(&shared, "block generator", e);
            *slot.lock() = Some(receiver);
            return threads;
        }
    }
    let back = slot.clone();
    // Supervisor.
    let s = shared.clone();
    let supervisor = std::thread::Builder::new()
        .name(format!("spate-receiver-{stream_id}"))
        .spawn(move || {
            let handle = ReceiverHandle { shared: s.clone() };
            loop {
                // A (re)started receiver reads again from its source: stores are
                // accepted again.
                s.refuse.fetch_and(!FAILED, Ordering::AcqRel);
                s.failure.lock().take();
                s.stopped.store(false, Ordering::Release);
                let started = std::panic::catch_unwind(AssertUnwindSafe(|| {
                    receiver.on_start(handle.clone())
                }));
                if let Err(p) = started {
                    handle.restart(format!(
                        "on_start panicked: {}",
                        spate_core::scheduler::panic_message(p.as_ref())
                    ));
                } else {
                    s.announce(StreamingListenerEvent::ReceiverStarted(s.info(true)));
                    tracing::info!(stream = stream_id, receiver = %s.name, "receiver started");
                }
                let cmd = {
                    let mut q = s.commands.lock();
                    loop {
                        if let Some(cmd) = q.pop_front() {
                            break cmd;
                        }
                        s.wake.wait(&mut q);
                    }
                };
                s.stopped.store(true, Ordering::Release);
                let _ = std::panic::catch_unwind(AssertUnwindSafe(|| receiver.on_stop()));
                match cmd {
                    Command::Stop(reason) => {
                        tracing::info!(stream = stream_id, "receiver stopped: {reason}");
                        s.announce(StreamingListenerEvent::ReceiverStopped(s.info(false)));
                        s.refuse.fetch_or(FINISHED, Ordering::AcqRel);
                        break;
                    }
                    Command::Restart(reason, delay) => {
                        *s.errors.lock() = Some(reason);
                        s.announce(StreamingListenerEvent::ReceiverStopped(s.info(false)));
                        // Wait out the delay unless a stop arrives.
                        let deadline = Instant::now() + delay.unwrap_or(restart_delay);
                        let mut q = s.commands.lock();
                        let mut stop = false;
                        while Instant::now() < deadline {
                            if q.iter().any(|c| matches!(c, Command::Stop(_))) {
                                stop = true;
                                break;
                            }
                            s.wake.wait_until(&mut q, deadline);
                        }
                        q.retain(|c| matches!(c, Command::Stop(_)));
                        if stop {
                            drop(q);
                            s.refuse.fetch_or(FINISHED, Ordering::AcqRel);
                            break;
                        }
                    }
                }
            }
            // It may run again (placed here again, in cluster mode).
            *back.lock() = Some(receiver);
        });
    match supervisor {
        Ok(t) => threads.push(t),
        // The generator sees the receiver finished, cuts what there is and ends.
        Err(e) => cannot_run(&shared, "supervisor", e),
    }
    threads
}

impl<T: Data> ReceiverInput<T> {
    /// Starts the receiver's supervisor and block generator in this process, numbering
    /// blocks from `first_seq`; `report`: its blocks go to the driver (an executor).
    pub(super) fn run_receiver(&self, first_seq: u64, report: Option<remote::Report>) {
        let Some(receiver) = self.receiver.lock().take() else {
            return;
        };
        let conf = self.ctx.conf().clone();
        // Checked by `StreamingContext::start`; the fallback only guards against a spin.
        let block_interval = block_interval(&self.ctx, self.batch_ms)
            .unwrap_or(Duration::from_millis(200))
            .max(Duration::from_millis(1));
        let restart_delay = conf
            .get_duration("spate.streaming.receiverRestartDelay")
            .ok()
            .flatten()
            .unwrap_or(Duration::from_secs(2));
        let max_rate = conf
            .get_count("spate.streaming.receiver.maxRate")
            .ok()
            .flatten()
            .unwrap_or(0) as u64;
        let stream_id = self.id();
        let wal = self.wal.lock().clone();
        let shared = Arc::new(Shared {
            stream_id,
            name: self.name.clone(),
            buffer: Mutex::new(Vec::new()),
            stopped: AtomicBool::new(false),
            refuse: AtomicU8::new(0),
            failure: Mutex::new(None),
            commands: Mutex::new(VecDeque::new()),
            wake: Condvar::new(),
            max_rate,
            rate: Mutex::new(Instant::now()),
            backpressure: self.backpressure.clone(),
            stored: AtomicU64::new(0),
            errors: Mutex::new(None),
            bus: self.bus.clone(),
            ctx: self.ctx.clone(),
            level: self.level,
            tracker: self.tracker.clone(),
            next_seq: AtomicU64::new(first_seq),
            wal,
            report,
        });
        *self.shared.lock() = Some(shared.clone());
        let threads = spawn(
            shared,
            receiver,
            self.receiver.clone(),
            block_interval,
            restart_delay,
            stream_id,
        );
        self.threads.lock().extend(threads);
    }

    /// Stops the receiver running in this process, if one is (its supervisor puts it
    /// back in its slot).
    pub(super) fn stop_receiver(&self) {
        stop_running(&self.shared, &self.threads);
    }
}

/// Stops the receiver whose supervisor and block generator are `threads`, and waits for
/// them: its last buffered records are a block by then.
pub(super) fn stop_running<T: Data>(
    shared: &Mutex<Option<Arc<Shared<T>>>>,
    threads: &Mutex<Vec<JoinHandle<()>>>,
) {
    let shared = shared.lock().take();
    if let Some(s) = &shared {
        s.commands
            .lock()
            .push_back(Command::Stop("streaming context stopped".into()));
        s.wake.notify_all();
    }
    let threads: Vec<_> = threads.lock().drain(..).collect();
    drop(shared);
    for t in threads {
        let _ = t.join();
    }
}
