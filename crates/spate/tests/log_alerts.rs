//! The `log_alerts` example's parts: the log parser, the traffic generator, the windowed
//! job on a manual clock with exactly known counts, and the command line.

#[path = "../../../examples/log_alerts/cli.rs"]
mod cli;
#[path = "../../../examples/log_alerts/generator.rs"]
mod generator;
#[path = "../../../examples/log_alerts/parse.rs"]
mod parse;
#[path = "../../../examples/log_alerts/stats.rs"]
mod stats;

use generator::{incident_at, LogGenerator, SplitMix64};
use parse::{parse, Request};
use spate::prelude::*;
use stats::{Counts, Thresholds, WindowReport};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const COMMON: &str = r#"203.0.113.7 - alice [10/Oct/2026:13:55:36 +0000] "GET /api/search?q=red+shoes HTTP/1.1" 200 2326"#;
const COMBINED: &str = r#"198.51.100.4 - - [10/Oct/2026:13:55:36 -0700] "POST /checkout HTTP/2.0" 503 512 "https://shop.example.com/cart" "Mozilla/5.0 (X11; Linux x86_64) \"quoted\" agent""#;

// ---------------------------------------------------------------------------------------
// Parser

#[test]
fn parses_common_log_format() {
    assert_eq!(
        parse(COMMON),
        Some(Request {
            ip: "203.0.113.7",
            user: "alice",
            time: "10/Oct/2026:13:55:36 +0000",
            method: "GET",
            endpoint: "/api/search",
            protocol: "HTTP/1.1",
            status: 200,
            bytes: 2326,
            referer: None,
            user_agent: None,
        })
    );
}

