//! Metadata checkpoints and driver recovery (Spark's `Checkpoint`, `CheckpointWriter` and
//! `StreamingContext.getOrCreate`).
//!
//! With a checkpoint directory set ([`crate::StreamingContext::checkpoint`]), the context
//! writes a [`MetadataCheckpoint`] when a batch's jobs are generated and again when the
//! batch completes, under `metadata/` of the directory; stateful streams write their data
//! checkpoints (RDDs) under `data/`. A metadata checkpoint is JSON (so later versions read
//! older ones: new fields have defaults), framed with a length and a CRC-32 (see
//! [`spate_core::checkpoint_store`]); the newest `spate.streaming.checkpoint.retained`
//! are kept.
//!
//! [`crate::StreamingContext::get_or_create`] recovers: the program builds its graph
//! again, the newest good checkpoint (a torn or corrupt one is skipped, with a warning, for
//! the one before it) gives it its zero time, the stateful streams their state, the inputs
//! what each batch read and where each source stood; the batches that were generated and
//! not completed run again, then those due while the program was down, then it goes on.

use crate::dstream::{DStreamBase, DataCheckpoint};
use crate::error::{Error, Result};
use crate::graph::GraphDescription;
use crate::input::InputInfo;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use spate_core::checkpoint_store::{self, CheckpointStore, Prefixed};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

/// The metadata checkpoint's format version; a checkpoint of a newer format is refused.
pub const FORMAT_VERSION: u32 = 1;

/// Where metadata checkpoints go in the checkpoint directory.
pub const METADATA_DIR: &str = "metadata";
/// Where data (RDD) checkpoints go in the checkpoint directory.
pub const DATA_DIR: &str = "data";

const DEFAULT_RETAINED: usize = 10;

/// What a metadata checkpoint holds: enough for a new run of the same program to go on
/// where this one stood. Closures are never in it: the program builds them again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetadataCheckpoint {
    /// [`FORMAT_VERSION`] of the spate that wrote it.
    pub format: u32,
    /// The version of the spate that wrote it.
    pub spate_version: String,
    /// The batch time it was written for.
    pub time_ms: i64,
    /// Whether it was written when that batch completed (else when it was generated).
    pub completed: bool,
    /// When it was written (wall clock, ms since the epoch).
    pub written_ms: i64,
    /// The configuration of the run that wrote it (the recovering run keeps its own: a
    /// changed value takes effect).
    #[serde(default)]
    pub conf: BTreeMap<String, String>,
    /// The DStream graph.
    pub graph: GraphDescription,
    /// Batches generated and not completed successfully: they run again on recovery.
    #[serde(default)]
    pub pending_ms: Vec<i64>,
    /// What every input gave every batch still remembered, by batch time and stream id.
    #[serde(default)]
    pub inputs: BTreeMap<i64, BTreeMap<usize, InputInfo>>,
    /// Each input's own state (a direct source's position and ranges, a file stream's
    /// picked files), by stream id.
    #[serde(default)]
    pub input_states: BTreeMap<usize, Vec<u8>>,
    /// The data checkpoints of each stream, by stream id and batch time.
    #[serde(default)]
    pub data: BTreeMap<usize, BTreeMap<i64, DataCheckpoint>>,
    /// The values of the named accumulators, encoded, by name.
    #[serde(default)]
    pub accumulators: BTreeMap<String, Vec<u8>>,
}

impl MetadataCheckpoint {
    /// Encoded as the checkpoint file's payload (JSON).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self).map_err(|e| Error::Checkpoint {
            what: "encoding the metadata checkpoint".into(),
            reason: e.to_string(),
        })
    }

    /// Decoded from a checkpoint file's payload; `what` names the file in errors.
    ///
    /// # Errors
    /// Not a metadata checkpoint, or one of a newer format.
    pub fn from_bytes(bytes: &[u8], what: &str) -> Result<Self> {
        let ck: MetadataCheckpoint =
            serde_json::from_slice(bytes).map_err(|e| Error::Checkpoint {
                what: what.to_string(),
                reason: format!("not a metadata checkpoint: {e}"),
            })?;
        if ck.format > FORMAT_VERSION {
            return Err(Error::Checkpoint {
                what: what.to_string(),
                reason: format!(
                    "written by spate {} in checkpoint format {}, newer than this spate's {FORMAT_VERSION}: recover it with that version or newer",
                    ck.spate_version, ck.format
                ),
            });
        }
        Ok(ck)
    }
}

