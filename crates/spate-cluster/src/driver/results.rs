//! What the driver published for the executors' copies of the program (job outcomes,
//! decisions): kept in memory while executors may still ask for them, and logged on disk
//! for executors that join a running application and replay the program from its start.

use super::{DriverLink, Service, State};
use crate::proto::{JobOutcome, Published};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Most job results kept for executors that have not fetched them.
const MAX_KEPT_RESULTS: usize = 4096;

/// Most keys remembered as no longer kept.
const MAX_GONE: usize = 100_000;

/// How long a job result or decision is kept at least, fetched by every registered
/// executor or not: an executor taken as lost during a network outage, back within this
/// time, catches up with what its copy of the program missed.
const KEEP_AT_LEAST: Duration = Duration::from_secs(30);

/// A published job outcome or decision, and who fetched it.
pub(super) struct Kept {
    pub(super) outcome: JobOutcome,
    pub(super) fetched: std::collections::HashSet<String>,
    pub(super) at: Instant,
}

impl State {
    /// Forgets the job outcomes and decisions every registered executor fetched, once
    /// older than [`KEEP_AT_LEAST`].
    pub(super) fn sweep(&self) {
        let registered: Vec<String> = self.executors.lock().iter().map(|e| e.id.clone()).collect();
        let mut results = self.results.lock();
        let before = results.len();
        let mut swept = Vec::new();
        results.retain(|key, k| {
            let keep = k.at.elapsed() < KEEP_AT_LEAST
                || !registered.iter().all(|id| k.fetched.contains(id));
            if !keep {
                swept.push(key.clone());
            }
            keep
        });
        if results.len() < before {
            let mut order = self.result_order.lock();
            order.retain(|key| results.contains_key(key));
        }
        drop(results);
        self.forgotten(swept);
    }

    /// Remembers (a bounded number of) keys no longer kept: a copy of the program that
    /// asks for one again is told it is gone instead of waiting for ever.
    fn forgotten(&self, keys: Vec<Published>) {
        if keys.is_empty() {
            return;
        }
        let mut gone = self.gone.lock();
        for k in keys {
            if gone.0.insert(k.clone()) {
                gone.1.push_back(k);
            }
        }
        while gone.1.len() > MAX_GONE {
            if let Some(old) = gone.1.pop_front() {
                gone.0.remove(&old);
            }
        }
    }
}

impl Service {
    /// The outcome of `job` for executor `who` (a fetch repeated after a lost reply
    /// counts once; see [`State::sweep`]).
    pub(super) fn take_result(&self, job: &Published, who: &str) -> Option<JobOutcome> {
        {
            let mut results = self.0.results.lock();
            if let Some(kept) = results.get_mut(job) {
                kept.fetched.insert(who.to_string());
                return Some(kept.outcome.clone());
            }
        }
        // No longer in memory: an executor replaying the program (it joined late, or
        // was away) reads it from the log.
        self.0.replay.get(job)
    }
}

impl DriverLink {
    /// Keeps `outcome` under `key` until every registered executor fetched it (none
    /// registered: nobody will).
    pub(super) fn keep(&self, key: Published, outcome: JobOutcome) {
        self.state.running.store(true, Ordering::Release);
        self.state.replay.append(&key, &outcome);
        // Kept once any executor ever joined: one taken as lost may come back for it.
        if !self.state.known.lock().is_empty() {
            let registered: Vec<String> = self
                .state
                .executors
                .lock()
                .iter()
                .map(|e| e.id.clone())
                .collect();
            let mut results = self.state.results.lock();
            let mut order = self.state.result_order.lock();
            if results
                .insert(
                    key.clone(),
                    Kept {
                        outcome,
                        fetched: Default::default(),
                        at: Instant::now(),
                    },
                )
                .is_none()
            {
                order.push_back(key);
            }
            let mut evicted = Vec::new();
            if results.len() > MAX_KEPT_RESULTS {
                // Over the bound: first what every registered executor fetched, then the
                // oldest (an executor that died before fetching leaves its results behind).
                results.retain(|k, v| {
                    let fetched = registered.iter().all(|id| v.fetched.contains(id));
                    if fetched {
                        evicted.push(k.clone());
                    }
                    !fetched
                });
                while results.len() > MAX_KEPT_RESULTS {
                    match order.pop_front() {
                        Some(old) => {
                            if results.remove(&old).is_some() {
                                evicted.push(old);
                            }
                        }
                        None => break,
                    }
                }
                order.retain(|k| results.contains_key(k));
            }
            drop(order);
            drop(results);
            self.state.forgotten(evicted);
        }
        self.state.published.notify_waiters();
    }
}

