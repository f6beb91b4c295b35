//! Source and sink lifecycles: the engine calls every hook of a direct source and of a
//! sink, at the right moments, with the right arguments; the text files sink stages,
//! commits by batch time (a replay replaces) and aborts.

use parking_lot::Mutex;
use spate_core::{BoxIter, Context, Rdd};
use spate_streaming::input::DirectSource;
use spate_streaming::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

fn manual_ssc() -> StreamingContext {
    StreamingContext::with_clock(
        Context::local(2).unwrap(),
        Duration::from_secs(1),
        Clock::manual(),
    )
    .unwrap()
}

/// [`manual_ssc`] whose failed batches are reported and skipped
/// (`spate.streaming.outputFailure=skip`; the default stops the context).
fn manual_ssc_skipping() -> StreamingContext {
    let conf = spate_core::SpateConf::new()
        .master("local[2]")
        .unwrap()
        .set("spate.streaming.outputFailure", "skip")
        .unwrap();
    StreamingContext::with_clock(
        Context::new(conf).unwrap(),
        Duration::from_secs(1),
        Clock::manual(),
    )
    .unwrap()
}

type Log = Arc<Mutex<Vec<String>>>;

/// A log of offsets 0..len; each batch reads the next two. Its position is the next
/// offset; every hook writes to `log`.
struct Offsets {
    len: u64,
    next: Mutex<u64>,
    log: Log,
    fail_start: bool,
    fail_commit_at: Option<i64>,
}

impl Offsets {
    fn new(len: u64, log: &Log) -> Self {
        Offsets {
            len,
            next: Mutex::new(0),
            log: log.clone(),
            fail_start: false,
            fail_commit_at: None,
        }
    }
}

impl DirectSource<u64> for Offsets {
    type Range = (u64, u64);
    fn plan(&self, _time: Time) -> Result<Option<(u64, u64)>> {
        let mut next = self.next.lock();
        let to = (*next + 2).min(self.len);
        let r = (*next < to).then_some((*next, to));
        *next = to;
        Ok(r)
    }
    fn read(&self, ctx: &Context, r: &(u64, u64)) -> Result<Rdd<u64>> {
        Ok(ctx.parallelize_with((r.0..r.1).collect(), 2))
    }
    fn name(&self) -> String {
        "offsets".into()
    }
    fn start(&self, _ctx: &Context) -> Result<()> {
        self.log.lock().push("start".into());
        if self.fail_start {
            return Err(Error::Input {
                stream: "offsets".into(),
                reason: "broker unreachable".into(),
            });
        }
        Ok(())
    }
    fn commit(&self, time: Time, range: &(u64, u64)) -> Result<()> {
        self.log
            .lock()
            .push(format!("commit {} {:?}", time.millis(), range));
        if self.fail_commit_at == Some(time.millis()) {
            return Err(Error::Input {
                stream: "offsets".into(),
                reason: "commit refused".into(),
            });
        }
        Ok(())
    }
    fn position(&self) -> Result<Option<Vec<u8>>> {
        Ok(Some(spate_core::codec::encode(
            &*self.next.lock(),
            "offset",
        )?))
    }
    fn restore(&self, position: &[u8]) -> Result<()> {
        *self.next.lock() = spate_core::codec::decode(position, "offset")?;
        self.log.lock().push("restore".into());
        Ok(())
    }
    fn stop(&self) {
        self.log.lock().push("stop".into());
    }
}

/// An output writing `output <time> <records>` to `log`, failing batch `fail_at`.
fn logging_output(s: &DStream<u64>, log: &Log, fail_at: Option<i64>) {
    let log = log.clone();
    s.foreach_rdd(move |rdd, time| {
        let mut v = rdd.collect()?;
        v.sort();
        log.lock().push(format!("output {} {v:?}", time.millis()));
        if Some(time.millis()) == fail_at {
            return Err("output refused".into());
        }
        Ok(())
    });
}

