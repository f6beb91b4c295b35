//! `text_file_stream`: new files in a directory (Spark's `FileInputDStream`).
//!
//! At each batch time T the directory is listed; a file is new when its modification time
//! is after max(start time, T - remember window) and at most T, it was not picked in the
//! remember window, and its name does not start with `.` or `_` (hidden or in progress).
//! Files must appear atomically (written elsewhere, then moved in); their lines form the
//! batch's RDD.

use crate::dstream::{Compute, DStreamBase, DStreamNode};
use crate::error::{Error, Result};
use crate::input::tracker::{partition_counts, InputFile, InputInfo, InputSource, InputTracker};
use crate::time::Time;
use parking_lot::Mutex;
use spate_core::rdd::RecordCounter;
use spate_core::{Context, Rdd, Str};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Spark's `minRememberDuration`: files are remembered (not picked twice) for 60 s.
const REMEMBER_MS: i64 = 60_000;

/// How far behind the stream's start a new file's modification time may be.
const MTIME_SLACK_MS: i64 = 20;

pub(crate) struct FileInput {
    pub(crate) ctx: Context,
    pub(crate) dir: PathBuf,
    pub(crate) new_files_only: bool,
    /// Picked files and their batch time.
    pub(crate) picked: Mutex<BTreeMap<PathBuf, i64>>,
    /// Start time: files older are ignored when `new_files_only`.
    pub(crate) start_ms: Mutex<Option<i64>>,
    pub(crate) clock_now: Arc<dyn Fn() -> i64 + Send + Sync>,
    pub(crate) tracker: Arc<InputTracker>,
}

impl FileInput {
    fn new_files(&self, time: Time) -> Result<Vec<PathBuf>> {
        let start = *self.start_ms.lock().get_or_insert_with(|| {
            if self.new_files_only {
                (self.clock_now)()
            } else {
                0
            }
        });
        // File times come from the kernel's coarse clock, a few ms behind the precise clock
        // the start time was read from: allow for that.
        let threshold = (start - MTIME_SLACK_MS).max(time.0 - REMEMBER_MS);
        let mut picked = self.picked.lock();
        picked.retain(|_, t| *t > time.0 - REMEMBER_MS);
        let rd = std::fs::read_dir(&self.dir).map_err(|e| Error::Input {
            stream: format!("text_file_stream {}", self.dir.display()),
            reason: format!("cannot list the directory: {e}"),
        })?;
        let mut out = Vec::new();
        for entry in rd.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with('.') || name.starts_with('_') {
                continue;
            }
            let Ok(meta) = entry.metadata() else { continue };
            if !meta.is_file() {
                continue;
            }
            let mtime = meta
                .modified()
                .ok()
                .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0);
            let path = entry.path();
            if mtime > threshold && mtime <= time.0 && !picked.contains_key(&path) {
                out.push(path);
            }
        }
        out.sort();
        for p in &out {
            picked.insert(p.clone(), time.0);
        }
        Ok(out)
    }
}

impl Compute<Str> for FileInput {
    fn compute(&self, time: Time, this: &dyn DStreamNode<Str>) -> Result<Option<Rdd<Str>>> {
        let files = self.new_files(time)?;
        if !files.is_empty() {
            tracing::info!(dir = %self.dir.display(), files = files.len(), batch = time.0, "new files");
        }
        let mut rdds = Vec::with_capacity(files.len());
        for f in &files {
            rdds.push(self.ctx.text_file(f, 1)?);
        }
        // Which of the union's partitions hold each file's lines.
        let parts: Vec<usize> = rdds.iter().map(|r| r.num_partitions()).collect();
        let rdd = self.ctx.union(rdds);
        // Lines are counted as the batch's jobs read them (no second read of the files) and
        // recorded when the batch completes.
        let counter = RecordCounter::new(rdd.num_partitions());
        let (whole, c) = (rdd.clone(), counter.clone());
        let infos: Vec<InputFile> = files
            .iter()
            .map(|f| InputFile {
                path: f.display().to_string(),
                lines: 0,
            })
            .collect();
        self.tracker.record_counted_later(
            time,
            this.meta().id(),
            InputInfo {
                num_records: 0,
                source: InputSource::Files(infos),
            },
            Box::new(move |info| {
                let counts = partition_counts(&whole, &c)?;
                if let InputSource::Files(files) = &mut info.source {
                    let mut at = 0;
                    for (file, n) in files.iter_mut().zip(parts) {
                        file.lines = counts[at..at + n].iter().sum();
                        at += n;
                    }
                }
                info.num_records = counts.iter().sum();
                Ok(())
            }),
        );
        Ok(Some(rdd.counting(counter)))
    }
    fn dependencies(&self) -> Vec<Arc<dyn DStreamBase>> {
        Vec::new()
    }
}