/// Every job outcome and decision the driver published, in order, in a file of its
/// scratch directory (`spate.cluster.replayLog.maxBytes` at most): an executor that joins
/// the running application runs the program from its start, and its copy's actions and
/// streaming plans are answered from here until it has caught up.
pub(super) struct ReplayLog {
    file: Mutex<Option<(std::fs::File, u64)>>,
    index: Mutex<HashMap<Published, (u64, usize)>>,
    max_bytes: u64,
    /// Everything published so far is in the log (else a late executor is refused).
    complete: AtomicBool,
    /// Why it is not, once it is not.
    why_not: Mutex<String>,
}

impl ReplayLog {
    /// A log in `dir`, `max_bytes` at most (0: off).
    pub(super) fn open(dir: &std::path::Path, max_bytes: u64) -> ReplayLog {
        let log = ReplayLog {
            file: Mutex::new(None),
            index: Mutex::new(HashMap::new()),
            max_bytes,
            complete: AtomicBool::new(false),
            why_not: Mutex::new(
                "spate.cluster.replayLog.maxBytes is 0 (the replay log is off)".into(),
            ),
        };
        if max_bytes == 0 {
            return log;
        }
        let path = dir.join("driver-replay.log");
        let opened = std::fs::create_dir_all(dir).and_then(|()| {
            std::fs::OpenOptions::new()
                .create(true)
                .truncate(true)
                .read(true)
                .write(true)
                .open(&path)
        });
        match opened {
            Ok(f) => {
                *log.file.lock() = Some((f, 0));
                log.complete.store(true, Ordering::Release);
            }
            Err(e) => {
                *log.why_not.lock() =
                    format!("the replay log {} could not be made: {e}", path.display());
            }
        }
        log
    }

    /// Whether everything published so far is in the log, else why not.
    pub(super) fn complete(&self) -> Result<(), String> {
        if self.complete.load(Ordering::Acquire) {
            Ok(())
        } else {
            Err(self.why_not.lock().clone())
        }
    }

    /// Stops logging (what is logged is still served to executors replaying it).
    fn stop(&self, why: String) {
        *self.why_not.lock() = why.clone();
        if self.complete.swap(false, Ordering::AcqRel) {
            tracing::warn!("executors can no longer join this running application: {why}");
        }
    }

    /// Logs what was published under `key`.
    pub(super) fn append(&self, key: &Published, outcome: &JobOutcome) {
        if !self.complete.load(Ordering::Acquire) {
            return;
        }
        let bytes = match postcard::to_allocvec(outcome) {
            Ok(b) => b,
            Err(e) => return self.stop(format!("an outcome could not be encoded: {e}")),
        };
        let mut file = self.file.lock();
        let Some((f, len)) = file.as_mut() else {
            return;
        };
        if *len + bytes.len() as u64 > self.max_bytes {
            drop(file);
            return self.stop(format!(
                "the replay log reached spate.cluster.replayLog.maxBytes ({} bytes)",
                self.max_bytes
            ));
        }
        use std::os::unix::fs::FileExt;
        if let Err(e) = f.write_all_at(&bytes, *len) {
            drop(file);
            return self.stop(format!("writing the replay log failed: {e}"));
        }
        self.index.lock().insert(key.clone(), (*len, bytes.len()));
        *len += bytes.len() as u64;
    }

    /// What was published under `key`, if it is in the log.
    pub(super) fn get(&self, key: &Published) -> Option<JobOutcome> {
        let (at, n) = *self.index.lock().get(key)?;
        let file = self.file.lock();
        let (f, _) = file.as_ref()?;
        let mut buf = vec![0u8; n];
        use std::os::unix::fs::FileExt;
        if let Err(e) = f.read_exact_at(&mut buf, at) {
            tracing::error!("reading the replay log failed: {e}");
            return None;
        }
        postcard::from_bytes(&buf)
            .map_err(|e| tracing::error!("the replay log holds an unreadable outcome: {e}"))
            .ok()
    }
}
