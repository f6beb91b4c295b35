//! The inputs a [`StreamingContext`] makes: queues, replays, receivers and sockets, files
//! and direct sources, and the positions of direct sources for a metadata checkpoint.

use crate::context::StreamingContext;
use crate::dstream::DStream;
use crate::error::{Error, Result};
use crate::input::{
    read_lines, Decoder, DirectInput, DirectLifecycle, DirectRanges, DirectSource, FileInput,
    FileLifecycle, InputStream, PathFilter, QueueInput, RddQueue, ReadFile, Receiver,
    ReceiverCompute, ReceiverInput, ReplayInput, SocketReceiver,
};
use parking_lot::Mutex;
use spate_core::{Data, Rdd, StorageLevel, Str};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

impl StreamingContext {
    /// The RDDs pushed to `queue`, one per batch (Spark's `queueStream(queue)`, with
    /// `oneAtATime` true and no default RDD).
    pub fn queue_stream<T: Data>(&self, queue: &RddQueue<T>) -> DStream<T> {
        self.queue_stream_with(queue, true, None)
    }

    /// A stream of the RDDs pushed to `queue`: one per batch with `one_at_a_time`, else
    /// all waiting ones united; `default` (or an empty RDD) when the queue is empty.
    pub fn queue_stream_with<T: Data>(
        &self,
        queue: &RddQueue<T>,
        one_at_a_time: bool,
        default: Option<Rdd<T>>,
    ) -> DStream<T> {
        DStream::create(
            self,
            "queue_stream",
            self.inner.batch_ms,
            false,
            QueueInput {
                ctx: self.inner.ctx.clone(),
                queue: queue.clone(),
                one_at_a_time,
                default,
                tracker: self.inner.input_tracker.clone(),
            },
        )
    }

    /// Fixed batches by batch number, for tests and replays: batch k (the k-th interval
    /// after zero time) is `batches[k-1]` — `Some(records)` as an RDD of `partitions`
    /// partitions (sliced as `parallelize` does), `None` as a batch with no RDD at all — and
    /// empty batches after the end.
    pub fn replay_stream<T: Data>(
        &self,
        batches: Vec<Option<Vec<T>>>,
        partitions: usize,
    ) -> DStream<T> {
        DStream::create(
            self,
            "replay_stream",
            self.inner.batch_ms,
            false,
            ReplayInput {
                ctx: self.inner.ctx.clone(),
                batches: Arc::new(batches),
                partitions: partitions.max(1),
                batch_ms: self.inner.batch_ms,
                tracker: self.inner.input_tracker.clone(),
            },
        )
    }

    /// A stream of what a custom [`Receiver`] stores; its blocks, cut every
    /// `spate.streaming.blockInterval`, are each batch's partitions.
    pub fn receiver_stream<T: Data, R: Receiver<T>>(&self, receiver: R) -> DStream<T> {
        let input = ReceiverInput::new(self, Box::new(receiver));
        self.register_input(input.clone());
        let stream = DStream::create(
            self,
            "receiver_stream",
            self.inner.batch_ms,
            false,
            ReceiverCompute {
                input: input.clone(),
            },
        );
        input.bind_stream(Arc::downgrade(&stream.base()));
        stream
    }

    /// Lines read from a TCP server at `host:port` (reconnecting when it goes away).
    ///
    /// A line is a record once its `\n` has arrived: the fragment of a line cut by a
    /// disconnect or a stop is dropped (with a warning), as in Spark. A line longer than
    /// `spate.streaming.maxLineBytes` is dropped without being buffered whole and counted
    /// in a (rate-limited) receiver error event.
    pub fn socket_text_stream(&self, host: &str, port: u16) -> DStream<Str> {
        self.receiver_stream(SocketReceiver::lines(host, port, self.max_line_bytes()))
    }

    /// [`StreamingContext::socket_text_stream`] keeping its blocks at `level` (Spark's
    /// `socketTextStream(host, port, storageLevel)`).
    pub fn socket_text_stream_with(
        &self,
        host: &str,
        port: u16,
        level: StorageLevel,
    ) -> DStream<Str> {
        self.receiver_stream(
            SocketReceiver::lines(host, port, self.max_line_bytes()).with_storage_level(level),
        )
    }

    /// Records sent by a TCP server at `host:port` as length-prefixed frames of encoded
    /// records (Spark's `rawSocketStream`; see [`crate::input::encode_raw_frame`]). A frame
    /// longer than `spate.streaming.maxLineBytes` or one that does not decode restarts the
    /// receiver with an error naming the frame.
    pub fn raw_socket_stream<T: Data>(&self, host: &str, port: u16) -> DStream<T> {
        self.raw_socket_stream_with(host, port, StorageLevel::MEMORY_AND_DISK)
    }

