//! Spark's `binaryRecordsStream` (fixed-length records of new files, real files on the
//! system clock) and `saveAsObjectFiles` (each batch a directory in the engine's format,
//! read back with `Context::object_file`; a replayed batch replaces its directory).

mod support;

use support::*;

#[test]
fn binary_records_of_new_files_arrive_and_a_bad_length_fails_naming_the_file() {
    let watched = tempfile::tempdir().unwrap();
    let staging = tempfile::tempdir().unwrap();
    let ssc = system_ssc(100, &[]);
    let out = collect(&ssc.binary_records_stream(watched.path(), 4).unwrap());
    ssc.start().unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let bytes: Vec<u8> = (0u8..40).collect();
    std::fs::write(staging.path().join("a.bin"), &bytes).unwrap();
    std::fs::rename(staging.path().join("a.bin"), watched.path().join("a.bin")).unwrap();
    assert!(wait_until(Duration::from_secs(3), || all_records(&out)
        .len()
        >= 10));
    // A file of 6 bytes is not a whole number of 4-byte records: its batch fails.
    std::fs::write(staging.path().join("b.bin"), [1u8; 6]).unwrap();
    std::fs::rename(staging.path().join("b.bin"), watched.path().join("b.bin")).unwrap();
    let failed = ssc.await_termination_or_timeout(Duration::from_secs(3));
    ssc.stop(false, false);
    let got = all_records(&out);
    let want: Vec<Vec<u8>> = bytes.chunks(4).map(|c| c.to_vec()).collect();
    assert_eq!(got, want, "every record, in file order, once");
    let e = match failed {
        Err(e) => e.to_string(),
        Ok(stopped) => panic!("the bad file's batch did not fail (stopped: {stopped})"),
    };
    assert!(
        e.contains("b.bin") && e.contains('6') && e.contains('4'),
        "{e}"
    );
}

#[test]
fn a_zero_record_length_is_refused() {
    let watched = tempfile::tempdir().unwrap();
    let ssc = system_ssc(100, &[]);
    let e = ssc
        .binary_records_stream(watched.path(), 0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("record length"), "{e}");
}

#[test]
fn object_files_of_each_batch_read_back_and_a_replay_replaces_its_directory() {
    let out = tempfile::tempdir().unwrap();
    let prefix = out.path().join("counts").display().to_string();
    let ssc = manual_ssc();
    let batches: Vec<Option<Vec<(String, i64)>>> = vec![
        Some(vec![("a".into(), 1), ("b".into(), 2)]),
        Some(vec![]),
        Some((0..500).map(|i| (format!("k{i}"), i)).collect()),
    ];
    let s = ssc.replay_stream(batches.clone(), 3);
    s.save_as_object_files(&prefix, "bin");
    ssc.start().unwrap();
    ssc.advance_batches(3).unwrap();
    for (i, want) in batches.iter().enumerate() {
        let dir = format!("{prefix}-{}.bin", (i + 1) * 1000);
        let got: Vec<(String, i64)> = ssc.ctx().object_file(&dir).unwrap().collect().unwrap();
        assert_eq!(
            &got,
            want.as_ref().unwrap(),
            "batch {i} read back from {dir}"
        );
    }
    // No staging directory is left.
    let names: Vec<String> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");
    ssc.stop(false, false);

    // A second run over the same directories (a replay) replaces them.
    let ssc = manual_ssc();
    let again: Vec<Option<Vec<(String, i64)>>> = vec![Some(vec![("z".into(), 26)])];
    ssc.replay_stream(again, 1)
        .save_as_object_files(&prefix, "bin");
    ssc.start().unwrap();
    ssc.advance_batches(1).unwrap();
    let got: Vec<(String, i64)> = ssc
        .ctx()
        .object_file(&format!("{prefix}-1000.bin"))
        .unwrap()
        .collect()
        .unwrap();
    assert_eq!(got, vec![("z".to_string(), 26)]);
    ssc.stop(false, false);
}
