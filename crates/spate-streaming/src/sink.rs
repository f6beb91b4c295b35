//! Sinks: output written in two phases and keyed by batch time, so that a batch run again
//! (a replay after a driver failure, a recomputation) replaces its output instead of
//! adding to it — Spark's advice for idempotent output, drawn as Arroyo's committers are.
//!
//! Per batch, [`DStream::write_to`] runs one job whose tasks each [`Sink::write`] a
//! partition (phase 1: staged, not visible), then, on the driver, [`Sink::commit`]s what
//! every partition staged (phase 2: the batch becomes visible, replacing any earlier
//! output of the same batch time). When a write or the commit fails, [`Sink::abort`]
//! removes what was staged and the batch fails with the cause. [`Sink::open`] and
//! [`Sink::close`] are called by the context's start and stop.
//!
//! [`TextFilesSink`] is the sink behind [`DStream::save_as_text_files`].

use crate::dstream::{DStream, DStreamBase, DStreamNode};
use crate::error::{Error, Result};
use crate::output::{batch_file_name, BoxError, JobFn, OutputOp};
use crate::show::Show;
use crate::time::Time;
use serde::{Deserialize, Serialize};
use spate_core::{BoxIter, Data};
use std::io::Write;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A destination written in two phases, keyed by batch time: the seam exactly-once
/// connectors implement.
///
/// | hook | called | where | on error |
/// |---|---|---|---|
/// | [`open`](Self::open) | once, by [`crate::StreamingContext::start`] | driver | the start fails ([`Error::Sink`]); sinks already opened are closed |
/// | [`write`](Self::write) | per batch, once per partition (again for a retried task) | a task | the task fails (and is retried as any task); when the job fails, the batch is aborted |
/// | [`commit`](Self::commit) | per batch, once every partition is staged | driver | the batch is aborted and fails |
/// | [`abort`](Self::abort) | per batch whose write job or commit failed | driver | — |
/// | [`close`](Self::close) | once, by [`crate::StreamingContext::stop`] of a started context, after its last batch | driver | — |
///
/// A batch that fails makes the output operation fail with [`Error::Sink`] (as
/// [`crate::Error::OutputFailed`] from `advance` and `await_termination`), so the
/// batch's direct sources do not commit it.
pub trait Sink<T: Data>: Send + Sync + 'static {
    /// What a task's write returns, for the commit (a file name, a transaction id...); it
    /// travels from the task to the driver as bytes.
    type Staged: Data;

    /// The sink's name, for errors and logs. Default: its type name.
    fn name(&self) -> String {
        std::any::type_name::<Self>().to_string()
    }

    /// Called once when the context starts, on the driver.
    fn open(&self) -> Result<(), BoxError> {
        Ok(())
    }

    /// Phase 1, in a task: stages the records of partition `partition` of batch `time`
    /// without making them visible. `attempt` is unique to this task attempt: a retried
    /// task writes again with another `attempt`, and only the staged value of the attempt
    /// that succeeded reaches [`Self::commit`], so staging must be private to the attempt.
    fn write(
        &self,
        time: Time,
        partition: usize,
        attempt: u64,
        records: BoxIter<T>,
    ) -> Result<Self::Staged, BoxError>;

    /// Phase 2, on the driver, once every partition of batch `time` is staged: makes the
    /// batch visible, replacing any earlier output of the same batch time, so a batch
    /// committed again (a replay) lands once. `staged` holds one value per partition, in
    /// partition order.
    fn commit(&self, time: Time, staged: Vec<Self::Staged>) -> Result<(), BoxError>;

    /// Batch `time` failed (a write job that failed after its retries, or the commit):
    /// removes what was staged. `staged` holds the values of the writes that succeeded (in
    /// partition order; every one of them when the commit failed); a write that failed
    /// midway returned none, so staging should be findable by batch time too.
    fn abort(&self, _time: Time, _staged: Vec<Self::Staged>) {}

    /// Called once when a started context stops, after its last batch, on the driver.
    fn close(&self) {}
}

/// The output operation of [`DStream::write_to`].
struct WriteTo<T: Data, S: Sink<T>> {
    name: &'static str,
    parent: Arc<dyn DStreamNode<T>>,
    sink: Arc<S>,
}