#[test]
fn a_direct_source_starts_commits_each_successful_batch_in_order_and_stops_once() {
    let log: Log = Default::default();
    let ssc = manual_ssc_skipping();
    let (s, ranges) = ssc.direct_stream(Offsets::new(100, &log));
    logging_output(&s, &log, Some(2000));
    assert!(log.lock().is_empty(), "nothing before start");
    ssc.start().unwrap();
    assert_eq!(*log.lock(), vec!["start"]);
    let e = ssc.advance_batches(3).unwrap_err();
    assert!(e.to_string().contains("output refused"), "{e}");
    ssc.advance_batches(1).unwrap();
    assert_eq!(
        *log.lock(),
        vec![
            "start",
            "output 1000 [0, 1]",
            "commit 1000 (0, 2)",
            // Batch 2000 failed: its range is not committed.
            "output 2000 [2, 3]",
            "output 3000 [4, 5]",
            "commit 3000 (4, 6)",
            "output 4000 [6, 7]",
            "commit 4000 (6, 8)",
        ]
    );
    // The ranges are recorded per batch as before, the failed batch's included.
    assert_eq!(
        ranges.all(),
        vec![
            (1000, (0, 2)),
            (2000, (2, 4)),
            (3000, (4, 6)),
            (4000, (6, 8))
        ]
    );
    ssc.stop(true, false);
    ssc.stop(true, false);
    let stops = log.lock().iter().filter(|l| *l == "stop").count();
    assert_eq!(stops, 1, "{:?}", log.lock());
    assert_eq!(log.lock().last().unwrap(), "stop");
}

#[test]
fn a_failing_commit_fails_its_batch_with_the_source_named_and_later_batches_commit() {
    let log: Log = Default::default();
    let ssc = manual_ssc();
    let mut src = Offsets::new(100, &log);
    src.fail_commit_at = Some(2000);
    let (s, _) = ssc.direct_stream(src);
    logging_output(&s, &log, None);
    ssc.start().unwrap();
    ssc.advance_batches(1).unwrap();
    let e = ssc.advance_batches(1).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("source offsets (stream 0)") && text.contains("commit of batch 2000"),
        "{text}"
    );
    let cause = std::error::Error::source(&e).expect("the source's error is kept");
    assert!(cause.to_string().contains("commit refused"), "{cause}");
    ssc.advance_batches(1).unwrap();
    // The batch record tells listeners.
    let done = ssc.completed_batches();
    let failures: Vec<(i64, usize)> = done
        .iter()
        .map(|b| (b.batch_time.millis(), b.commit_failures.len()))
        .collect();
    assert_eq!(failures, vec![(1000, 0), (2000, 1), (3000, 0)]);
    assert!(
        done[1].commit_failures[0].contains("commit refused"),
        "{:?}",
        done[1].commit_failures
    );
    // await_termination reports it too.
    match ssc.await_termination_or_timeout(Duration::from_millis(10)) {
        Err(Error::Source { source_name, .. }) => assert_eq!(source_name, "offsets"),
        other => panic!("expected the commit failure, got {other:?}"),
    }
    assert!(log.lock().contains(&"commit 3000 (4, 6)".to_string()));
    ssc.stop(true, false);
}

#[test]
fn a_source_whose_start_fails_fails_start_naming_it_and_started_ones_are_stopped() {
    let (ok_log, bad_log): (Log, Log) = Default::default();
    let ssc = manual_ssc();
    let (a, _) = ssc.direct_stream(Offsets::new(10, &ok_log));
    let mut bad = Offsets::new(10, &bad_log);
    bad.fail_start = true;
    let (b, _) = ssc.direct_stream(bad);
    logging_output(&a, &ok_log, None);
    logging_output(&b, &bad_log, None);
    let e = ssc.start().unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("source offsets (stream 1): start failed") && text.contains("broker"),
        "{text}"
    );
    assert_eq!(ssc.state(), State::Initialized);
    assert_eq!(*ok_log.lock(), vec!["start", "stop"]);
    assert_eq!(*bad_log.lock(), vec!["start"]);
}

