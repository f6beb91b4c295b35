//! The webhook sink against a real HTTP server on 127.0.0.1 (a small HTTP/1.1 server of
//! the test's own, over real sockets): alerts of four batches are each accepted exactly
//! once while the server answers 503 for a while and then is down (connections refused)
//! for a while; a rate limit spaces the alerts; a 4xx answer fails the batch at once,
//! naming the status.

use parking_lot::Mutex;
use spate_alerts::WebhookSink;
use spate_core::Context;
use spate_streaming::{RddQueue, StreamingContext};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const UP: u8 = 0;
const FAILING: u8 = 1;
const DOWN: u8 = 2;
const REFUSING: u8 = 3;

/// What the server saw: accepted alerts (key, body, when), and 503/400 answers given.
#[derive(Default)]
struct Seen {
    accepted: Mutex<Vec<(String, String, Instant)>>,
    failed: AtomicUsize,
}

/// Serves POSTs on `port` in `mode`: UP answers 200 and records the alert, FAILING 503,
/// REFUSING 400; DOWN closes the listening socket (connections are refused) until the
/// mode changes.
fn serve(port: u16, mode: Arc<AtomicU8>, seen: Arc<Seen>) {
    std::thread::spawn(move || loop {
        if mode.load(Ordering::Acquire) == DOWN {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        let Ok(listener) = TcpListener::bind(("127.0.0.1", port)) else {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        };
        listener.set_nonblocking(true).expect("nonblocking");
        while mode.load(Ordering::Acquire) != DOWN {
            match listener.accept() {
                Ok((s, _)) => handle(s, &mode, &seen),
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    });
}

fn handle(s: TcpStream, mode: &AtomicU8, seen: &Seen) {
    let _ = s.set_nonblocking(false);
    let mut r = BufReader::new(s);
    let (mut length, mut key) = (0usize, String::new());
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            match k.to_ascii_lowercase().as_str() {
                "content-length" => length = v.trim().parse().unwrap_or(0),
                "idempotency-key" => key = v.trim().to_string(),
                _ => {}
            }
        }
    }
    let mut body = vec![0; length];
    if r.read_exact(&mut body).is_err() {
        return;
    }
    let status = match mode.load(Ordering::Acquire) {
        UP => {
            let body = String::from_utf8_lossy(&body).into_owned();
            seen.accepted.lock().push((key, body, Instant::now()));
            "200 OK"
        }
        REFUSING => {
            seen.failed.fetch_add(1, Ordering::Relaxed);
            "400 Bad Request"
        }
        _ => {
            seen.failed.fetch_add(1, Ordering::Relaxed);
            "503 Service Unavailable"
        }
    };
    let mut s = r.into_inner();
    let _ = write!(
        s,
        "HTTP/1.1 {status}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A stream of `batches` batches of `per` alerts (`a<batch>-<i>`), written to `sink`.
fn run(sink: WebhookSink, batches: usize, per: usize) -> StreamingContext {
    let ctx = Context::local(2).expect("context");
    let ssc = StreamingContext::with_context(ctx.clone(), Duration::from_millis(300)).expect("ssc");
    let q = RddQueue::new();
    for b in 0..batches {
        q.push(ctx.parallelize_with((0..per).map(|i| format!("a{b}-{i}")).collect(), 2));
    }
    ssc.queue_stream(&q).write_to(sink);
    ssc.start().expect("start");
    ssc
}

fn wait_for(seen: &Seen, n: usize, secs: u64) {
    let until = Instant::now() + Duration::from_secs(secs);
    while seen.accepted.lock().len() < n && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn every_alert_arrives_once_across_a_failing_then_down_server() {
    let port = free_port();
    let (mode, seen) = (Arc::new(AtomicU8::new(UP)), Arc::new(Seen::default()));
    serve(port, mode.clone(), seen.clone());
    let sink = WebhookSink::new(format!("http://127.0.0.1:{port}/alerts"))
        .expect("url")
        .backoff(Duration::from_millis(100))
        .timeout(Duration::from_secs(2));
    let ssc = run(sink, 4, 5);
    wait_for(&seen, 5, 20);
    // 503 for a second, then no server for a second, then back.
    mode.store(FAILING, Ordering::Release);
    std::thread::sleep(Duration::from_secs(1));
    mode.store(DOWN, Ordering::Release);
    std::thread::sleep(Duration::from_secs(1));
    mode.store(UP, Ordering::Release);
    wait_for(&seen, 20, 30);
    std::thread::sleep(Duration::from_millis(600));
    let ended = ssc.await_termination_or_timeout(Duration::from_millis(10));
    ssc.stop(false, true);
    assert!(matches!(ended, Ok(false)), "the stream ended: {ended:?}");
    let accepted = seen.accepted.lock().clone();
    let mut alerts: Vec<String> = accepted
        .iter()
        .map(|(key, body, _)| {
            let v: serde_json::Value = serde_json::from_str(body).expect("JSON");
            let (t, p, i) = (&v["batch_time"], &v["partition"], &v["index"]);
            assert_eq!(key, &format!("spate-{t}-{p}-{i}"), "{body}");
            v["alert"].as_str().expect("the alert").to_string()
        })
        .collect();
    alerts.sort();
    let mut want: Vec<String> = (0..4)
        .flat_map(|b| (0..5).map(move |i| format!("a{b}-{i}")))
        .collect();
    want.sort();
    assert_eq!(alerts, want, "every alert accepted exactly once");
    assert!(
        seen.failed.load(Ordering::Relaxed) > 0,
        "the server never answered 503: the outage was not exercised"
    );
}

#[test]
fn the_rate_limit_spaces_alerts_and_a_4xx_fails_the_batch_naming_it() {
    let port = free_port();
    let (mode, seen) = (Arc::new(AtomicU8::new(UP)), Arc::new(Seen::default()));
    serve(port, mode.clone(), seen.clone());
    let url = format!("http://127.0.0.1:{port}/alerts");
    let ssc = run(WebhookSink::new(&url).expect("url").rate_limit(10.0), 1, 12);
    wait_for(&seen, 12, 20);
    ssc.stop(false, true);
    let accepted = seen.accepted.lock().clone();
    assert_eq!(accepted.len(), 12);
    let span = accepted[11].2 - accepted[0].2;
    assert!(
        span >= Duration::from_millis(1_000),
        "12 alerts at 10/s took {span:?}"
    );
    // A refusal is final: the batch fails at once with the status.
    mode.store(REFUSING, Ordering::Release);
    let ssc = run(WebhookSink::new(&url).expect("url"), 1, 1);
    let ended = ssc.await_termination_or_timeout(Duration::from_secs(20));
    ssc.stop(false, false);
    let err = match ended {
        Err(e) => e.to_string(),
        other => panic!("the batch did not fail: {other:?}"),
    };
    assert!(err.contains("HTTP 400") && err.contains(&url), "{err}");
    assert!(WebhookSink::new("ftp://x").is_err() && WebhookSink::new("http://").is_err());
}