#[test]
fn parses_combined_log_format_with_escaped_quotes() {
    let r = parse(COMBINED).expect("a combined line");
    assert_eq!(
        (r.ip, r.method, r.endpoint, r.protocol),
        ("198.51.100.4", "POST", "/checkout", "HTTP/2.0")
    );
    assert_eq!((r.status, r.bytes, r.user), (503, 512, "-"));
    assert_eq!(r.time, "10/Oct/2026:13:55:36 -0700");
    assert_eq!(r.referer, Some("https://shop.example.com/cart"));
    assert_eq!(
        r.user_agent,
        Some(r#"Mozilla/5.0 (X11; Linux x86_64) \"quoted\" agent"#)
    );
    // CRLF line endings and a trailing extra field are fine.
    assert_eq!(parse(&format!("{COMBINED}\r\n")), Some(r));
    assert_eq!(
        parse(&format!("{COMBINED} 0.042")).map(|r| r.status),
        Some(503)
    );
}

#[test]
fn dash_size_fragments_ipv6_and_odd_request_lines() {
    let l =
        r#"2001:db8::1 - - [01/Jan/2027:00:00:00 +0000] "GET /static/app.js#top HTTP/1.1" 304 -"#;
    let r = parse(l).unwrap();
    assert_eq!(
        (r.ip, r.endpoint, r.status, r.bytes),
        ("2001:db8::1", "/static/app.js", 304, 0)
    );
    // A client that sent nothing, TLS bytes on a plain-text port, an HTTP/0.9 request.
    let l = r#"192.0.2.1 - - [01/Jan/2027:00:00:00 +0000] "-" 408 -"#;
    assert_eq!(
        parse(l).map(|r| (r.method, r.endpoint, r.status)),
        Some(("-", "-", 408))
    );
    let l = r#"192.0.2.1 - - [01/Jan/2027:00:00:00 +0000] "\x16\x03\x01\x00\xa5\x01" 400 157"#;
    assert_eq!(
        parse(l).map(|r| (r.method, r.endpoint, r.status)),
        Some(("-", "-", 400))
    );
    let l = r#"192.0.2.1 - - [01/Jan/2027:00:00:00 +0000] "GET /old" 200 10"#;
    assert_eq!(
        parse(l).map(|r| (r.method, r.endpoint, r.protocol)),
        Some(("GET", "/old", ""))
    );
    let l = r#"192.0.2.1 - - [01/Jan/2027:00:00:00 +0000] "GET ?only=query HTTP/1.1" 200 10"#;
    assert_eq!(parse(l).map(|r| r.endpoint), Some("-"));
}

#[test]
fn garbage_and_wrong_fields_are_malformed() {
    for bad in [
        "",
        " ",
        "garbage",
        "GET / HTTP/1.1",
        "2026/10/10 13:55:36 [error] 1234#0: *5 upstream timed out",
        // Wrong time shape, missing brackets or quotes.
        r#"1.2.3.4 - - [10/10/2026:13:55:36 +0000] "GET / HTTP/1.1" 200 1"#,
        r#"1.2.3.4 - - 10/Oct/2026:13:55:36 +0000 "GET / HTTP/1.1" 200 1"#,
        r#"1.2.3.4 - - [10/Oct/2026:13:55:36 +0000] GET / HTTP/1.1 200 1"#,
        // Status not three digits in 100..=599, size neither digits nor `-`.
        r#"1.2.3.4 - - [10/Oct/2026:13:55:36 +0000] "GET / HTTP/1.1" 2OO 1"#,
        r#"1.2.3.4 - - [10/Oct/2026:13:55:36 +0000] "GET / HTTP/1.1" 600 1"#,
        r#"1.2.3.4 - - [10/Oct/2026:13:55:36 +0000] "GET / HTTP/1.1" 099 1"#,
        r#"1.2.3.4 - - [10/Oct/2026:13:55:36 +0000] "GET / HTTP/1.1" 20 1"#,
        r#"1.2.3.4 - - [10/Oct/2026:13:55:36 +0000] "GET / HTTP/1.1" 200 -1"#,
        r#"1.2.3.4 - - [10/Oct/2026:13:55:36 +0000] "GET / HTTP/1.1" 200 12k"#,
        r#"1.2.3.4 - - [10/Oct/2026:13:55:36 +0000] "GET / HTTP/1.1" 200 99999999999999999999"#,
        r#"1.2.3.4 - - [10/Oct/2026:13:55:36 +0000] "GET / HTTP/1.1" 200"#,
        // Two spaces: an empty field.
        r#"1.2.3.4  - - [10/Oct/2026:13:55:36 +0000] "GET / HTTP/1.1" 200 1"#,
    ] {
        assert_eq!(parse(bad), None, "{bad:?}");
    }
}

#[test]
fn truncated_lines_are_malformed_until_the_size_and_keep_the_request_after() {
    let size_at = COMBINED.find("\" 503 ").unwrap() + "\" 503 ".len();
    let size_end = size_at + "512".len();
    for cut in 0..COMBINED.len() {
        let r = parse(&COMBINED[..cut]);
        if cut <= size_at {
            assert_eq!(r, None, "cut at {cut}: {:?}", &COMBINED[..cut]);
        } else {
            // Cut inside the size (a Common line with a smaller size: nothing tells),
            // the referer or the agent: the request is all there.
            let r = r.unwrap_or_else(|| panic!("cut at {cut}"));
            assert_eq!((r.endpoint, r.status), ("/checkout", 503));
            let size: u64 = COMBINED[size_at..cut.min(size_end)].parse().unwrap();
            assert_eq!(r.bytes, size);
        }
    }
}

#[test]
fn non_utf8_looking_input_never_panics() {
    // What invalid UTF-8 becomes once decoded, multi-byte characters next to every
    // delimiter, and random bytes made text.
    let lossy = String::from_utf8_lossy(
        b"\xff\xfe 1.2.3.4 - - [\xc3\x28] \"GET /\xe2\x82 HTTP/1.1\" 200 1",
    )
    .into_owned();
    assert_eq!(parse(&lossy), None);
    let l = "é - ü [10/Oct/2026:13:55:36 +0000] \"GET /café?ß=1 HTTP/1.1\" 200 5 \"→\" \"\u{FFFD}\\\"\"";
    let r = parse(l).unwrap();
    assert_eq!(
        (r.ip, r.user, r.endpoint, r.referer),
        ("é", "ü", "/café", Some("→"))
    );
    for s in [l, COMBINED] {
        for (i, _) in s.char_indices() {
            let _ = parse(&s[..i]);
            let _ = parse(&s[i..]);
        }
    }
    let mut rng = SplitMix64::new(99);
    for _ in 0..20_000 {
        let bytes: Vec<u8> = (0..rng.below(120))
            .map(|_| rng.pick(b"\"\\[] -0123456789/:+GETabc\xc3\xa9\xff\x00"))
            .collect();
        let _ = parse(&String::from_utf8_lossy(&bytes));
    }
}

// ---------------------------------------------------------------------------------------
// Generator

#[test]
fn the_generator_is_deterministic_for_a_seed() {
    let lines = |seed, start| {
        let mut g = LogGenerator::new(seed, 2000, start);
        (0..5_000).map(|_| g.next_line()).collect::<Vec<_>>()
    };
    let start = 1_791_640_536_000;
    assert_eq!(lines(7, start), lines(7, start));
    assert_ne!(lines(7, start), lines(8, start));
    let a = lines(7, start);
    assert!(a[0].contains("[10/Oct/2026:13:55:36 +0000]"), "{}", a[0]);
    // 2,000 lines a second: line 4,000 is logged two seconds later.
    assert!(a[4_000].contains("13:55:38 +0000"), "{}", a[4_000]);
}

#[test]
fn the_generator_makes_half_a_percent_of_malformed_lines_and_combined_lines_otherwise() {
    let mut g = LogGenerator::new(42, 2000, 1_791_640_536_000);
    let n = 200_000;
    let mut malformed = 0;
    for _ in 0..n {
        let line = g.next_line();
        match parse(&line) {
            Some(r) => {
                assert!(r.user_agent.is_some(), "{line}");
                assert!(r.endpoint.starts_with('/'), "{line}");
            }
            None => malformed += 1,
        }
    }
    let share = malformed as f64 / n as f64;
    assert!(
        (0.004..0.006).contains(&share),
        "{malformed} malformed lines of {n}"
    );
}

#[test]
fn incidents_raise_one_endpoints_5xx_and_traffic_is_healthy_otherwise() {
    let seed = 7;
    let failing = incident_at(seed, generator::INCIDENT_START_MS + 1).expect("an incident");
    assert_eq!(incident_at(seed, generator::INCIDENT_START_MS - 1), None);
    assert_eq!(
        incident_at(
            seed,
            generator::INCIDENT_START_MS + generator::INCIDENT_LENGTH_MS
        ),
        None
    );
    // 20 s of traffic at 2,000 lines/s, counted by endpoint, in and out of the incident.
    let rate = 2000;
    let mut g = LogGenerator::new(seed, rate, 0);
    let (mut during, mut outside) = (Counts::default(), Counts::default());
    let mut others = std::collections::HashMap::<String, Counts>::new();
    for i in 0..20 * u64::from(rate) {
        let ms = (i * 1000 / u64::from(rate)) as i64;
        let line = g.next_line();
        let Some(r) = parse(&line) else { continue };
        let c = Counts::of(r.status, r.bytes);
        if r.endpoint == failing {
            if incident_at(seed, ms).is_some() {
                during = during.merge(c);
            } else {
                outside = outside.merge(c);
            }
        } else {
            let e = others.entry(r.endpoint.to_string()).or_default();
            *e = e.merge(c);
        }
    }
    assert!(during.error_ratio() > 0.25, "{failing} during: {during:?}");
    assert!(
        outside.error_ratio() < 0.01,
        "{failing} outside: {outside:?}"
    );
    for (e, c) in &others {
        assert!(c.error_ratio() < 0.01, "{e}: {c:?}");
    }
    assert!(
        others.values().map(|c| c.client_errors).sum::<u64>() > 0,
        "some 4xx"
    );
}

#[test]
fn clf_times_are_civil_utc_dates() {
    assert_eq!(generator::clf_time(0), "01/Jan/1970:00:00:00 +0000");
    assert_eq!(
        generator::clf_time(1_791_640_536),
        "10/Oct/2026:13:55:36 +0000"
    );
    assert_eq!(
        generator::clf_time(1_709_251_199),
        "29/Feb/2024:23:59:59 +0000"
    );
}

// ---------------------------------------------------------------------------------------
// The job on a manual clock

fn log(path: &str, status: u16, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            format!(
                r#"192.0.2.{} - - [10/Oct/2026:13:55:36 +0000] "GET {path}?n={i} HTTP/1.1" {status} 100 "-" "test""#,
                i % 250
            )
        })
        .collect()
}

