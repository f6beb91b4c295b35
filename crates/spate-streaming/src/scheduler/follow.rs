//! Cluster mode (DESIGN §1): the driver decides every batch, the executor processes'
//! copies of the program follow.
//!
//! The driver's scheduler publishes, through the context's cluster link, the zero time at
//! the start, then for every batch it generates (before any of its jobs runs) the batch
//! time, what each input gave it (from the input tracker) and what the executors' copies
//! of an input need beyond that (a direct source's range), and finally the stop. An
//! executor process's scheduler has no clock of its own: a follower thread takes these
//! plans in order, makes its inputs give each batch what the driver's gave it, generates
//! the batch — the same RDDs with the same ids, which the driver's tasks name — and runs
//! its output operations, whose actions return the driver's results (so the program's
//! code in them runs in lockstep). Side effects that must happen once (printing,
//! committing a sink, writing the metadata checkpoint, committing a source) happen on the
//! driver only.

use super::Scheduler;
use crate::context::BatchFailure;
use crate::error::{Error, Result};
use crate::input::InputRecord;
use crate::time::Time;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use spate_core::cluster::ClusterLink;
use std::collections::BTreeMap;
use std::sync::Arc;

/// One decision of the driver, in publication order.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Plan {
    /// The context started: its zero time.
    Start {
        /// Zero time, in ms.
        zero_ms: i64,
        /// Where each receiver runs: its stream id -> (executor, placement number).
        receivers: Placements,
    },
    /// A batch is generated.
    Batch {
        /// Its time, in ms.
        time_ms: i64,
        /// What the inputs recorded since the last plan: what they give this batch, and
        /// what they gave an earlier batch time computed late (each under its own time).
        inputs: Vec<InputRecord>,
        /// Each input's own plan (`InputStream::batch_plan`), by input index.
        plans: BTreeMap<usize, Vec<u8>>,
        /// Where each receiver runs from now on.
        receivers: Placements,
    },
    /// The context stopped: no batch follows.
    Stop,
    /// The driver's start failed (so does the executors').
    Failed {
        /// The driver's error.
        error: String,
    },
}

/// Where receivers run: stream id -> (executor id, placement number, counted from 1 per
/// stream).
pub(crate) type Placements = BTreeMap<usize, (String, u64)>;

/// The plans of one streaming context: published by the driver, fetched by executors.
#[derive(Clone)]
pub(crate) struct Plans {
    link: Arc<dyn ClusterLink>,
    /// The context's id-scope owner: tells its plans from another context's over the
    /// same `Context`.
    owner: usize,
    /// The next plan's number (0 is the start's).
    next: Arc<Mutex<u64>>,
    /// Driver: where its receivers run.
    placements: Arc<Mutex<Placements>>,
}

impl Plans {
    /// The plans of the context with scope owner `owner`, when `ctx` runs in cluster mode.
    pub(crate) fn of(ctx: &spate_core::Context, owner: usize) -> Option<Plans> {
        Some(Plans {
            link: ctx.env().cluster_link()?,
            owner,
            next: Arc::new(Mutex::new(1)),
            placements: Arc::new(Mutex::new(BTreeMap::new())),
        })
    }

    /// Driver: places the receivers of `inputs` on the executors registered now — each
    /// kept where it runs while its executor is alive, a new one or one whose executor
    /// was lost put on the executor running the fewest — and returns the placements.
    pub(crate) fn place_receivers(
        &self,
        inputs: &[Arc<dyn crate::input::InputStream>],
    ) -> Placements {
        let live = self.link.executors();
        let mut placed = self.placements.lock();
        if live.is_empty() {
            return placed.clone();
        }
        let streams = inputs
            .iter()
            .filter(|i| i.is_receiver())
            .filter_map(|i| i.checkpoint_id());
        for stream in streams {
            let old = placed.get(&stream).cloned();
            if old.as_ref().is_some_and(|(e, _)| live.contains(e)) {
                continue;
            }
            let mut load: BTreeMap<&String, usize> = live.iter().map(|e| (e, 0)).collect();
            for (s, (e, _)) in placed.iter() {
                if *s != stream {
                    if let Some(n) = load.get_mut(e) {
                        *n += 1;
                    }
                }
            }
            let Some(target) = load
                .into_iter()
                .min_by_key(|(e, n)| (*n, *e))
                .map(|(e, _)| e.clone())
            else {
                continue;
            };
            let epoch = match &old {
                Some((from, epoch)) => {
                    tracing::warn!(stream, from = %from, to = %target, "the receiver's executor was lost: the receiver runs on another one now");
                    epoch + 1
                }
                None => {
                    tracing::info!(stream, executor = %target, "receiver placed");
                    1
                }
            };
            placed.insert(stream, (target, epoch));
        }
        placed.clone()
    }

