//! Issue 7 items 2, 5, 6 and 12 for `text_file_stream`, with real files: an unreadable
//! entry (a FIFO, a dangling link) among readable files, a file still being written, a
//! symbolic link moved in, and a line over `spate.streaming.maxLineBytes`.

mod support;

use spate_streaming::InputSource;
use support::*;

fn lines(out: &Out<spate_core::Str>) -> Vec<String> {
    let mut v: Vec<String> = all_records(out).iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

/// Item 2: a FIFO (which even root cannot read as a file: opening it waits for a writer)
/// moved in with two readable files: both files are read in that batch, and an input error
/// event names the FIFO. Before: nothing named it.
#[test]
fn an_unreadable_fifo_does_not_lose_the_readable_files_picked_with_it() {
    let watched = tempfile::tempdir().unwrap();
    let staging = tempfile::tempdir().unwrap();
    let ssc = system_ssc(100, &[]);
    let events = std::sync::Arc::new(Events::default());
    ssc.add_streaming_listener(events.clone());
    let out = collect(&ssc.text_file_stream(watched.path()).unwrap());
    ssc.start().unwrap();
    std::thread::sleep(Duration::from_millis(30));
    move_in(staging.path(), watched.path(), "a.txt", "a1\na2\n", None);
    let fifo = watched.path().join("b.txt");
    let st = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(st.success());
    move_in(staging.path(), watched.path(), "c.txt", "c1\n", None);
    assert!(wait_until(Duration::from_secs(3), || lines(&out).len()
        >= 3
        && !events.with_prefix("input error").is_empty()));
    std::thread::sleep(Duration::from_millis(300));
    ssc.stop(true, true);
    assert_eq!(lines(&out), vec!["a1", "a2", "c1"]);
    let errors = events.with_prefix("input error");
    assert_eq!(errors.len(), 1, "reported once: {errors:?}");
    assert!(
        errors[0].starts_with("input error FileUnreadable"),
        "{errors:?}"
    );
    assert!(errors[0].contains("b.txt") && errors[0].contains("not a regular file"));
}

/// Item 2 and 6: a symbolic link whose target is missing is skipped with an event naming
/// it, the readable file next to it is read; once the target appears, the link is read at
/// a later batch (unreadable files are retried).
#[test]
fn a_dangling_link_is_skipped_named_and_retried() {
    let watched = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let ssc = system_ssc(100, &[]);
    let events = std::sync::Arc::new(Events::default());
    ssc.add_streaming_listener(events.clone());
    let out = collect(&ssc.text_file_stream(watched.path()).unwrap());
    ssc.start().unwrap();
    std::thread::sleep(Duration::from_millis(30));
    let target = elsewhere.path().join("later.txt");
    std::os::unix::fs::symlink(&target, watched.path().join("link.txt")).unwrap();
    std::fs::write(watched.path().join("good.txt"), "good\n").unwrap();
    assert!(wait_until(Duration::from_secs(3), || !lines(&out)
        .is_empty()
        && !events.with_prefix("input error").is_empty()));
    let errors = events.with_prefix("input error");
    assert!(
        errors[0].contains("FileUnreadable") && errors[0].contains("link.txt"),
        "{errors:?}"
    );
    std::fs::write(&target, "late\n").unwrap();
    assert!(wait_until(Duration::from_secs(3), || lines(&out).len() >= 2));
    ssc.stop(true, true);
    assert_eq!(lines(&out), vec!["good", "late"]);
}

/// Item 6: a symbolic link moved into the watched directory is followed and its target's
/// lines read, once. Before: it was silently ignored.
#[test]
fn a_symlink_moved_in_is_followed() {
    let watched = tempfile::tempdir().unwrap();
    let staging = tempfile::tempdir().unwrap();
    let ssc = system_ssc(100, &[]);
    let out = collect(&ssc.text_file_stream(watched.path()).unwrap());
    // The target is older than the stream: the link's own time makes it new.
    let target = staging.path().join("data.txt");
    std::fs::write(&target, "s1\ns2\n").unwrap();
    ssc.start().unwrap();
    std::thread::sleep(Duration::from_millis(30));
    let link = staging.path().join("link.txt");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    std::fs::rename(&link, watched.path().join("link.txt")).unwrap();
    assert!(wait_until(Duration::from_secs(3), || lines(&out).len() >= 2));
    std::thread::sleep(Duration::from_millis(300));
    ssc.stop(true, true);
    assert_eq!(lines(&out), vec!["s1", "s2"]);
}

/// Item 5: a file appended to after it was picked (here by the batch's own output, after
/// reading it) is named in a `FileChanged` event (and a warning). Before: silence.
#[test]
fn a_file_changed_after_being_picked_is_warned_about() {
    let watched = tempfile::tempdir().unwrap();
    let ssc = system_ssc(100, &[]);
    let events = std::sync::Arc::new(Events::default());
    ssc.add_streaming_listener(events.clone());
    let path = watched.path().join("growing.txt");
    let p2 = path.clone();
    let seen = std::sync::Arc::new(parking_lot::Mutex::new(Vec::<String>::new()));
    let s2 = seen.clone();
    ssc.text_file_stream(watched.path())
        .unwrap()
        .foreach_rdd(move |rdd, _| {
            let got = rdd.collect()?;
            if !got.is_empty() {
                use std::io::Write;
                let mut f = std::fs::OpenOptions::new().append(true).open(&p2).unwrap();
                f.write_all(b"written late\n").unwrap();
            }
            s2.lock().extend(got.iter().map(|s| s.to_string()));
            Ok(())
        });
    ssc.start().unwrap();
    std::thread::sleep(Duration::from_millis(30));
    std::fs::write(&path, "early\n").unwrap();
    assert!(wait_until(Duration::from_secs(3), || !events
        .with_prefix("input error")
        .is_empty()));
    ssc.stop(true, true);
    assert_eq!(*seen.lock(), vec!["early"]);
    let errors = events.with_prefix("input error");
    assert!(
        errors[0].starts_with("input error FileChanged") && errors[0].contains("growing.txt"),
        "{errors:?}"
    );
    assert!(errors[0].contains("size 6 -> 19 bytes"), "{errors:?}");
}

/// Item 12 (files): with `spate.streaming.maxLineBytes` = 100, a line of 101 bytes is
/// dropped and counted in the batch's `InputFile::dropped_lines` and a `LinesTooLong`
/// event; the line of exactly 100 bytes and the short ones are read.
#[test]
fn a_file_line_over_max_line_bytes_is_dropped_and_counted() {
    let watched = tempfile::tempdir().unwrap();
    let staging = tempfile::tempdir().unwrap();
    let ssc = system_ssc(100, &[("spate.streaming.maxLineBytes", "100")]);
    let events = std::sync::Arc::new(Events::default());
    ssc.add_streaming_listener(events.clone());
    let infos = std::sync::Arc::new(parking_lot::Mutex::new(Vec::new()));
    struct Infos(std::sync::Arc<parking_lot::Mutex<Vec<spate_streaming::InputInfo>>>);
    impl spate_streaming::StreamingListener for Infos {
        fn on_batch_completed(&self, b: &spate_streaming::BatchInfo) {
            self.0.lock().extend(b.input_info.values().cloned());
        }
    }
    ssc.add_streaming_listener(std::sync::Arc::new(Infos(infos.clone())));
    let out = collect(&ssc.text_file_stream(watched.path()).unwrap());
    ssc.start().unwrap();
    std::thread::sleep(Duration::from_millis(30));
    let text = format!("short\n{}\n{}\nlast\n", "o".repeat(101), "k".repeat(100));
    move_in(staging.path(), watched.path(), "long.txt", &text, None);
    assert!(wait_until(Duration::from_secs(3), || !events
        .with_prefix("input error")
        .is_empty()));
    ssc.stop(true, true);
    assert_eq!(
        lines(&out),
        vec!["k".repeat(100), "last".into(), "short".into()]
    );
    let files: Vec<_> = infos
        .lock()
        .iter()
        .filter_map(|i| match &i.source {
            InputSource::Files(f) if !f.is_empty() => Some(f.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(files.len(), 1);
    assert_eq!((files[0].lines, files[0].dropped_lines), (3, 1));
    let errors = events.with_prefix("input error");
    assert!(errors[0].starts_with("input error LinesTooLong") && errors[0].contains("long.txt"));
}
