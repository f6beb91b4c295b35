//! The ports of Spark's streaming examples run as programs against real inputs (a TCP
//! server in the test, files moved into a directory, the generator and frame server
//! examples themselves), and what they print is checked against the same results computed
//! here from the inputs. Each is stopped with SIGTERM and must exit 0 (graceful stop).
#![cfg(unix)]

mod support;

use spate::rng::SplitMix64;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};
use support::example;

/// A running example: its stdout lines arrive on a channel, its stderr is collected.
struct Running {
    child: Child,
    lines: Receiver<String>,
    stdout: Vec<String>,
    stderr: std::thread::JoinHandle<String>,
}

impl Running {
    fn start(name: &str, args: &[&str]) -> Running {
        let mut child = Command::new(example(name))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut err = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        let out = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(|l| l.ok()) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            lines,
            stdout: Vec::new(),
            stderr,
        }
    }

    /// Reads stdout until `done(all lines so far)` holds; panics after `timeout`.
    fn until(&mut self, timeout: Duration, done: impl Fn(&[String]) -> bool) {
        let deadline = Instant::now() + timeout;
        while !done(&self.stdout) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left.max(Duration::from_millis(1))) {
                Ok(l) => self.stdout.push(l),
                Err(_) => panic!(
                    "timed out; exited: {:?}; stdout:\n{}",
                    self.child.try_wait().unwrap(),
                    self.stdout.join("\n")
                ),
            }
        }
    }

    /// SIGTERM, then the exit code and the whole stdout and stderr.
    fn terminate(mut self) -> (Option<i32>, Vec<String>, String) {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(Instant::now() < deadline, "no exit after SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        };
        let stderr = self.stderr.join().unwrap();
        while let Ok(l) = self.lines.recv_timeout(Duration::from_millis(500)) {
            self.stdout.push(l);
        }
        (status.code(), self.stdout, stderr)
    }
}

/// A server on a free port and the port.
fn server() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