    /// Driver: how its start went (plan 0, whenever the batches' plans are published).
    pub(crate) fn publish_start(&self, plan: &Plan) {
        match spate_core::codec::encode(plan, "streaming plan") {
            Ok(bytes) => self.link.publish(&self.key(0), bytes),
            Err(e) => tracing::error!("encoding a streaming plan failed: {e}"),
        }
    }

    /// Executor: how the driver's start went (waits for it).
    pub(crate) fn fetch_start(&self) -> Result<Plan> {
        let bytes = match self.link.fetch(&self.key(0)) {
            Ok(b) => b,
            Err(spate_core::Error::Stopped) => {
                return Err(Error::State {
                    state: "in cluster mode",
                    action: "start: the driver stopped first",
                })
            }
            Err(e) => return Err(e.into()),
        };
        Ok(spate_core::codec::decode(&bytes, "streaming plan")?)
    }

    /// Driver: which checkpoint `get_or_create` recovers from (its bytes), none, or why
    /// none is usable — the executors' copies recover from exactly the same one, though
    /// the driver writes newer ones meanwhile.
    pub(crate) fn publish_recovery(&self, found: &std::result::Result<Option<Vec<u8>>, String>) {
        match spate_core::codec::encode(found, "recovery decision") {
            Ok(bytes) => self
                .link
                .publish(&format!("streaming/{}/recovery", self.owner), bytes),
            Err(e) => tracing::error!("encoding the recovery decision failed: {e}"),
        }
    }

    /// Executor: the driver's [`Self::publish_recovery`] (waits for it).
    pub(crate) fn fetch_recovery(&self) -> Result<std::result::Result<Option<Vec<u8>>, String>> {
        let bytes = self
            .link
            .fetch(&format!("streaming/{}/recovery", self.owner))?;
        Ok(spate_core::codec::decode(&bytes, "recovery decision")?)
    }

    fn key(&self, n: u64) -> String {
        format!("streaming/{}/{n}", self.owner)
    }

    /// Driver: publishes the next plan.
    pub(crate) fn publish(&self, plan: &Plan) {
        let mut next = self.next.lock();
        match spate_core::codec::encode(plan, "streaming plan") {
            Ok(bytes) => self.link.publish(&self.key(*next), bytes),
            // A plan is a few numbers and names: it always encodes.
            Err(e) => tracing::error!("encoding a streaming plan failed: {e}"),
        }
        *next += 1;
    }

    /// Executor: the next plan (waits for the driver); `None` once the driver stopped.
    pub(crate) fn fetch(&self) -> Result<Option<Plan>> {
        let mut next = self.next.lock();
        let bytes = match self.link.fetch(&self.key(*next)) {
            Ok(b) => b,
            Err(spate_core::Error::Stopped) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        *next += 1;
        Ok(Some(spate_core::codec::decode(&bytes, "streaming plan")?))
    }
}

/// Where an executor's follower stands.
#[derive(Default)]
pub(crate) struct Followed {
    /// Batches generated and not yet waited for by an `advance`, in plan order.
    pub(crate) generated: Vec<(i64, Arc<super::Batch>)>,
    /// The driver stopped (or could not be followed any more).
    pub(crate) ended: bool,
}

/// How old a batch's plan is, at least, when an executor taking it is taken to be
/// replaying the driver's plans rather than following them live.
const REPLAYING_AFTER_MS: i64 = 10_000;

/// Executor: whether a plan for time `time_ms` is old (on the system clock, more than
/// [`REPLAYING_AFTER_MS`] or four batch intervals ago): this copy replays the driver's
/// plans (it joined late, or fell behind) instead of following them live.
pub(crate) fn replaying(ssc: &crate::StreamingContext, time_ms: i64) -> bool {
    matches!(ssc.inner.clock, crate::clock::Clock::System)
        && crate::clock::system_now_ms() - time_ms > REPLAYING_AFTER_MS.max(4 * ssc.batch_ms())
}

/// Most generated batches kept for a manual clock's `advance` (a system-clock context
/// never waits for them).
const MAX_FOLLOWED: usize = 1000;

impl Scheduler {
    /// Driver: publishes batch `time`, just generated, for the executors: what the
    /// inputs recorded meanwhile (for this batch, and for earlier batch times an output
    /// computed late, such as a window's first), and the direct sources' new ranges.
    pub(super) fn publish_batch(&self, time: Time) {
        let Some(plans) = &self.plans else { return };
        if self.follower {
            return;
        }
        let mut input_plans = BTreeMap::new();
        for (i, input) in self.ssc.inner.graph.inputs().iter().enumerate() {
            match input.batch_plan(time) {
                Ok(Some(p)) => {
                    input_plans.insert(i, p);
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(batch = %time, input = i, "describing an input's batch for the executors failed: {e}")
                }
            }
        }
        let receivers = plans.place_receivers(&self.ssc.inner.graph.inputs());
        plans.publish(&Plan::Batch {
            time_ms: time.0,
            inputs: self.ssc.inner.input_tracker.take_unpublished(),
            plans: input_plans,
            receivers,
        });
    }