/// The checkpoint directory of a context: writes metadata checkpoints, keeps the newest,
/// reads the newest good one.
pub(crate) struct Checkpointer {
    root: Arc<dyn CheckpointStore>,
    metadata: Prefixed,
    retained: usize,
    location: String,
    /// Held while a checkpoint is written and the old ones removed.
    writing: Mutex<()>,
}

impl Checkpointer {
    /// The checkpoint directory at `location` (a path or a URL, see
    /// [`checkpoint_store::open`]).
    pub(crate) fn open(location: &str, retained: Option<usize>) -> Result<Self> {
        let root = checkpoint_store::open(location)?;
        // A directory that cannot be written is said now, not at the first batch.
        let probe = format!(".spate-probe-{}", std::process::id());
        root.put(&probe, b"probe")
            .and_then(|()| root.delete(&probe))
            .map_err(|e| Error::Checkpoint {
                what: location.to_string(),
                reason: format!("the checkpoint directory cannot be written: {e}"),
            })?;
        Ok(Checkpointer {
            metadata: Prefixed::new(root.clone(), METADATA_DIR),
            root,
            retained: retained.unwrap_or(DEFAULT_RETAINED).max(1),
            location: location.to_string(),
            writing: Mutex::new(()),
        })
    }

    /// Where the data checkpoints go.
    pub(crate) fn data_store(&self) -> Arc<dyn CheckpointStore> {
        Arc::new(Prefixed::new(self.root.clone(), DATA_DIR))
    }

    /// The checkpoint directory's store.
    pub(crate) fn root(&self) -> Arc<dyn CheckpointStore> {
        self.root.clone()
    }

    pub(crate) fn location(&self) -> &str {
        &self.location
    }

    fn name_of(time_ms: i64, completed: bool) -> String {
        format!("checkpoint-{time_ms:020}-{}", if completed { 2 } else { 1 })
    }

    /// Writes `ck` and removes the oldest beyond the retained number. Names sort by batch
    /// time, so a checkpoint of a batch that completed late never becomes the newest.
    pub(crate) fn write(&self, ck: &MetadataCheckpoint) -> Result<()> {
        let name = Self::name_of(ck.time_ms, ck.completed);
        let bytes = ck.to_bytes()?;
        let _writing = self.writing.lock();
        checkpoint_store::put_checked(&self.metadata, &name, &bytes)?;
        tracing::debug!(checkpoint = %self.metadata.describe(&name), bytes = bytes.len(), "metadata checkpoint written");
        let names = self.names()?;
        if names.len() > self.retained {
            for old in &names[..names.len() - self.retained] {
                if let Err(e) = self.metadata.delete(old) {
                    tracing::warn!(checkpoint = %self.metadata.describe(old), "could not delete an old checkpoint: {e}");
                }
            }
        }
        Ok(())
    }

    /// The metadata checkpoints present, oldest first.
    fn names(&self) -> Result<Vec<String>> {
        Ok(self
            .metadata
            .list("")?
            .into_iter()
            .filter_map(|n| {
                let n = n.rsplit('/').next().unwrap_or(&n).to_string();
                n.starts_with("checkpoint-").then_some(n)
            })
            .collect())
    }