#[test]
fn positions_round_trip_into_a_fresh_context_whose_source_plans_from_there() {
    let log: Log = Default::default();
    let ssc = manual_ssc();
    let (s, _) = ssc.direct_stream(Offsets::new(100, &log));
    logging_output(&s, &log, None);
    ssc.start().unwrap();
    ssc.advance_batches(3).unwrap();
    let positions = ssc.input_positions().unwrap();
    ssc.stop(true, false);
    assert_eq!(
        positions,
        BTreeMap::from([(0, spate_core::codec::encode(&6u64, "t").unwrap())])
    );

    // The same program in a fresh context, its source at offset 0 until restored.
    let log2: Log = Default::default();
    let ssc2 = manual_ssc();
    let (s2, ranges2) = ssc2.direct_stream(Offsets::new(100, &log2));
    logging_output(&s2, &log2, None);
    let unknown = BTreeMap::from([(7usize, vec![0u8])]);
    match ssc2.restore_input_positions(&unknown) {
        Err(e @ Error::UnknownInput { stream: 7, .. }) => {
            assert!(e.to_string().contains("stream 7"), "{e}")
        }
        other => panic!("expected UnknownInput, got {other:?}"),
    }
    ssc2.restore_input_positions(&positions).unwrap();
    assert_eq!(*log2.lock(), vec!["restore"]);
    ssc2.start().unwrap();
    ssc2.advance_batches(1).unwrap();
    assert_eq!(ranges2.all(), vec![(1000, (6, 8))]);
    assert!(log2.lock().contains(&"output 1000 [6, 7]".to_string()));
    assert!(
        ssc2.restore_input_positions(&positions).is_err(),
        "restoring after start is refused"
    );
    ssc2.stop(true, false);
}

// ---------------------------------------------------------------------------------------
// Sinks
// ---------------------------------------------------------------------------------------

/// What [`Recording`] stages: the partition, the attempt and the records.
type Staged = (usize, u64, Vec<i64>);

/// A sink whose every hook writes to `log`; a partition holding a negative record fails
/// its write.
struct Recording {
    log: Log,
    committed: Arc<Mutex<Vec<(i64, Vec<Staged>)>>>,
    aborted: Arc<Mutex<Vec<(i64, Vec<Staged>)>>>,
}

impl Sink<i64> for Recording {
    type Staged = Staged;
    fn name(&self) -> String {
        "recording".into()
    }
    fn open(&self) -> std::result::Result<(), BoxError> {
        self.log.lock().push("open".into());
        Ok(())
    }
    fn write(
        &self,
        time: Time,
        partition: usize,
        attempt: u64,
        records: BoxIter<i64>,
    ) -> std::result::Result<Staged, BoxError> {
        let v: Vec<i64> = records.collect();
        if v.iter().any(|x| *x < 0) {
            return Err(format!("negative record in partition {partition}").into());
        }
        self.log
            .lock()
            .push(format!("write {} {partition}", time.millis()));
        Ok((partition, attempt, v))
    }
    fn commit(&self, time: Time, staged: Vec<Staged>) -> std::result::Result<(), BoxError> {
        self.log.lock().push(format!("commit {}", time.millis()));
        self.committed.lock().push((time.millis(), staged));
        Ok(())
    }
    fn abort(&self, time: Time, staged: Vec<Staged>) {
        self.log.lock().push(format!("abort {}", time.millis()));
        self.aborted.lock().push((time.millis(), staged));
    }
    fn close(&self) {
        self.log.lock().push("close".into());
    }
}