impl<T: Data, S: Sink<T>> OutputOp for WriteTo<T, S> {
    fn name(&self) -> &'static str {
        self.name
    }
    fn stream(&self) -> Arc<dyn DStreamBase> {
        self.parent.clone()
    }
    fn generate_job(&self, time: Time) -> Result<Option<JobFn>> {
        Ok(self.parent.get_or_compute(time)?.map(|rdd| {
            let sink = self.sink.clone();
            Box::new(move || write_batch(&sink, rdd, time)) as JobFn
        }))
    }
    fn open(&self) -> Result<()> {
        self.sink.open().map_err(|cause| Error::Sink {
            sink: self.sink.name(),
            action: "open".into(),
            cause,
        })
    }
    fn close(&self) {
        self.sink.close();
    }
}

/// One batch through a sink: the write job, then commit, or abort.
fn write_batch<T: Data, S: Sink<T>>(
    sink: &Arc<S>,
    rdd: spate_core::Rdd<T>,
    time: Time,
) -> std::result::Result<(), BoxError> {
    let name = sink.name();
    // The staged values of the tasks that succeeded, for an abort after a failed job.
    let written = rdd
        .context()
        .collection_accumulator::<(usize, S::Staged)>("write_to staged");
    let (s, w) = (sink.clone(), written.clone());
    let job = rdd.run_job(move |tc, it| {
        let p = tc.partition();
        let staged = s.write(time, p, tc.task_attempt_id(), it).map_err(|e| {
            spate_core::Error::Task(format!(
                "sink {}: write of partition {p} of batch {time}: {}",
                s.name(),
                error_chain(e.as_ref())
            ))
        })?;
        w.add((p, staged.clone()));
        Ok(staged)
    });
    // An executor process's copy of the program: the driver commits (or aborts) once.
    if !rdd.context().is_driver() {
        return job.map(|_| ()).map_err(|e| {
            Box::new(Error::Sink {
                sink: name,
                action: format!("write of batch {time}"),
                cause: Box::new(e),
            }) as BoxError
        });
    }
    let staged = match job {
        Ok(staged) => staged,
        Err(e) => {
            let mut done = written.value();
            done.sort_by_key(|(p, _)| *p);
            tracing::warn!(sink = %name, batch = time.0, "write job failed, aborting: {e}");
            sink.abort(time, done.into_iter().map(|(_, s)| s).collect());
            return Err(Box::new(Error::Sink {
                sink: name,
                action: format!("write of batch {time}"),
                cause: Box::new(e),
            }));
        }
    };
    let committed =
        std::panic::catch_unwind(AssertUnwindSafe(|| sink.commit(time, staged.clone())))
            .unwrap_or_else(|p| {
                Err(format!(
                    "commit panicked: {}",
                    spate_core::scheduler::panic_message(p.as_ref())
                )
                .into())
            });
    match committed {
        Ok(()) => {
            tracing::debug!(sink = %name, batch = time.0, "batch committed");
            Ok(())
        }
        Err(cause) => {
            tracing::warn!(sink = %name, batch = time.0, "commit failed, aborting: {cause}");
            sink.abort(time, staged);
            Err(Box::new(Error::Sink {
                sink: name,
                action: format!("commit of batch {time}"),
                cause,
            }))
        }
    }
}

/// `e` and its sources, `: `-separated.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

impl<T: Data> DStream<T> {
    /// Writes every batch to `sink` in two phases (output name `write_to`): one job
    /// writes every partition ([`Sink::write`], in tasks), then [`Sink::commit`] makes the
    /// batch visible; if a write or the commit fails, [`Sink::abort`] and the batch fails
    /// with the cause. The context calls [`Sink::open`] at start and [`Sink::close`] at
    /// stop.
    pub fn write_to<S: Sink<T>>(&self, sink: S) {
        self.write_to_named("write_to", sink);
    }

    pub(crate) fn write_to_named<S: Sink<T>>(&self, name: &'static str, sink: S) {
        self.ssc.register_output(Arc::new(WriteTo {
            name,
            parent: self.node.clone(),
            sink: Arc::new(sink),
        }));
    }
}

