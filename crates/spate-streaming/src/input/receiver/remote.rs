//! Receivers in cluster mode (DESIGN §1; Spark's `ReceiverTracker` and
//! `ReceiverSupervisorImpl`): the driver places each receiver on an executor process
//! (the placements travel in the streaming plans, `scheduler::follow`), and places it
//! again on another one when its executor is lost. There the receiver runs as it does
//! locally, but each block is encoded once, written to the write-ahead log when the log
//! is on, kept serialized in that executor's block store, and reported to the driver
//! before `store` returns. The driver gives reported blocks to batches, and the executors
//! follow its choice. A batch's partition prefers the executor holding its block; a task
//! elsewhere fetches the block from it, and a block whose executor is gone is read from
//! the write-ahead log (without the log it is lost, and its batch fails, as in Spark).

use super::{block_name, Block, LostBlock, ReceiverInput, Shared};
use crate::input::tracker::InputSource;
use crate::listener::{ReceiverInfo, StreamingListenerEvent};
use crate::time::Time;
use parking_lot::{Condvar, Mutex};
use serde::{Deserialize, Serialize};
use spate_core::cluster::ClusterLink;
use spate_core::storage::BlockId;
use spate_core::Data;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Where an executor's receiver reports its blocks.
pub(super) struct Report {
    link: Arc<dyn ClusterLink>,
    topic: String,
    events: String,
}

/// A block an executor's receiver stored (or could not store), as the driver hears of it.
#[derive(Serialize, Deserialize)]
struct ReportedBlock {
    seq: u64,
    records: u64,
    wal: Option<String>,
    /// Why it could not be stored, if it could not.
    error: Option<String>,
}

/// The topic of the blocks of stream `stream` of the streaming context with scope owner
/// `owner`.
fn topic(owner: usize, stream: usize) -> String {
    format!("streaming/{owner}/blocks/{stream}")
}

/// The decision that stops stream `stream`'s receiver for good, and the topic of its
/// executor's answer that it stopped (its last blocks reported).
fn stop_keys(owner: usize, stream: usize) -> (String, String) {
    (
        format!("streaming/{owner}/stop-receiver/{stream}"),
        format!("streaming/{owner}/receiver-stopped/{stream}"),
    )
}

/// The `n`th rate (from 1) backpressure estimated for stream `stream`.
fn rate_key(owner: usize, stream: usize, n: u64) -> String {
    format!("streaming/{owner}/rate/{stream}/{n}")
}

/// Stopping a receiver that runs in an executor.
#[derive(Default)]
pub(super) struct RemoteStop {
    /// Executor: the driver stopped it for good (placements do not start it again).
    stopped: AtomicBool,
    /// Executor: a thread waits for the driver's stop.
    watching: AtomicBool,
    /// Executor: a thread takes the driver's backpressure rates.
    watching_rates: AtomicBool,
    /// Driver: the executor it runs in, from its events.
    running_on: Mutex<Option<String>>,
    /// Driver: that executor said it stopped.
    acked: Mutex<bool>,
    acked_cv: Condvar,
}

/// The topic of the events of stream `stream`'s receiver.
fn events_topic(owner: usize, stream: usize) -> String {
    format!("streaming/{owner}/receiver-events/{stream}")
}

/// A receiver event as an executor sends it to the driver.
#[derive(Serialize, Deserialize)]
enum Announced {
    Started(ReceiverInfo),
    Stopped(ReceiverInfo),
    Error(ReceiverInfo),
}

/// Block sequence numbers per placement: a receiver placed again (on another executor)
/// numbers its blocks apart from the blocks of its earlier placements.
const SEQS_PER_PLACEMENT: u64 = 1 << 24;

impl<T: Data> Shared<T> {
    /// Tells listeners of a receiver event: this process's, and in an executor the
    /// driver's too (best effort: a driver that cannot be told is logged).
    pub(super) fn announce(&self, event: StreamingListenerEvent) {
        if let Some(report) = &self.report {
            let announced = match &event {
                StreamingListenerEvent::ReceiverStarted(i) => Some(Announced::Started(i.clone())),
                StreamingListenerEvent::ReceiverStopped(i) => Some(Announced::Stopped(i.clone())),
                StreamingListenerEvent::ReceiverError(i) => Some(Announced::Error(i.clone())),
                _ => None,
            };
            if let Some(a) = announced {
                let sent = spate_core::codec::encode(&a, "receiver event")
                    .and_then(|b| report.link.send(&report.events, b));
                if let Err(e) = sent {
                    tracing::warn!(
                        stream = self.stream_id,
                        "could not tell the driver of a receiver event: {e}"
                    );
                }
            }
        }
        self.bus.post(event);
    }

