//! The listener bus (Spark's `StreamingListenerBus`): events posted by the scheduler and
//! the receivers are delivered to every [`StreamingListener`] on one thread of its own, in
//! the order they were posted.
//!
//! The queue holds at most `spate.streaming.listenerBus.capacity` waiting events (10,000 by
//! default, as Spark's `spark.scheduler.listenerbus.eventqueue.capacity`); an event posted
//! when it is full is
//! dropped with a warning, so a slow listener never holds up batches or receivers. A
//! panicking listener is logged and skipped. Listeners are read at each delivery, so one
//! added after the start hears every later event. At stop the queue is drained and the
//! thread joined; events posted after that are dropped. The thread holds only the bus's
//! own state, never the streaming context.

use crate::listener::{StreamingListener, StreamingListenerEvent};
use parking_lot::{Condvar, Mutex};
use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::thread::{JoinHandle, ThreadId};

/// Most events waiting for delivery by default; more are dropped.
pub(crate) const DEFAULT_CAPACITY: usize = 10_000;

#[derive(Default)]
struct State {
    queue: VecDeque<StreamingListenerEvent>,
    /// Events accepted into the queue.
    posted: u64,
    /// Events delivered to every listener.
    delivered: u64,
    /// Events dropped because the queue was full.
    dropped: u64,
    started: bool,
    stopping: bool,
    /// The delivery thread is running.
    running: bool,
}

struct Shared {
    listeners: Mutex<Vec<Arc<dyn StreamingListener>>>,
    state: Mutex<State>,
    /// Wakes the delivery thread.
    wake: Condvar,
    /// Wakes `wait_until_empty`.
    idle: Condvar,
    thread_id: Mutex<Option<ThreadId>>,
}

/// The bus of one streaming context.
pub(crate) struct ListenerBus {
    shared: Arc<Shared>,
    capacity: usize,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl ListenerBus {
    /// A bus whose queue holds at most `capacity` waiting events.
    pub(crate) fn new(capacity: usize) -> Self {
        ListenerBus {
            capacity: capacity.max(1),
            shared: Arc::new(Shared {
                listeners: Mutex::new(Vec::new()),
                state: Mutex::new(State::default()),
                wake: Condvar::new(),
                idle: Condvar::new(),
                thread_id: Mutex::new(None),
            }),
            thread: Mutex::new(None),
        }
    }

    pub(crate) fn add_listener(&self, l: Arc<dyn StreamingListener>) {
        self.shared.listeners.lock().push(l);
    }

    /// Starts the delivery thread (events posted before are delivered first).
    pub(crate) fn start(&self) {
        {
            let mut st = self.shared.state.lock();
            if st.started || st.stopping {
                return;
            }
            st.started = true;
            st.running = true;
        }
        let shared = self.shared.clone();
        let h = std::thread::Builder::new()
            .name("spate-streaming-listener-bus".into())
            .spawn(move || deliver(&shared))
            .expect("spawn listener bus thread");
        *self.shared.thread_id.lock() = Some(h.thread().id());
        *self.thread.lock() = Some(h);
    }

    /// Queues `event` for delivery; drops it (with a warning) when the queue is full, and
    /// after a stop.
    pub(crate) fn post(&self, event: StreamingListenerEvent) {
        let mut st = self.shared.state.lock();
        if st.stopping {
            tracing::debug!(?event, "listener bus stopped; event dropped");
            return;
        }
        if st.queue.len() >= self.capacity {
            st.dropped += 1;
            let dropped = st.dropped;
            drop(st);
            if dropped == 1 || dropped % 1000 == 0 {
                tracing::warn!(
                    dropped,
                    capacity = self.capacity,
                    "listener bus queue full: streaming listener events dropped (a listener is too slow)"
                );
            }
            return;
        }
        st.queue.push_back(event);
        st.posted += 1;
        drop(st);
        self.shared.wake.notify_one();
    }

    fn on_bus_thread(&self) -> bool {
        *self.shared.thread_id.lock() == Some(std::thread::current().id())
    }

    /// Waits until every event posted before the call has been delivered (returns at once
    /// when the bus is not running, or when called by a listener).
    pub(crate) fn wait_until_empty(&self) {
        if self.on_bus_thread() {
            return;
        }
        let mut st = self.shared.state.lock();
        let target = st.posted;
        while st.running && st.delivered < target {
            self.shared.idle.wait(&mut st);
        }
    }

    /// Events dropped because the queue was full.
    pub(crate) fn dropped(&self) -> u64 {
        self.shared.state.lock().dropped
    }

    /// Delivers what is queued, then ends the thread (not waiting for it when called by a
    /// listener). Later events are dropped.
    pub(crate) fn stop(&self) {
        self.shared.state.lock().stopping = true;
        self.shared.wake.notify_all();
        if self.on_bus_thread() {
            return;
        }
        let h = self.thread.lock().take();
        if let Some(h) = h {
            let _ = h.join();
        }
    }
}

impl Drop for ListenerBus {
    fn drop(&mut self) {
        self.stop();
    }
}

fn deliver(shared: &Shared) {
    *shared.thread_id.lock() = Some(std::thread::current().id());
    loop {
        let event = {
            let mut st = shared.state.lock();
            loop {
                if let Some(e) = st.queue.pop_front() {
                    break Some(e);
                }
                if st.stopping {
                    break None;
                }
                shared.wake.wait(&mut st);
            }
        };
        let Some(event) = event else { break };
        let listeners = shared.listeners.lock().clone();
        for l in &listeners {
            if let Err(p) =
                std::panic::catch_unwind(AssertUnwindSafe(|| event.dispatch(l.as_ref())))
            {
                tracing::warn!(
                    "a streaming listener panicked on {}; ignored: {}",
                    event_name(&event),
                    spate_core::scheduler::panic_message(p.as_ref())
                );
            }
        }
        let mut st = shared.state.lock();
        st.delivered += 1;
        drop(st);
        shared.idle.notify_all();
    }
    let mut st = shared.state.lock();
    st.running = false;
    shared.idle.notify_all();
}

fn event_name(e: &StreamingListenerEvent) -> &'static str {
    use StreamingListenerEvent as E;
    match e {
        E::StreamingStarted { .. } => "streaming started",
        E::BatchSubmitted(_) => "batch submitted",
        E::BatchStarted(_) => "batch started",
        E::BatchCompleted(_) => "batch completed",
        E::OutputOperationStarted(_) => "output operation started",
        E::OutputOperationCompleted(_) => "output operation completed",
        E::ReceiverStarted(_) => "receiver started",
        E::ReceiverError(_) => "receiver error",
        E::ReceiverStopped(_) => "receiver stopped",
        E::InputError(_) => "input error",
    }
}
