//! Scratch directories (`spate-<pid>-<n>`): removed at `Context::stop`, on SIGTERM (in a
//! child process that gets a real signal), and a spill directory deleted under a running
//! shuffle gives no panic noise on standard error.
//!
//! The child-process tests run this test binary again with `SCRATCH_TEST_CHILD` set to the
//! test's name and `SCRATCH_TEST_BASE` to the `spate.local.dir` to use.

mod spill_common;
use spate_core::{Context, SpateConf, TaskContext};
use spill_common::{check_counts, spilled_word_counts};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CHILD: &str = "SCRATCH_TEST_CHILD";
const BASE: &str = "SCRATCH_TEST_BASE";

/// A context whose shuffles spill: scratch directory under `base`, tiny memory budgets.
fn spilling_ctx(base: &Path, extra: &[(&str, &str)]) -> Context {
    let mut conf = SpateConf::new()
        .master("local[2]")
        .unwrap()
        .set("spate.local.dir", base.to_str().unwrap())
        .unwrap()
        .set("spate.memory.storageBytes", "64k")
        .unwrap()
        .set("spate.memory.executionBytes", "128k")
        .unwrap();
    for (k, v) in extra {
        conf = conf.set(k, *v).unwrap();
    }
    Context::new(conf).unwrap()
}

/// `spate-*` entries of `base`.
fn scratch_dirs(base: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(base)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("spate-"))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The child's role in `test`, if this process is that child: its base directory.
fn child_base(test: &str) -> Option<PathBuf> {
    (std::env::var(CHILD).ok().as_deref() == Some(test))
        .then(|| PathBuf::from(std::env::var(BASE).expect("base dir")))
}

/// This test binary again, running only `test`, as the child.
fn child(test: &str, base: &Path) -> Command {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args(["--exact", test, "--test-threads=1", "--nocapture"])
        .env(CHILD, test)
        .env(BASE, base);
    c
}

#[test]
fn a_stopped_context_leaves_no_scratch_directory() {
    let base = tempfile::tempdir().unwrap();
    let ctx = spilling_ctx(base.path(), &[]);
    let dir = ctx.env().local_dir().to_path_buf();
    let counts = spilled_word_counts(&ctx);
    check_counts(counts.collect().unwrap());
    assert!(
        std::fs::read_dir(&dir).unwrap().count() > 0,
        "the shuffle spilled"
    );
    // Stopped, not dropped: the context and the RDD are still alive.
    ctx.stop();
    assert!(!dir.exists(), "{} left behind after stop", dir.display());
    assert_eq!(scratch_dirs(base.path()), Vec::<PathBuf>::new());
    // A job after the stop fails; it does not make the directory again.
    assert!(counts.collect().is_err());
    assert!(!dir.exists(), "{} made again after stop", dir.display());
    drop(ctx);
}

#[cfg(unix)]
#[test]
fn sigterm_removes_the_scratch_directories_and_exits_143() {
    const NAME: &str = "sigterm_removes_the_scratch_directories_and_exits_143";
    if let Some(base) = child_base(NAME) {
        // The child: two contexts with spilled blocks, then wait for the signal.
        let a = spilling_ctx(&base, &[]);
        let b = spilling_ctx(&base, &[]);
        let ca = spilled_word_counts(&a);
        let cb = spilled_word_counts(&b);
        check_counts(ca.collect().unwrap());
        check_counts(cb.collect().unwrap());
        println!("READY {}", std::process::id());
        std::thread::sleep(Duration::from_secs(60));
        panic!("no signal came");
    }
    let base = tempfile::tempdir().unwrap();
    let mut proc = child(NAME, base.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(proc.stdout.take().unwrap()).lines();
    let ready = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|l| l.contains("READY"));
    assert!(ready.is_some(), "the child did not get ready");
    let dirs = scratch_dirs(base.path());
    assert_eq!(dirs.len(), 2, "{dirs:?}");
    assert!(dirs
        .iter()
        .all(|d| std::fs::read_dir(d).unwrap().count() > 0));
    let status = Command::new("kill")
        .args(["-TERM", &proc.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let code = loop {
        if let Some(s) = proc.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "the child did not exit");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut proc.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(code.code(), Some(143), "{code:?}\n{stderr}");
    assert!(stderr.contains("SIGTERM"), "{stderr}");
    assert_eq!(scratch_dirs(base.path()), Vec::<PathBuf>::new(), "{stderr}");
}

#[cfg(unix)]
#[test]
fn with_signal_cleanup_off_sigterm_kills_as_before() {
    const NAME: &str = "with_signal_cleanup_off_sigterm_kills_as_before";
    if let Some(base) = child_base(NAME) {
        let a = spilling_ctx(&base, &[("spate.signal.cleanup", "false")]);
        check_counts(spilled_word_counts(&a).collect().unwrap());
        println!("READY");
        std::thread::sleep(Duration::from_secs(60));
        panic!("no signal came");
    }
    use std::os::unix::process::ExitStatusExt;
    let base = tempfile::tempdir().unwrap();
    let mut proc = child(NAME, base.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let ready = BufReader::new(proc.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .any(|l| l.contains("READY"));
    assert!(ready);
    Command::new("kill")
        .args(["-TERM", &proc.id().to_string()])
        .status()
        .unwrap();
    let status = proc.wait().unwrap();
    assert_eq!(status.signal(), Some(15), "{status:?}");
    // No handler: the directory stays (which is why the handler is on by default).
    assert_eq!(scratch_dirs(base.path()).len(), 1);
}

#[test]
fn a_spill_directory_deleted_mid_shuffle_prints_no_panic() {
    const NAME: &str = "a_spill_directory_deleted_mid_shuffle_prints_no_panic";
    if let Some(base) = child_base(NAME) {
        let ctx = spilling_ctx(&base, &[]);
        let deleted = Arc::new(AtomicBool::new(false));
        let del = deleted.clone();
        // The first reduce-side record deletes the whole scratch directory: the other
        // reduce tasks find the map outputs' files gone.
        let counts = spilled_word_counts(&ctx).map(move |kv| {
            if !del.swap(true, Ordering::SeqCst) {
                let dir = TaskContext::with_current(|tc| {
                    tc.expect("in a task").env().local_dir().to_path_buf()
                });
                // Another task may be writing a file into it meanwhile ("directory not
                // empty"): try again until it is gone.
                for _ in 0..100 {
                    if std::fs::remove_dir_all(&dir).is_ok() || !dir.exists() {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
            }
            kv
        });
        match counts.collect() {
            Ok(v) => {
                check_counts(v);
                println!("RESULT ok");
            }
            Err(e) => println!("RESULT error: {e}"),
        }
        assert!(deleted.load(Ordering::SeqCst));
        return;
    }
    let base = tempfile::tempdir().unwrap();
    let out = child(NAME, base.path()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("RESULT"), "{stdout}\n{stderr}");
    assert!(
        !stderr.contains("panicked at"),
        "panic noise on stderr:\n{stderr}"
    );
}
