//! Scratch directories (`spate-<pid>-<n>` under `spate.local.dir` or the system temp
//! dir): the registry of the live ones, and the SIGTERM/SIGINT handler that removes them.
//!
//! A context's scratch directory holds its spilled blocks and shuffle files. It is removed
//! at [`crate::Context::stop`], when the last handle of the context goes, and — on Unix —
//! when the process gets SIGTERM or SIGINT: the first context started with
//! `spate.signal.cleanup` true (the default) installs, once per process, a handler that
//! removes every live context's scratch directory and exits with the conventional code
//! 128 + the signal (143 for SIGTERM, 130 for SIGINT). It does not stop streaming contexts
//! gracefully (what was received but not processed is lost): graceful shutdown on signals
//! is the fault-tolerance issue's. Programs with their own signal handling set
//! `spate.signal.cleanup` to `false`.

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

/// Installs the SIGTERM/SIGINT handler (once per process; later calls do nothing). A
/// failure to install it is logged, not fatal.
pub(crate) fn install_signal_handler() {
    #[cfg(unix)]
    {
        static INSTALLED: std::sync::Once = std::sync::Once::new();
        INSTALLED.call_once(|| {
            use signal_hook::consts::{SIGINT, SIGTERM};
            let mut signals = match signal_hook::iterator::Signals::new([SIGTERM, SIGINT]) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "could not install the SIGTERM/SIGINT handler: scratch directories stay behind on a signal");
                    return;
                }
            };
            let spawned = std::thread::Builder::new()
                .name("spate-signals".into())
                .spawn(move || {
                    if let Some(sig) = signals.forever().next() {
                        let dirs = live_dirs();
                        for d in &dirs {
                            remove_dir(d);
                        }
                        let name = if sig == SIGTERM { "SIGTERM" } else { "SIGINT" };
                        eprintln!(
                            "spate: {name} received: removed {} scratch director{}, exiting with code {}",
                            dirs.len(),
                            if dirs.len() == 1 { "y" } else { "ies" },
                            128 + sig
                        );
                        std::process::exit(128 + sig);
                    }
                });
            if let Err(e) = spawned {
                tracing::warn!(error = %e, "could not start the signal thread");
            }
        });
    }
}
