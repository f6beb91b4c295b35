//! Sources: parallelize, range, text files.
//!
//! Oracle tests: spate against a plain in-memory Rust reference (see `oracle_common`), and
//! a text file that grows, shrinks or disappears between listing and reading.

mod oracle_common;

use oracle_common::*;
// ---------------------------------------------------------------------------------------
// Sources
// ---------------------------------------------------------------------------------------

#[test]
fn parallelize_slices_like_spark() {
    let ctx = ctx();
    for n in [0usize, 1, 2, 5, 10, 23, 100] {
        let data: Vec<usize> = (0..n).collect();
        for p in [1usize, 2, 3, 7, 12] {
            let rdd = ctx.parallelize_with(data.clone(), p);
            assert_eq!(rdd.num_partitions(), p);
            let parts = rdd.glom().collect().unwrap();
            assert_eq!(parts, slices(&data, p), "n={n} p={p}");
            for (i, part) in parts.iter().enumerate() {
                let want: Vec<usize> = (i * n / p..(i + 1) * n / p).collect();
                assert_eq!(*part, want, "n={n} p={p} i={i}");
            }
            assert_eq!(rdd.collect().unwrap(), data);
            assert_eq!(rdd.count().unwrap(), n as u64);
        }
    }
}

/// Reference `range` over i128, so it cannot overflow.
fn range_ref(start: i64, end: i64, step: i64) -> Vec<i64> {
    let mut out = Vec::new();
    let mut x = start as i128;
    while (step > 0 && x < end as i128) || (step < 0 && x > end as i128) {
        out.push(x as i64);
        x += step as i128;
    }
    out
}

#[test]
fn range_matches_reference() {
    let ctx = ctx();
    let cases = [
        (0, 10, 1),
        (0, 10, 3),
        (10, 0, -3),
        (5, 5, 1),
        (0, -10, -1),
        (-7, 20, 4),
        (0, 10, -1),
        (10, 0, 1),
        (-100, 100, 7),
    ];
    for (s, e, st) in cases {
        let want = range_ref(s, e, st);
        for p in PARTS {
            let rdd = ctx.range(s, e, st, p).unwrap();
            assert_eq!(rdd.num_partitions(), p);
            assert_eq!(rdd.collect().unwrap(), want, "range({s},{e},{st}) p={p}");
            assert_eq!(rdd.glom().collect().unwrap(), slices(&want, p));
        }
    }
    assert!(matches!(
        ctx.range(0, 10, 0, 2),
        Err(Error::InvalidArgument { .. })
    ));
}

#[test]
fn range_near_i64_limits() {
    let ctx = ctx();
    let cases = [
        (i64::MIN, i64::MAX, i64::MAX / 2),
        (i64::MAX, i64::MIN, -(i64::MAX / 2)),
        (i64::MAX - 10, i64::MAX, 3),
    ];
    for (s, e, st) in cases {
        let want = range_ref(s, e, st);
        for p in PARTS {
            let got = ctx.range(s, e, st, p).unwrap().collect();
            assert_eq!(got.unwrap(), want, "range({s},{e},{st}) p={p}");
        }
    }
}

/// Lines of various lengths (empty ones, unicode, long ones) so splits fall mid-line and
/// the 64 KiB read chunks end mid-line.
fn text_lines(n: usize, seed: u64) -> Vec<String> {
    let mut r = Lcg(seed);
    (0..n)
        .map(|i| match r.next() % 10 {
            0 => String::new(),
            1 => format!("ünï-{i}-ç"),
            2 => "x".repeat(200 + i % 50),
            _ => format!("line {i} {}", "ab".repeat((r.next() % 20) as usize)),
        })
        .collect()
}

#[test]
fn text_file_reads_every_line_once() {
    let ctx = ctx();
    let dir = tempfile::tempdir().unwrap();
    let lines = text_lines(5000, 7);
    // With and without a final newline.
    let with_nl = dir.path().join("with_nl.txt");
    std::fs::write(&with_nl, lines.join("\n") + "\n").unwrap();
    let without_nl = dir.path().join("without_nl.txt");
    std::fs::write(&without_nl, lines.join("\n")).unwrap();
    for path in [&with_nl, &without_nl] {
        for mp in [1usize, 2, 3, 7, 50] {
            let rdd = ctx.text_file_with(path, mp).unwrap();
            assert!(
                rdd.num_partitions() >= mp,
                "{} partitions for min_partitions={mp}",
                rdd.num_partitions()
            );
            let got: Vec<String> = rdd
                .collect()
                .unwrap()
                .into_iter()
                .map(String::from)
                .collect();
            assert_eq!(got.len(), lines.len(), "{} mp={mp}", path.display());
            assert_eq!(got, lines, "{} mp={mp}", path.display());
            assert_eq!(rdd.count().unwrap(), lines.len() as u64);
        }
    }
}