/// Six batches (1 s each) with known counts; see `windows_count_requests_errors_and_alert`.
fn batches() -> Vec<Option<Vec<Str>>> {
    let garbage = |n: usize| vec!["not a log line".to_string(); n];
    let batches: Vec<Vec<Vec<String>>> = vec![
        vec![
            log("/ok", 200, 100),
            log("/notfound", 404, 30),
            garbage(2),
            vec![String::new()],
        ],
        vec![
            log("/ok", 200, 100),
            log("/flaky", 200, 10),
            log("/small", 500, 1),
            log("/small", 200, 1),
            garbage(1),
        ],
        vec![
            log("/ok", 200, 100),
            log("/flaky", 200, 10),
            log("/flaky", 500, 25),
            log("/ratio", 200, 30),
            log("/small", 503, 1),
        ],
        vec![
            log("/ok", 200, 100),
            log("/ratio", 200, 26),
            log("/ratio", 503, 4),
            garbage(3),
        ],
        vec![log("/ok", 200, 100)],
        vec![log("/ok", 200, 100), log("/notfound", 404, 30)],
    ];
    batches
        .into_iter()
        .map(|b| Some(b.into_iter().flatten().map(Str::from).collect()))
        .collect()
}

fn counts(requests: u64, client_errors: u64, server_errors: u64) -> Counts {
    Counts {
        requests,
        client_errors,
        server_errors,
        bytes: requests * 100,
    }
}

