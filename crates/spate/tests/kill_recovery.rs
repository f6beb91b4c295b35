//! `kill -9` and recovery, with real processes: the `recoverable_word_count` example (a
//! stateful word count over a watched directory, its context from `get_or_create`) is
//! killed at random moments — during a batch, during a checkpoint write, between batches —
//! and started again with the same checkpoint directory, several times per seed.
//!
//! Every file's modification time is set ahead, so which batch reads it does not depend
//! on when the process runs: the state batch T saves must be the word counts of exactly
//! the files modified at or before T. Every saved batch directory is checked against that
//! (nothing lost, nothing counted twice, a replayed batch's directory replaced whole), and
//! no batch between the first and the last may be missing (the batches due while the
//! process was dead run when it comes back).

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use support::example;

const BATCH_MS: i64 = 200;
const FILES: i64 = 50;

/// xorshift64*: the test's own seeded randomness.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Writes the files, modified from `first_ms` on (not on batch boundaries), into
/// `watched` through `staging`; returns each file's modification time and words.
fn write_files(
    rng: &mut Rng,
    staging: &Path,
    watched: &Path,
    first_ms: i64,
) -> Vec<(i64, Vec<String>)> {
    let mut files = Vec::new();
    for k in 0..FILES {
        let mtime = first_ms + k * 130 + 37;
        let mut words = Vec::new();
        let mut text = String::new();
        for _ in 0..1 + rng.below(4) {
            for _ in 0..1 + rng.below(12) {
                let w = format!("w{}", rng.below(25));
                text.push_str(&w);
                text.push(' ');
                words.push(w);
            }
            text.push('\n');
        }
        let tmp = staging.join(format!("f{k:03}.txt"));
        std::fs::write(&tmp, &text).unwrap();
        let f = std::fs::File::options().write(true).open(&tmp).unwrap();
        f.set_modified(UNIX_EPOCH + Duration::from_millis(mtime as u64))
            .unwrap();
        drop(f);
        std::fs::rename(&tmp, watched.join(format!("f{k:03}.txt"))).unwrap();
        files.push((mtime, words));
    }
    files
}

fn spawn(exe: &Path, dirs: &Path, log: &Path) -> Child {
    Command::new(exe)
        .arg(dirs.join("watched"))
        .arg(dirs.join("checkpoint"))
        .arg(dirs.join("out").join("state"))
        .arg(BATCH_MS.to_string())
        .env("SPATE_LOCAL_DIR", dirs.join("scratch"))
        .env(
            "RUST_LOG",
            "spate_streaming::checkpoint=info,spate_streaming::dstream=info,warn",
        )
        .stdout(Stdio::null())
        .stderr(
            std::fs::File::options()
                .create(true)
                .append(true)
                .open(log)
                .unwrap(),
        )
        .spawn()
        .unwrap()
}

/// The saved states by batch time: `state-<ms>/part-*` lines `(word,count)`.
fn saved_states(out: &Path) -> BTreeMap<i64, BTreeMap<String, u64>> {
    let mut all = BTreeMap::new();
    let Ok(rd) = std::fs::read_dir(out) else {
        return all;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let Some(t) = name
            .strip_prefix("state-")
            .and_then(|t| t.parse::<i64>().ok())
        else {
            continue;
        };
        let mut state = BTreeMap::new();
        for part in std::fs::read_dir(e.path()).unwrap().flatten() {
            if !part.file_name().to_string_lossy().starts_with("part-") {
                continue;
            }
            for line in std::fs::read_to_string(part.path()).unwrap().lines() {
                let inner = line
                    .strip_prefix('(')
                    .and_then(|l| l.strip_suffix(')'))
                    .unwrap_or_else(|| panic!("bad line {line:?} in {name}"));
                let (w, n) = inner.rsplit_once(',').unwrap();
                let old = state.insert(w.to_string(), n.parse::<u64>().unwrap());
                assert!(old.is_none(), "{w} twice in {name}");
            }
        }
        all.insert(t, state);
    }
    all
}

fn expected_at(files: &[(i64, Vec<String>)], t: i64) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for (mtime, words) in files {
        if *mtime <= t {
            for w in words {
                *m.entry(w.clone()).or_insert(0) += 1;
            }
        }
    }
    m
}

fn kill9(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn run_with_kills(seed: u64) {
    let exe = example("recoverable_word_count");
    let dirs = tempfile::tempdir().unwrap();
    let base = dirs.path();
    for d in ["watched", "staging", "out", "scratch"] {
        std::fs::create_dir_all(base.join(d)).unwrap();
    }
    let log = base.join("stderr.log");
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    // The first run starts, then the files appear, modified from 1.5 s on.
    let mut child = spawn(&exe, base, &log);
    let files = write_files(
        &mut rng,
        &base.join("staging"),
        &base.join("watched"),
        now_ms() + 1500,
    );
    let last_mtime = files.last().unwrap().0;
    let mut kills = 0;
    for _ in 0..4 {
        std::thread::sleep(Duration::from_millis(500 + rng.below(1500)));
        kill9(&mut child);
        kills += 1;
        std::thread::sleep(Duration::from_millis(rng.below(900)));
        child = spawn(&exe, base, &log);
    }
    // The last run goes on until a batch after the last file is saved, then stops on
    // SIGTERM (gracefully).
    let deadline = Instant::now() + Duration::from_secs(60);
    let out = base.join("out");
    loop {
        let log_text = std::fs::read_to_string(&log).unwrap_or_default();
        // The last run has recovered (its signal handler is in place) and a batch after
        // the last file is saved.
        if log_text.matches("recovered from a checkpoint").count() == kills
            && saved_states(&out)
                .keys()
                .any(|t| *t >= last_mtime + BATCH_MS)
        {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the last run exited\n{log_text}"
        );
        assert!(
            Instant::now() < deadline,
            "no batch after the last file\n{log_text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(status.code(), Some(0), "{log_text}");
    // Each restart recovered (none started afresh, which would lose the state).
    assert_eq!(
        log_text.matches("recovered from a checkpoint").count(),
        kills,
        "{log_text}"
    );
    assert_eq!(
        log_text
            .matches("no checkpoint: starting a new context")
            .count(),
        1,
        "{log_text}"
    );
    assert!(
        log_text.contains("restored from its checkpoint"),
        "no restart read a data checkpoint of the state\n{log_text}"
    );
    let states = saved_states(&out);
    let times: Vec<i64> = states.keys().copied().collect();
    let (first, last) = (times[0], *times.last().unwrap());
    let want_times: Vec<i64> = (0..=(last - first) / BATCH_MS)
        .map(|i| first + i * BATCH_MS)
        .collect();
    assert_eq!(
        times, want_times,
        "seed {seed}: batches missing between the first and the last ({kills} kills)\n{log_text}"
    );
    for (t, state) in &states {
        assert_eq!(
            *state,
            expected_at(&files, *t),
            "seed {seed}: the state saved for batch {t} ({kills} kills)\n{log_text}"
        );
    }
    let total: u64 = states[&last].values().sum();
    let words: usize = files.iter().map(|(_, w)| w.len()).sum();
    assert_eq!(total, words as u64, "seed {seed}: every word counted once");
}

#[cfg(unix)]
#[test]
fn a_stateful_file_word_count_killed_and_restarted_loses_nothing_and_counts_nothing_twice() {
    for seed in [1, 2, 3] {
        run_with_kills(seed);
    }
}