    /// An executor's receiver stores `records` as block `id`: encoded once, logged, kept
    /// serialized here and reported to the driver. A failure at any step loses the block
    /// as `push_block` does locally (and tells the driver, which lists it in its batch).
    pub(super) fn push_remote(
        &self,
        report: &Report,
        records: Vec<T>,
        id: BlockId,
        seq: u64,
        n: u64,
    ) -> crate::error::Result<()> {
        let lose = |reason: String, cause: Option<spate_core::Error>, wal: Option<String>| {
            self.lose_block(id, seq, n, reason, cause.map(Arc::new), wal)
        };
        let bytes = match spate_core::codec::encode(&records, "received block") {
            Ok(b) => b,
            Err(e) => return lose(format!("it could not be encoded: {e}"), Some(e), None),
        };
        drop(records);
        let mut wal = None;
        if let Some(log) = &self.wal {
            let name = log.name(seq, n);
            if let Err(e) =
                spate_core::checkpoint_store::put_checked(log.store.as_ref(), &name, &bytes)
            {
                return lose(
                    format!("the write-ahead log refused it: {e}"),
                    Some(e),
                    None,
                );
            }
            wal = Some(name);
        }
        let store = self.ctx.block_store();
        match store.put_values(id, Arc::new(bytes), self.level) {
            Ok(true) => {}
            Ok(false) => {
                return lose(
                    format!(
                        "it does not fit in the block store's memory (spate.memory.storageBytes) and storage level {} does not allow disk",
                        self.level.name()
                    ),
                    None,
                    wal,
                )
            }
            Err(e) => return lose(e.to_string(), Some(e), wal),
        }
        let reported = ReportedBlock {
            seq,
            records: n,
            wal: wal.clone(),
            error: None,
        };
        let sent = spate_core::codec::encode(&reported, "reported block")
            .and_then(|b| report.link.send(&report.topic, b));
        if let Err(e) = sent {
            store.remove(id);
            return lose(format!("the driver did not take it: {e}"), Some(e), wal);
        }
        Ok(())
    }

    /// Tells the driver of a block that could not be stored (best effort: the driver may
    /// be what failed).
    pub(super) fn report_lost(&self, report: &Report, seq: u64, lost: &LostBlock) {
        let reported = ReportedBlock {
            seq,
            records: lost.records,
            wal: None,
            error: Some(lost.reason.clone()),
        };
        let sent = spate_core::codec::encode(&reported, "reported block")
            .and_then(|b| report.link.send(&report.topic, b));
        if let Err(e) = sent {
            tracing::warn!(stream = self.stream_id, block = %lost.block, "could not tell the driver of a block that was not stored: {e}");
        }
    }
}

impl<T: Data> ReceiverInput<T> {
    /// Driver: the blocks executors' receivers report join the blocks waiting for a
    /// batch.
    pub(super) fn take_reported_blocks(&self, link: &dyn ClusterLink) {
        let stream = self.id();
        let tracker = self.tracker.clone();
        link.subscribe(
            &topic(self.owner, stream),
            Arc::new(move |executor: &str, bytes: &[u8]| {
                let b: ReportedBlock = spate_core::codec::decode(bytes, "reported block")?;
                let lost = b.error.map(|reason| LostBlock {
                    block: block_name(stream, b.seq),
                    records: b.records,
                    reason: format!("on executor {executor}: {reason}"),
                    cause: None,
                });
                tracker.lock().pending.push(Block {
                    id: lost
                        .is_none()
                        .then_some(BlockId::Input { stream, seq: b.seq }),
                    records: b.records,
                    lost,
                    wal: b.wal,
                    location: Some(executor.to_string()),
                });
                Ok(())
            }),
        );
        let bus = self.bus.clone();
        let rs = self.remote_stop.clone();
        link.subscribe(
            &events_topic(self.owner, stream),
            Arc::new(move |executor: &str, bytes: &[u8]| {
                let a: Announced = spate_core::codec::decode(bytes, "receiver event")?;
                match &a {
                    Announced::Started(_) => *rs.running_on.lock() = Some(executor.to_string()),
                    Announced::Stopped(_) => {
                        let mut on = rs.running_on.lock();
                        if on.as_deref() == Some(executor) {
                            *on = None;
                        }
                    }
                    Announced::Error(_) => {}
                }
                bus.post(match a {
                    Announced::Started(i) => StreamingListenerEvent::ReceiverStarted(i),
                    Announced::Stopped(i) => StreamingListenerEvent::ReceiverStopped(i),
                    Announced::Error(i) => StreamingListenerEvent::ReceiverError(i),
                });
                Ok(())
            }),
        );
        let rs = self.remote_stop.clone();
        link.subscribe(
            &stop_keys(self.owner, stream).1,
            Arc::new(move |executor: &str, _: &[u8]| {
                let on = rs.running_on.lock().clone();
                if on.is_none() || on.as_deref() == Some(executor) {
                    *rs.acked.lock() = true;
                    rs.acked_cv.notify_all();
                }
                Ok(())
            }),
        );
    }