    /// [`StreamingContext::raw_socket_stream`] keeping its blocks at `level`.
    pub fn raw_socket_stream_with<T: Data>(
        &self,
        host: &str,
        port: u16,
        level: StorageLevel,
    ) -> DStream<T> {
        let max = self.max_line_bytes();
        let decoder: Arc<Decoder<T>> =
            Arc::new(move |input, sink| crate::input::raw_frames_decoder(input, sink, max));
        self.receiver_stream(SocketReceiver::new(host, port, decoder).with_storage_level(level))
    }

    /// Records decoded by `decoder` from a TCP server at `host:port`.
    pub fn socket_stream<T: Data>(
        &self,
        host: &str,
        port: u16,
        decoder: Arc<Decoder<T>>,
    ) -> DStream<T> {
        self.receiver_stream(SocketReceiver::new(host, port, decoder))
    }

    /// The lines of files that appear in `dir` (moved in atomically; names starting with
    /// `.` or `_` ignored), each batch the files new since the previous one. `dir` may be
    /// a URL of a store registered with `checkpoint_store::register_scheme` (`s3://`,
    /// `gs://`, `memory://` once `spate_object_store::register()` ran): its objects are
    /// listed through the storage interface, and each object not seen before is read once
    /// (see `input/remote_files.rs`).
    pub fn text_file_stream(&self, dir: impl AsRef<Path>) -> Result<DStream<Str>> {
        let text = dir.as_ref().to_string_lossy().into_owned();
        if text.contains("://") && !text.starts_with("file://") {
            return self.remote_text_file_stream(&text, true);
        }
        self.file_input(
            "text_file_stream",
            dir.as_ref(),
            None,
            true,
            read_lines(self.max_line_bytes()),
        )
    }

    /// Spark's `fileStream(directory, filter, newFilesOnly)`: the lines of the files that
    /// appear in `dir` and that `filter` accepts; with `new_files_only` false, the files
    /// already there (modified within the remember window) are read by the first batch.
    pub fn file_stream<F>(
        &self,
        dir: impl AsRef<Path>,
        filter: F,
        new_files_only: bool,
    ) -> Result<DStream<Str>>
    where
        F: Fn(&Path) -> bool + Send + Sync + 'static,
    {
        self.file_input(
            "file_stream",
            dir.as_ref(),
            Some(Arc::new(filter)),
            new_files_only,
            read_lines(self.max_line_bytes()),
        )
    }

    /// Spark's `binaryRecordsStream(directory, recordLength)`: the fixed-length records of
    /// the files that appear in `dir`, each `record_length` bytes. A file whose length is
    /// not a multiple of it fails its batch with an error naming the file and both numbers.
    pub fn binary_records_stream(
        &self,
        dir: impl AsRef<Path>,
        record_length: usize,
    ) -> Result<DStream<Vec<u8>>> {
        if record_length == 0 {
            return Err(Error::Input {
                stream: format!("binary_records_stream {}", dir.as_ref().display()),
                reason: "the record length must be positive".into(),
            });
        }
        let read: Arc<ReadFile<Vec<u8>>> =
            Arc::new(move |ctx: &spate_core::Context, path: &Path| {
                // A path is read literally (no glob or list), as the file stream found it.
                let literal = spate_core::rdd::escape_glob(&path.display().to_string());
                Ok((ctx.binary_records(&literal, record_length)?, None))
            });
        self.file_input("binary_records_stream", dir.as_ref(), None, true, read)
    }

    /// [`StreamingContext::text_file_stream`] over a store URL.
    fn remote_text_file_stream(&self, url: &str, new_files_only: bool) -> Result<DStream<Str>> {
        let store = spate_core::checkpoint_store::open(url).map_err(|e| Error::Input {
            stream: format!("text_file_stream {url}"),
            reason: e.to_string(),
        })?;
        // What is there now is old: listed at once, so objects put before the first batch
        // are new.
        let initial = crate::input::remote_files::list_names(store.as_ref(), url)?;
        let picked = Arc::new(Mutex::new(Default::default()));
        let stream = DStream::create(
            self,
            "text_file_stream",
            self.inner.batch_ms,
            false,
            crate::input::RemoteFileInput {
                ctx: self.inner.ctx.clone(),
                url: url.to_string(),
                store,
                new_files_only,
                picked: picked.clone(),
                initial: Mutex::new(Some(initial)),
                tracker: self.inner.input_tracker.clone(),
                max_line_bytes: self.max_line_bytes(),
            },
        );
        self.register_input(Arc::new(FileLifecycle {
            stream: stream.base().meta().id(),
            picked,
            start_ms: Arc::new(Mutex::new(None)),
        }));
        Ok(stream)
    }