    /// Driver: no batch follows.
    pub(super) fn publish_stop(&self) {
        if let (Some(plans), false) = (&self.plans, self.follower) {
            plans.publish(&Plan::Stop);
        }
    }

    /// Executor: the follower thread's loop — takes the driver's plans in order and runs
    /// each batch, until the driver stops; then stops this copy of the context.
    pub(super) fn follow(self: Arc<Self>) {
        let Some(plans) = &self.plans else { return };
        let inputs = self.ssc.inner.graph.inputs();
        loop {
            let plan = match plans.fetch() {
                Ok(Some(p)) => p,
                Ok(None) => break,
                Err(e) => {
                    tracing::error!("following the driver's batches failed: {e}");
                    self.ssc.report_failure(BatchFailure::Input {
                        time_ms: self.followed.lock().generated.last().map_or(0, |(t, _)| *t),
                        error: Arc::new(e),
                    });
                    break;
                }
            };
            let (time_ms, dictated, input_plans) = match plan {
                Plan::Batch {
                    time_ms,
                    inputs: dictated,
                    plans,
                    receivers,
                } => {
                    crate::input::follow_placements(
                        &inputs,
                        &receivers,
                        self.ssc.ctx().env().executor_id(),
                        replaying(&self.ssc, time_ms),
                    );
                    (time_ms, dictated, plans)
                }
                Plan::Stop => break,
                Plan::Start { .. } | Plan::Failed { .. } => continue,
            };
            let time = Time(time_ms);
            self.ssc.inner.input_tracker.dictate(dictated);
            for (i, p) in input_plans {
                if let Some(input) = inputs.get(i) {
                    if let Err(e) = input.follow_plan(time, &p) {
                        tracing::error!(batch = %time, input = i, "taking the driver's plan of an input failed: {e}");
                    }
                }
            }
            // One batch at a time (with spate.streaming.concurrentJobs > 1 on the driver,
            // a batch's tasks may wait here for the previous one: see docs/cluster.md).
            let batch = self.generate(time);
            batch.wait_done();
            self.followed.lock().generated.push((time_ms, batch));
            self.trim_followed();
            self.followed_cv.notify_all();
        }
        self.followed.lock().ended = true;
        self.followed_cv.notify_all();
        tracing::info!("the driver's streaming context stopped: stopping this copy");
        // Its program's `await_termination` returns, as the driver's does.
        let ssc = self.ssc.clone();
        if ssc.state() == crate::context::State::Active {
            ssc.stop(false, true);
        }
    }

    /// Executor, on a manual clock: waits until the batches up to `target` that the
    /// driver generated are done here too; returns the first one's failure, as the
    /// driver's `advance` does.
    pub(super) fn await_followed(&self, target: i64) -> Result<()> {
        let zero = self.zero_ms;
        let batch = self.ssc.batch_ms();
        let due = target - (target - zero).rem_euclid(batch);
        if due <= zero {
            return Ok(());
        }
        // Until the follower has generated the batch of `due` (or the driver stopped).
        let waiting: Vec<Arc<super::Batch>> = {
            let mut f = self.followed.lock();
            while !f.ended && !f.generated.iter().any(|(t, _)| *t >= due) {
                self.followed_cv.wait(&mut f);
            }
            let (now, later): (Vec<_>, Vec<_>) = std::mem::take(&mut f.generated)
                .into_iter()
                .partition(|(t, _)| *t <= due);
            f.generated = later;
            now.into_iter().map(|(_, b)| b).collect()
        };
        let mut first_failure = None;
        for b in waiting {
            b.wait_done();
            if first_failure.is_none() {
                first_failure = b.failure.lock().clone();
            }
        }
        match first_failure {
            Some(failure) => Err(failure.into_error()),
            None => Ok(()),
        }
    }

    /// Executor: forgets the oldest generated batches past [`MAX_FOLLOWED`] (a context
    /// on the system clock never waits for them).
    pub(super) fn trim_followed(&self) {
        let mut f = self.followed.lock();
        let n = f.generated.len();
        if n > MAX_FOLLOWED {
            f.generated.drain(..n - MAX_FOLLOWED);
        }
    }
}