#[test]
fn windows_count_requests_errors_and_alert() {
    let ssc = StreamingContext::with_clock(
        Context::local(2).unwrap(),
        Duration::from_secs(1),
        Clock::manual(),
    )
    .unwrap();
    let lines = ssc.replay_stream(batches(), 2);
    let job = stats::window_counts(&lines, Duration::from_secs(4), Duration::from_secs(2)).unwrap();
    let reports: Arc<Mutex<Vec<WindowReport>>> = Arc::default();
    let r = reports.clone();
    job.on_window(Thresholds::default(), move |w| {
        r.lock().unwrap().push(w.clone());
        Ok(())
    });
    // The alerts as records (what --webhook and kafka_log_alerts send).
    let sent: Arc<Mutex<Vec<stats::AlertOut>>> = Arc::default();
    let s = sent.clone();
    job.alerts(Thresholds::default())
        .foreach_rdd(move |rdd, _| {
            s.lock().unwrap().extend(rdd.collect()?);
            Ok(())
        });
    ssc.start().unwrap();
    ssc.advance_batches(8).unwrap();
    let reports = reports.lock().unwrap().clone();
    // One record per ALERT line of the reports, with the same text.
    let mut printed: Vec<String> = reports.iter().flat_map(|r| r.alert_lines()).collect();
    let mut records: Vec<String> = sent
        .lock()
        .unwrap()
        .iter()
        .map(|a| a.text.clone())
        .collect();
    printed.sort();
    records.sort();
    assert_eq!(
        records, printed,
        "the alert records differ from the printed alerts"
    );
    let flaky = sent
        .lock()
        .unwrap()
        .iter()
        .find(|a| a.endpoint == "/flaky" && a.window_end_ms == 4000)
        .cloned()
        .expect("the /flaky alert of the window ending at 4 s");
    assert_eq!(
        (flaky.window_start_ms, flaky.server_errors, flaky.requests),
        (0, 25, 45)
    );
    let at = |t: i64| {
        reports
            .iter()
            .find(|r| r.end_ms == t)
            .unwrap_or_else(|| panic!("no window at {t}"))
    };
    assert_eq!(
        reports.iter().map(|r| r.end_ms).collect::<Vec<_>>(),
        vec![2000, 4000, 6000, 8000]
    );
    let endpoint = |r: &WindowReport, e: &str| {
        r.endpoints
            .iter()
            .find(|x| x.0 == e)
            .map(|x| x.1)
            .unwrap_or_default()
    };
    fn alerting(r: &WindowReport) -> Vec<(&str, bool, bool)> {
        r.alerts
            .iter()
            .map(|a| (a.endpoint.as_str(), a.by_count, a.by_ratio))
            .collect()
    }

    // (0, 2 s]: batches 1-2, a partial window.
    let w = at(2000);
    assert_eq!(w.span_ms, 2000);
    assert_eq!(w.total, counts(242, 30, 1));
    assert_eq!(w.requests_per_sec(), 121.0);
    assert_eq!(w.malformed, 3);
    assert_eq!(endpoint(w, "/small"), counts(2, 0, 1));
    assert!(
        w.alerts.is_empty(),
        "50% of 2 requests is below min-requests: {:?}",
        w.alerts
    );

    // (0, 4 s]: /flaky has 25 5xx (count; 45 requests are too few for the ratio), /ratio
    // 4 of 60 (6.7% > 5%, ratio only); /notfound's 30 404s and /small's 2 of 3 are no alert.
    let w = at(4000);
    assert_eq!(w.span_ms, 4000);
    assert_eq!(w.total, counts(538, 30, 31));
    assert_eq!(w.malformed, 6);
    assert_eq!(endpoint(w, "/ok"), counts(400, 0, 0));
    assert_eq!(endpoint(w, "/flaky"), counts(45, 0, 25));
    assert_eq!(endpoint(w, "/ratio"), counts(60, 0, 4));
    assert_eq!(endpoint(w, "/notfound"), counts(30, 30, 0));
    assert_eq!(
        alerting(w),
        vec![("/flaky", true, false), ("/ratio", false, true)]
    );
    assert_eq!(
        w.alert_lines(),
        vec![
            "ALERT /flaky window 00:00:00-00:00:04: 5xx 25 of 45 requests (55.56%), 4xx 0 [5xx >= 20]",
            "ALERT /ratio window 00:00:00-00:00:04: 5xx 4 of 60 requests (6.67%), 4xx 0 [ratio > 5.00% over >= 50 requests]",
        ]
    );
    assert_eq!(
        w.summary(),
        "00:00:04 window 4s: 538 requests (134.5/s), 4xx 30, 5xx 31, error ratio 5.76%, malformed lines so far 6"
    );
    assert_eq!(
        w.top_errors(2).unwrap(),
        "  top errors: /flaky 5xx 25 4xx 0 of 45 | /ratio 5xx 4 4xx 0 of 60"
    );

    // (2 s, 6 s]: batches 3-6.
    let w = at(6000);
    assert_eq!(w.total, counts(526, 30, 30));
    assert_eq!(endpoint(w, "/flaky"), counts(35, 0, 25));
    assert_eq!(
        alerting(w),
        vec![("/flaky", true, false), ("/ratio", false, true)]
    );
    assert_eq!(w.malformed, 6);

    // (4 s, 8 s]: batches 5-6 and two empty ones; the incident is over.
    let w = at(8000);
    assert_eq!(w.total, counts(230, 30, 0));
    assert!(w.alerts.is_empty());
    assert_eq!(
        w.render(3)
            .lines()
            .filter(|l| l.starts_with("ALERT"))
            .count(),
        0
    );

    // Each batch's lines were parsed once: the accumulators are exact.
    assert_eq!(job.malformed.value(), 6);
    assert_eq!(job.lines.value(), 768 + 6, "blank lines are not counted");
    ssc.stop(true, false);
}