/// The next connection to `server` (panics after 30 s).
fn accept(server: &TcpListener) -> TcpStream {
    server.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match server.accept() {
            Ok((c, _)) => {
                c.set_nonblocking(false).unwrap();
                return c;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(Instant::now() < deadline, "the example never connected");
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

/// `count` lines of 1 to 6 words drawn from `vocab`.
fn random_lines(seed: u64, count: usize, vocab: &[&str]) -> Vec<String> {
    let mut rng = SplitMix64::new(seed);
    (0..count)
        .map(|_| {
            let n = 1 + rng.below(6) as usize;
            (0..n)
                .map(|_| vocab[rng.below(vocab.len() as u64) as usize])
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// Word counts of `lines`, computed here.
fn word_counts<S: AsRef<str>>(lines: &[S]) -> BTreeMap<String, i64> {
    let mut m = BTreeMap::new();
    for l in lines {
        for w in l.as_ref().split_whitespace() {
            *m.entry(w.to_string()).or_insert(0) += 1;
        }
    }
    m
}

/// The `(key,number)` records printed by `print()`, summed per key over all batches.
fn printed_sums(stdout: &[String]) -> BTreeMap<String, i64> {
    let mut m = BTreeMap::new();
    for l in stdout {
        if let Some((k, n)) = l
            .strip_prefix('(')
            .and_then(|l| l.strip_suffix(')'))
            .and_then(|l| l.rsplit_once(','))
        {
            if let Ok(n) = n.parse::<i64>() {
                *m.entry(k.to_string()).or_insert(0) += n;
            }
        }
    }
    m
}

/// Whether every batch printed at most `limit` records (so none were cut by `print()`).
fn batches_fit(stdout: &[String], limit: usize) -> bool {
    !stdout.iter().any(|l| l == "...") && {
        let mut n = 0;
        let mut ok = true;
        for l in stdout {
            if l.starts_with("Time: ") {
                n = 0;
            } else if l.starts_with('(') {
                n += 1;
                ok &= n <= limit;
            }
        }
        ok
    }
}

fn send_lines(conn: &mut TcpStream, lines: &[String]) {
    let mut buf = String::new();
    for l in lines {
        buf.push_str(l);
        buf.push('\n');
    }
    conn.write_all(buf.as_bytes()).unwrap();
    conn.flush().unwrap();
}

const VOCAB: &[&str] = &[
    "spark", "spate", "stream", "batch", "window", "state", "rdd",
];

/// `custom_receiver`: the words of the lines served, counted per batch by a hand-written
/// receiver, sum to the counts of those lines.
#[test]
fn custom_receiver_counts_the_words_served() {
    let (srv, port) = server();
    let mut run = Running::start("custom_receiver", &["127.0.0.1", &port.to_string()]);
    let mut conn = accept(&srv);
    let lines = random_lines(1, 400, VOCAB);
    let expected = word_counts(&lines);
    send_lines(&mut conn, &lines);
    run.until(Duration::from_secs(15), |out| printed_sums(out) == expected);
    let (code, out, stderr) = run.terminate();
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(printed_sums(&out), expected, "{stderr}");
    assert!(batches_fit(&out, 10));
    drop(conn);
}

/// `stateful_network_word_count` (`map_with_state` from `hello 1, world 1`): every word
/// received prints once with its running count, so a word seen `n` times prints
/// `init+1 ..= init+n`, and nothing else prints.
#[test]
fn stateful_network_word_count_prints_running_counts_from_the_initial_state() {
    let ck = tempfile::tempdir().unwrap();
    let (srv, port) = server();
    let mut run = Running::start(
        "stateful_network_word_count",
        &["127.0.0.1", &port.to_string(), ck.path().to_str().unwrap()],
    );
    let mut conn = accept(&srv);
    // Under 10 words a batch at most, so that `print()` shows them all.
    let lines = vec![
        "hello spate hello".to_string(),
        "stream world spate hello x".to_string(),
    ];
    let mut expected = BTreeSet::new();
    for (w, n) in word_counts(&lines) {
        let init = i64::from(w == "hello" || w == "world");
        for i in 1..=n {
            expected.insert(format!("({w},{})", init + i));
        }
    }
    send_lines(&mut conn, &lines);
    let printed = |out: &[String]| -> Vec<String> {
        out.iter().filter(|l| l.starts_with('(')).cloned().collect()
    };
    run.until(Duration::from_secs(15), |out| {
        printed(out).len() >= expected.len()
    });
    let (code, out, stderr) = run.terminate();
    assert_eq!(code, Some(0), "{stderr}");
    let got = printed(&out);
    assert_eq!(got.len(), expected.len(), "{got:?}");
    assert_eq!(got.into_iter().collect::<BTreeSet<_>>(), expected);
}

/// The `Counts at time <t> [...]` lines of `recoverable_network_word_count`'s output file,
/// summed per word.
fn file_sums(text: &str) -> BTreeMap<String, i64> {
    let mut m = BTreeMap::new();
    for line in text.lines() {
        let rest = line.strip_prefix("Counts at time ").expect(line);
        let (_, list) = rest.split_once(" ms [").expect(line);
        let list = list.strip_suffix(']').expect(line);
        for pair in list.split(", ").filter(|p| !p.is_empty()) {
            let (w, n) = pair
                .strip_prefix('(')
                .and_then(|p| p.strip_suffix(')'))
                .and_then(|p| p.rsplit_once(','))
                .expect(line);
            *m.entry(w.to_string()).or_insert(0) += n.parse::<i64>().unwrap();
        }
    }
    m
}

/// The last `Dropped <n> word(s) totally` printed.
fn last_dropped(stdout: &[String]) -> Option<i64> {
    stdout.iter().rev().find_map(|l| {
        l.strip_prefix("Dropped ")?
            .strip_suffix(" word(s) totally")?
            .parse()
            .ok()
    })
}

/// `recoverable_network_word_count`: the output file holds the counts of the words served
/// without the excluded `a b c`, whose number the accumulator prints; started again on the
/// same checkpoint directory it recovers, appends the new batches' counts to the same
/// file, and its new process makes a new accumulator.
#[test]
fn recoverable_network_word_count_excludes_counts_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("ck");
    let output = dir.path().join("counts.txt");
    let vocab = ["a", "b", "c", "spate", "spark", "stream"];
    let lines = random_lines(7, 300, &vocab);
    let all = word_counts(&lines);
    let excluded = |w: &str| ["a", "b", "c"].contains(&w);
    let kept: BTreeMap<String, i64> = all
        .iter()
        .filter(|(w, _)| !excluded(w))
        .map(|(w, n)| (w.clone(), *n))
        .collect();
    let dropped: i64 = all
        .iter()
        .filter(|(w, _)| excluded(w))
        .map(|(_, n)| n)
        .sum();
    let args = |port: u16| {
        vec![
            "127.0.0.1".to_string(),
            port.to_string(),
            ck.display().to_string(),
            output.display().to_string(),
        ]
    };

    let (srv, port) = server();
    let a = args(port);
    let mut run = Running::start(
        "recoverable_network_word_count",
        &a.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let mut conn = accept(&srv);
    send_lines(&mut conn, &lines);
    run.until(Duration::from_secs(15), |out| {
        last_dropped(out) == Some(dropped)
    });
    let (code, out, stderr) = run.terminate();
    assert_eq!(code, Some(0), "{stderr}");
    let text = std::fs::read_to_string(&output).unwrap();
    assert_eq!(file_sums(&text), kept, "{text}");
    assert_eq!(last_dropped(&out), Some(dropped));
    // What was printed is what was appended, line for line.
    let printed: Vec<&String> = out
        .iter()
        .filter(|l| l.starts_with("Counts at time "))
        .collect();
    assert_eq!(printed.len(), text.lines().count());
    drop(conn);

    // Again on the same checkpoint (and a new server), after more than two batches: the
    // recovered context runs the batches due while it was down, so the batch times in
    // the file go on without a gap (a new context would leave one).
    let before = text.lines().count();
    std::thread::sleep(Duration::from_millis(2500));
    let (srv, port) = server();
    let a = args(port);
    let mut run = Running::start(
        "recoverable_network_word_count",
        &a.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let mut conn = accept(&srv);
    let more = vec!["again b again".to_string(), "recovered a".to_string()];
    send_lines(&mut conn, &more);
    run.until(Duration::from_secs(15), |out| last_dropped(out) == Some(2));
    let (code, out, stderr) = run.terminate();
    assert_eq!(code, Some(0), "{stderr}");
    let text = std::fs::read_to_string(&output).unwrap();
    let new: String = text
        .lines()
        .skip(before)
        .map(|l| format!("{l}\n"))
        .collect();
    let expected: BTreeMap<String, i64> =
        [("again".to_string(), 2), ("recovered".to_string(), 1)].into();
    assert_eq!(file_sums(&new), expected, "{text}");
    let times: Vec<i64> = text
        .lines()
        .map(|l| {
            let t = l.strip_prefix("Counts at time ").unwrap();
            t[..t.find(" ms").unwrap()].parse().unwrap()
        })
        .collect();
    assert!(
        times.windows(2).all(|w| w[1] - w[0] == 1000),
        "batch times with a gap or a repeat: {times:?}"
    );
    assert_eq!(last_dropped(&out), Some(2));
    drop(conn);
}

/// The port a server example announces on stderr (`... on port N`), and its stderr.
fn announced_port(child: &mut Child) -> u16 {
    let err = child.stderr.take().unwrap();
    let mut reader = BufReader::new(err);
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    // Keep draining stderr so the server never blocks on it.
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    first
        .trim()
        .rsplit_once("on port ")
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or_else(|| panic!("no port announced: {first:?}"))
}

/// `raw_frame_server` serves a file once per client as raw frames; `raw_network_grep`
/// with two streams counts the records containing "the": the printed counts sum to twice
/// the matching lines of the file.
#[test]
fn raw_network_grep_counts_matching_records_of_two_streams() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("text.txt");
    let lines = random_lines(
        3,
        2000,
        &["the", "then", "a", "cat", "other", "sat", "on", "mat"],
    );
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let matching = lines.iter().filter(|l| l.contains("the")).count() as i64;
    let mut server = Command::new(example("raw_frame_server"))
        .args(["0", file.to_str().unwrap(), "100", "1"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let port = announced_port(&mut server);
    let mut run = Running::start(
        "raw_network_grep",
        &["2", "127.0.0.1", &port.to_string(), "500"],
    );
    let total = |out: &[String]| -> i64 {
        out.iter()
            .filter_map(|l| l.strip_prefix("Grep count: ")?.parse::<i64>().ok())
            .sum()
    };
    run.until(Duration::from_secs(15), |out| total(out) >= 2 * matching);
    let (code, out, stderr) = run.terminate();
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(total(&out), 2 * matching, "{stderr}");
}

/// `hdfs_word_count`: files written elsewhere and moved into the watched directory are
/// counted once; the printed counts sum to the counts of their lines.
#[test]
fn hdfs_word_count_counts_the_files_moved_in() {
    let dir = tempfile::tempdir().unwrap();
    let watched = dir.path().join("in");
    std::fs::create_dir(&watched).unwrap();
    let mut run = Running::start("hdfs_word_count", &[watched.to_str().unwrap()]);
    // The first batch has run: the files are new to the stream.
    run.until(Duration::from_secs(15), |out| {
        out.iter().any(|l| l.starts_with("Time: "))
    });
    let mut all = Vec::new();
    for i in 0..3u64 {
        let lines = random_lines(10 + i, 50, VOCAB);
        let tmp = dir.path().join(format!("part-{i}.txt"));
        std::fs::write(&tmp, lines.join("\n")).unwrap();
        std::fs::rename(&tmp, watched.join(format!("part-{i}.txt"))).unwrap();
        all.extend(lines);
    }
    let expected = word_counts(&all);
    run.until(Duration::from_secs(15), |out| printed_sums(out) == expected);
    let (code, out, stderr) = run.terminate();
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(printed_sums(&out), expected);
    assert!(batches_fit(&out, 10));
}

/// Page view lines as the generator writes them: url, status, zip, user.
fn parse_view(line: &str) -> (String, i32, i32, i32) {
    let f: Vec<&str> = line.split('\t').collect();
    assert_eq!(f.len(), 4, "{line:?}");
    (
        f[0].to_string(),
        f[1].parse().unwrap(),
        f[2].parse().unwrap(),
        f[3].parse().unwrap(),
    )
}

/// Per zip code, the share of views not answered 200.
fn error_rates(views: &[(String, i32, i32, i32)]) -> BTreeMap<i32, f64> {
    let mut m: BTreeMap<i32, (u64, u64)> = BTreeMap::new();
    for (_, status, zip, _) in views {
        let e = m.entry(*zip).or_default();
        e.0 += u64::from(*status != 200);
        e.1 += 1;
    }
    m.into_iter()
        .map(|(z, (e, n))| (z, e as f64 / n as f64))
        .collect()
}

/// The `(zip,rate)` records of the last batch printed.
fn last_batch_rates(stdout: &[String]) -> BTreeMap<i32, f64> {
    let start = stdout
        .iter()
        .rposition(|l| l.starts_with("Time: "))
        .unwrap_or(0);
    stdout[start..]
        .iter()
        .filter_map(|l| {
            let (z, r) = l.strip_prefix('(')?.strip_suffix(')')?.split_once(',')?;
            Some((z.parse().ok()?, r.parse().ok()?))
        })
        .collect()
}

fn rates_match(a: &BTreeMap<i32, f64>, b: &BTreeMap<i32, f64>) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|((za, ra), (zb, rb))| za == zb && (ra - rb).abs() < 1e-12)
}

/// `page_view_generator` with a seed serves every client the same views; the test reads
/// them as one client, and `page_view_stream errorRatePerZipCode` reading them as another
/// prints, once all are in its 30-second window, each zip code's error rate as computed
/// here from those views.
#[test]
fn page_view_stream_error_rates_match_the_generated_views() {
    const TOTAL: usize = 600;
    let mut generator = Command::new(example("page_view_generator"))
        .args(["0", "3000", "42", &TOTAL.to_string()])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let port = announced_port(&mut generator);
    let mut views = Vec::new();
    {
        let conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut reader = BufReader::new(conn);
        for _ in 0..TOTAL {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            views.push(parse_view(line.trim_end_matches('\n')));
        }
    }
    // The generator's distributions: three pages, 200 or 404, two zip codes, users 1..=100.
    let pages: BTreeSet<&str> = views.iter().map(|v| v.0.as_str()).collect();
    assert!(pages.len() <= 3 && pages.iter().all(|p| p.starts_with("http://foo.com/")));
    assert!(views
        .iter()
        .all(|v| (v.1 == 200 || v.1 == 404) && (1..=100).contains(&v.3)));
    assert!(
        views.iter().any(|v| v.1 == 404),
        "no error in {TOTAL} views"
    );
    let expected = error_rates(&views);
    assert_eq!(expected.len(), 2);

    let mut run = Running::start(
        "page_view_stream",
        &["errorRatePerZipCode", "127.0.0.1", &port.to_string()],
    );
    run.until(Duration::from_secs(15), |out| {
        rates_match(&last_batch_rates(out), &expected)
    });
    let (code, _out, stderr) = run.terminate();
    generator.kill().unwrap();
    generator.wait().unwrap();
    assert_eq!(code, Some(0), "{stderr}");
}

/// Views served by the test: `n` views with users drawn by `user`.
fn served_views(seed: u64, n: usize, user: impl Fn(&mut SplitMix64) -> i32) -> Vec<String> {
    let mut rng = SplitMix64::new(seed);
    let pages = [
        "http://foo.com/",
        "http://foo.com/news",
        "http://foo.com/contact",
    ];
    (0..n)
        .map(|_| {
            let page = pages[rng.below(3) as usize];
            let status = if rng.chance(0.1) { 404 } else { 200 };
            let zip = if rng.chance(0.5) { 94709 } else { 94117 };
            format!("{page}\t{status}\t{zip}\t{}", user(&mut rng))
        })
        .collect()
}

/// Runs `page_view_stream <metric>` on `lines` served by the test until `done`, then
/// stops it; returns its stdout.
fn page_view_stream_on(
    metric: &str,
    lines: &[String],
    done: impl Fn(&[String]) -> bool,
) -> Vec<String> {
    let (srv, port) = server();
    let mut run = Running::start(
        "page_view_stream",
        &[metric, "127.0.0.1", &port.to_string()],
    );
    let mut conn = accept(&srv);
    send_lines(&mut conn, lines);
    run.until(Duration::from_secs(15), done);
    let (code, out, stderr) = run.terminate();
    assert_eq!(code, Some(0), "{stderr}");
    drop(conn);
    out
}

/// `activeUserCount`: the distinct users of the views served, all in the 15-second window.
#[test]
fn page_view_stream_counts_active_users() {
    let lines = served_views(5, 300, |r| 1 + r.below(60) as i32);
    let users: BTreeSet<i32> = lines.iter().map(|l| parse_view(l).3).collect();
    let want = format!("Unique active users: {}", users.len());
    let out = page_view_stream_on("activeUserCount", &lines, |out| out.contains(&want));
    // Never more users than were served.
    for l in &out {
        if let Some(n) = l.strip_prefix("Unique active users: ") {
            assert!(n.parse::<usize>().unwrap() <= users.len(), "{l}");
        }
    }
}

/// `popularUsersSeen`: exactly the known users among the views served are seen, each as
/// many times as it viewed a page (fewer than the 10 a batch shows).
#[test]
fn page_view_stream_names_the_known_users_seen() {
    // Users 1 and 2 (known) view 3 and 2 pages, 3 (known) none, others many.
    let mut lines = served_views(9, 200, |r| 10 + r.below(50) as i32);
    for (i, user) in [1, 1, 2, 1, 2].into_iter().enumerate() {
        lines.insert(i * 37, format!("http://foo.com/\t200\t94709\t{user}"));
    }
    let seen = |out: &[String]| -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for l in out {
            if let Some(rest) = l.strip_prefix("Saw user ") {
                let (name, _) = rest.split_once(" at time ").expect(l);
                *m.entry(name.to_string()).or_insert(0) += 1;
            }
        }
        m
    };
    let expected: BTreeMap<String, usize> = [
        ("Ada Lovelace".to_string(), 3),
        ("Grace Hopper".to_string(), 2),
    ]
    .into();
    let out = page_view_stream_on("popularUsersSeen", &lines, |out| seen(out) == expected);
    assert_eq!(seen(&out), expected);
}

/// `pageCounts`: the views per URL printed per batch sum to the views served per URL.
#[test]
fn page_view_stream_counts_pages() {
    let lines = served_views(11, 500, |r| 1 + r.below(100) as i32);
    let mut expected = BTreeMap::new();
    for l in &lines {
        *expected.entry(parse_view(l).0).or_insert(0i64) += 1;
    }
    let out = page_view_stream_on("pageCounts", &lines, |out| printed_sums(out) == expected);
    assert_eq!(printed_sums(&out), expected);
}

/// The `(key,number)` records of the last batch printed.
fn last_batch_counts(stdout: &[String]) -> BTreeMap<String, i64> {
    let start = stdout
        .iter()
        .rposition(|l| l.starts_with("Time: "))
        .unwrap_or(0);
    printed_sums(&stdout[start..])
}

/// `slidingPageCounts`: with every view served inside the 10-second window, a window's
/// counts per URL are those of all the views served, and no window counts more.
#[test]
fn page_view_stream_counts_pages_over_a_sliding_window() {
    let lines = served_views(13, 500, |r| 1 + r.below(100) as i32);
    let mut expected = BTreeMap::new();
    for l in &lines {
        *expected.entry(parse_view(l).0).or_insert(0i64) += 1;
    }
    let out = page_view_stream_on("slidingPageCounts", &lines, |out| {
        last_batch_counts(out) == expected
    });
    for l in &out {
        let one = printed_sums(std::slice::from_ref(l));
        assert!(
            one.iter().all(|(k, n)| *n <= expected[k]),
            "{l} over {expected:?}"
        );
    }
}

/// Bad arguments: a usage message and exit code 2, for every new example.
#[test]
fn bad_arguments_print_the_usage() {
    for name in [
        "page_view_generator",
        "page_view_stream",
        "custom_receiver",
        "recoverable_network_word_count",
        "raw_network_grep",
        "raw_frame_server",
        "hdfs_word_count",
    ] {
        let out = Command::new(example(name)).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(
            stderr.starts_with(&format!("usage: {name} ")),
            "{name}: {stderr}"
        );
    }
}
