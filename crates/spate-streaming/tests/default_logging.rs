//! Logging is on by default: a program that installs no `tracing` subscriber still sees
//! warnings on standard error, so a socket stream with no server behind it says
//! "connection refused" instead of printing empty batches in silence; with
//! `spate.log.stderr=false` nothing is installed. Each case runs in a child process (this
//! test binary, re-run with an environment variable), since the logger is process-global.

use spate_core::SpateConf;
use spate_streaming::*;
use std::process::Command;
use std::time::Duration;

const CHILD: &str = "SPATE_DEFAULT_LOGGING_CHILD";

/// The program under test: a socket stream on a port nobody listens on, for 1.5 s.
#[test]
fn child_program() {
    let Ok(log_stderr) = std::env::var(CHILD) else {
        return;
    };
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let conf = SpateConf::new()
        .master("local[2]")
        .unwrap()
        .set("spate.log.stderr", &log_stderr)
        .unwrap()
        .set("spate.streaming.receiverRestartDelay", "200ms")
        .unwrap();
    let ssc = StreamingContext::new(conf, Duration::from_millis(200)).unwrap();
    ssc.socket_text_stream("127.0.0.1", port).print();
    ssc.start().unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    ssc.stop(true, false);
}

fn run_child(log_stderr: &str) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_program",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD, log_stderr)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_refused_connection_is_logged_without_any_setup() {
    let stderr = run_child("true");
    assert!(
        stderr.contains("WARN") && stderr.to_lowercase().contains("connection refused"),
        "{stderr}"
    );
    // Warnings and up by default: no INFO lines.
    assert!(!stderr.contains(" INFO "), "{stderr}");
}

#[test]
fn spate_log_stderr_false_installs_nothing() {
    let stderr = run_child("false");
    assert!(
        !stderr.to_lowercase().contains("connection refused"),
        "{stderr}"
    );
}