#[test]
fn thresholds_are_flags() {
    let w = WindowReport::new(
        10_000,
        10_000,
        vec![
            ("/a".into(), counts(100, 0, 9)),
            ("/b".into(), counts(10, 0, 10)),
        ],
        0,
        Thresholds {
            min_errors: 10,
            max_error_ratio: 0.5,
            min_requests: 10,
        },
    );
    assert_eq!(w.alerts.len(), 1);
    assert_eq!(
        (
            w.alerts[0].endpoint.as_str(),
            w.alerts[0].by_count,
            w.alerts[0].by_ratio
        ),
        ("/b", true, true)
    );
}

// ---------------------------------------------------------------------------------------
// The generator as a receiver, on the system clock

#[test]
fn the_generator_receiver_feeds_the_job_in_real_time() {
    let ssc = StreamingContext::new(
        SpateConf::new()
            .master("local[2]")
            .unwrap()
            .app_name("log_alerts_test")
            .unwrap(),
        Duration::from_millis(200),
    )
    .unwrap();
    let lines = ssc.receiver_stream(generator::GeneratorReceiver::new(5, 10_000));
    // Tumbling windows: each batch is in exactly one.
    let job = stats::window_counts(
        &lines,
        Duration::from_millis(400),
        Duration::from_millis(400),
    )
    .unwrap();
    let requests = Arc::new(Mutex::new(0u64));
    let r = requests.clone();
    job.on_window(Thresholds::default(), move |w| {
        *r.lock().unwrap() += w.total.requests;
        Ok(())
    });
    ssc.start().unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    ssc.stop(true, true);
    let (lines, malformed) = (job.lines.value(), job.malformed.value());
    assert!(lines > 2_000, "{lines} lines in 2.5 s at 10,000/s");
    let share = malformed as f64 / lines as f64;
    assert!((0.002..0.01).contains(&share), "{malformed} of {lines}");
    // Tumbling windows: every line parsed was counted in exactly one window.
    assert_eq!(*requests.lock().unwrap(), (lines - malformed) as u64);
}

