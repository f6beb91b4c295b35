//! What the driver-recovery tests share (`spate-kafka`'s and `spate-kinesis`', which
//! includes this file): a program writes each batch's records as lines `<a> <b> <value>`
//! (a record's place, such as partition and offset) to `out/batch-<ms>`, atomically; the
//! test reads every batch file back, starts the program as a child and waits for it.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Writes batch `time_ms`'s lines to `out/batch-<time_ms>` (through a hidden file and a
/// rename, so a file is there whole or not at all).
pub fn write_batch(out: &Path, time_ms: i64, lines: &[String]) -> std::io::Result<()> {
    let tmp = out.join(format!(".batch-{time_ms}"));
    std::fs::write(&tmp, lines.join("\n"))?;
    std::fs::rename(&tmp, out.join(format!("batch-{time_ms}")))
}

/// Every record's place -> value in `dir/out`'s batch files, and how many places were
/// written by more than one batch.
pub fn read_out(dir: &Path) -> (BTreeMap<(String, String), String>, usize) {
    let mut seen = BTreeMap::new();
    let mut dups = 0;
    for e in std::fs::read_dir(dir.join("out"))
        .into_iter()
        .flatten()
        .flatten()
    {
        if !e.file_name().to_string_lossy().starts_with("batch-") {
            continue;
        }
        let text = std::fs::read_to_string(e.path()).unwrap_or_default();
        for l in text.lines().filter(|l| !l.is_empty()) {
            let mut it = l.splitn(3, ' ');
            let (Some(a), Some(b), Some(v)) = (it.next(), it.next(), it.next()) else {
                continue;
            };
            if seen
                .insert((a.to_string(), b.to_string()), v.to_string())
                .is_some()
            {
                dups += 1;
            }
        }
    }
    (seen, dups)
}

/// This test binary again, as the program, with `env` set.
pub fn spawn(env: &[(&str, &str)]) -> Child {
    let exe = std::env::current_exe().expect("exe");
    let mut c = Command::new(exe);
    for (k, v) in env {
        c.env(k, v);
    }
    c.stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn the program")
}

/// Waits up to `secs` for `f`; fails naming `what`.
pub fn wait_until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < until, "{what} never happened");
        std::thread::sleep(Duration::from_millis(50));
    }
}
