//! `text_file_stream`, `file_stream` and `binary_records_stream`: new files in a
//! directory (Spark's `FileInputDStream`).
//!
//! At each batch time T the directory is listed; a file is new when its modification time
//! is after max(start time, T - remember window) and at most T, it was not picked in the
//! remember window, and its name does not start with `.` or `_` (hidden or in progress).
//! Files must appear atomically (written elsewhere, then moved in); their lines form the
//! batch's RDD.
//!
//! - **Symbolic links** are followed: the target is read. A link is new when the later of
//!   its own and its target's modification time is new, so a link made now to an older
//!   file is picked, as is a link to a file written now.
//! - **Unreadable files** (that cannot be opened or read when the batch is generated, or
//!   that are not regular files: a FIFO, a socket, a device, a dangling link) are left out
//!   of the batch, which reads the others; an [`InputErrorKind::FileUnreadable`] event
//!   names each (once), and it is tried again at each later batch until it is read or its
//!   modification time leaves the 60 s remember window.
//! - **Files still being written** are read as far as they are written when the batch's
//!   job reads them. When a file's size or modification time at the end of its batch
//!   differs from when it was picked, a warning names it and an
//!   [`InputErrorKind::FileChanged`] event is posted; the rest of it is not read later.
//! - **Over-long lines**: a line longer than `spate.streaming.maxLineBytes` is skipped
//!   without being buffered whole, counted in [`InputFile::dropped_lines`], warned about
//!   once per file and batch, and reported as an [`InputErrorKind::LinesTooLong`] event.

use crate::bus::ListenerBus;
use crate::dstream::{Compute, DStreamBase, DStreamNode};
use crate::error::{Error, Result};
use crate::input::tracker::{InputFile, InputInfo, InputSource, InputTracker};
use crate::listener::{InputErrorInfo, InputErrorKind, StreamingListenerEvent};
use crate::time::Time;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use spate_core::rdd::RecordCounter;
use spate_core::{Context, Data, Rdd, Str};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How long files are remembered (not picked twice), and how old a new file may be:
/// `spate.streaming.fileStream.minRememberDuration` (default 60 s) rounded up to whole
/// batches, as Spark does.
pub(crate) fn remember_ms(conf: &spate_core::SpateConf, batch_ms: i64) -> Result<i64> {
    let min = conf
        .get_duration("spate.streaming.fileStream.minRememberDuration")?
        .map_or(60_000, |d| d.as_millis() as i64)
        .max(1);
    Ok((min + batch_ms - 1) / batch_ms * batch_ms)
}

/// How far behind the stream's start a new file's modification time may be.
const MTIME_SLACK_MS: i64 = 20;

/// Reads one picked file as an RDD, with the counter of the lines it dropped as too long
/// (text files) if any.
pub(crate) type ReadFile<T> =
    dyn Fn(&Context, &Path) -> Result<(Rdd<T>, Option<Arc<RecordCounter>>)> + Send + Sync;

/// Which files of the directory a stream considers (besides hidden ones, always skipped).
pub(crate) type PathFilter = dyn Fn(&Path) -> bool + Send + Sync;

pub(crate) struct FileInput<T: Data> {
    pub(crate) ctx: Context,
    /// The operation, for errors (`text_file_stream`, `file_stream`, ...).
    pub(crate) op: &'static str,
    pub(crate) dir: PathBuf,
    pub(crate) new_files_only: bool,
    /// The user's filter (Spark's `fileStream` filter), if any.
    pub(crate) filter: Option<Arc<PathFilter>>,
    pub(crate) read: Arc<ReadFile<T>>,
    /// Picked files and their batch time (shared with the stream's [`FileLifecycle`]).
    pub(crate) picked: Arc<Mutex<BTreeMap<PathBuf, i64>>>,
    /// Files left out because they could not be read, and why (reported once per reason).
    pub(crate) unreadable: Mutex<BTreeMap<PathBuf, String>>,
    /// Start time: files older are ignored when `new_files_only` (shared with the
    /// stream's [`FileLifecycle`]).
    pub(crate) start_ms: Arc<Mutex<Option<i64>>>,
    pub(crate) clock_now: Arc<dyn Fn() -> i64 + Send + Sync>,
    pub(crate) tracker: Arc<InputTracker>,
    pub(crate) bus: Arc<ListenerBus>,
    /// `spate.streaming.maxLineBytes`.
    pub(crate) max_line_bytes: usize,
    /// See [`remember_ms`].
    pub(crate) remember_ms: i64,
}

/// A picked file's size and modification time (ms) when it was picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    mtime_ms: i64,
}

fn mtime_ms(meta: &std::fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The file's stamp when it can be opened and read; why not otherwise.
fn check_readable(path: &Path) -> std::result::Result<Stamp, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot stat it: {e}"))?;
    if !meta.is_file() {
        return Err("not a regular file (a FIFO, socket or device is not read)".into());
    }
    let mut f = std::fs::File::open(path).map_err(|e| format!("cannot open it: {e}"))?;
    f.read(&mut [0u8; 1])
        .map_err(|e| format!("cannot read it: {e}"))?;
    Ok(Stamp {
        len: meta.len(),
        mtime_ms: mtime_ms(&meta),
    })
}