// ---------------------------------------------------------------------------------------
// Command line

#[test]
fn command_line_defaults_and_errors() {
    let args = |s: &str| cli::parse_args(s.split_whitespace().map(String::from));
    let o = args("").unwrap().unwrap();
    assert_eq!(
        o.source,
        cli::Source::Generator {
            seed: 7,
            rate: 2000
        }
    );
    assert_eq!(
        (o.batch_ms, o.window_s, o.slide_s, o.duration_s),
        (1000, 10, 2, 20)
    );
    assert_eq!(o.thresholds, Thresholds::default());
    assert_eq!(o.master, "local[2]");
    let o = args("--socket localhost:9999 --min-errors=5 --max-error-ratio 0.1 --duration-s 0")
        .unwrap()
        .unwrap();
    assert_eq!(
        o.source,
        cli::Source::Socket {
            host: "localhost".into(),
            port: 9999
        }
    );
    assert_eq!(
        (
            o.thresholds.min_errors,
            o.thresholds.max_error_ratio,
            o.duration_s
        ),
        (5, 0.1, 0)
    );
    assert_eq!(
        args("--socket [::1]:7").unwrap().unwrap().source,
        cli::Source::Socket {
            host: "::1".into(),
            port: 7
        }
    );
    assert_eq!(args("--help").unwrap(), None);
    for flag in [
        "--seed",
        "--rate",
        "--dir",
        "--socket",
        "--emit",
        "--batch-ms",
        "--window-s",
        "--slide-s",
        "--min-errors",
        "--max-error-ratio",
        "--min-requests",
        "--top",
        "--duration-s",
        "--master",
    ] {
        assert!(cli::USAGE.contains(flag), "{flag} is documented");
        assert!(
            !args(flag).unwrap_err().contains("unknown"),
            "{flag} is known"
        );
    }
    for bad in [
        "--window-s 3 --batch-ms 2000",
        "--dir /tmp --socket a:1",
        "--dir /tmp --seed 3",
        "--rate 0",
        "--max-error-ratio 2",
        "--socket nohost",
        "--window-s",
        "--frobnicate",
    ] {
        assert!(args(bad).is_err(), "{bad}");
    }
}