    /// The newest checkpoint that reads back whole and whose data checkpoints are all
    /// there; a torn, corrupt or incomplete one is skipped (with a warning) for the one
    /// before it. `None` when the directory has none.
    ///
    /// # Errors
    /// When the directory cannot be listed, or no checkpoint in it is usable (naming why
    /// the newest is not).
    pub(crate) fn read_latest(&self) -> Result<Option<MetadataCheckpoint>> {
        let names = self.names()?;
        let mut first_error = None;
        for name in names.iter().rev() {
            match self.read(name) {
                Ok(ck) => {
                    if first_error.is_some() {
                        tracing::warn!(checkpoint = %self.metadata.describe(name), "recovering from an older checkpoint");
                    }
                    return Ok(Some(ck));
                }
                Err(e) => {
                    tracing::warn!("skipping checkpoint {}: {e}", self.metadata.describe(name));
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            None => Ok(None),
            Some(e) => Err(Error::Checkpoint {
                what: self.location.clone(),
                reason: format!(
                    "none of its {} metadata checkpoint(s) is usable; the newest: {e}",
                    names.len()
                ),
            }),
        }
    }

    fn read(&self, name: &str) -> Result<MetadataCheckpoint> {
        let bytes = checkpoint_store::get_checked(&self.metadata, name)?;
        let ck = MetadataCheckpoint::from_bytes(&bytes, &self.metadata.describe(name))?;
        let data = self.data_store();
        for (stream, times) in &ck.data {
            for (t, d) in times {
                let present = data.list(&d.dir)?;
                if present.len() < d.partitions {
                    return Err(Error::Checkpoint {
                        what: self.metadata.describe(name),
                        reason: format!(
                            "the data checkpoint of stream {stream} at {t} ms ({}) has {} of its {} partition files",
                            data.describe(&d.dir),
                            present.len(),
                            d.partitions
                        ),
                    });
                }
            }
        }
        Ok(ck)
    }
}

/// Every stream reachable from the outputs, each once.
pub(crate) fn all_streams(outputs: Vec<Arc<dyn DStreamBase>>) -> Vec<Arc<dyn DStreamBase>> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut stack = outputs;
    while let Some(s) = stack.pop() {
        if !seen.insert(s.meta().id()) {
            continue;
        }
        stack.extend(s.dependencies());
        out.push(s);
    }
    out
}

/// What a recovered context does at its start: the batches to run again.
#[derive(Debug, Clone)]
pub(crate) struct Recovery {
    /// The batch time of the checkpoint recovered from.
    pub(crate) checkpoint_ms: i64,
    /// Batches generated and not completed before the crash, oldest first.
    pub(crate) pending_ms: Vec<i64>,
}

impl crate::StreamingContext {
    /// Writes the metadata checkpoint of batch `time`, if a checkpoint directory is set.
    pub(crate) fn write_checkpoint(
        &self,
        time: crate::Time,
        completed: bool,
        pending_ms: Vec<i64>,
    ) -> Result<()> {
        let Some(writer) = self.inner.checkpointer.lock().clone() else {
            return Ok(());
        };
        let graph = &self.inner.graph;
        let mut data = BTreeMap::new();
        for s in all_streams(graph.outputs().iter().map(|o| o.stream()).collect()) {
            let d = s.checkpoint_data();
            if !d.is_empty() {
                data.insert(s.meta().id(), d);
            }
        }
        let mut input_states = BTreeMap::new();
        for i in graph.inputs() {
            if let Some(id) = i.checkpoint_id() {
                if let Some(state) = i.checkpoint_state()? {
                    input_states.insert(id, state);
                }
            }
        }
        let ck = MetadataCheckpoint {
            format: FORMAT_VERSION,
            spate_version: env!("CARGO_PKG_VERSION").to_string(),
            time_ms: time.0,
            completed,
            written_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0),
            conf: self
                .ctx()
                .conf()
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            graph: graph.describe(),
            pending_ms,
            inputs: self.inner.input_tracker.snapshot(),
            input_states,
            data,
            accumulators: self.ctx().env().named_accumulator_values()?,
        };
        writer.write(&ck)
    }

    /// The newest usable metadata checkpoint in the context's checkpoint directory.
    ///
    /// # Errors
    /// No checkpoint directory set; the directory has checkpoints and none is usable.
    pub fn latest_checkpoint(&self) -> Result<Option<MetadataCheckpoint>> {
        let writer = self.inner.checkpointer.lock().clone();
        match writer {
            Some(w) => w.read_latest(),
            None => Err(Error::State {
                state: "without a checkpoint directory",
                action: "read a checkpoint (call StreamingContext::checkpoint(dir) first)",
            }),
        }
    }