fn post(
    bus: &ListenerBus,
    stream_id: usize,
    time: Time,
    path: &Path,
    kind: InputErrorKind,
    message: String,
) {
    bus.post(StreamingListenerEvent::InputError(InputErrorInfo {
        stream_id,
        batch_time_ms: time.0,
        path: Some(path.display().to_string()),
        kind,
        message,
    }));
}

impl<T: Data> FileInput<T> {
    fn new_files(&self, time: Time, stream_id: usize) -> Result<Vec<(PathBuf, Stamp)>> {
        let start = *self.start_ms.lock().get_or_insert_with(|| {
            if self.new_files_only {
                (self.clock_now)()
            } else {
                0
            }
        });
        // File times come from the kernel's coarse clock, a few ms behind the precise clock
        // the start time was read from: allow for that.
        let threshold = (start - MTIME_SLACK_MS).max(time.0 - self.remember_ms);
        let mut picked = self.picked.lock();
        picked.retain(|_, t| *t > time.0 - self.remember_ms);
        let rd = std::fs::read_dir(&self.dir).map_err(|e| Error::Input {
            stream: format!("{} {}", self.op, self.dir.display()),
            reason: format!("cannot list the directory: {e}"),
        })?;
        let mut candidates = Vec::new();
        for entry in rd.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with('.') || name.starts_with('_') {
                continue;
            }
            let path = entry.path();
            if self.filter.as_ref().is_some_and(|keep| !keep(&path)) {
                continue;
            }
            // The entry itself (a link is not followed here), then what it points to.
            let Ok(own) = entry.metadata() else { continue };
            let target = std::fs::metadata(&path).ok();
            if target.as_ref().map_or(own.is_dir(), |m| m.is_dir()) {
                continue;
            }
            let mtime = mtime_ms(&own).max(target.as_ref().map_or(0, mtime_ms));
            if mtime > threshold && mtime <= time.0 && !picked.contains_key(&path) {
                candidates.push(path);
            }
        }
        candidates.sort();
        let mut unreadable = self.unreadable.lock();
        // An unreadable file no longer new (gone, or out of the remember window) is dropped.
        unreadable.retain(|p, _| {
            let keep = candidates.binary_search(p).is_ok();
            if !keep {
                tracing::warn!(file = %p.display(), "file stream: giving up on a file that could not be read");
            }
            keep
        });
        let mut out = Vec::new();
        for path in candidates {
            match check_readable(&path) {
                Ok(stamp) => {
                    if unreadable.remove(&path).is_some() {
                        tracing::info!(file = %path.display(), batch = time.0, "file stream: a file skipped earlier is readable now");
                    }
                    picked.insert(path.clone(), time.0);
                    out.push((path, stamp));
                }
                Err(why) => {
                    if unreadable.get(&path) != Some(&why) {
                        let message = format!(
                            "{} {}: skipping {} in batch {} ms: {why}; it is tried again at later batches while its modification time is within the {} s remember window",
                            self.op,
                            self.dir.display(),
                            path.display(),
                            time.0,
                            self.remember_ms / 1000
                        );
                        tracing::error!("{message}");
                        post(
                            &self.bus,
                            stream_id,
                            time,
                            &path,
                            InputErrorKind::FileUnreadable,
                            message,
                        );
                        unreadable.insert(path, why);
                    }
                }
            }
        }
        Ok(out)
    }
}

/// What a metadata checkpoint keeps of a file stream: its start time and the files it
/// picked in the remember window, so a recovered run neither reads a file twice nor skips
/// one that arrived while it was down.
#[derive(Debug, Serialize, Deserialize)]
struct FileState {
    start_ms: Option<i64>,
    picked: Vec<(String, i64)>,
}

/// A file stream's part in the context's lifecycle: its checkpoint state.
pub(crate) struct FileLifecycle {
    pub(crate) stream: usize,
    pub(crate) picked: Arc<Mutex<BTreeMap<PathBuf, i64>>>,
    pub(crate) start_ms: Arc<Mutex<Option<i64>>>,
}

impl crate::input::InputStream for FileLifecycle {
    fn checkpoint_id(&self) -> Option<usize> {
        Some(self.stream)
    }
    fn checkpoint_state(&self) -> Result<Option<Vec<u8>>> {
        let state = FileState {
            start_ms: *self.start_ms.lock(),
            picked: self
                .picked
                .lock()
                .iter()
                .map(|(p, t)| (p.display().to_string(), *t))
                .collect(),
        };
        Ok(Some(spate_core::codec::encode(
            &state,
            "file stream state",
        )?))
    }
    fn restore_state(&self, state: &[u8]) -> Result<()> {
        let state: FileState = spate_core::codec::decode(state, "file stream state")?;
        *self.start_ms.lock() = state.start_ms;
        self.picked
            .lock()
            .extend(state.picked.into_iter().map(|(p, t)| (PathBuf::from(p), t)));
        Ok(())
    }
}

