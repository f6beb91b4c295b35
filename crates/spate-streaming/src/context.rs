//! [`StreamingContext`]: the entry point of a streaming program.

use crate::bus::ListenerBus;
use crate::clock::{Clock, ManualClock};
use crate::dstream::DStream;
use crate::error::{Error, Result};
pub(crate) use crate::failure::BatchFailure;
use crate::graph::{DStreamGraph, GraphDescription, StreamDescription};
use crate::input::{InputStream, InputTracker};
use crate::listener::{BatchInfo, StreamingListener, StreamingListenerEvent};
use crate::output::OutputOp;
use crate::scheduler::Scheduler;
use crate::time::millis_of;
use parking_lot::{Condvar, Mutex};
use spate_core::{Context, Data, Rdd, SpateConf};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Lifecycle of a streaming context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Built, streams being declared.
    Initialized,
    /// Started: batches are generated.
    Active,
    /// Stopped; cannot be restarted.
    Stopped,
}

pub(crate) struct Inner {
    pub(crate) ctx: Context,
    /// This context's owner id for id scopes: its streams' and outputs' ids never meet
    /// those of another streaming context over the same [`Context`].
    pub(crate) scope_owner: usize,
    pub(crate) batch_ms: i64,
    pub(crate) clock: Clock,
    state: Mutex<State>,
    /// Held for the whole of `start`, so that two concurrent starts start once.
    start_lock: Mutex<()>,
    next_stream: AtomicUsize,
    /// The DStream graph: inputs, outputs, zero time, remember duration.
    pub(crate) graph: DStreamGraph,
    checkpoint_dir: Mutex<Option<PathBuf>>,
    /// The checkpoint directory's writer and reader, once set.
    pub(crate) checkpointer: Mutex<Option<Arc<crate::checkpoint::Checkpointer>>>,
    /// What a context recovered from a checkpoint runs first at its start.
    pub(crate) recovery: Mutex<Option<crate::checkpoint::Recovery>>,
    /// Delivers listener events on a thread of its own.
    pub(crate) bus: Arc<ListenerBus>,
    /// What every input contributed to every batch.
    pub(crate) input_tracker: Arc<InputTracker>,
    /// Backpressure's rates, one per input that has one (fed by a listener from the start).
    pub(crate) rate_controllers: Mutex<Vec<Arc<crate::input::rate::RateController>>>,
    scheduler: Mutex<Option<Arc<Scheduler>>>,
    /// The SIGTERM/SIGINT hook of `spate.streaming.stopGracefullyOnShutdown`, while active.
    shutdown_hook: Mutex<Option<spate_core::shutdown::ShutdownHook>>,
    /// First failure reported by a batch, for `await_termination`.
    pub(crate) error: Mutex<Option<BatchFailure>>,
    pub(crate) termination: Condvar,
    /// Set when a stop has finished (a graceful one after its last batch).
    terminated: std::sync::atomic::AtomicBool,
    pub(crate) completed: Mutex<Vec<BatchInfo>>,
    /// Batches a stop left unfinished (see [`StreamingContext::abandoned_batches`]).
    abandoned: Mutex<Vec<crate::time::Time>>,
    /// Falling-behind warnings given (see [`StreamingContext::behind_warnings`]).
    pub(crate) behind_warnings: std::sync::atomic::AtomicU64,
}

/// The entry point of a streaming program (Spark's `StreamingContext`): a [`Context`], a
/// batch interval, the graph of DStreams, a clock, the job generator and scheduler and the
/// listeners. A cheap, clonable handle.
#[derive(Clone)]
pub struct StreamingContext {
    pub(crate) inner: Arc<Inner>,
}

/// A handle to a [`StreamingContext`] that does not keep it alive (see
/// [`StreamingContext::downgrade`]): for listeners and output functions that need the
/// context (to stop it, say) without making a reference cycle through the graph.
#[derive(Clone)]
pub struct WeakStreamingContext {
    inner: std::sync::Weak<Inner>,
}

impl WeakStreamingContext {
    /// The context, if anything still holds it.
    pub fn upgrade(&self) -> Option<StreamingContext> {
        self.inner.upgrade().map(|inner| StreamingContext { inner })
    }
}

