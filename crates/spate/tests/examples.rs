//! The examples run as programs: errors print as readable `Display` chains (never `Debug`),
//! a streaming example reports a failed batch and keeps running, and SIGTERM leaves no
//! scratch directory behind.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The built example `name`, built first (a no-op when it is fresh) in this test's target
/// directory.
fn example(name: &str) -> PathBuf {
    // .../<target>/debug/deps/examples-<hash>
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
    let target_dir = profile_dir.parent().unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let st = Command::new(cargo)
        .args([
            "build",
            "-q",
            "-p",
            "spate",
            "--example",
            name,
            "--target-dir",
        ])
        .arg(target_dir)
        .status()
        .unwrap();
    assert!(st.success(), "building example {name}");
    profile_dir.join("examples").join(name)
}

#[test]
fn a_missing_input_path_prints_a_readable_error() {
    let out = Command::new(example("word_count"))
        .arg("/no/such/spate/input.txt")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("Error: ") && stderr.contains("/no/such/spate/input.txt"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("Io {") && !stderr.contains("kind:"),
        "Debug format on stderr: {stderr}"
    );
}

#[test]
fn a_bad_setting_prints_a_readable_error() {
    let out = Command::new(example("file_word_count"))
        .arg(std::env::temp_dir())
        .env("SPATE_STREAMING_BLOCK_INTERVAL", "1s")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("Error: configuration: unknown environment variable SPATE_STREAMING_BLOCK_INTERVAL: did you mean SPATE_STREAMING_BLOCKINTERVAL?"),
        "{stderr}"
    );
    assert!(!stderr.contains("Config("), "{stderr}");
}

/// `file_word_count` on a directory deleted while it runs: the failed batches are reported
/// on stderr and it keeps running; SIGTERM then ends it with code 143 and no scratch
/// directory left.
#[cfg(unix)]
#[test]
fn file_word_count_reports_a_failed_batch_and_keeps_running() {
    let base = tempfile::tempdir().unwrap();
    let watched = base.path().join("watched");
    let scratch = base.path().join("scratch");
    std::fs::create_dir_all(&watched).unwrap();
    std::fs::create_dir_all(&scratch).unwrap();
    let mut child = Command::new(example("file_word_count"))
        .arg(&watched)
        .env("SPATE_LOCAL_DIR", &scratch)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Collect stderr on a thread (the pipe must not fill up).
    let mut err_pipe = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err_pipe.read_to_string(&mut s);
        s
    });
    std::thread::sleep(Duration::from_millis(2500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "exited before the test"
    );
    std::fs::remove_dir_all(&watched).unwrap();
    // Batches are 2 s: several fail while it keeps running.
    std::thread::sleep(Duration::from_secs(7));
    let running = child.try_wait().unwrap().is_none();
    let entries = std::fs::read_dir(&scratch).unwrap().count();
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "no exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    let stderr = stderr.join().unwrap();
    assert!(running, "the example exited on a failed batch: {stderr}");
    assert!(
        stderr.contains("batch failed (the stream goes on)") && stderr.contains("watched"),
        "{stderr}"
    );
    assert!(!stderr.contains("OutputFailed {"), "{stderr}");
    assert_eq!(entries, 1, "one scratch directory while running");
    assert_eq!(status.code(), Some(143), "{status:?}\n{stderr}");
    assert_eq!(
        std::fs::read_dir(&scratch).unwrap().count(),
        0,
        "scratch directory left after SIGTERM"
    );
}