#[test]
fn text_file_small_cases() {
    let ctx = ctx();
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, Vec<&str>); 6] = [
        ("", vec![]),
        ("\n", vec![""]),
        ("a\n\nb", vec!["a", "", "b"]),
        ("a\r\nb\r\n", vec!["a", "b"]),
        ("only", vec!["only"]),
        ("\n\n\n", vec!["", "", ""]),
    ];
    for (i, (content, want)) in cases.iter().enumerate() {
        let p = dir.path().join(format!("f{i}.txt"));
        std::fs::write(&p, content).unwrap();
        for mp in [1usize, 2, 7] {
            let got: Vec<String> = read_lines(&ctx, &p, mp);
            assert_eq!(got, *want, "content {content:?} mp={mp}");
        }
    }
    assert!(ctx.text_file_with(dir.path().join("missing"), 2).is_err());
}

#[test]
fn text_file_long_lines_and_crlf() {
    let ctx = ctx();
    let dir = tempfile::tempdir().unwrap();
    // Lines longer than a read chunk and than a split.
    let long: Vec<String> = vec![
        "a".into(),
        "x".repeat(150_000),
        String::new(),
        "b".into(),
        "y".repeat(70_000),
        "c".into(),
    ];
    let p = dir.path().join("long.txt");
    std::fs::write(&p, long.join("\n")).unwrap();
    // Many CRLF lines: a "\r\n" will straddle some split boundary.
    let crlf = text_lines(4000, 3);
    let q = dir.path().join("crlf.txt");
    std::fs::write(&q, crlf.join("\r\n") + "\r\n").unwrap();
    for mp in [1usize, 2, 3, 7, 20, 101] {
        for (path, want) in [(&p, &long), (&q, &crlf)] {
            let got: Vec<String> = read_lines(&ctx, path, mp);
            assert_eq!(got.len(), want.len(), "{} mp={mp}", path.display());
            assert!(got == *want, "{} mp={mp}: lines differ", path.display());
        }
    }
}

#[test]
fn word_count_over_text_matches_reference() {
    // Str records and keys (inline and buffer-sharing) through shuffles.
    let ctx = ctx();
    let dir = tempfile::tempdir().unwrap();
    let mut r = Lcg(17);
    let vocab: Vec<String> = (0..60)
        .map(|i| match i % 4 {
            0 => format!("w{i}"),
            1 => format!("a-rather-long-word-beyond-inline-size-{i}"),
            2 => format!("ünïcødé{i}"),
            _ => "x".repeat(i),
        })
        .collect();
    let lines: Vec<String> = (0..2000)
        .map(|_| {
            let n = (r.next() % 9) as usize;
            let words: Vec<&str> = (0..n)
                .map(|_| vocab[(r.next() % vocab.len() as u64) as usize].as_str())
                .collect();
            let sep = if r.next() % 3 == 0 { " \t  " } else { " " };
            words.join(sep)
        })
        .collect();
    let p = dir.path().join("words.txt");
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    let mut want: BTreeMap<String, u64> = BTreeMap::new();
    for l in &lines {
        for w in l.split_ascii_whitespace() {
            *want.entry(w.to_string()).or_default() += 1;
        }
    }
    for mp in [1usize, 3, 7] {
        let words = ctx.text_file_with(&p, mp).unwrap().flat_map(Str::words);
        let counts = words.map(|w| (w, 1u64)).reduce_by_key(|a, b| a + b);
        let got: BTreeMap<String, u64> = counts
            .collect()
            .unwrap()
            .into_iter()
            .map(|(w, c)| (String::from(w), c))
            .collect();
        assert_eq!(got, want, "mp={mp}");
        // Sorting Str keys.
        let sorted_words: Vec<String> = counts
            .sort_by_key(true)
            .unwrap()
            .keys()
            .collect()
            .unwrap()
            .into_iter()
            .map(String::from)
            .collect();
        assert_eq!(sorted_words, want.keys().cloned().collect::<Vec<_>>());
        // Joining Str keys with keys made from Strings.
        let lens = ctx.parallelize_with(
            vocab
                .iter()
                .map(|w| (Str::from(w.as_str()), w.len()))
                .collect(),
            2,
        );
        let joined = counts.join(&lens).collect().unwrap();
        let mut got_j: Vec<(String, u64, usize)> = joined
            .into_iter()
            .map(|(w, (c, l))| (String::from(w), c, l))
            .collect();
        got_j.sort();
        let want_j: Vec<(String, u64, usize)> =
            want.iter().map(|(w, c)| (w.clone(), *c, w.len())).collect();
        assert_eq!(got_j, want_j);
    }
}