/// Spark's `saveAsTextFiles` as a two-phase sink: batch `time` becomes the directory
/// `prefix-<time ms>[.suffix]` of `part-NNNNN` files (one per partition, one record per
/// line in its [`Show`] form) and an empty `_SUCCESS`.
///
/// - [`Sink::write`]: a task writes its partition to
///   `<dir>/_temporary/<batch>-<attempt>/part-NNNNN`, where `<dir>` is the directory of
///   the prefix, `<batch>` the batch directory's name and `<attempt>` the task attempt,
///   so a retried attempt never meets an earlier one's file.
/// - [`Sink::commit`]: the staged part files are moved into
///   `<dir>/_temporary/<batch>-commit`, `_SUCCESS` is written last, and that directory is
///   renamed to `prefix-<time>[.suffix]`. An existing directory for that batch time (a
///   replayed batch) is first moved aside and removed after the rename: the batch is
///   replaced, never merged or duplicated (a reader may briefly see no directory, never a
///   mix). Everything staged for the batch, other attempts included, is then removed.
/// - [`Sink::abort`]: removes everything staged for the batch; no `prefix-<time>`
///   directory is made.
///
/// `_temporary` is removed when no batch is staged in it. Names starting with `_` are
/// ignored by [`crate::StreamingContext::text_file_stream`], so a stream reading `<dir>`
/// does not see staging.
#[derive(Debug, Clone)]
pub struct TextFilesSink {
    prefix: String,
    suffix: String,
}

/// What a [`TextFilesSink`] task staged: its partition and its attempt's staging
/// directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StagedTextFile {
    /// The partition.
    pub partition: usize,
    /// The directory holding its `part-NNNNN` file.
    pub dir: String,
}

impl TextFilesSink {
    /// A sink writing batch `time` to `prefix-<time ms>[.suffix]` (no `.suffix` when
    /// `suffix` is empty).
    pub fn new(prefix: impl Into<String>, suffix: impl Into<String>) -> Self {
        TextFilesSink {
            prefix: prefix.into(),
            suffix: suffix.into(),
        }
    }

    /// The batch directories' names, `prefix-<time>[.suffix]`, for sink names and errors.
    pub fn pattern(&self) -> String {
        if self.suffix.is_empty() {
            format!("{}-<time>", self.prefix)
        } else {
            format!("{}-<time>.{}", self.prefix, self.suffix)
        }
    }

    /// The directory batch `time` is committed to.
    pub fn batch_dir(&self, time: Time) -> PathBuf {
        PathBuf::from(batch_file_name(&self.prefix, &self.suffix, time))
    }

    /// Where batches are staged: `_temporary` in the prefix's directory.
    pub fn staging_root(&self) -> PathBuf {
        let dir = self.batch_dir(Time(0));
        match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.join("_temporary"),
            _ => PathBuf::from("_temporary"),
        }
    }

    /// The batch directory's name (`<batch>` of the staging names).
    fn batch_name(&self, time: Time) -> String {
        self.batch_dir(time)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// Removes everything staged for batch `time`: the attempts' directories
    /// (`<batch>-<digits>`), the commit's and the replaced directory; then `_temporary`
    /// if nothing else is staged there.
    fn clean_staging(&self, time: Time) -> std::io::Result<()> {
        let root = self.staging_root();
        let batch = self.batch_name(time);
        let entries = match std::fs::read_dir(&root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let ours = match name.rsplit_once('-') {
                Some((b, tail)) => {
                    b == batch
                        && (tail == "commit"
                            || tail == "replaced"
                            || (!tail.is_empty() && tail.bytes().all(|c| c.is_ascii_digit())))
                }
                None => false,
            };
            if ours {
                remove_dir_if_exists(&entry.path())?;
            }
        }
        // Another batch may be staged there still: then it stays.
        let _ = std::fs::remove_dir(&root);
        Ok(())
    }

    /// Phase 1 of any line format: writes partition `partition`'s records, each by `put`,
    /// to this attempt's staging file. An error of `put` (a record the format cannot hold)
    /// fails the write, naming the file.
    pub(crate) fn stage<T>(
        &self,
        time: Time,
        partition: usize,
        attempt: u64,
        records: BoxIter<T>,
        mut put: impl FnMut(&T, &mut dyn Write) -> Result<(), String>,
    ) -> Result<StagedTextFile, BoxError> {
        self.stage_file(time, partition, attempt, |file| {
            let f = std::fs::File::create(file).map_err(|e| e.to_string())?;
            let mut w = std::io::BufWriter::new(f);
            let mut failed = None;
            records.drive(&mut |x: T| {
                if failed.is_none() {
                    failed = put(&x, &mut w).err();
                }
            });
            if let Some(e) = failed {
                return Err(e);
            }
            w.flush().map_err(|e| e.to_string())
        })
    }

    /// Phase 1 of any file format (for sinks of other crates: Parquet...): `write` writes
    /// partition `partition`'s part file at the path it is given (this attempt's staging);
    /// its error fails the write, naming the file. Commit with [`Self::commit_staged`].
    pub fn stage_file(
        &self,
        time: Time,
        partition: usize,
        attempt: u64,
        write: impl FnOnce(&Path) -> Result<(), String>,
    ) -> Result<StagedTextFile, BoxError> {
        let dir = self
            .staging_root()
            .join(format!("{}-{attempt}", self.batch_name(time)));
        remove_dir_if_exists(&dir).map_err(|e| io_error(&dir, e))?;
        std::fs::create_dir_all(&dir).map_err(|e| io_error(&dir, e))?;
        let file = dir.join(part_name(partition));
        write(&file).map_err(|e| {
            Box::new(spate_core::Error::io(&file, std::io::Error::other(e))) as BoxError
        })?;
        Ok(StagedTextFile {
            partition,
            dir: dir.to_string_lossy().into_owned(),
        })
    }

    fn commit_batch(&self, time: Time, staged: &[StagedTextFile]) -> std::io::Result<()> {
        let root = self.staging_root();
        let batch = self.batch_name(time);
        let building = root.join(format!("{batch}-commit"));
        remove_dir_if_exists(&building)?;
        std::fs::create_dir_all(&building)?;
        for s in staged {
            let part = part_name(s.partition);
            let to = building.join(&part);
            if to.exists() {
                return Err(std::io::Error::other(format!(
                    "partition {} staged twice",
                    s.partition
                )));
            }
            std::fs::rename(Path::new(&s.dir).join(&part), &to)?;
        }
        // `_SUCCESS` last: present only when every part file is.
        std::fs::write(building.join("_SUCCESS"), b"")?;
        let fin = self.batch_dir(time);
        let replaced = root.join(format!("{batch}-replaced"));
        let had_earlier = fin.exists();
        if had_earlier {
            remove_dir_if_exists(&replaced)?;
            std::fs::rename(&fin, &replaced)?;
            tracing::info!(dir = %fin.display(), "replacing the output of a batch committed before");
        }
        if let Err(e) = std::fs::rename(&building, &fin) {
            if had_earlier {
                // Put the earlier output back rather than leave none.
                let _ = std::fs::rename(&replaced, &fin);
            }
            return Err(e);
        }
        self.clean_staging(time)
    }
}

