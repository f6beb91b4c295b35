//! Helpers shared by the streaming test files (each test file is its own crate and uses
//! what it needs).
#![allow(dead_code, unused_imports)]

pub use parking_lot::Mutex;
pub use spate_core::{Context, SpateConf};
pub use spate_streaming::input::{DirectSource, Receiver, ReceiverHandle};
pub use spate_streaming::*;
pub use std::io::{BufRead, Write};
pub use std::net::{TcpListener, TcpStream};
pub use std::path::Path;
pub use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
pub use std::sync::Arc;
pub use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

pub fn conf(extra: &[(&str, &str)]) -> SpateConf {
    let mut conf = SpateConf::new()
        .master("local[2]")
        .unwrap()
        .app_name("spate-tests")
        .unwrap()
        .set("spate.streaming.blockInterval", "20ms")
        .unwrap()
        .set("spate.streaming.receiverRestartDelay", "100ms")
        .unwrap();
    for (k, v) in extra {
        conf = conf.set(k, *v).unwrap();
    }
    conf
}

/// `local[2]` named `app`, nothing else set.
pub fn local2(app: &str) -> SpateConf {
    SpateConf::new()
        .master("local[2]")
        .unwrap()
        .app_name(app)
        .unwrap()
}

/// A context on a manual clock with a 1 s batch over `ctx`.
pub fn manual_over(ctx: Context) -> StreamingContext {
    StreamingContext::with_clock(ctx, Duration::from_secs(1), Clock::manual()).unwrap()
}

/// A context on a manual clock with a 1 s batch over `local[2]`.
pub fn manual_ssc() -> StreamingContext {
    StreamingContext::with_clock(
        Context::local(2).unwrap(),
        Duration::from_secs(1),
        Clock::manual(),
    )
    .unwrap()
}

/// Settings under which a failed output operation is reported and later batches run
/// (`spate.streaming.outputFailure=skip`; the default stops the context).
pub const SKIP_FAILED: &[(&str, &str)] = &[("spate.streaming.outputFailure", "skip")];

/// [`manual_ssc`] whose failed batches are reported and skipped ([`SKIP_FAILED`]).
pub fn manual_ssc_skipping() -> StreamingContext {
    StreamingContext::with_clock(
        Context::new(conf(SKIP_FAILED)).unwrap(),
        Duration::from_secs(1),
        Clock::manual(),
    )
    .unwrap()
}

/// The records sorted.
pub fn sorted<T: Ord + Clone>(v: &[T]) -> Vec<T> {
    let mut v = v.to_vec();
    v.sort();
    v
}

/// A receiver that stores one record every millisecond until stopped.
pub struct Ticks(pub Option<std::thread::JoinHandle<()>>);

impl Receiver<u64> for Ticks {
    fn on_start(&mut self, h: ReceiverHandle<u64>) {
        self.0 = Some(std::thread::spawn(move || {
            let mut i = 0;
            while !h.is_stopped() {
                if h.store(i).is_err() {
                    break;
                }
                i += 1;
                std::thread::sleep(Duration::from_millis(1));
            }
        }));
    }
    fn on_stop(&mut self) {
        if let Some(t) = self.0.take() {
            let _ = t.join();
        }
    }
}

pub fn system_ssc(batch_ms: u64, extra: &[(&str, &str)]) -> StreamingContext {
    StreamingContext::new(conf(extra), Duration::from_millis(batch_ms)).unwrap()
}

pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    f()
}

/// Runs `f` on a thread; `None` when it has not returned within `d`.
pub fn within<R: Send + 'static>(d: Duration, f: impl FnOnce() -> R + Send + 'static) -> Option<R> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(d).ok()
}

pub type Out<T> = Arc<Mutex<Vec<(i64, Vec<T>)>>>;

/// Every batch's records, with the batch time.
pub fn collect<T: spate_core::Data>(s: &DStream<T>) -> Out<T> {
    let out: Out<T> = Arc::new(Mutex::new(Vec::new()));
    let o = out.clone();
    s.foreach_rdd(move |rdd, t| {
        o.lock().push((t.millis(), rdd.collect()?));
        Ok(())
    });
    out
}