    /// The files of one stream over `dir`, read by `read`.
    fn file_input<T: Data>(
        &self,
        op: &'static str,
        dir: &Path,
        filter: Option<Arc<PathFilter>>,
        new_files_only: bool,
        read: Arc<ReadFile<T>>,
    ) -> Result<DStream<T>> {
        let dir = dir.to_path_buf();
        if !dir.is_dir() {
            return Err(Error::Input {
                stream: format!("{op} {}", dir.display()),
                reason: "not a directory".into(),
            });
        }
        let clock = self.inner.clock.clone();
        let picked = Arc::new(Mutex::new(Default::default()));
        // Spark: files older than the stream's creation are not new.
        let start_ms = Arc::new(Mutex::new(if new_files_only {
            Some(self.inner.clock.now_ms())
        } else {
            Some(0)
        }));
        let stream = DStream::create(
            self,
            op,
            self.inner.batch_ms,
            false,
            FileInput {
                ctx: self.inner.ctx.clone(),
                op,
                dir,
                new_files_only,
                filter,
                read,
                picked: picked.clone(),
                unreadable: Mutex::new(Default::default()),
                start_ms: start_ms.clone(),
                clock_now: Arc::new(move || clock.now_ms()),
                tracker: self.inner.input_tracker.clone(),
                bus: self.inner.bus.clone(),
                max_line_bytes: self.max_line_bytes(),
                remember_ms: crate::input::file_remember_ms(
                    self.ctx().conf(),
                    self.inner.batch_ms,
                )?,
            },
        );
        self.register_input(Arc::new(FileLifecycle {
            stream: stream.base().meta().id(),
            picked,
            start_ms,
        }));
        Ok(stream)
    }

    /// `spate.streaming.maxLineBytes` (64 MiB when unset or not a size).
    fn max_line_bytes(&self) -> usize {
        self.inner
            .ctx
            .conf()
            .get_bytes("spate.streaming.maxLineBytes")
            .ok()
            .flatten()
            .map_or(64 << 20, |b| usize::try_from(b).unwrap_or(usize::MAX))
    }

    /// Backpressure's rate for a new input, when `spate.streaming.backpressure.enabled`
    /// (a setting that cannot be read is logged and leaves the input without one).
    pub(crate) fn rate_controller(&self) -> Option<Arc<crate::input::rate::RateController>> {
        match crate::input::rate::RateController::from_conf(
            self.inner.ctx.conf(),
            self.inner.batch_ms,
        ) {
            Ok(Some(r)) => {
                self.inner.rate_controllers.lock().push(r.clone());
                Some(r)
            }
            Ok(None) => None,
            Err(e) => {
                tracing::error!("backpressure is off for an input: {e}");
                None
            }
        }
    }

    /// A receiver-less stream over a replayable source: each batch's range is planned,
    /// recorded (see the returned [`DirectRanges`]) and read.
    pub fn direct_stream<T: Data, S: DirectSource<T>>(
        &self,
        source: S,
    ) -> (DStream<T>, DirectRanges<S::Range>) {
        let rate = self.rate_controller();
        let (input, ranges) = DirectInput::new(
            self.inner.ctx.clone(),
            source,
            self.inner.input_tracker.clone(),
            rate.clone(),
        );
        let lifecycle = input.lifecycle(usize::MAX);
        let stream = DStream::create(self, "direct_stream", self.inner.batch_ms, false, input);
        if let Some(r) = rate {
            r.bind(stream.base().meta().id());
        }
        let lifecycle = DirectLifecycle {
            stream: stream.base().meta().id(),
            ..lifecycle
        };
        self.register_input(Arc::new(lifecycle));
        (stream, ranges)
    }

    /// The positions of the direct sources that keep one
    /// ([`DirectSource::position`]), by stream id: where each source's next batch
    /// starts, for a metadata checkpoint. Restore them into a new context built by the same
    /// program with [`Self::restore_input_positions`].
    ///
    /// # Errors
    /// The first source whose `position` fails ([`Error::Source`]).
    pub fn input_positions(&self) -> Result<BTreeMap<usize, Vec<u8>>> {
        let inputs = self.inner.graph.inputs();
        let mut out = BTreeMap::new();
        for i in inputs {
            if let Some(id) = i.direct_id() {
                if let Some(p) = i.position()? {
                    out.insert(id, p);
                }
            }
        }
        Ok(out)
    }

    /// Gives each direct source the position [`Self::input_positions`] returned for its
    /// stream id (by an earlier run of the same program); the sources' next batches
    /// start there. Only before [`Self::start`].
    ///
    /// # Errors
    /// When the context has started; [`Error::UnknownInput`] for a stream id that is not a
    /// direct input of this context (nothing is restored then); the first source whose
    /// `restore` fails ([`Error::Source`]).
    pub fn restore_input_positions(&self, positions: &BTreeMap<usize, Vec<u8>>) -> Result<()> {
        self.require_initialized("restore input positions")?;
        let inputs = self.inner.graph.inputs();
        let direct: BTreeMap<usize, Arc<dyn InputStream>> = inputs
            .into_iter()
            .filter_map(|i| i.direct_id().map(|id| (id, i)))
            .collect();
        if let Some(unknown) = positions.keys().find(|id| !direct.contains_key(id)) {
            return Err(Error::UnknownInput {
                stream: *unknown,
                known: direct.keys().copied().collect(),
            });
        }
        for (id, p) in positions {
            direct[id].restore(p)?;
        }
        Ok(())
    }
}
