//! The DStream graph (Spark's `DStreamGraph`): the input streams, the output operations in
//! declaration order, the batch interval, the zero time and the remember duration. It
//! starts the streams (zero time, remember durations), and it can be described as data and
//! restored by stable ids: a [`GraphDescription`] written by one run of a program is
//! checked against the graph the next run of the same program builds, and gives it the
//! first run's zero time, so batch times go on where they were (what a metadata
//! checkpoint needs).

use crate::dstream::{self, DStreamBase};
use crate::error::{Error, Result};
use crate::input::InputStream;
use crate::output::OutputOp;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

/// One stream of the graph, as data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamDescription {
    /// The stream id (creation order in the program).
    pub id: usize,
    /// The operation that made it.
    pub operation: String,
    /// Its slide.
    pub slide_ms: i64,
    /// How far back it reads its parents: a window's length (0 for other streams).
    pub window_ms: i64,
    /// How long it remembers its RDDs (set at start).
    pub remember_ms: i64,
    /// Its checkpoint interval, if any.
    pub checkpoint_ms: Option<i64>,
    /// Its parents' ids.
    pub parents: Vec<usize>,
    /// The name the program gave it ([`crate::DStream::name`]): what a recovered run
    /// matches it by (else by id, its creation order).
    #[serde(default)]
    pub name: Option<String>,
    /// Its record type (Rust's `type_name`).
    #[serde(default)]
    pub record_type: String,
    /// Whether it keeps state across batches (`update_state_by_key`, `map_with_state`, a
    /// windowed reduction with an inverse): its data checkpoints hold that state.
    #[serde(default)]
    pub stateful: bool,
}

/// One output operation, as data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputDescription {
    /// Its id: its index in declaration order.
    pub id: usize,
    /// The operation (`print`, `foreach_rdd`, ...).
    pub name: String,
    /// The stream it outputs.
    pub stream: usize,
}

/// The whole graph, as data: what a metadata checkpoint records of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphDescription {
    /// The batch interval.
    pub batch_ms: i64,
    /// The zero time, once started (batch k runs at zero + k × interval).
    pub zero_ms: Option<i64>,
    /// The remember duration set with `StreamingContext::remember`, if any.
    pub remember_ms: Option<i64>,
    /// Every stream reachable from an output, outputs' streams first in declaration order.
    pub streams: Vec<StreamDescription>,
    /// The output operations in declaration order.
    pub outputs: Vec<OutputDescription>,
}

/// The graph of one streaming context.
pub(crate) struct DStreamGraph {
    batch_ms: i64,
    outputs: Mutex<Vec<Arc<dyn OutputOp>>>,
    inputs: Mutex<Vec<Arc<dyn InputStream>>>,
    remember_ms: Mutex<Option<i64>>,
    zero_ms: Mutex<Option<i64>>,
    /// Errors found while the program defined its streams (a window that is not a
    /// multiple of the slide, a join of streams with different slides, ...): the
    /// operations still return a stream, so chains read as in Spark, and `start` reports
    /// the first of these, as Spark's `validate` does.
    definition_errors: Mutex<Vec<Error>>,
}

impl DStreamGraph {
    pub(crate) fn new(batch_ms: i64) -> Self {
        DStreamGraph {
            batch_ms,
            outputs: Mutex::new(Vec::new()),
            inputs: Mutex::new(Vec::new()),
            remember_ms: Mutex::new(None),
            zero_ms: Mutex::new(None),
            definition_errors: Mutex::new(Vec::new()),
        }
    }

    /// Records an error of defining stream `stream` by `operation`, for `start`.
    pub(crate) fn defer_error(&self, operation: &'static str, stream: usize, cause: Error) {
        tracing::debug!(operation, stream, "invalid stream definition: {cause}");
        self.definition_errors.lock().push(Error::InvalidStream {
            operation,
            stream,
            cause: Box::new(cause),
        });
    }