    /// Recovers from a checkpoint directory, or creates the context (Spark's
    /// `StreamingContext.getOrCreate`). With no checkpoint in `dir`, returns `create()`
    /// with `dir` as its checkpoint directory. With one, runs `create()` too — the same
    /// program builds the same graph, with its closures — and then restores into it what
    /// the newest good checkpoint recorded: the zero time, the stateful streams' state,
    /// what each input gave each remembered batch and where each source stood. At
    /// [`Self::start`], the batches that were pending run again, then those due while the
    /// program was down, and it goes on.
    ///
    /// Inputs recover as follows: files and direct sources re-read exactly what the batch
    /// read; receivers' blocks are lost with the process (unless the write-ahead log is
    /// on); a `queue_stream` cannot be recovered.
    ///
    /// # Errors
    /// `create`'s error; a checkpoint directory whose checkpoints are all unusable; a
    /// graph that differs from the checkpoint's ([`Error::GraphMismatch`]), naming the
    /// difference.
    pub fn get_or_create(
        dir: impl AsRef<std::path::Path>,
        create: impl FnOnce() -> Result<crate::StreamingContext>,
    ) -> Result<crate::StreamingContext> {
        let location = dir.as_ref().to_string_lossy().into_owned();
        let ssc = create()?;
        let set = ssc
            .inner
            .checkpointer
            .lock()
            .as_ref()
            .map(|c| c.location().to_string());
        if set.as_deref() != Some(location.as_str()) {
            ssc.checkpoint(dir.as_ref())?;
        }
        // Read through the directory the context writes to (opened once). In cluster
        // mode the driver chooses and the executors' copies take its choice.
        let plans = crate::scheduler::Plans::of(ssc.ctx(), ssc.inner.scope_owner);
        let found = match plans {
            Some(p) if !ssc.ctx().is_driver() => match p.fetch_recovery()? {
                Ok(Some(bytes)) => Some(MetadataCheckpoint::from_bytes(
                    &bytes,
                    "the checkpoint the driver recovered from",
                )?),
                Ok(None) => None,
                Err(reason) => {
                    return Err(Error::Checkpoint {
                        what: location,
                        reason: format!("on the driver: {reason}"),
                    })
                }
            },
            Some(p) => {
                let found = ssc.latest_checkpoint();
                let decision = match &found {
                    Ok(Some(ck)) => ck.to_bytes().map(Some).map_err(|e| e.to_string()),
                    Ok(None) => Ok(None),
                    Err(e) => Err(e.to_string()),
                };
                p.publish_recovery(&decision);
                found?
            }
            None => ssc.latest_checkpoint()?,
        };
        match found {
            None => {
                tracing::info!(dir = %location, "no checkpoint: starting a new context");
            }
            Some(ck) => ssc.recover(&ck)?,
        }
        Ok(ssc)
    }

    /// Restores `ck` (an earlier run's checkpoint) into this context, built by the same
    /// program and not started yet.
    fn recover(&self, ck: &MetadataCheckpoint) -> Result<()> {
        self.require_initialized("recover from a checkpoint")?;
        // Old stream id -> this program's: what the checkpoint says of a stream goes to
        // the stream it is now.
        let ids = self.restore_graph(&ck.graph)?;
        let data: BTreeMap<usize, &BTreeMap<i64, DataCheckpoint>> = ck
            .data
            .iter()
            .filter_map(|(old, d)| Some((*ids.get(old)?, d)))
            .collect();
        let input_states: BTreeMap<usize, &Vec<u8>> = ck
            .input_states
            .iter()
            .filter_map(|(old, st)| Some((*ids.get(old)?, st)))
            .collect();
        let inputs = ck
            .inputs
            .iter()
            .map(|(t, by_stream)| {
                let mapped = by_stream
                    .iter()
                    .filter_map(|(old, info)| Some((*ids.get(old)?, info.clone())))
                    .collect();
                (*t, mapped)
            })
            .collect();
        let outputs: Vec<Arc<dyn DStreamBase>> = self
            .inner
            .graph
            .outputs()
            .iter()
            .map(|o| o.stream())
            .collect();
        for s in all_streams(outputs) {
            if let Some(d) = data.get(&s.meta().id()) {
                s.restore_checkpoint_data(self.ctx(), d)?;
            }
        }
        self.inner.input_tracker.restore(inputs, ck.time_ms);
        for i in self.inner.graph.inputs() {
            if let Some(id) = i.checkpoint_id() {
                if let Some(state) = input_states.get(&id) {
                    i.restore_state(state)?;
                }
            }
        }
        let restored = self
            .ctx()
            .env()
            .restore_named_accumulators(&ck.accumulators)?;
        if !restored.is_empty() {
            tracing::info!(accumulators = ?restored, "named accumulators restored from the checkpoint");
        }
        tracing::info!(
            checkpoint_ms = ck.time_ms,
            completed = ck.completed,
            pending = ?ck.pending_ms,
            written_by = %ck.spate_version,
            "recovered from a checkpoint"
        );
        *self.inner.recovery.lock() = Some(Recovery {
            checkpoint_ms: ck.time_ms,
            pending_ms: ck.pending_ms.clone(),
        });
        Ok(())
    }
}