#[test]
fn a_sink_is_opened_written_per_partition_committed_per_batch_aborted_on_failure_and_closed() {
    let log: Log = Default::default();
    let (committed, aborted) = (Arc::default(), Arc::default());
    let ssc = manual_ssc_skipping();
    let s = ssc.replay_stream(
        vec![
            Some(vec![1, 2, 3, 4]),
            Some(vec![-5, 6, 7, 8]),
            Some(vec![9, 10]),
        ],
        2,
    );
    s.write_to(Recording {
        log: log.clone(),
        committed: Arc::clone(&committed),
        aborted: Arc::clone(&aborted),
    });
    assert!(log.lock().is_empty());
    ssc.start().unwrap();
    assert_eq!(*log.lock(), vec!["open"]);
    ssc.advance_batches(1).unwrap();
    let e = ssc.advance_batches(1).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("write_to")
            && text.contains("sink recording: write of batch 2000")
            && text.contains("negative record in partition 0"),
        "{text}"
    );
    ssc.advance_batches(1).unwrap();
    ssc.stop(true, false);

    let log = log.lock().clone();
    assert_eq!(log.first().unwrap(), "open");
    assert_eq!(log.last().unwrap(), "close");
    assert_eq!(log.iter().filter(|l| *l == "open").count(), 1);
    assert_eq!(log.iter().filter(|l| *l == "close").count(), 1);
    // Per batch: the partitions' writes (in any order), then the commit or the abort.
    let batch = |t: &str| -> Vec<String> {
        log.iter()
            .filter(|l| l.split(' ').nth(1) == Some(t))
            .cloned()
            .collect()
    };
    let b1 = batch("1000");
    assert_eq!(b1.len(), 3, "{b1:?}");
    assert_eq!(b1[2], "commit 1000");
    assert_eq!(
        {
            let mut w = b1[..2].to_vec();
            w.sort();
            w
        },
        vec!["write 1000 0", "write 1000 1"]
    );
    let b2 = batch("2000");
    assert_eq!(b2.last().unwrap(), "abort 2000", "{b2:?}");
    assert!(!b2.contains(&"commit 2000".to_string()), "{b2:?}");
    assert_eq!(batch("3000").last().unwrap(), "commit 3000");

    // The staged values arrive at the commit as the tasks returned them, in partition
    // order, one per partition, from distinct attempts.
    let committed = committed.lock().clone();
    assert_eq!(committed.len(), 2);
    let (t, staged) = &committed[0];
    assert_eq!(*t, 1000);
    let parts: Vec<(usize, Vec<i64>)> = staged.iter().map(|(p, _, v)| (*p, v.clone())).collect();
    assert_eq!(parts, vec![(0, vec![1, 2]), (1, vec![3, 4])]);
    assert_ne!(staged[0].1, staged[1].1, "each task has its own attempt");
    assert_eq!(committed[1].0, 3000);
    // The abort gets what the failed batch staged (only partition 1 could succeed).
    let aborted = aborted.lock().clone();
    assert_eq!(aborted.len(), 1);
    assert_eq!(aborted[0].0, 2000);
    assert!(
        aborted[0]
            .1
            .iter()
            .all(|(p, _, v)| *p == 1 && *v == vec![7, 8]),
        "{aborted:?}"
    );
}

#[test]
fn a_sink_whose_commit_fails_is_aborted_with_everything_staged() {
    struct FailingCommit(Arc<Mutex<Vec<(i64, Vec<usize>)>>>);
    impl Sink<i64> for FailingCommit {
        type Staged = usize;
        fn write(
            &self,
            _: Time,
            partition: usize,
            _: u64,
            _: BoxIter<i64>,
        ) -> std::result::Result<usize, BoxError> {
            Ok(partition)
        }
        fn commit(&self, _: Time, _: Vec<usize>) -> std::result::Result<(), BoxError> {
            Err("store unavailable".into())
        }
        fn abort(&self, time: Time, staged: Vec<usize>) {
            self.0.lock().push((time.millis(), staged));
        }
    }
    let aborted = Arc::new(Mutex::new(Vec::new()));
    let ssc = manual_ssc();
    ssc.replay_stream(vec![Some(vec![1i64, 2, 3])], 3)
        .write_to(FailingCommit(aborted.clone()));
    ssc.start().unwrap();
    let e = ssc.advance_batches(1).unwrap_err().to_string();
    assert!(
        e.contains("commit of batch 1000") && e.contains("store unavailable"),
        "{e}"
    );
    assert_eq!(*aborted.lock(), vec![(1000, vec![0, 1, 2])]);
    ssc.stop(true, false);
}

// ---------------------------------------------------------------------------------------
// The text files sink
// ---------------------------------------------------------------------------------------

