//! The receiver write-ahead log: [`Wal`], and how a receiver input uses it to recover
//! (the blocks of a recovered batch, and those no batch had when the run died).

use super::{Block, ReceiverInput};
use crate::error::Result;
use crate::input::tracker::InputSource;
use crate::time::Time;
use spate_core::Data;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A receiver's write-ahead log (`spate.streaming.receiver.writeAheadLog.enable`): every
/// block is written to `wal/receiver-<stream>/` of the checkpoint directory, framed, before
/// `store` returns, as `<run>-<seq>-<records>`. A batch's blocks are read from there when
/// they are not in the block store (a recovered run), and deleted when the batch is
/// forgotten.
pub(crate) struct Wal {
    pub(super) store: Arc<dyn spate_core::CheckpointStore>,
    /// This run's id: block names of different runs never meet.
    run: String,
}

impl Wal {
    pub(super) fn name(&self, seq: u64, records: u64) -> String {
        format!("{}-{seq:020}-{records}", self.run)
    }

    /// (run, seq, records) of a block name.
    pub(super) fn parse(name: &str) -> Option<(String, u64, u64)> {
        let name = name.rsplit('/').next()?;
        let mut it = name.rsplitn(3, '-');
        let records = it.next()?.parse().ok()?;
        let seq = it.next()?.parse().ok()?;
        Some((it.next()?.to_string(), seq, records))
    }

    pub(super) fn delete(&self, name: &str) {
        if let Err(e) = self.store.delete(name) {
            tracing::warn!(block = %self.store.describe(name), "could not delete a write-ahead log block: {e}");
        }
    }
}

/// What the metadata checkpoint keeps of a receiver input.
#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct ReceiverState {
    pub(super) allocated_through: BTreeMap<String, u64>,
}

impl<T: Data> ReceiverInput<T> {
    /// The blocks batch `time` had in the run this context recovered from.
    pub(super) fn recovered_blocks(&self, time: Time) -> Vec<Block> {
        let Some(info) = self.inputs.recovered(time, self.id()) else {
            return Vec::new();
        };
        let InputSource::Blocks(blocks) = info.source else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for b in blocks.into_iter().filter(|b| b.error.is_none()) {
            if b.wal.is_none() {
                tracing::warn!(stream = self.id(), batch = time.0, block = %b.block, records = b.records, "a block of a recovered batch is lost: the write-ahead log was off (spate.streaming.receiver.writeAheadLog.enable)");
                continue;
            }
            out.push(Block {
                id: None,
                records: b.records,
                lost: None,
                wal: b.wal,
                location: None,
            });
        }
        out
    }

    /// At the start of a recovered run with the write-ahead log: blocks in the log that no
    /// batch had yet go to the first new batch; blocks of batches done and forgotten that
    /// are still there (the run died before deleting them) are deleted.
    fn recover_unallocated(&self, wal: &Wal) -> Result<()> {
        let referenced: std::collections::HashSet<String> = self
            .inputs
            .recovered_for_stream(self.id())
            .into_iter()
            .filter_map(|info| match info.source {
                InputSource::Blocks(b) => Some(b),
                _ => None,
            })
            .flatten()
            .filter_map(|b| b.wal)
            .collect();
        let through = self.allocated_through.lock().clone();
        let mut pending = Vec::new();
        for name in wal.store.list("")? {
            let name = name.rsplit('/').next().unwrap_or(&name).to_string();
            let Some((run, seq, records)) = Wal::parse(&name) else {
                continue;
            };
            if referenced.contains(&name) {
                continue;
            }
            if through.get(&run).is_some_and(|t| seq <= *t) {
                wal.delete(&name);
            } else {
                pending.push((
                    run,
                    seq,
                    Block {
                        id: None,
                        records,
                        lost: None,
                        wal: Some(name),
                        location: None,
                    },
                ));
            }
        }
        pending.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        if !pending.is_empty() {
            tracing::info!(
                stream = self.id(),
                blocks = pending.len(),
                records = pending.iter().map(|p| p.2.records).sum::<u64>(),
                "write-ahead log: blocks received before the crash and in no batch yet go to the next batch"
            );
        }
        let mut t = self.tracker.lock();
        let mut blocks: Vec<Block> = pending.into_iter().map(|p| p.2).collect();
        blocks.append(&mut t.pending);
        t.pending = blocks;
        Ok(())
    }

    /// The write-ahead log when `spate.streaming.receiver.writeAheadLog.enable` is on (the
    /// context has a checkpoint directory: checked at its start), with the blocks of a
    /// crashed run that no batch had yet put first in line.
    pub(super) fn open_wal(&self) -> Option<Arc<Wal>> {
        let wal = self.make_wal("")?;
        if let Err(e) = self.recover_unallocated(&wal) {
            tracing::error!(
                stream = self.id(),
                "write-ahead log: could not look for blocks of the run before: {e}"
            );
        }
        *self.wal.lock() = Some(wal.clone());
        Some(wal)
    }

    /// This process's write-ahead log, made once when the log is on (an executor
    /// process's: its receiver writes there, its tasks read blocks of lost executors from
    /// there; recovering is the driver's).
    pub(super) fn executor_wal(&self) -> Option<Arc<Wal>> {
        let mut slot = self.wal.lock();
        if slot.is_none() {
            let me: String = self
                .ctx
                .env()
                .executor_id()
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .collect();
            *slot = self.make_wal(&me);
        }
        slot.clone()
    }

    /// A write-ahead log whose run name ends with `process` (names of different processes'
    /// logs never meet), if the log is on.
    fn make_wal(&self, process: &str) -> Option<Arc<Wal>> {
        let on = self
            .ctx
            .conf()
            .get_bool("spate.streaming.receiver.writeAheadLog.enable")
            .unwrap_or(false);
        if !on {
            return None;
        }
        let ssc = self.ssc.upgrade()?;
        let root = ssc.inner.checkpointer.lock().as_ref()?.root();
        let store: Arc<dyn spate_core::CheckpointStore> =
            Arc::new(spate_core::checkpoint_store::Prefixed::new(
                root,
                &format!("wal/receiver-{}", self.id()),
            ));
        let run = format!(
            "r{}{process}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis())
                .unwrap_or(0)
        );
        Some(Arc::new(Wal { store, run }))
    }
}