impl<T: Data> FileInput<T> {
    /// The files batch `time` read in the run this context recovered from, when it
    /// generated that batch: the batch is recomputed from them.
    fn recovered_files(&self, time: Time, stream_id: usize) -> Option<Vec<(PathBuf, Stamp)>> {
        // An executor process reads the files the driver's stream picked.
        let dictated = self.tracker.dictated(time, stream_id);
        let Some(info) = dictated.or_else(|| self.tracker.recovered(time, stream_id)) else {
            // A batch of the earlier run whose files are no longer known: listing the
            // directory now would give it files of other batches.
            if self.tracker.generated_before_recovery(time) {
                tracing::warn!(dir = %self.dir.display(), batch = time.0, "file stream: the files of a recovered batch are not in the checkpoint (older than it remembers); the batch reads none");
                return Some(Vec::new());
            }
            return None;
        };
        let InputSource::Files(files) = info.source else {
            return None;
        };
        let mut out = Vec::with_capacity(files.len());
        for f in files {
            let path = PathBuf::from(&f.path);
            let stamp = match std::fs::metadata(&path) {
                Ok(m) => Stamp {
                    len: m.len(),
                    mtime_ms: mtime_ms(&m),
                },
                Err(e) => {
                    tracing::error!(file = %path.display(), batch = time.0, "file stream: a file of a recovered batch is gone ({e}); the batch is recomputed without it");
                    continue;
                }
            };
            self.picked.lock().insert(path.clone(), time.0);
            out.push((path, stamp));
        }
        Some(out)
    }
}

impl<T: Data> Compute<T> for FileInput<T> {
    fn compute(&self, time: Time, this: &dyn DStreamNode<T>) -> Result<Option<Rdd<T>>> {
        let stream_id = this.meta().id();
        let files = match self.recovered_files(time, stream_id) {
            Some(files) => files,
            None => self.new_files(time, stream_id)?,
        };
        if !files.is_empty() {
            tracing::info!(dir = %self.dir.display(), files = files.len(), batch = time.0, "new files");
        }
        let mut rdds = Vec::with_capacity(files.len());
        let mut dropped = Vec::with_capacity(files.len());
        for (f, _) in &files {
            let (rdd, d) = (self.read)(&self.ctx, f)?;
            rdds.push(rdd);
            dropped.push(d);
        }
        // Which of the union's partitions hold each file's lines.
        let parts: Vec<usize> = rdds.iter().map(|r| r.num_partitions()).collect();
        let rdd = self.ctx.union(rdds);
        // Lines are counted as the batch's jobs read them (no second read of the files) and
        // recorded when the batch completes.
        let infos: Vec<InputFile> = files
            .iter()
            .map(|(f, _)| InputFile {
                path: f.display().to_string(),
                lines: 0,
                dropped_lines: 0,
            })
            .collect();
        let (bus, max) = (self.bus.clone(), self.max_line_bytes);
        let counting = self.tracker.count_as_read(
            time,
            stream_id,
            InputInfo {
                num_records: 0,
                source: InputSource::Files(infos),
            },
            rdd,
            move |info, counts| {
                if let InputSource::Files(infos) = &mut info.source {
                    let mut at = 0;
                    for (((file, n), (path, stamp)), d) in
                        infos.iter_mut().zip(parts).zip(&files).zip(&dropped)
                    {
                        file.lines = counts[at..at + n].iter().sum();
                        at += n;
                        file.dropped_lines = d.as_ref().map_or(0, |d| d.counted().0);
                        if file.dropped_lines > 0 {
                            let message = format!(
                                "{}: dropped {} line(s) longer than spate.streaming.maxLineBytes ({max} bytes) in batch {} ms",
                                path.display(),
                                file.dropped_lines,
                                time.0
                            );
                            tracing::warn!("{message}");
                            post(&bus, stream_id, time, path, InputErrorKind::LinesTooLong, message);
                        }
                        let now = std::fs::metadata(path).ok().map(|m| Stamp {
                            len: m.len(),
                            mtime_ms: mtime_ms(&m),
                        });
                        if now.is_some_and(|now| now != *stamp) {
                            let now = now.unwrap_or(*stamp);
                            let message = format!(
                                "{} changed while batch {} ms read it (size {} -> {} bytes, modified {} -> {} ms): it was still being written, and the batch may hold only part of it; files must be moved into a watched directory whole (written elsewhere, then renamed in)",
                                path.display(),
                                time.0,
                                stamp.len,
                                now.len,
                                stamp.mtime_ms,
                                now.mtime_ms
                            );
                            tracing::warn!("{message}");
                            post(&bus, stream_id, time, path, InputErrorKind::FileChanged, message);
                        }
                    }
                }
            },
        );
        Ok(Some(counting))
    }
    fn dependencies(&self) -> Vec<Arc<dyn DStreamBase>> {
        Vec::new()
    }
}

/// Reads a text file as lines, skipping lines longer than `max_line_bytes`.
pub(crate) fn read_lines(max_line_bytes: usize) -> Arc<ReadFile<Str>> {
    Arc::new(move |ctx: &Context, path: &Path| {
        let (rdd, dropped) = ctx.text_file_capped(path, 1, max_line_bytes)?;
        Ok((rdd, Some(dropped)))
    })
}