    /// The first definition error, if any (all of them are logged).
    pub(crate) fn take_definition_error(&self) -> Option<Error> {
        let errs = std::mem::take(&mut *self.definition_errors.lock());
        for e in errs.iter().skip(1) {
            tracing::error!("{e}");
        }
        errs.into_iter().next()
    }

    pub(crate) fn add_output(&self, op: Arc<dyn OutputOp>) {
        self.outputs.lock().push(op);
    }

    pub(crate) fn add_input(&self, input: Arc<dyn InputStream>) {
        self.inputs.lock().push(input);
    }

    /// The output operations, in declaration order.
    pub(crate) fn outputs(&self) -> Vec<Arc<dyn OutputOp>> {
        self.outputs.lock().clone()
    }

    /// The inputs that need starting, stopping or accounting, in declaration order.
    pub(crate) fn inputs(&self) -> Vec<Arc<dyn InputStream>> {
        self.inputs.lock().clone()
    }

    pub(crate) fn set_remember(&self, ms: i64) {
        *self.remember_ms.lock() = Some(ms);
    }

    /// The zero time: restored from a description, or set by [`Self::start`].
    pub(crate) fn zero_ms(&self) -> Option<i64> {
        *self.zero_ms.lock()
    }

    /// Starts the graph at `zero_ms` — or at the zero time restored from an earlier run —
    /// and returns the zero time used: every stream learns it, its remember duration and
    /// its default checkpoint interval.
    pub(crate) fn start(&self, zero_ms: i64) -> i64 {
        let zero = *self.zero_ms.lock().get_or_insert(zero_ms);
        let remember = self.remember_ms.lock().unwrap_or(0);
        let outputs = self.outputs();
        for o in &outputs {
            dstream::initialize(&o.stream(), zero);
        }
        for o in &outputs {
            dstream::remember(&o.stream(), remember);
        }
        zero
    }