    /// Driver, at the stop: the executor running the receiver stops it for good; with
    /// `until` (a graceful stop), waits until it said its last blocks are reported (or
    /// its executor is gone, or `until`).
    pub(super) fn stop_remote(&self, until: Option<std::time::Instant>) {
        let Some(link) = self.ctx.env().cluster_link() else {
            return;
        };
        if !self.ctx.is_driver() {
            return;
        }
        let (stop_key, _) = stop_keys(self.owner, self.id());
        link.publish(&stop_key, Vec::new());
        let Some(until) = until else { return };
        let mut acked = self.remote_stop.acked.lock();
        while !*acked && std::time::Instant::now() < until {
            let on = self.remote_stop.running_on.lock().clone();
            let Some(executor) = on else { break };
            if !link.executors().contains(&executor) {
                tracing::warn!(stream = self.id(), %executor, "the receiver's executor is gone: its last blocks are not waited for");
                break;
            }
            let step =
                (std::time::Instant::now() + std::time::Duration::from_millis(200)).min(until);
            self.remote_stop.acked_cv.wait_until(&mut acked, step);
        }
    }

    /// Driver: publishes every rate backpressure estimates for this receiver, in order,
    /// for the executor running it (`watch_rates`). Published at once, not with the
    /// batches' plans, which an executor takes only as it runs the batches (behind by the
    /// scheduling delay the rate is meant to bring down).
    pub(super) fn publish_rates(&self, link: Arc<dyn ClusterLink>) {
        let Some(controller) = &self.backpressure else {
            return;
        };
        let (owner, stream) = (self.owner, self.id());
        let n = std::sync::atomic::AtomicU64::new(0);
        controller.on_change(move |rate| {
            let k = n.fetch_add(1, Ordering::AcqRel) + 1;
            link.publish(&rate_key(owner, stream, k), rate.to_vec());
        });
    }

