//! Spark's `fileStream(directory, filter, newFilesOnly)` on real files and the system
//! clock: the filter picks which files are read, and `new_files_only = false` reads the
//! files already in the directory (within the remember window) in the first batch, while
//! `true` leaves them alone.

mod support;

use spate_core::Str;
use support::*;

fn lines(out: &Out<Str>) -> Vec<String> {
    let mut v: Vec<String> = all_records(out).iter().map(|l| l.to_string()).collect();
    v.sort();
    v
}

#[test]
fn the_filter_chooses_files_and_new_files_only_false_reads_those_already_there() {
    let watched = tempfile::tempdir().unwrap();
    let staging = tempfile::tempdir().unwrap();
    // Already there before the streams exist (modified a second ago).
    let old = now_ms() - 1_000;
    move_in(
        staging.path(),
        watched.path(),
        "old.csv",
        "o1\no2\n",
        Some(old),
    );
    move_in(
        staging.path(),
        watched.path(),
        "old.log",
        "skip-me\n",
        Some(old),
    );
    let ssc = system_ssc(100, &[]);
    let only_csv = |p: &Path| p.extension().is_some_and(|e| e == "csv");
    let all = collect(&ssc.file_stream(watched.path(), only_csv, false).unwrap());
    let new = collect(&ssc.file_stream(watched.path(), only_csv, true).unwrap());
    let text = collect(&ssc.text_file_stream(watched.path()).unwrap());
    ssc.start().unwrap();
    std::thread::sleep(Duration::from_millis(50));
    move_in(staging.path(), watched.path(), "new.csv", "n1\n", None);
    move_in(staging.path(), watched.path(), "new.log", "l1\n", None);
    assert!(wait_until(Duration::from_secs(3), || lines(&all).len()
        >= 3
        && !lines(&new).is_empty()
        && lines(&text).len() >= 2));
    std::thread::sleep(Duration::from_millis(300));
    ssc.stop(true, true);
    assert_eq!(
        lines(&all),
        vec!["n1", "o1", "o2"],
        "old and new .csv files"
    );
    assert_eq!(
        lines(&new),
        vec!["n1"],
        "only files that arrived after the start"
    );
    assert_eq!(lines(&text), vec!["l1", "n1"], "no filter: every new file");
}

#[test]
fn a_missing_directory_is_an_error_naming_the_operation() {
    let ssc = system_ssc(100, &[]);
    let e = ssc
        .file_stream("/no/such/spate/dir", |_: &Path| true, true)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("file_stream /no/such/spate/dir") && e.contains("not a directory"),
        "{e}"
    );
}

#[test]
fn min_remember_duration_sets_how_old_a_file_may_be() {
    // Spark's spark.streaming.fileStream.minRememberDuration: with new_files_only false,
    // a file modified 90 s ago is too old for the default 60 s, not for 120 s.
    let run = |extra: &[(&str, &str)]| {
        let watched = tempfile::tempdir().unwrap();
        let staging = tempfile::tempdir().unwrap();
        move_in(
            staging.path(),
            watched.path(),
            "a.txt",
            "a\n",
            Some(now_ms() - 90_000),
        );
        move_in(
            staging.path(),
            watched.path(),
            "b.txt",
            "b\n",
            Some(now_ms() - 1_000),
        );
        let ssc = system_ssc(100, extra);
        let out = collect(
            &ssc.file_stream(watched.path(), |_: &Path| true, false)
                .unwrap(),
        );
        ssc.start().unwrap();
        assert!(wait_until(Duration::from_secs(3), || !lines(&out).is_empty()));
        std::thread::sleep(Duration::from_millis(300));
        ssc.stop(true, true);
        lines(&out)
    };
    assert_eq!(run(&[]), vec!["b"]);
    assert_eq!(
        run(&[("spate.streaming.fileStream.minRememberDuration", "120s")]),
        vec!["a", "b"]
    );
}
