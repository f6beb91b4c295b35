//! `text_file_stream` on the system clock: a file whose modification time is exactly a
//! batch time or in the future, files moved in continuously, by the thousand or right after
//! the start, subdirectories, hidden and empty files, CRLF without a final newline, and a
//! watched directory deleted (or a picked file deleted before its job reads it), which
//! fails those batches clearly while the stream goes on.

mod support;

use support::*;

#[test]
fn file_with_mtime_exactly_the_batch_time_is_read_in_that_batch() {
    let watched = tempfile::tempdir().unwrap();
    let staging = tempfile::tempdir().unwrap();
    let ssc = system_ssc(100, &[]);
    let out = collect(&ssc.text_file_stream(watched.path()).unwrap());
    ssc.start().unwrap();
    // A batch time ~400 ms ahead; the file is there before the batch lists the directory.
    let t = (now_ms() / 100 + 4) * 100;
    move_in(
        staging.path(),
        watched.path(),
        "exact.txt",
        "exact\n",
        Some(t),
    );
    // And one 300 ms ahead of that: in the future, read when its batch comes.
    move_in(
        staging.path(),
        watched.path(),
        "future.txt",
        "future\n",
        Some(t + 250),
    );
    assert!(wait_until(Duration::from_secs(3), || all_records(&out)
        .len()
        >= 2));
    ssc.stop(true, false);
    let got: Vec<(i64, Vec<String>)> = out
        .lock()
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(t, v)| (*t, v.iter().map(|s| s.to_string()).collect()))
        .collect();
    assert_eq!(
        got,
        vec![
            (t, vec!["exact".to_string()]),
            (t + 300, vec!["future".to_string()])
        ]
    );
}

#[test]
fn files_moved_in_continuously_are_each_read_exactly_once() {
    let watched = tempfile::tempdir().unwrap();
    let staging = tempfile::tempdir().unwrap();
    let ssc = system_ssc(50, &[]);
    let out = collect(&ssc.text_file_stream(watched.path()).unwrap());
    ssc.start().unwrap();
    // Past the file system's coarse clock (see the test below).
    std::thread::sleep(Duration::from_millis(30));
    let n = 300;
    for i in 0..n {
        move_in(
            staging.path(),
            watched.path(),
            &format!("f{i:04}"),
            &format!("{i}\n"),
            None,
        );
        if i % 3 == 0 {
            std::thread::sleep(Duration::from_millis(3));
        }
    }
    assert!(wait_until(Duration::from_secs(4), || all_records(&out)
        .len()
        >= n));
    std::thread::sleep(Duration::from_millis(200));
    ssc.stop(true, false);
    let mut got: Vec<usize> = all_records(&out)
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    got.sort();
    assert_eq!(got, (0..n).collect::<Vec<_>>());
}

#[test]
fn a_file_moved_in_right_after_start_is_read() {
    // File systems stamp mtimes from the kernel's coarse clock (one tick behind the real
    // time at most); the stream's creation time comes from the precise clock. A file
    // written just after `start` (so after the stream was created) can carry an mtime a
    // few ms before the creation time and is then ignored for ever.
    let staging = tempfile::tempdir().unwrap();
    let ssc = system_ssc(100, &[]);
    let mut dirs = Vec::new();
    let mut outs = Vec::new();
    for _ in 0..5 {
        let d = tempfile::tempdir().unwrap();
        outs.push(collect(&ssc.text_file_stream(d.path()).unwrap()));
        dirs.push(d);
    }
    ssc.start().unwrap();
    for (i, d) in dirs.iter().enumerate() {
        move_in(
            staging.path(),
            d.path(),
            "f.txt",
            &format!("file {i}\n"),
            None,
        );
    }
    let read = |outs: &Vec<Out<spate_core::Str>>| {
        outs.iter().filter(|o| !all_records(o).is_empty()).count()
    };
    wait_until(Duration::from_secs(1), || read(&outs) == 5);
    ssc.stop(true, false);
    let mtimes: Vec<_> = dirs
        .iter()
        .map(|d| {
            std::fs::metadata(d.path().join("f.txt"))
                .unwrap()
                .modified()
                .unwrap()
                .duration_since(UNIX_EPOCH)
                .unwrap()
        })
        .collect();
    assert_eq!(
        read(&outs),
        5,
        "files read: {} of 5 (mtimes {mtimes:?})",
        read(&outs)
    );
}

#[test]
fn deleting_the_watched_directory_fails_batches_clearly_and_the_stream_goes_on() {
    let parent = tempfile::tempdir().unwrap();
    let watched = parent.path().join("w");
    std::fs::create_dir(&watched).unwrap();
    let ssc = system_ssc(100, SKIP_FAILED);
    let out = collect(&ssc.text_file_stream(&watched).unwrap());
    ssc.start().unwrap();
    assert!(wait_until(Duration::from_secs(2), || !out
        .lock()
        .is_empty()));
    std::fs::remove_dir_all(&watched).unwrap();
    let e = ssc
        .await_termination_or_timeout(Duration::from_secs(2))
        .unwrap_err()
        .to_string();
    assert!(e.contains("cannot list the directory"), "{e}");
    assert!(e.contains(watched.to_str().unwrap()), "{e}");
    // Recreated: files are read again.
    std::fs::create_dir(&watched).unwrap();
    let staging = tempfile::tempdir().unwrap();
    move_in(staging.path(), &watched, "back.txt", "back\n", None);
    assert!(wait_until(Duration::from_secs(2), || all_records(&out)
        .iter()
        .any(|l| l == "back")));
    assert!(within(Duration::from_secs(4), move || ssc.stop(true, false)).is_some());
}