impl std::fmt::Debug for WeakStreamingContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let alive = self.inner.strong_count() > 0;
        write!(f, "WeakStreamingContext(alive: {alive})")
    }
}

impl std::fmt::Debug for StreamingContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "StreamingContext(batch {} ms, {:?})",
            self.inner.batch_ms,
            self.state()
        )
    }
}

impl StreamingContext {
    /// A streaming context over a new [`Context`] made from `conf`, on the system clock.
    pub fn new(conf: SpateConf, batch_interval: Duration) -> Result<Self> {
        Self::with_context(Context::new(conf)?, batch_interval)
    }

    /// A streaming context over an existing [`Context`], on the system clock.
    pub fn with_context(ctx: Context, batch_interval: Duration) -> Result<Self> {
        Self::with_clock(ctx, batch_interval, Clock::System)
    }

    /// A streaming context with the given clock ([`Clock::manual`] for tests and replay).
    pub fn with_clock(ctx: Context, batch_interval: Duration, clock: Clock) -> Result<Self> {
        let batch_ms = millis_of("batch interval", batch_interval)?;
        let bus_capacity = ctx
            .conf()
            .get_count("spate.streaming.listenerBus.capacity")?
            .unwrap_or(crate::bus::DEFAULT_CAPACITY);
        if let Some(dir) = ctx.checkpoint_store().map(|s| s.describe("")) {
            tracing::debug!(%dir, "context already has a checkpoint store");
        }
        Ok(StreamingContext {
            inner: Arc::new(Inner {
                scope_owner: ctx.new_scope_owner(),
                ctx,
                batch_ms,
                clock,
                state: Mutex::new(State::Initialized),
                start_lock: Mutex::new(()),
                next_stream: AtomicUsize::new(0),
                graph: DStreamGraph::new(batch_ms),
                checkpoint_dir: Mutex::new(None),
                checkpointer: Mutex::new(None),
                recovery: Mutex::new(None),
                bus: Arc::new(ListenerBus::new(bus_capacity)),
                input_tracker: Arc::new(InputTracker::new()),
                rate_controllers: Mutex::new(Vec::new()),
                scheduler: Mutex::new(None),
                shutdown_hook: Mutex::new(None),
                error: Mutex::new(None),
                termination: Condvar::new(),
                terminated: std::sync::atomic::AtomicBool::new(false),
                completed: Mutex::new(Vec::new()),
                abandoned: Mutex::new(Vec::new()),
                behind_warnings: std::sync::atomic::AtomicU64::new(0),
            }),
        })
    }

    /// A handle that does not keep this context alive. A stopped context whose handles
    /// (this one, its DStreams) were all dropped is freed with its [`Context`] (when
    /// nothing else holds that), their threads and scratch directory; an output function
    /// or listener that captured a `StreamingContext` would keep it alive, so those take
    /// a weak handle instead.
    pub fn downgrade(&self) -> WeakStreamingContext {
        WeakStreamingContext {
            inner: Arc::downgrade(&self.inner),
        }
    }

    /// The underlying batch engine context.
    pub fn ctx(&self) -> &Context {
        &self.inner.ctx
    }

    /// The batch interval in milliseconds.
    pub fn batch_ms(&self) -> i64 {
        self.inner.batch_ms
    }

    /// The current state.
    pub fn state(&self) -> State {
        *self.inner.state.lock()
    }

    /// The manual clock, when the context runs on one.
    pub fn manual_clock(&self) -> Option<ManualClock> {
        match &self.inner.clock {
            Clock::Manual(m) => Some(m.clone()),
            Clock::System => None,
        }
    }