pub fn all_records<T: Clone>(out: &Out<T>) -> Vec<T> {
    out.lock().iter().flat_map(|(_, v)| v.clone()).collect()
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Writes `text` to `staging/name` with modification time `mtime_ms` (if given), then
/// moves it into `dir`.
pub fn move_in(staging: &Path, dir: &Path, name: &str, text: &str, mtime_ms: Option<i64>) {
    let tmp = staging.join(name);
    std::fs::write(&tmp, text).unwrap();
    if let Some(ms) = mtime_ms {
        let f = std::fs::File::options().write(true).open(&tmp).unwrap();
        f.set_modified(UNIX_EPOCH + Duration::from_millis(ms as u64))
            .unwrap();
    }
    std::fs::rename(&tmp, dir.join(name)).unwrap();
}

#[derive(Default)]
pub struct Events(pub Mutex<Vec<String>>);

impl StreamingListener for Events {
    fn on_batch_submitted(&self, b: &BatchInfo) {
        self.0
            .lock()
            .push(format!("submitted {}", b.batch_time.millis()));
    }
    fn on_batch_completed(&self, b: &BatchInfo) {
        self.0
            .lock()
            .push(format!("completed {}", b.batch_time.millis()));
    }
    fn on_receiver_started(&self, r: &ReceiverInfo) {
        self.0.lock().push(format!("receiver started {}", r.name));
    }
    fn on_receiver_error(&self, r: &ReceiverInfo) {
        self.0.lock().push(format!(
            "receiver error {}",
            r.last_error.clone().unwrap_or_default()
        ));
    }
    fn on_input_error(&self, e: &spate_streaming::InputErrorInfo) {
        self.0.lock().push(format!(
            "input error {:?} {} {}",
            e.kind,
            e.path.clone().unwrap_or_default(),
            e.message
        ));
    }
    fn on_receiver_stopped(&self, r: &ReceiverInfo) {
        self.0.lock().push(format!(
            "receiver stopped {} ({})",
            r.name,
            r.last_error.clone().unwrap_or_default()
        ));
    }
}

impl Events {
    pub fn with_prefix(&self, p: &str) -> Vec<String> {
        self.0
            .lock()
            .iter()
            .filter(|e| e.starts_with(p))
            .cloned()
            .collect()
    }
}

/// A small tmpfs mounted for a test (needs root; `None` where it cannot be mounted),
/// unmounted when dropped: a real full disk, or a read-only one.
pub struct Tmpfs(pub std::path::PathBuf);

impl Tmpfs {
    pub fn mount(size: &str) -> Option<Tmpfs> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "spate-tmpfs-{}-{}-{}",
            std::process::id(),
            now_ms(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).ok()?;
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if ok {
            Some(Tmpfs(dir))
        } else {
            let _ = std::fs::remove_dir(&dir);
            None
        }
    }

    /// Makes it read-only (writes fail with EROFS, even as root).
    pub fn remount_read_only(&self) {
        let ok = std::process::Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&self.0)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "remounting {} read-only", self.0.display());
    }

    /// Fills it up: a file as large as it will take. Returns the file.
    pub fn fill(&self) -> std::path::PathBuf {
        let path = self.0.join("filler");
        let mut f = std::fs::File::create(&path).unwrap();
        let chunk = vec![0u8; 4096];
        while f.write_all(&chunk).is_ok() {}
        let _ = f.flush();
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// Copies the directory tree `from` to `to` (a crash's checkpoint directory, kept aside).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// The metadata checkpoint files of checkpoint directory `ck`, oldest first.
pub fn metadata_checkpoints(ck: &Path) -> Vec<std::path::PathBuf> {
    let mut names: Vec<std::path::PathBuf> =
        std::fs::read_dir(ck.join(spate_streaming::checkpoint::METADATA_DIR))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
    names.sort();
    names
}

/// Deletes the newest metadata checkpoint of `ck` (a batch's completion the crash came
/// before) and returns its path.
pub fn drop_newest_checkpoint(ck: &Path) -> std::path::PathBuf {
    let newest = metadata_checkpoints(ck)
        .pop()
        .expect("a metadata checkpoint");
    std::fs::remove_file(&newest).unwrap();
    newest
}