    /// Executor: a thread that takes the driver's rates for this receiver in order, until
    /// the driver stops (its receiver paces its stores to them).
    fn watch_rates(&self, link: Arc<dyn ClusterLink>) {
        let Some(controller) = self.backpressure.clone() else {
            return;
        };
        if self.remote_stop.watching_rates.swap(true, Ordering::AcqRel) {
            return;
        }
        let (owner, stream) = (self.owner, self.id());
        let spawned = std::thread::Builder::new()
            .name(format!("spate-receiver-rate-{stream}"))
            .spawn(move || {
                for n in 1.. {
                    let Ok(rate) = link.fetch(&rate_key(owner, stream, n)) else {
                        return;
                    };
                    if let Err(e) = controller.follow(&rate) {
                        tracing::warn!(stream, "a backpressure rate from the driver: {e}");
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(
                stream,
                "the receiver's rate watcher could not start ({e}): backpressure does not pace it"
            );
        }
    }

    /// Executor: a thread that waits for the driver's stop of this receiver, then stops
    /// it here for good and tells the driver once its last blocks are reported.
    fn watch_for_stop(&self, link: Arc<dyn ClusterLink>) {
        if self.remote_stop.watching.swap(true, Ordering::AcqRel) {
            return;
        }
        let (stop_key, ack_topic) = stop_keys(self.owner, self.id());
        let (shared, threads, rs) = (
            self.shared.clone(),
            self.threads.clone(),
            self.remote_stop.clone(),
        );
        let stream = self.id();
        let spawned = std::thread::Builder::new()
            .name(format!("spate-receiver-stop-{stream}"))
            .spawn(move || {
                if link.fetch(&stop_key).is_err() {
                    return;
                }
                rs.stopped.store(true, Ordering::Release);
                let running = shared.lock().is_some();
                super::supervisor::stop_running(&shared, &threads);
                if running {
                    if let Err(e) = link.send(&ack_topic, Vec::new()) {
                        tracing::warn!(
                            stream,
                            "could not tell the driver the receiver stopped: {e}"
                        );
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(stream, "the receiver's stop watcher could not start ({e}): a graceful stop will not wait for its last blocks");
        }
    }

    /// Executor: runs the receiver here under placement `epoch`, or stops it here.
    pub(super) fn place_here(&self, epoch: Option<u64>) {
        let mut placed = self.placed.lock();
        if *placed == epoch {
            return;
        }
        if placed.is_some() {
            tracing::info!(stream = self.id(), receiver = %self.name, "the driver placed this receiver elsewhere: stopping it here");
            self.stop_receiver();
        }
        *placed = epoch;
        let (Some(epoch), Some(link)) = (epoch, self.ctx.env().cluster_link()) else {
            return;
        };
        if self.remote_stop.stopped.load(Ordering::Acquire) {
            *placed = None;
            return;
        }
        self.watch_for_stop(link.clone());
        self.watch_rates(link.clone());
        if self.wal.lock().is_none() {
            self.executor_wal();
        }
        tracing::info!(stream = self.id(), receiver = %self.name, placement = epoch, "running this receiver here, as the driver placed it");
        let first_seq = self.seq_base + (epoch % 256) * SEQS_PER_PLACEMENT;
        self.run_receiver(
            first_seq,
            Some(Report {
                link,
                topic: topic(self.owner, self.id()),
                events: events_topic(self.owner, self.id()),
            }),
        );
    }

    /// Executor: the blocks the driver gave batch `time` (as its input info lists them).
    pub(super) fn dictated_blocks(&self, time: Time) -> Vec<Block> {
        let stream = self.id();
        let Some(info) = self.inputs.dictated(time, stream) else {
            return Vec::new();
        };
        let InputSource::Blocks(blocks) = info.source else {
            return Vec::new();
        };
        blocks
            .into_iter()
            .map(|b| {
                let lost = b.error.clone().map(|reason| LostBlock {
                    block: b.block.clone(),
                    records: b.records,
                    reason,
                    cause: None,
                });
                Block {
                    id: parse_block_name(&b.block).filter(|_| lost.is_none()),
                    records: b.records,
                    lost,
                    wal: b.wal,
                    location: b.location,
                }
            })
            .collect()
    }

    /// The write-ahead log's store, where a partition whose block is gone is read from:
    /// the driver's (opened at its start), or this executor's (opened when first needed).
    pub(super) fn log_store(&self) -> Option<Arc<dyn spate_core::CheckpointStore>> {
        if let Some(w) = self.wal.lock().as_ref() {
            return Some(w.store.clone());
        }
        if self.inputs.follows_driver() {
            return self.executor_wal().map(|w| w.store.clone());
        }
        None
    }
}

/// The block id of a block named `input-<stream>-<seq>`.
fn parse_block_name(name: &str) -> Option<BlockId> {
    let rest = name.strip_prefix("input-")?;
    let (stream, seq) = rest.split_once('-')?;
    Some(BlockId::Input {
        stream: stream.parse().ok()?,
        seq: seq.parse().ok()?,
    })
}

/// What a follower does with a plan's placements: each receiver input of this process
/// runs here if the driver placed it on this executor. `replaying`: the plan is old (this
/// executor joined the running application and replays it, or fell far behind): a
/// receiver is stopped here if placed elsewhere, but not started — an earlier process
/// under this executor's id may have run it then; the current plans say where it runs now.
pub(crate) fn follow_placements(
    inputs: &[Arc<dyn crate::input::InputStream>],
    placements: &std::collections::BTreeMap<usize, (String, u64)>,
    me: &str,
    replaying: bool,
) {
    for input in inputs.iter().filter(|i| i.is_receiver()) {
        let Some(stream) = input.checkpoint_id() else {
            continue;
        };
        let epoch = placements
            .get(&stream)
            .filter(|(executor, _)| executor == me)
            .map(|(_, epoch)| *epoch);
        if epoch.is_some() && replaying {
            continue;
        }
        input.place(epoch);
    }
}