/// The sorted names in `dir`.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The lines of every part file of `dir`, in part order.
fn lines(dir: &Path) -> Vec<String> {
    names(dir)
        .iter()
        .filter(|n| n.starts_with("part-"))
        .flat_map(|n| {
            std::fs::read_to_string(dir.join(n))
                .unwrap()
                .lines()
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .collect()
}

fn run_words(prefix: &str, batches: Vec<Option<Vec<String>>>, partitions: usize) -> Result<()> {
    let ssc = manual_ssc();
    let n = batches.len();
    ssc.replay_stream(batches, partitions)
        .map(|w: String| (w, 1i64))
        .save_as_text_files(prefix, "txt");
    ssc.start()?;
    let r = ssc.advance_batches(n);
    ssc.stop(true, false);
    r
}

fn words(w: &[&str]) -> Option<Vec<String>> {
    Some(w.iter().map(|s| s.to_string()).collect())
}

#[test]
fn a_replayed_batch_replaces_its_directory_instead_of_adding_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("out").display().to_string();
    run_words(&prefix, vec![words(&["a", "b", "c"]), words(&["d"])], 3).unwrap();
    let b1 = dir.path().join("out-1000.txt");
    assert_eq!(
        names(&b1),
        vec!["_SUCCESS", "part-00000", "part-00001", "part-00002"]
    );
    assert_eq!(lines(&b1), vec!["(a,1)", "(b,1)", "(c,1)"]);

    // The same batches again (a replay), now in one partition: each batch directory is
    // replaced whole, not merged with the earlier parts nor written beside them.
    run_words(&prefix, vec![words(&["a", "b", "c"]), words(&["d"])], 1).unwrap();
    assert_eq!(names(dir.path()), vec!["out-1000.txt", "out-2000.txt"]);
    assert_eq!(names(&b1), vec!["_SUCCESS", "part-00000"]);
    assert_eq!(lines(&b1), vec!["(a,1)", "(b,1)", "(c,1)"]);
    assert_eq!(lines(&dir.path().join("out-2000.txt")), vec!["(d,1)"]);
}

#[test]
fn a_retried_attempt_and_a_second_commit_leave_one_copy_and_no_staging() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("out").display().to_string();
    let sink = TextFilesSink::new(prefix, "");
    let t = Time(5000);
    let write = |attempt: u64, recs: Vec<i64>| {
        Sink::<i64>::write(&sink, t, 0, attempt, Box::new(recs.into_iter())).unwrap()
    };
    // Attempt 7 staged and then failed (its value never reached the driver); attempt 8
    // is the one that succeeded.
    let _lost = write(7, vec![1, 2]);
    let ok = write(8, vec![1, 2]);
    assert_eq!(
        names(&dir.path().join("_temporary")),
        vec!["out-5000-7", "out-5000-8"]
    );
    assert!(!sink.batch_dir(t).exists(), "staged output is not visible");
    Sink::<i64>::commit(&sink, t, vec![ok]).unwrap();
    assert_eq!(names(dir.path()), vec!["out-5000"]);
    assert_eq!(names(&sink.batch_dir(t)), vec!["_SUCCESS", "part-00000"]);
    assert_eq!(lines(&sink.batch_dir(t)), vec!["1", "2"]);

    // The batch written and committed again, with other records: replaced.
    let again = write(3, vec![9]);
    Sink::<i64>::commit(&sink, t, vec![again]).unwrap();
    assert_eq!(names(dir.path()), vec!["out-5000"]);
    assert_eq!(lines(&sink.batch_dir(t)), vec!["9"]);

    // An abort removes what was staged and leaves the committed batch alone.
    let staged = write(4, vec![10]);
    Sink::<i64>::abort(&sink, t, vec![staged]);
    assert_eq!(names(dir.path()), vec!["out-5000"]);
    assert_eq!(lines(&sink.batch_dir(t)), vec!["9"]);
}

#[test]
fn a_failed_batch_leaves_no_directory_and_no_staging() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("out").display().to_string();
    let ssc = manual_ssc_skipping();
    ssc.replay_stream(
        vec![Some(vec![1i64, 2]), Some(vec![3, -1, 4]), Some(vec![5])],
        1,
    )
    .map(|x| {
        // Fails midway through the partition, after its first record was written.
        assert!(x >= 0, "bad record {x}");
        x
    })
    .save_as_text_files(&prefix, "");
    ssc.start().unwrap();
    ssc.advance_batches(1).unwrap();
    let e = ssc.advance_batches(1).unwrap_err().to_string();
    assert!(
        e.contains("save_as_text_files") && e.contains("bad record"),
        "{e}"
    );
    ssc.advance_batches(1).unwrap();
    ssc.stop(true, false);
    assert_eq!(names(dir.path()), vec!["out-1000", "out-3000"]);
    assert_eq!(lines(&dir.path().join("out-3000")), vec!["5"]);
}
