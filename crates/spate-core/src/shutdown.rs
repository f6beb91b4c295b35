//! What happens when the process gets SIGTERM or SIGINT (Unix): shutdown hooks, then the
//! scratch directories, then exit.
//!
//! The first context created with `spate.signal.cleanup` true (the default), or with a
//! shutdown hook to run, installs — once per process — a thread that waits for the two
//! signals. On the first one it runs the registered [`ShutdownHook`]s, newest first (a
//! streaming context with `spate.streaming.stopGracefullyOnShutdown` registers one that
//! stops it gracefully, so every batch already received is processed and its outputs
//! written). Then it removes every live context's scratch directory and:
//!
//! - when a hook stopped something gracefully, lets the program end by itself (its
//!   `await_termination` has returned), and exits with 0 only if the program is still
//!   running [`EXIT_GRACE`] later;
//! - otherwise exits at once with the conventional code 128 + the signal (143 for SIGTERM,
//!   130 for SIGINT): what was received and not yet processed is lost.
//!
//! A second signal while the hooks run ends the process at once with 128 + the signal
//! (press Ctrl-C twice to skip a long graceful stop). Programs with their own signal
//! handling set `spate.signal.cleanup` to `false` and register no hooks.

use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long the process may go on after a graceful shutdown on a signal before it is
/// ended with exit code 0.
pub const EXIT_GRACE: Duration = Duration::from_secs(30);

/// What a hook did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookOutcome {
    /// It stopped something gracefully: the program should be let end by itself.
    Graceful,
    /// Nothing that needs the program to go on.
    Done,
}

type Hook = Arc<dyn Fn() -> HookOutcome + Send + Sync>;

static HOOKS: Mutex<BTreeMap<usize, Hook>> = Mutex::new(BTreeMap::new());
static NEXT: AtomicUsize = AtomicUsize::new(0);
/// The signal whose hooks are running (0: none).
static HANDLING: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);
/// Whether the graceful stop on that signal was announced.
static ANNOUNCED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Says, once, on standard error that the program stopped gracefully on the signal being
/// handled (nothing when none is). A hook calls it when its stop is done, before the
/// program can see that and end: the line is then written before the process exits.
pub fn announce_graceful_stop() {
    let sig = HANDLING.load(Ordering::Acquire);
    if sig == 0 || ANNOUNCED.swap(true, Ordering::AcqRel) {
        return;
    }
    // One write: a message written in pieces could be cut by the program's exit.
    let line = format!("spate: stopped gracefully on {}\n", signal_name(sig));
    let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
}

/// A registered shutdown hook; dropping it removes the hook.
#[derive(Debug)]
pub struct ShutdownHook(usize);

impl Drop for ShutdownHook {
    fn drop(&mut self) {
        HOOKS.lock().remove(&self.0);
    }
}

/// Registers `hook` to run on SIGTERM or SIGINT (newest first) and installs the signal
/// thread if it is not there yet. The hook runs on a thread of its own and may block (a
/// graceful stop waits for batches); it must not take long to return once its work is
/// done.
pub fn add_hook(hook: impl Fn() -> HookOutcome + Send + Sync + 'static) -> ShutdownHook {
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    HOOKS.lock().insert(id, Arc::new(hook));
    install_signal_handler();
    ShutdownHook(id)
}

/// The hooks registered now, newest first.
fn hooks() -> Vec<Hook> {
    HOOKS.lock().values().rev().cloned().collect()
}

fn remove_scratch_dirs() -> usize {
    let dirs = crate::scratch::live_dirs();
    for d in &dirs {
        crate::scratch::remove_dir(d);
    }
    dirs.len()
}

fn signal_name(sig: i32) -> &'static str {
    #[cfg(unix)]
    if sig == signal_hook::consts::SIGTERM {
        return "SIGTERM";
    }
    let _ = sig;
    "SIGINT"
}

/// Ends the process at once: scratch directories removed, exit code 128 + `sig`.
fn exit_now(sig: i32, why: &str) -> ! {
    let n = remove_scratch_dirs();
    eprintln!(
        "spate: {} received{why}: removed {n} scratch director{}, exiting with code {}",
        signal_name(sig),
        if n == 1 { "y" } else { "ies" },
        128 + sig
    );
    std::process::exit(128 + sig);
}

/// Runs the hooks for the first signal `sig`, then ends the process as the module says.
fn shut_down(sig: i32) {
    let hooks = hooks();
    if hooks.is_empty() {
        exit_now(sig, "");
    }
    eprintln!(
        "spate: {} received: stopping gracefully (send it again to exit at once)",
        signal_name(sig)
    );
    tracing::info!(
        signal = signal_name(sig),
        hooks = hooks.len(),
        "running shutdown hooks"
    );
    HANDLING.store(sig, Ordering::Release);
    let mut graceful = false;
    for h in hooks {
        // A hook that panics must not keep the others from running.
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| h())) {
            Ok(HookOutcome::Graceful) => graceful = true,
            Ok(HookOutcome::Done) => {}
            Err(_) => tracing::error!("a shutdown hook panicked"),
        }
    }
    if !graceful {
        exit_now(sig, "");
    }
    remove_scratch_dirs();
    announce_graceful_stop();
    std::thread::sleep(EXIT_GRACE);
    eprintln!(
        "spate: the program did not end {} s after its graceful stop; exiting with code 0",
        EXIT_GRACE.as_secs()
    );
    std::process::exit(0);
}

/// Installs the SIGTERM/SIGINT thread (once per process; later calls do nothing). A
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
                    let mut shutting_down = false;
                    for sig in signals.forever() {
                        if shutting_down {
                            exit_now(sig, " again");
                        }
                        shutting_down = true;
                        let spawned = std::thread::Builder::new()
                            .name("spate-shutdown".into())
                            .spawn(move || shut_down(sig));
                        if spawned.is_err() {
                            exit_now(sig, "");
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::warn!(error = %e, "could not start the signal thread");
            }
        });
    }
}
