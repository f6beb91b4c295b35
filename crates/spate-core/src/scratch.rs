//! Scratch directories (`spate-<pid>-<n>` under `spate.local.dir` or the system temp
//! dir): the registry of the live ones.
//!
//! A context's scratch directory holds its spilled blocks and shuffle files. It is removed
//! at [`crate::Context::stop`], when the last handle of the context goes, and — on Unix —
//! when the process ends on SIGTERM or SIGINT (see [`crate::shutdown`]).

use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

static LIVE: Mutex<BTreeMap<usize, PathBuf>> = Mutex::new(BTreeMap::new());
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A live scratch directory's entry in the registry; removing the entry does not remove the
/// directory (see [`remove_dir`]).
#[derive(Debug)]
pub(crate) struct Registration(usize);

impl Drop for Registration {
    fn drop(&mut self) {
        LIVE.lock().remove(&self.0);
    }
}

/// Records `dir` as live: the signal handler removes it until the registration drops.
pub(crate) fn register(dir: &Path) -> Registration {
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    LIVE.lock().insert(id, dir.to_path_buf());
    Registration(id)
}

/// The scratch directories of the live contexts of this process.
pub fn live_dirs() -> Vec<PathBuf> {
    LIVE.lock().values().cloned().collect()
}

/// Removes the scratch directories of every live context of this process: for a process
/// about to end (or `exec` itself) without dropping its contexts, such as an executor
/// process whose driver stopped.
pub fn remove_live_dirs() {
    for dir in live_dirs() {
        remove_dir(&dir);
    }
}

/// Removes `dir` and everything in it (a missing directory is not an error). A task still
/// writing can add a file while it goes, so a few attempts are made.
pub(crate) fn remove_dir(dir: &Path) {
    for attempt in 0..5 {
        match std::fs::remove_dir_all(dir) {
            Ok(()) => return,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(e) if attempt == 4 => {
                tracing::warn!(dir = %dir.display(), error = %e, "could not remove the scratch directory");
            }
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
        }
    }
}