fn part_name(partition: usize) -> String {
    format!("part-{partition:05}")
}

fn remove_dir_if_exists(dir: &Path) -> std::io::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn io_error(path: &Path, e: std::io::Error) -> BoxError {
    Box::new(spate_core::Error::io(path, e))
}

impl<T: Data + Show> Sink<T> for TextFilesSink {
    type Staged = StagedTextFile;

    fn name(&self) -> String {
        if self.suffix.is_empty() {
            format!("text files {}-<time>", self.prefix)
        } else {
            format!("text files {}-<time>.{}", self.prefix, self.suffix)
        }
    }

    fn write(
        &self,
        time: Time,
        partition: usize,
        attempt: u64,
        records: BoxIter<T>,
    ) -> Result<StagedTextFile, BoxError> {
        let mut line = String::new();
        self.stage(time, partition, attempt, records, |x: &T, w| {
            line.clear();
            x.show_into(&mut line);
            line.push('\n');
            w.write_all(line.as_bytes()).map_err(|e| e.to_string())
        })
    }

    fn commit(&self, time: Time, staged: Vec<StagedTextFile>) -> Result<(), BoxError> {
        self.commit_staged(time, staged)
    }

    fn abort(&self, time: Time, staged: Vec<StagedTextFile>) {
        self.abort_staged(time, staged)
    }
}

impl TextFilesSink {
    /// Phase 2 of any format: moves the staged part files into the batch's directory,
    /// `_SUCCESS` last, replacing an earlier directory of the same batch time.
    pub fn commit_staged(&self, time: Time, staged: Vec<StagedTextFile>) -> Result<(), BoxError> {
        self.commit_batch(time, &staged)
            .map_err(|e| io_error(&self.batch_dir(time), e))
    }

    /// Removes what was staged for a failed batch, in any format.
    pub fn abort_staged(&self, time: Time, staged: Vec<StagedTextFile>) {
        for s in &staged {
            if let Err(e) = remove_dir_if_exists(Path::new(&s.dir)) {
                tracing::warn!(dir = %s.dir, "removing staged output: {e}");
            }
        }
        if let Err(e) = self.clean_staging(time) {
            tracing::warn!(batch = time.0, "removing staged output: {e}");
        }
    }
}