    pub(crate) fn new_stream_id(&self) -> usize {
        self.inner.next_stream.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn register_output(&self, op: Arc<dyn OutputOp>) {
        self.inner.graph.add_output(op);
    }

    pub(crate) fn register_input(&self, input: Arc<dyn InputStream>) {
        self.inner.graph.add_input(input);
    }

    pub(crate) fn require_initialized(&self, action: &'static str) -> Result<()> {
        match self.state() {
            State::Initialized => Ok(()),
            State::Active => Err(Error::State {
                state: "active",
                action,
            }),
            State::Stopped => Err(Error::State {
                state: "stopped",
                action,
            }),
        }
    }

    /// Keeps every stream's generated RDDs for at least `duration` (Spark's `remember`),
    /// so they can be queried (`slice`) after their batch.
    pub fn remember(&self, duration: Duration) -> Result<()> {
        self.require_initialized("change remember duration")?;
        self.inner
            .graph
            .set_remember(millis_of("remember duration", duration)?);
        Ok(())
    }

    /// Sets the checkpoint directory (a path, `file://...`, or an object store URL such as
    /// `s3://bucket/prefix` once its crate is registered): a metadata checkpoint is
    /// written there at every batch (see [`crate::checkpoint`]), and stateful streams
    /// write their data checkpoints there. [`Self::get_or_create`] recovers from it.
    pub fn checkpoint(&self, dir: impl AsRef<Path>) -> Result<()> {
        let location = dir.as_ref().to_string_lossy().into_owned();
        let retained = self
            .inner
            .ctx
            .conf()
            .get_count("spate.streaming.checkpoint.retained")?;
        let ck = crate::checkpoint::Checkpointer::open(&location, retained)?;
        self.inner.ctx.set_checkpoint_store(ck.data_store());
        *self.inner.checkpointer.lock() = Some(Arc::new(ck));
        *self.inner.checkpoint_dir.lock() = Some(dir.as_ref().to_path_buf());
        Ok(())
    }

    /// The checkpoint directory, if set.
    pub fn checkpoint_dir(&self) -> Option<PathBuf> {
        self.inner.checkpoint_dir.lock().clone()
    }

    /// Adds a listener. Listeners hear events on the listener bus's thread, in order; one
    /// added after the start hears every later event.
    pub fn add_streaming_listener(&self, l: Arc<dyn StreamingListener>) {
        self.inner.bus.add_listener(l);
    }

    /// Listener events dropped because the listener bus's queue (10,000 events) was full.
    pub fn dropped_listener_events(&self) -> u64 {
        self.inner.bus.dropped()
    }

    /// The input tracker: what every input stream contributed to every batch still
    /// remembered (blocks, files, records, ranges).
    pub fn input_tracker(&self) -> &Arc<InputTracker> {
        &self.inner.input_tracker
    }

    /// The DStream graph as data: every stream reachable from an output, with its
    /// operation, slide, remember duration, checkpoint interval and parents (ids), outputs
    /// first in declaration order. (What a metadata checkpoint will record.)
    pub fn graph_description(&self) -> Vec<StreamDescription> {
        self.inner.graph.streams()
    }

    /// The whole DStream graph as data — batch interval, zero time, remember duration,
    /// streams and outputs by their stable ids — for a metadata checkpoint; give it to
    /// [`Self::restore_graph`] in a later run of the same program.
    pub fn describe_graph(&self) -> GraphDescription {
        self.inner.graph.describe()
    }

    /// Restores an earlier run's graph description into the graph this run of the
    /// program built: checks they are the same by stable ids (batch interval, every
    /// stream's operation, slide and parents, every output) and adopts its zero time, so
    /// batches and windows fall at the same times as before. Only before
    /// [`Self::start`].
    ///
    /// # Errors
    /// When started; [`Error::GraphMismatch`] naming the first difference.
    pub fn restore_graph(
        &self,
        desc: &GraphDescription,
    ) -> Result<std::collections::BTreeMap<usize, usize>> {
        self.require_initialized("restore the graph")?;
        self.inner.graph.restore(desc)
    }

    /// Batches completed so far (the most recent `spate.streaming.ui.retainedBatches`,
    /// 1,000 by default), oldest first.
    pub fn completed_batches(&self) -> Vec<BatchInfo> {
        self.inner.completed.lock().clone()
    }

    /// The union of several streams with the same slide. A batch for which one of them
    /// has no RDD (not even an empty one) fails with [`Error::MissingParentRdd`], as in
    /// Spark.
    pub fn union<T: Data>(&self, streams: &[DStream<T>]) -> DStream<T> {
        crate::dstream::union_of(self, streams)
    }

    /// One stream from several (Spark's `StreamingContext.transform`): each batch's RDD is
    /// `f(rdds, time)` of the streams' RDDs of that batch, in the order of `streams`. The
    /// streams share a record type (map streams of other types into one enum first) and
    /// a slide. A batch for which one of them has no RDD (not even an empty one) fails
    /// with [`Error::MissingParentRdd`], as in Spark.
    ///
    /// ```no_run
    /// # use spate_streaming::*;
    /// # fn f(ssc: &StreamingContext, a: &DStream<i64>, b: &DStream<i64>) -> Result<()> {
    /// // Per batch: the records of `a` that are not in `b`.
    /// let diff = ssc.transform(&[a.clone(), b.clone()], |rdds, _time| {
    ///     Ok(rdds[0].subtract(&rdds[1]))
    /// });
    /// # Ok(()) }
    /// ```
    ///
    /// When `streams` is empty or their slides differ, [`StreamingContext::start`] fails
    /// naming `transform`.
    pub fn transform<T: Data, U: Data, F>(&self, streams: &[DStream<T>], f: F) -> DStream<U>
    where
        F: Fn(&[Rdd<T>], crate::time::Time) -> Result<Rdd<U>> + Send + Sync + 'static,
    {
        crate::dstream::transform_of(self, streams, f)
    }

    /// Starts generating batches: the first at zero time + one interval.
    ///
    /// # Errors
    /// When already started or stopped, when no output operation is registered, or when a
    /// stream was defined with arguments that cannot work ([`Error::InvalidStream`],
    /// naming the operation).
    pub fn start(&self) -> Result<()> {
        let _starting = self.inner.start_lock.lock();
        self.require_initialized("start")?;
        if let Some(e) = self.inner.graph.take_definition_error() {
            return Err(e);
        }
        let outputs = self.inner.graph.outputs();
        if outputs.is_empty() {
            return Err(Error::State {
                state: "without output operations",
                action: "start (register print, foreach_rdd or save_as_text_files first)",
            });
        }
        self.claim_active()?;
        let started = self.start_claimed(&outputs);
        if started.is_err() {
            self.release_active();
        }
        started
    }

    /// [`Self::start`] once this context is the active one of its core context.
    fn start_claimed(&self, outputs: &[Arc<dyn OutputOp>]) -> Result<()> {
        let batch = self.inner.batch_ms;
        crate::input::block_interval(&self.inner.ctx, batch)?;
        // Spark: the first batch is at the next multiple of the interval after now; zero
        // time is one interval before it (0 on a manual clock).
        let now = self.inner.clock.now_ms();
        let first = (now / batch + 1) * batch;
        // Cluster mode: the driver decides, an executor process's copy follows.
        let plans = crate::scheduler::Plans::of(&self.inner.ctx, self.inner.scope_owner);
        if plans.is_some()
            && self
                .inner
                .ctx
                .conf()
                .get_raw("spate.streaming.outputFailure")
                == Some("retry")
        {
            // The executors' copies would have to retry exactly when the driver does.
            return Err(Error::State {
                state: "in cluster mode",
                action: "start with spate.streaming.outputFailure=retry (not supported on a cluster yet: use stop or skip)",
            });
        }
        let follower = plans.is_some() && !self.inner.ctx.is_driver();
        // Where receivers run: the driver decides, executors run theirs once started.
        let mut receivers = crate::scheduler::Placements::new();
        let proposed =
            match &plans {
                Some(p) if follower => match p.fetch_start()? {
                    crate::scheduler::Plan::Start {
                        zero_ms,
                        receivers: placed,
                    } => {
                        receivers = placed;
                        zero_ms
                    }
                    crate::scheduler::Plan::Failed { error } => {
                        return Err(Error::DriverStartFailed(error))
                    }
                    _ => return Err(Error::State {
                        state: "in cluster mode",
                        action:
                            "start: the driver's first plan is not its start (the programs differ)",
                    }),
                },
                _ => first - batch,
            };
        // The driver tells the executors' copies how its start went (they wait for it).
        let announce = if follower { None } else { plans.clone() };
        if let Some(a) = &announce {
            receivers = a.place_receivers(&self.inner.graph.inputs());
        }
        let started = self.start_from(plans, follower, proposed, now, outputs);
        if follower && started.is_ok() {
            // A start long ago (this executor joined the running application): the
            // plans of the batches since say where receivers run now.
            crate::input::follow_placements(
                &self.inner.graph.inputs(),
                &receivers,
                self.inner.ctx.env().executor_id(),
                crate::scheduler::replaying(self, proposed),
            );
        }
        if let Some(a) = announce {
            a.publish_start(&match &started {
                Ok(zero) => crate::scheduler::Plan::Start {
                    zero_ms: *zero,
                    receivers,
                },
                Err(e) => crate::scheduler::Plan::Failed {
                    error: e.to_string(),
                },
            });
        }
        started.map(|_| ())
    }

    /// The rest of [`Self::start`], from the zero time `proposed` on; returns the zero
    /// time.
    fn start_from(
        &self,
        plans: Option<crate::scheduler::Plans>,
        follower: bool,
        proposed: i64,
        now: i64,
        outputs: &[Arc<dyn OutputOp>],
    ) -> Result<i64> {
        let batch = self.inner.batch_ms;
        // A graph restored from an earlier run keeps that run's zero time.
        let zero = self.inner.graph.start(proposed);
        if follower {
            self.inner.input_tracker.follow_driver();
        } else if plans.is_some() {
            self.inner.input_tracker.publish_records();
        }
        if self.inner.ctx.checkpoint_store().is_none() {
            if let Some(name) = self.inner.graph.checkpointing_stream() {
                return Err(Error::State {
                    state: "without a checkpoint directory",
                    action: match name {
                        "reduce_by_key_and_window" => "start: windowed reduce with an inverse function needs StreamingContext::checkpoint(dir)",
                        "update_state_by_key" => "start: update_state_by_key needs StreamingContext::checkpoint(dir)",
                        "map_with_state" => "start: map_with_state needs StreamingContext::checkpoint(dir)",
                        _ => "start: a stream with a checkpoint interval needs StreamingContext::checkpoint(dir)",
                    },
                });
            }
        }
        if self
            .inner
            .ctx
            .conf()
            .get_bool("spate.streaming.receiver.writeAheadLog.enable")?
            && self.inner.checkpointer.lock().is_none()
        {
            return Err(Error::State {
                state: "without a checkpoint directory",
                action: "start with spate.streaming.receiver.writeAheadLog.enable (the log goes in the checkpoint directory: call StreamingContext::checkpoint(dir) first)",
            });
        }
        let stop_on_signal = self
            .inner
            .ctx
            .conf()
            .get_bool("spate.streaming.stopGracefullyOnShutdown")?;
        // Sources and sinks are the driver's (it plans, commits and writes once).
        if !follower {
            self.open_sources_and_sinks(outputs)?;
        }
        // Backpressure learns from the driver's completed batches.
        let rates = self.inner.rate_controllers.lock().clone();
        if !follower && !rates.is_empty() {
            self.add_streaming_listener(Arc::new(crate::input::rate::RateListener(rates)));
        }
        self.inner.bus.start();
        self.inner
            .bus
            .post(StreamingListenerEvent::StreamingStarted { time_ms: now });
        let recovery = self.inner.recovery.lock().take();
        let sched = Scheduler::start(self.clone(), zero, recovery, plans)?;
        *self.inner.scheduler.lock() = Some(sched);
        if !follower {
            for i in self.inner.graph.inputs().iter() {
                i.start();
            }
        }
        *self.inner.state.lock() = State::Active;
        if stop_on_signal {
            *self.inner.shutdown_hook.lock() = Some(self.add_shutdown_hook());
        }
        tracing::info!(
            batch_ms = batch,
            zero_ms = zero,
            "streaming context started"
        );
        Ok(zero)
    }

    /// The hook that stops this context gracefully on SIGTERM/SIGINT (see
    /// [`spate_core::shutdown`]); it holds the context weakly.
    fn add_shutdown_hook(&self) -> spate_core::shutdown::ShutdownHook {
        use spate_core::shutdown::HookOutcome;
        let weak = self.downgrade();
        spate_core::shutdown::add_hook(move || match weak.upgrade() {
            Some(ssc) if ssc.state() == State::Active => {
                tracing::info!("stopping the streaming context gracefully on a signal");
                ssc.stop(true, true);
                let abandoned = ssc.abandoned_batches();
                if !abandoned.is_empty() {
                    tracing::warn!(
                        ?abandoned,
                        "the graceful stop on a signal abandoned batches (see spate.streaming.gracefulStopTimeout)"
                    );
                }
                HookOutcome::Graceful
            }
            _ => HookOutcome::Done,
        })
    }

    /// Starts the direct sources (in declaration order), then opens the sinks (in output
    /// order). On an error, what was started is stopped or closed again.
    fn open_sources_and_sinks(&self, outputs: &[Arc<dyn OutputOp>]) -> Result<()> {
        let inputs = self.inner.graph.inputs();
        for (n, i) in inputs.iter().enumerate() {
            if let Err(e) = i.open() {
                for started in inputs[..n].iter().rev() {
                    started.close();
                }
                return Err(e);
            }
        }
        for (n, o) in outputs.iter().enumerate() {
            if let Err(e) = o.open() {
                for opened in outputs[..n].iter().rev() {
                    opened.close();
                }
                for started in inputs.iter().rev() {
                    started.close();
                }
                return Err(e);
            }
        }
        Ok(())
    }

    /// On a manual clock: moves time forward by `by` and runs every batch that falls due,
    /// in order, returning when they are done. The error of a failed batch is returned.
    pub fn advance(&self, by: Duration) -> Result<()> {
        let Some(clock) = self.manual_clock() else {
            return Err(Error::NotManualClock);
        };
        if self.state() != State::Active {
            return Err(Error::State {
                state: if self.state() == State::Stopped {
                    "stopped"
                } else {
                    "not started"
                },
                action: "advance the clock",
            });
        }
        let sched = self.scheduler().ok_or(Error::State {
            state: "not started",
            action: "advance the clock",
        })?;
        let target = clock.now() + by.as_millis() as i64;
        clock.set(target);
        let ran = sched.run_due(target);
        // The events of the batches that ran reach the listeners before this returns.
        self.inner.bus.wait_until_empty();
        ran
    }

    /// On a manual clock: runs the next `n` batches.
    pub fn advance_batches(&self, n: usize) -> Result<()> {
        self.advance(Duration::from_millis(self.inner.batch_ms as u64 * n as u64))
    }

    pub(crate) fn scheduler(&self) -> Option<Arc<Scheduler>> {
        self.inner.scheduler.lock().clone()
    }

    /// Stops batch generation. With `graceful`, waits until every batch already generated
    /// has been processed; otherwise queued jobs are dropped. With `stop_context`, stops the
    /// underlying [`Context`] too.
    pub fn stop(&self, stop_context: bool, graceful: bool) {
        let was = {
            let mut s = self.inner.state.lock();
            std::mem::replace(&mut *s, State::Stopped)
        };
        if was == State::Active && crate::scheduler::on_job_thread() {
            // Called from an output operation: the rest of the stop needs this thread's job
            // to end (a graceful stop may even need it to run more batches), so it goes on
            // in the background; no new batch starts meanwhile.
            let me = self.clone();
            let _ = std::thread::Builder::new()
                .name("spate-streaming-stop".into())
                .spawn(move || me.finish_stop(was, stop_context, graceful));
            return;
        }
        self.finish_stop(was, stop_context, graceful);
    }

    fn finish_stop(&self, was: State, stop_context: bool, graceful: bool) {
        self.release_active();
        drop(self.inner.shutdown_hook.lock().take());
        if was == State::Active {
            // Receivers stop first; their last records become a final block (on a
            // cluster, the driver has the executors running them stop them, and a
            // graceful stop waits until they have reported their last blocks).
            let deadline = std::time::Instant::now() + self.graceful_stop_timeout();
            for i in self.inner.graph.inputs().iter() {
                i.stop_elsewhere(graceful.then_some(deadline));
                i.stop();
            }
            let sched = self.inner.scheduler.lock().take();
            if let Some(sched) = sched {
                if graceful {
                    sched.drain_inputs(deadline);
                }
                let abandoned = sched.stop(graceful, deadline);
                self.inner.abandoned.lock().extend(abandoned);
            }
            // After the last batch: sinks close, then sources stop (where they were
            // opened: not in an executor process).
            if !self.inner.input_tracker.follows_driver() {
                for o in self.inner.graph.outputs() {
                    o.close();
                }
                for i in self.inner.graph.inputs() {
                    i.close();
                }
            }
            tracing::info!(graceful, "streaming context stopped");
        }
        // Listeners hear every event of the stop before it returns.
        self.inner.bus.stop();
        if stop_context {
            self.inner.ctx.stop();
        }
        // A stop on SIGTERM/SIGINT says so before the program can see it and exit.
        spate_core::shutdown::announce_graceful_stop();
        let _g = self.inner.error.lock();
        // A second stop does not end the first one early.
        if was != State::Stopped {
            self.inner.terminated.store(true, Ordering::Release);
        }
        self.inner.termination.notify_all();
    }

    /// How long a graceful stop waits for generated batches:
    /// `spate.streaming.gracefulStopTimeout`, by default 10 batch intervals (as Spark).
    fn graceful_stop_timeout(&self) -> Duration {
        let conf = self.inner.ctx.conf();
        match conf.get_duration("spate.streaming.gracefulStopTimeout") {
            Ok(Some(d)) => d,
            Ok(None) => Duration::from_millis(self.inner.batch_ms as u64 * 10),
            Err(e) => {
                tracing::warn!("{e}; using 10 batch intervals");
                Duration::from_millis(self.inner.batch_ms as u64 * 10)
            }
        }
    }

    /// Batches a stop left unfinished because an output job did not end in time (a
    /// non-graceful stop waits 2 s, a graceful one `spate.streaming.gracefulStopTimeout`
    /// and 2 s more), oldest first. Their jobs may still be running.
    pub fn abandoned_batches(&self) -> Vec<crate::time::Time> {
        self.inner.abandoned.lock().clone()
    }

    /// How many times the scheduler warned that the job falls behind: a batch waited more
    /// than [`crate::BEHIND_BATCHES`] batch intervals to start. Warnings are
    /// logged at most once every 10 s ([`crate::BEHIND_WARNING_EVERY`]).
    pub fn behind_warnings(&self) -> u64 {
        self.inner.behind_warnings.load(Ordering::Relaxed)
    }

    /// Waits until the context is stopped; returns the first batch error if one occurs
    /// first (the context keeps running: stop it).
    pub fn await_termination(&self) -> Result<()> {
        self.await_termination_inner(None).map(|_| ())
    }

    /// Like [`Self::await_termination`] for at most `timeout`; `Ok(true)` if stopped.
    pub fn await_termination_or_timeout(&self, timeout: Duration) -> Result<bool> {
        self.await_termination_inner(Some(std::time::Instant::now() + timeout))
    }

    fn await_termination_inner(&self, deadline: Option<std::time::Instant>) -> Result<bool> {
        let mut err = self.inner.error.lock();
        loop {
            if let Some(f) = err.take() {
                return Err(f.into_error());
            }
            if self.inner.terminated.load(Ordering::Acquire) {
                return Ok(true);
            }
            match deadline {
                Some(d) => {
                    if self.inner.termination.wait_until(&mut err, d).timed_out() {
                        return Ok(self.inner.terminated.load(Ordering::Acquire));
                    }
                }
                None => self.inner.termination.wait(&mut err),
            }
        }
    }

    pub(crate) fn report_failure(&self, f: BatchFailure) {
        tracing::error!(
            time_ms = f.time_ms(),
            "batch failed: {}",
            f.clone().into_error()
        );
        let mut err = self.inner.error.lock();
        if err.is_none() {
            *err = Some(f);
        }
        self.inner.termination.notify_all();
    }
}
