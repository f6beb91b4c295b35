//! `text_file_stream` over a remote directory: a URL (`s3://bucket/in`, `gs://...`,
//! `memory://...`, any scheme registered with `checkpoint_store::register_scheme`, which
//! `spate_object_store::register()` does for the object stores) is read through the
//! fault-tolerance layer's storage interface ([`CheckpointStore`]): `list` and `get`.
//!
//! Object stores have no atomic rename and no reliable modification time through that
//! interface, so "new" means "not seen before": the objects under the prefix when the
//! stream starts are the old ones (with `new_files_only`), each later one is read by the
//! first batch that lists it, once. Names whose last part starts with `.` or `_` are
//! skipped, as locally, and so are subdirectories (names with names under them), as
//! Spark's file streams skip them. An object must be written whole (object stores' `put` is atomic).
//! The names seen are checkpointed, so a recovered run neither reads an object twice nor
//! skips one that arrived while it was down; a batch's objects are recorded in the input
//! tracker, so an executor process and a recomputed batch read the driver's list.

use crate::dstream::{Compute, DStreamBase, DStreamNode};
use crate::error::{Error, Result};
use crate::input::tracker::{InputFile, InputInfo, InputSource, InputTracker};
use crate::time::Time;
use parking_lot::Mutex;
use spate_core::checkpoint_store::CheckpointStore;
use spate_core::{Context, Rdd, Str};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

pub(crate) struct RemoteFileInput {
    pub(crate) ctx: Context,
    pub(crate) url: String,
    pub(crate) store: Arc<dyn CheckpointStore>,
    pub(crate) new_files_only: bool,
    /// Names read, and the batch that read them (shared with the stream's
    /// `FileLifecycle`, which checkpoints it).
    pub(crate) picked: Arc<Mutex<BTreeMap<PathBuf, i64>>>,
    /// Names present when the stream was made (not new when `new_files_only`); moved into
    /// `picked` by the first batch of a run that did not restore `picked` from a
    /// checkpoint (a restored `picked` holds the first run's).
    pub(crate) initial: Mutex<Option<Vec<String>>>,
    pub(crate) tracker: Arc<InputTracker>,
    pub(crate) max_line_bytes: usize,
}

fn hidden(name: &str) -> bool {
    let last = name.rsplit('/').next().unwrap_or(name);
    last.starts_with('.') || last.starts_with('_')
}

/// The names under a store URL, without the leading `/` some stores give for the empty
/// prefix, sorted; hidden names left out.
pub(crate) fn list_names(store: &dyn CheckpointStore, url: &str) -> Result<Vec<String>> {
    let mut names: Vec<String> = store
        .list("")
        .map_err(|e| Error::Input {
            stream: format!("text_file_stream {url}"),
            reason: format!("cannot list it: {e}"),
        })?
        .into_iter()
        .map(|n| n.trim_start_matches('/').to_string())
        .filter(|n| !hidden(n))
        .collect();
    names.sort();
    Ok(names)
}

impl RemoteFileInput {
    /// The objects batch `time` reads: those the driver (or the run recovered from)
    /// recorded, else the ones listed now that were neither there at the start nor read.
    fn names_for(&self, time: Time, stream: usize) -> Result<Vec<String>> {
        let known = self
            .tracker
            .dictated(time, stream)
            .or_else(|| self.tracker.recovered(time, stream));
        if let Some(InputInfo {
            source: InputSource::Files(files),
            ..
        }) = known
        {
            let names: Vec<String> = files.into_iter().map(|f| f.path).collect();
            let mut picked = self.picked.lock();
            for n in &names {
                picked.insert(PathBuf::from(n), time.0);
            }
            return Ok(names);
        }
        let listed = list_names(self.store.as_ref(), &self.url)?;
        let mut picked = self.picked.lock();
        if let Some(initial) = self.initial.lock().take() {
            if picked.is_empty() {
                // A fresh run: what was there at the start is old (with `new_files_only`).
                // The empty name marks that this was done, in the checkpoint too.
                picked.insert(PathBuf::new(), i64::MIN);
                if self.new_files_only {
                    picked.extend(initial.into_iter().map(|n| (PathBuf::from(n), i64::MIN)));
                }
            }
        }
        let mut new = Vec::new();
        for n in listed {
            if picked.contains_key(&PathBuf::from(&n)) {
                continue;
            }
            // A name with names under it is a directory (a common prefix): not read, as
            // Spark's file streams do not read subdirectories; remembered so it is
            // looked at once.
            let is_dir = self.store.list(&n).is_ok_and(|under| !under.is_empty());
            picked.insert(PathBuf::from(&n), if is_dir { i64::MIN } else { time.0 });
            if !is_dir {
                new.push(n);
            }
        }
        Ok(new)
    }
}

impl Compute<Str> for RemoteFileInput {
    fn compute(&self, time: Time, this: &dyn DStreamNode<Str>) -> Result<Option<Rdd<Str>>> {
        let stream = this.meta().id();
        let names = self.names_for(time, stream)?;
        if !names.is_empty() {
            tracing::info!(url = %self.url, objects = names.len(), batch = time.0, "new objects");
        }
        let (store, max) = (self.store.clone(), self.max_line_bytes);
        let slices = names.len().max(1);
        // One partition per object, read by the task that computes it.
        let rdd = self
            .ctx
            .parallelize_with(names.clone(), slices)
            .flat_map(move |name: String| {
                let lines: Vec<Str> = match store.get(&name) {
                    Ok(bytes) => split_lines(bytes, max),
                    Err(e) => {
                        tracing::error!(object = %store.describe(&name), "text_file_stream: cannot read it: {e}");
                        spate_core::TaskContext::fail_current(e);
                        Vec::new()
                    }
                };
                lines
            });
        let infos: Vec<InputFile> = names
            .iter()
            .map(|n| InputFile {
                path: n.clone(),
                lines: 0,
                dropped_lines: 0,
            })
            .collect();
        let counting = self.tracker.count_as_read(
            time,
            stream,
            InputInfo {
                num_records: 0,
                source: InputSource::Files(infos),
            },
            rdd,
            move |info, counts| {
                if let InputSource::Files(files) = &mut info.source {
                    for (f, n) in files.iter_mut().zip(counts) {
                        f.lines = *n;
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

/// The `\n`-separated lines of an object (`\r\n` too; invalid UTF-8 replaced), sharing
/// its bytes; a line over `max_line_bytes` is dropped with a warning.
fn split_lines(bytes: Vec<u8>, max_line_bytes: usize) -> Vec<Str> {
    let buf = Arc::new(bytes);
    let mut out = Vec::new();
    let mut start = 0;
    let n = buf.len();
    while start < n {
        let end = memchr::memchr(b'\n', &buf[start..]).map_or(n, |i| start + i);
        let mut line_end = end;
        if line_end > start && buf[line_end - 1] == b'\r' {
            line_end -= 1;
        }
        if line_end - start > max_line_bytes {
            tracing::warn!(
                bytes = line_end - start,
                "text_file_stream: dropped a line longer than spate.streaming.maxLineBytes"
            );
        } else {
            out.push(Str::from_buffer_lossy(&buf, start, line_end - start));
        }
        start = end + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_as_text_files_do() {
        let got = split_lines(b"a\r\nbb\n\nlong-line\nlast".to_vec(), 5);
        let got: Vec<&str> = got.iter().map(|s| s.as_str()).collect();
        assert_eq!(got, vec!["a", "bb", "", "last"]);
        assert!(split_lines(Vec::new(), 10).is_empty());
        let got = split_lines(b"x\n".to_vec(), 10);
        assert_eq!(got.len(), 1);
    }
}