#[test]
fn text_file_directory_reads_every_file_once() {
    let ctx = ctx();
    let dir = tempfile::tempdir().unwrap();
    let mut expected = Vec::new();
    // Files are read in sorted name order.
    for (name, n) in [
        ("a.txt", 700usize),
        ("b.txt", 0),
        ("c.txt", 3000),
        ("d.txt", 1),
    ] {
        let lines = text_lines(n, n as u64 + 1);
        let text = if lines.is_empty() {
            String::new()
        } else {
            lines.join("\n") + "\n"
        };
        std::fs::write(dir.path().join(name), text).unwrap();
        expected.extend(lines);
    }
    std::fs::write(dir.path().join("_SUCCESS"), "").unwrap();
    std::fs::write(dir.path().join(".hidden"), "hidden\n").unwrap();
    std::fs::write(dir.path().join("_ignored"), "ignored\n").unwrap();
    for mp in [1usize, 3, 7, 20] {
        let got: Vec<String> = read_lines(&ctx, dir.path(), mp);
        assert_eq!(got, expected, "mp={mp}");
    }
}

#[test]
fn save_as_text_file_layout_and_round_trip() {
    // Writes under a temporary directory of this process.
    let ctx = local_ctx();
    let tmp = tempfile::tempdir().unwrap();
    for data in int_inputs() {
        for p in PARTS {
            let out = tmp.path().join(format!("out-{}-{p}", data.len()));
            let rdd = ctx.parallelize_with(data.clone(), p);
            rdd.save_as_text_file(&out).unwrap();
            let mut names: Vec<String> = std::fs::read_dir(&out)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
                .collect();
            names.sort();
            let mut want: Vec<String> = (0..p).map(|i| format!("part-{i:05}")).collect();
            want.push("_SUCCESS".into());
            want.sort();
            assert_eq!(names, want);
            assert_eq!(std::fs::read(out.join("_SUCCESS")).unwrap(), b"");
            for (i, part) in slices(&data, p).iter().enumerate() {
                let text = std::fs::read_to_string(out.join(format!("part-{i:05}"))).unwrap();
                let want: String = part.iter().map(|x| format!("{x}\n")).collect();
                assert_eq!(text, want, "part {i} of {p}");
            }
            // Reading the directory back gives the same lines in the same order.
            let back: Vec<String> = read_lines(&ctx, &out, 1);
            let want: Vec<String> = data.iter().map(|x| x.to_string()).collect();
            assert_eq!(back, want);
            // Saving again to an existing directory fails and leaves it alone.
            assert!(ctx
                .parallelize_with(vec![1, 2], 1)
                .save_as_text_file(&out)
                .is_err());
            let text = std::fs::read_to_string(out.join("part-00000")).unwrap();
            let want: String = slices(&data, p)[0]
                .iter()
                .map(|x| format!("{x}\n"))
                .collect();
            assert_eq!(text, want);
        }
    }
}

#[test]
fn save_as_text_file_of_strings() {
    // Writes under a temporary directory of this process.
    let ctx = local_ctx();
    let tmp = tempfile::tempdir().unwrap();
    let lines = text_lines(300, 5);
    let out = tmp.path().join("strings");
    ctx.parallelize_with(lines.clone(), 3)
        .save_as_text_file(&out)
        .unwrap();
    let back: Vec<String> = read_lines(&ctx, &out, 4);
    assert_eq!(back, lines);
}