    /// The operation of a stream in the graph that checkpoints, if any.
    pub(crate) fn checkpointing_stream(&self) -> Option<&'static str> {
        let mut stack: Vec<Arc<dyn DStreamBase>> =
            self.outputs().iter().map(|o| o.stream()).collect();
        while let Some(s) = stack.pop() {
            if s.meta().checkpoint_ms().is_some() {
                return Some(s.meta().name());
            }
            stack.extend(s.dependencies());
        }
        None
    }

    /// Every stream reachable from an output, outputs' streams first in declaration
    /// order, each once.
    pub(crate) fn streams(&self) -> Vec<StreamDescription> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut stack: Vec<Arc<dyn DStreamBase>> =
            self.outputs().iter().rev().map(|o| o.stream()).collect();
        while let Some(s) = stack.pop() {
            let m = s.meta();
            if !seen.insert(m.id()) {
                continue;
            }
            let deps = s.dependencies();
            out.push(StreamDescription {
                id: m.id(),
                operation: m.name().to_string(),
                slide_ms: m.slide_ms(),
                window_ms: s.parent_remember_extra_ms(),
                remember_ms: m.remember_ms(),
                checkpoint_ms: m.checkpoint_ms(),
                parents: deps.iter().map(|d| d.meta().id()).collect(),
                name: m.user_name(),
                record_type: s.record_type().to_string(),
                stateful: m.is_stateful(),
            });
            stack.extend(deps.into_iter().rev());
        }
        out
    }

    /// The graph as data.
    pub(crate) fn describe(&self) -> GraphDescription {
        GraphDescription {
            batch_ms: self.batch_ms,
            zero_ms: self.zero_ms(),
            remember_ms: *self.remember_ms.lock(),
            streams: self.streams(),
            outputs: self
                .outputs()
                .iter()
                .enumerate()
                .map(|(id, o)| OutputDescription {
                    id,
                    name: o.name().to_string(),
                    stream: o.stream().meta().id(),
                })
                .collect(),
        }
    }

    /// Takes an earlier run's description and adopts its zero time and remember duration,
    /// if this graph can go on from it; returns which stream of this graph each stream of
    /// the description is (old id to new id).
    ///
    /// Streams are matched by name ([`crate::DStream::name`]) when the earlier run named
    /// them, else by id (creation order). What may change: outputs and streams added or
    /// removed, a stateless operation replaced, configuration values. What may not, for it
    /// would make the recovered state or windows wrong: the batch interval; a stateful
    /// stream (one whose state is in the checkpoint) removed, or its operation, record type,
    /// slide or window changed; any stream's window or slide changed.
    ///
    /// # Errors
    /// [`Error::GraphMismatch`] naming the first such change and what to do; nothing is
    /// adopted then.
    pub(crate) fn restore(&self, desc: &GraphDescription) -> Result<BTreeMap<usize, usize>> {
        let mismatch = |what: String| Err(Error::GraphMismatch { what });
        if desc.batch_ms != self.batch_ms {
            return mismatch(format!(
                "the batch interval was {} ms and is {} ms",
                desc.batch_ms, self.batch_ms
            ));
        }
        let now = self.streams();
        let by_id: BTreeMap<usize, &StreamDescription> = now.iter().map(|s| (s.id, s)).collect();
        let by_name: BTreeMap<&str, &StreamDescription> = now
            .iter()
            .filter_map(|s| Some((s.name.as_deref()?, s)))
            .collect();
        let label = |d: &StreamDescription| match &d.name {
            Some(n) => format!("stream {} `{n}` ({})", d.id, d.operation),
            None => format!("stream {} ({})", d.id, d.operation),
        };
        let show = |d: &StreamDescription| {
            format!(
                "{} of {} (window {} ms, slide {} ms)",
                d.operation, d.record_type, d.window_ms, d.slide_ms
            )
        };
        let mut mapping = BTreeMap::new();
        for old in &desc.streams {
            let found = match &old.name {
                Some(n) => by_name.get(n.as_str()).copied(),
                None => by_id.get(&old.id).copied().filter(|s| s.name.is_none()),
            };
            let Some(new) = found else {
                if old.stateful {
                    return mismatch(format!(
                        "{} holds state in the checkpoint and is not in this program's graph; \
                         keep it (same operation, name or creation order), or start afresh \
                         with a new checkpoint directory",
                        label(old)
                    ));
                }
                tracing::warn!(
                    "recovery: {} of the checkpoint is not in this program's graph",
                    label(old)
                );
                continue;
            };
            let window_changed = new.slide_ms != old.slide_ms || new.window_ms != old.window_ms;
            let retyped = new.operation != old.operation
                || (!old.record_type.is_empty() && new.record_type != old.record_type);
            if window_changed || (old.stateful && retyped) {
                return mismatch(format!(
                    "{} was {} and is {}: its {} in the checkpoint would be wrong; \
                     restore the operation as it was, or start afresh with a new checkpoint directory",
                    label(old),
                    show(old),
                    show(new),
                    if old.stateful { "state" } else { "windows" }
                ));
            }
            if retyped {
                tracing::warn!(
                    "recovery: {} was {} and is {} (stateless: recomputed from its input)",
                    label(old),
                    show(old),
                    show(new)
                );
            }
            mapping.insert(old.id, new.id);
        }
        let outputs = self.describe().outputs;
        if outputs != desc.outputs {
            tracing::info!(
                was = ?desc.outputs.iter().map(|o| (&o.name, o.stream)).collect::<Vec<_>>(),
                is = ?outputs.iter().map(|o| (&o.name, o.stream)).collect::<Vec<_>>(),
                "recovery: the output operations changed"
            );
        }
        *self.zero_ms.lock() = desc.zero_ms;
        if let Some(r) = desc.remember_ms {
            *self.remember_ms.lock() = Some(r);
        }
        Ok(mapping)
    }
}