#[test]
fn a_picked_file_deleted_before_its_job_reads_it_fails_that_batch_clearly() {
    let watched = tempfile::tempdir().unwrap();
    let staging = tempfile::tempdir().unwrap();
    let ssc = system_ssc(200, SKIP_FAILED);
    let lines = ssc.text_file_stream(watched.path()).unwrap();
    // The first output deletes the batch's files before the second one reads them.
    let dir = watched.path().to_path_buf();
    lines.foreach_rdd(move |_rdd, _| {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            if e.file_name() == "doomed.txt" {
                std::fs::remove_file(e.path()).unwrap();
            }
        }
        Ok(())
    });
    let out = collect(&lines);
    ssc.start().unwrap();
    std::thread::sleep(Duration::from_millis(50));
    move_in(
        staging.path(),
        watched.path(),
        "doomed.txt",
        "doomed\n",
        None,
    );
    let r = within(Duration::from_secs(4), {
        let ssc = ssc.clone();
        move || ssc.await_termination_or_timeout(Duration::from_secs(3))
    })
    .expect("await_termination returns");
    let e = r.unwrap_err().to_string();
    assert!(e.contains("doomed.txt"), "{e}");
    // Later files are read.
    move_in(staging.path(), watched.path(), "later.txt", "later\n", None);
    assert!(wait_until(Duration::from_secs(2), || all_records(&out)
        .iter()
        .any(|l| l == "later")));
    assert!(within(Duration::from_secs(4), move || ssc.stop(true, false)).is_some());
}

#[test]
fn subdirectories_hidden_and_empty_files_are_handled() {
    let watched = tempfile::tempdir().unwrap();
    let staging = tempfile::tempdir().unwrap();
    let ssc = system_ssc(100, &[]);
    let out = collect(&ssc.text_file_stream(watched.path()).unwrap());
    ssc.start().unwrap();
    std::thread::sleep(Duration::from_millis(30));
    let sub = staging.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(sub.join("inner.txt"), "inner\n").unwrap();
    std::fs::rename(&sub, watched.path().join("sub")).unwrap();
    move_in(staging.path(), watched.path(), "empty.txt", "", None);
    move_in(staging.path(), watched.path(), "a.txt", "a\n", None);
    assert!(wait_until(Duration::from_secs(2), || !all_records(&out).is_empty()));
    std::thread::sleep(Duration::from_millis(300));
    assert!(ssc
        .await_termination_or_timeout(Duration::from_millis(1))
        .is_ok());
    ssc.stop(true, false);
    assert_eq!(all_records(&out), vec!["a"]);
}

#[test]
fn very_many_files_in_one_batch() {
    let watched = tempfile::tempdir().unwrap();
    let staging = tempfile::tempdir().unwrap();
    let n = 2000;
    // Staged before, moved in at once (their mtimes are after the stream's creation).
    let ssc = system_ssc(500, &[]);
    let counts = Arc::new(Mutex::new(Vec::new()));
    let c = counts.clone();
    ssc.text_file_stream(watched.path())
        .unwrap()
        .foreach_rdd(move |rdd, _| {
            let n = rdd.count()?;
            if n > 0 {
                c.lock().push(n);
            }
            Ok(())
        });
    std::thread::sleep(Duration::from_millis(5));
    for i in 0..n {
        std::fs::write(staging.path().join(format!("f{i}")), format!("{i}\nx\n")).unwrap();
    }
    ssc.start().unwrap();
    for i in 0..n {
        std::fs::rename(
            staging.path().join(format!("f{i}")),
            watched.path().join(format!("f{i}")),
        )
        .unwrap();
    }
    assert!(wait_until(Duration::from_secs(4), || counts
        .lock()
        .iter()
        .sum::<u64>()
        >= 2 * n as u64));
    ssc.stop(true, false);
    assert_eq!(counts.lock().iter().sum::<u64>(), 2 * n as u64);
}

#[test]
fn crlf_files_without_a_trailing_newline() {
    let watched = tempfile::tempdir().unwrap();
    let staging = tempfile::tempdir().unwrap();
    let ssc = system_ssc(100, &[]);
    let out = collect(&ssc.text_file_stream(watched.path()).unwrap());
    ssc.start().unwrap();
    std::thread::sleep(Duration::from_millis(30));
    move_in(
        staging.path(),
        watched.path(),
        "a.txt",
        "a1\r\na2\r\na3",
        None,
    );
    move_in(
        staging.path(),
        watched.path(),
        "b.txt",
        "b1\r\n\r\nb3\r\n",
        None,
    );
    assert!(wait_until(Duration::from_secs(2), || all_records(&out)
        .len()
        >= 6));
    ssc.stop(true, false);
    let mut got = all_records(&out)
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>();
    got.sort();
    assert_eq!(got, vec!["", "a1", "a2", "a3", "b1", "b3"]);
}