#[test]
fn empty_rdd() {
    let ctx = ctx();
    let e = ctx.empty::<i64>();
    assert_eq!(e.num_partitions(), 0);
    assert_eq!(e.collect().unwrap(), Vec::<i64>::new());
    assert_eq!(e.count().unwrap(), 0);
    assert_eq!(e.take(3).unwrap(), Vec::<i64>::new());
    assert!(matches!(e.first(), Err(Error::EmptyRdd(_))));
    assert!(matches!(e.reduce(|a, b| a + b), Err(Error::EmptyRdd(_))));
    assert_eq!(e.fold(5, |a, b| a + b).unwrap(), 5);
    assert_eq!(e.top(2).unwrap(), Vec::<i64>::new());
    assert_eq!(e.take_ordered(2).unwrap(), Vec::<i64>::new());
    assert!(e.count_by_value().unwrap().is_empty());
    assert_eq!(e.map(|x| x + 1).collect().unwrap(), Vec::<i64>::new());
    assert_eq!(e.distinct().collect().unwrap(), Vec::<i64>::new());
    assert_eq!(e.zip_with_index().unwrap().count().unwrap(), 0);
    let u = e.union(&ctx.parallelize_with(vec![1, 2, 3], 2));
    assert_eq!(u.num_partitions(), 2);
    assert_eq!(u.collect().unwrap(), vec![1, 2, 3]);
    let pe = ctx.empty::<(u32, i64)>();
    assert_eq!(pe.reduce_by_key(|a, b| a + b).count().unwrap(), 0);
    assert_eq!(pe.group_by_key().count().unwrap(), 0);
    assert!(pe.count_by_key().unwrap().is_empty());
    assert_eq!(
        pe.join(&ctx.parallelize_with(vec![(1u32, 1i64)], 2))
            .count()
            .unwrap(),
        0
    );
    assert_eq!(
        e.cartesian(&ctx.parallelize_with(vec![1, 2], 2))
            .count()
            .unwrap(),
        0
    );
}

#[test]
fn range_with_more_than_i64_max_elements() {
    let ctx = ctx();
    // 2^64 - 1 elements over 2 slices: slice 1 starts at index 2^63 - 1, the value -1.
    let rdd = ctx.range(i64::MIN, i64::MAX, 1, 2).unwrap();
    let heads = rdd
        .map_partitions_with_index(|i, it| it.take(2).map(move |x| (i, x)))
        .collect()
        .unwrap();
    assert_eq!(
        heads,
        vec![(0, i64::MIN), (0, i64::MIN + 1), (1, -1), (1, 0)]
    );
}

#[test]
fn sort_by_key_of_empty_rdd() {
    let ctx = ctx();
    let pe = ctx.empty::<(u32, i64)>();
    assert_eq!(pe.sort_by_key(true).unwrap().collect().unwrap(), vec![]);
    let e = ctx.empty::<i64>();
    assert_eq!(
        e.sort_by(|x| *x, true, 2).unwrap().collect().unwrap(),
        Vec::<i64>::new()
    );
}

// ---------------------------------------------------------------------------------------
// A file that changes after it was listed
// ---------------------------------------------------------------------------------------

#[test]
fn text_file_whose_length_changes_after_listing() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("f.txt");
    let lines: Vec<String> = (0..2000).map(|i| format!("line {i}")).collect();
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    let ctx = Context::local(2).unwrap();
    // Grows: what was listed is read (the last line finished), nothing panics.
    let grows = ctx.text_file_with(&p, 4).unwrap();
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"extra 1\nextra 2\n").unwrap();
    }
    let got: Vec<String> = grows
        .collect()
        .unwrap()
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(got, lines);
    // Shrinks: the lines still there, no panic, no duplicates.
    let shrinks = ctx.text_file_with(&p, 4).unwrap();
    std::fs::write(&p, lines[..10].join("\n") + "\n").unwrap();
    let got: Vec<String> = shrinks
        .collect()
        .unwrap()
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(got, lines[..10].to_vec());
    // Disappears: a task error naming the file, not a hang or a dead process.
    let gone = ctx.text_file_with(&p, 2).unwrap();
    std::fs::remove_file(&p).unwrap();
    let e = gone.collect().unwrap_err().to_string();
    assert!(e.contains("f.txt"), "{e}");
}
