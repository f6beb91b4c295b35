//! Sources and narrow transformations.
//!
//! Oracle tests: spate against a plain in-memory Rust reference (see `oracle_common`).

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
            let rdd = ctx.parallelize(data.clone(), p);
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
            let rdd = ctx.text_file(path, mp).unwrap();
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
            let got: Vec<String> = ctx
                .text_file(&p, mp)
                .unwrap()
                .collect()
                .unwrap()
                .into_iter()
                .map(String::from)
                .collect();
            assert_eq!(got, *want, "content {content:?} mp={mp}");
        }
    }
    assert!(ctx.text_file(dir.path().join("missing"), 2).is_err());
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
            let got: Vec<String> = ctx
                .text_file(path, mp)
                .unwrap()
                .collect()
                .unwrap()
                .into_iter()
                .map(String::from)
                .collect();
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
        let words = ctx.text_file(&p, mp).unwrap().flat_map(Str::words);
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
        let lens = ctx.parallelize(
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
        let got: Vec<String> = ctx
            .text_file(dir.path(), mp)
            .unwrap()
            .collect()
            .unwrap()
            .into_iter()
            .map(String::from)
            .collect();
        assert_eq!(got, expected, "mp={mp}");
    }
}

#[test]
fn save_as_text_file_layout_and_round_trip() {
    let ctx = ctx();
    let tmp = tempfile::tempdir().unwrap();
    for data in int_inputs() {
        for p in PARTS {
            let out = tmp.path().join(format!("out-{}-{p}", data.len()));
            let rdd = ctx.parallelize(data.clone(), p);
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
            let back: Vec<String> = ctx
                .text_file(&out, 1)
                .unwrap()
                .collect()
                .unwrap()
                .into_iter()
                .map(String::from)
                .collect();
            let want: Vec<String> = data.iter().map(|x| x.to_string()).collect();
            assert_eq!(back, want);
            // Saving again to an existing directory fails and leaves it alone.
            assert!(ctx
                .parallelize(vec![1, 2], 1)
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
    let ctx = ctx();
    let tmp = tempfile::tempdir().unwrap();
    let lines = text_lines(300, 5);
    let out = tmp.path().join("strings");
    ctx.parallelize(lines.clone(), 3)
        .save_as_text_file(&out)
        .unwrap();
    let back: Vec<String> = ctx
        .text_file(&out, 4)
        .unwrap()
        .collect()
        .unwrap()
        .into_iter()
        .map(String::from)
        .collect();
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
    let u = e.union(&ctx.parallelize(vec![1, 2, 3], 2));
    assert_eq!(u.num_partitions(), 2);
    assert_eq!(u.collect().unwrap(), vec![1, 2, 3]);
    let pe = ctx.empty::<(u32, i64)>();
    assert_eq!(pe.reduce_by_key(|a, b| a + b).count().unwrap(), 0);
    assert_eq!(pe.group_by_key().count().unwrap(), 0);
    assert!(pe.count_by_key().unwrap().is_empty());
    assert_eq!(
        pe.join(&ctx.parallelize(vec![(1u32, 1i64)], 2))
            .count()
            .unwrap(),
        0
    );
    assert_eq!(
        e.cartesian(&ctx.parallelize(vec![1, 2], 2))
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
// Narrow transformations
// ---------------------------------------------------------------------------------------

#[test]
fn map_flat_map_filter_keep_partition_order() {
    let ctx = ctx();
    for data in int_inputs() {
        for p in PARTS {
            let rdd = ctx.parallelize(data.clone(), p);
            let m = rdd.map(|x| x * 3 - 1);
            assert_eq!(m.num_partitions(), p);
            let want: Vec<i64> = data.iter().map(|x| x * 3 - 1).collect();
            assert_eq!(m.collect().unwrap(), want);

            let f = rdd.filter(|x: &i64| x % 2 == 0);
            let want: Vec<i64> = data.iter().copied().filter(|x| x % 2 == 0).collect();
            assert_eq!(f.collect().unwrap(), want);
            // Filtering is per partition.
            let want_parts: Vec<Vec<i64>> = slices(&data, p)
                .into_iter()
                .map(|s| s.into_iter().filter(|x| x % 2 == 0).collect())
                .collect();
            assert_eq!(f.glom().collect().unwrap(), want_parts);

            let fm = rdd.flat_map(|x| (0..(x.rem_euclid(4))).map(move |i| x * 10 + i));
            let want: Vec<i64> = data
                .iter()
                .flat_map(|&x| (0..(x.rem_euclid(4))).map(move |i| x * 10 + i))
                .collect();
            assert_eq!(fm.collect().unwrap(), want);
            assert_eq!(fm.count().unwrap(), want.len() as u64);
        }
    }
}

#[test]
fn map_partitions_and_with_index() {
    let ctx = ctx();
    for data in int_inputs() {
        for p in PARTS {
            let rdd = ctx.parallelize(data.clone(), p);
            let sums = rdd.map_partitions(|it| std::iter::once(it.sum::<i64>()));
            let want: Vec<i64> = slices(&data, p).iter().map(|s| s.iter().sum()).collect();
            assert_eq!(sums.collect().unwrap(), want);

            let tagged = rdd.map_partitions_with_index(|i, it| it.map(move |x| (i, x)));
            let want: Vec<(usize, i64)> = slices(&data, p)
                .into_iter()
                .enumerate()
                .flat_map(|(i, s)| s.into_iter().map(move |x| (i, x)))
                .collect();
            assert_eq!(tagged.collect().unwrap(), want);

            // A partition function may also drop everything or expand.
            let doubled = rdd.map_partitions(|it| {
                let v: Vec<i64> = it.collect();
                let mut out = v.clone();
                out.extend(v);
                out
            });
            let want: Vec<i64> = slices(&data, p)
                .into_iter()
                .flat_map(|s| {
                    let mut o = s.clone();
                    o.extend(s);
                    o
                })
                .collect();
            assert_eq!(doubled.collect().unwrap(), want);
        }
    }
}

#[test]
fn glom_shows_partitions() {
    let ctx = ctx();
    for data in int_inputs() {
        for p in PARTS {
            let rdd = ctx.parallelize(data.clone(), p);
            assert_eq!(rdd.glom().collect().unwrap(), slices(&data, p));
            assert_eq!(rdd.glom().num_partitions(), p);
        }
    }
}

#[test]
fn distinct_equals_set() {
    let ctx = ctx();
    for data in int_inputs() {
        let want: Vec<i64> = data
            .iter()
            .copied()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        for p in PARTS {
            let rdd = ctx.parallelize(data.clone(), p);
            let d = rdd.distinct();
            assert_eq!(d.num_partitions(), p);
            assert_eq!(sorted(d.collect().unwrap()), want);
            let d5 = rdd.distinct_with(5usize);
            assert_eq!(d5.num_partitions(), 5);
            assert_eq!(sorted(d5.collect().unwrap()), want);
            let d2 = rdd.distinct_with(HashPartitioner::new(2));
            assert_eq!(d2.num_partitions(), 2);
            assert_eq!(sorted(d2.collect().unwrap()), want);
        }
    }
}

#[test]
fn union_concatenates_in_order() {
    let ctx = ctx();
    let inputs = int_inputs();
    for a in &inputs {
        for b in &inputs {
            for (pa, pb) in [(1usize, 3usize), (3, 7), (7, 1)] {
                let ra = ctx.parallelize(a.clone(), pa);
                let rb = ctx.parallelize(b.clone(), pb);
                let u = ra.union(&rb);
                assert_eq!(u.num_partitions(), pa + pb);
                let mut want = a.clone();
                want.extend(b.iter().copied());
                assert_eq!(u.collect().unwrap(), want);
                let mut want_parts = slices(a, pa);
                want_parts.extend(slices(b, pb));
                assert_eq!(u.glom().collect().unwrap(), want_parts);

                let three = ctx.union(vec![ra.clone(), rb.clone(), ra.clone()]);
                assert_eq!(three.num_partitions(), 2 * pa + pb);
                let mut want3 = want.clone();
                want3.extend(a.iter().copied());
                assert_eq!(three.collect().unwrap(), want3);
            }
        }
    }
}

#[test]
fn union_of_copartitioned_rdds_keeps_partitioner() {
    let ctx = ctx();
    let a = ctx
        .parallelize(pairs(100, 9, 1), 3)
        .partition_by(HashPartitioner::new(4));
    let b = ctx
        .parallelize(pairs(80, 13, 2), 7)
        .partition_by(HashPartitioner::new(4));
    let u = a.union(&b);
    assert_hash_partitioned(&u, 4);
    let mut want = pairs(100, 9, 1);
    want.extend(pairs(80, 13, 2));
    assert_eq!(sorted(u.collect().unwrap()), sorted(want.clone()));
    let u3 = ctx.union(vec![a.clone(), b.clone(), a.clone()]);
    assert_hash_partitioned(&u3, 4);
    want.extend(pairs(100, 9, 1));
    assert_eq!(sorted(u3.collect().unwrap()), sorted(want));
    // Differently partitioned parents: a plain union.
    let c = ctx
        .parallelize(pairs(10, 3, 3), 2)
        .partition_by(HashPartitioner::new(5));
    let uc = a.union(&c);
    assert_eq!(uc.num_partitions(), 9);
    assert_eq!(uc.partitioner(), None);
}

#[test]
fn repartition_and_coalesce_with_shuffle_keep_multiset() {
    let ctx = ctx();
    for data in int_inputs() {
        for p in PARTS {
            let rdd = ctx.parallelize(data.clone(), p);
            for n in [1usize, 2, 4, 10] {
                let r = rdd.repartition(n);
                assert_eq!(r.num_partitions(), n);
                assert_eq!(sorted(r.collect().unwrap()), sorted(data.clone()));
                let c = rdd.coalesce(n, true);
                assert_eq!(c.num_partitions(), n);
                assert_eq!(sorted(c.collect().unwrap()), sorted(data.clone()));
            }
        }
    }
    // Repartitioning spreads records about evenly (Spark's round-robin from a random start).
    let big: Vec<i64> = (0..1000).collect();
    let r = ctx.parallelize(big, 3).repartition(5);
    for part in r.glom().collect().unwrap() {
        assert!(
            (150..=250).contains(&part.len()),
            "partition of {}",
            part.len()
        );
    }
}

#[test]
fn coalesce_without_shuffle_keeps_order() {
    let ctx = ctx();
    for data in int_inputs() {
        for p in PARTS {
            let rdd = ctx.parallelize(data.clone(), p);
            for n in [1usize, 2, 3, 10] {
                let c = rdd.coalesce(n, false);
                assert_eq!(c.num_partitions(), n.min(p), "coalesce({n}) of {p}");
                assert_eq!(c.collect().unwrap(), data);
                // Output partition i concatenates parent partitions [i*p/m, (i+1)*p/m), as
                // Spark's coalescer does for parents without preferred locations.
                let m = n.min(p);
                let parents = slices(&data, p);
                let want: Vec<Vec<i64>> = (0..m)
                    .map(|i| parents[i * p / m..(i + 1) * p / m].concat())
                    .collect();
                assert_eq!(c.glom().collect().unwrap(), want, "coalesce({n}) of {p}");
            }
        }
    }
}

#[test]
fn sample_is_deterministic_and_about_the_fraction() {
    let ctx = ctx();
    let data: Vec<i64> = (0..10_000).collect();
    let rdd = ctx.parallelize(data.clone(), 7);
    for fraction in [0.1, 0.3, 0.75] {
        let a = rdd.sample(false, fraction, 42).collect().unwrap();
        let b = rdd.sample(false, fraction, 42).collect().unwrap();
        assert_eq!(a, b, "same seed, same sample");
        let c = rdd.sample(false, fraction, 43).collect().unwrap();
        assert_ne!(a, c, "another seed, another sample");
        let expected = fraction * data.len() as f64;
        assert!(
            (a.len() as f64 - expected).abs() < 300.0,
            "{} records for fraction {fraction}",
            a.len()
        );
        // Without replacement: a subsequence of the input.
        assert!(a.windows(2).all(|w| w[0] < w[1]));

        let w1 = rdd.sample(true, fraction, 7).collect().unwrap();
        let w2 = rdd.sample(true, fraction, 7).collect().unwrap();
        assert_eq!(w1, w2);
        assert!(
            (w1.len() as f64 - expected).abs() < 400.0,
            "{} records with replacement for fraction {fraction}",
            w1.len()
        );
        assert!(w1.windows(2).all(|w| w[0] <= w[1]));
        assert!(w1.iter().all(|x| (0..10_000).contains(x)));
    }
    // With replacement and fraction > 1: about fraction * n, with repeats.
    let w = rdd.sample(true, 2.0, 1).collect().unwrap();
    assert!((w.len() as f64 - 20_000.0).abs() < 800.0, "{}", w.len());
    assert_eq!(rdd.sample(false, 0.0, 1).count().unwrap(), 0);
    assert_eq!(rdd.sample(false, 1.0, 1).collect().unwrap(), data);
    assert_eq!(rdd.sample(true, 0.0, 1).count().unwrap(), 0);
}

#[test]
fn zip_with_index_numbers_in_partition_order() {
    let ctx = ctx();
    for data in int_inputs() {
        for p in PARTS {
            let rdd = ctx.parallelize(data.clone(), p);
            let z = rdd.zip_with_index().unwrap();
            assert_eq!(z.num_partitions(), p);
            let want: Vec<(i64, u64)> = data.iter().copied().zip(0u64..).collect();
            assert_eq!(z.collect().unwrap(), want);
            // After a filter that empties partitions.
            let f = rdd.filter(|x: &i64| *x > 3);
            let want: Vec<(i64, u64)> = data
                .iter()
                .copied()
                .filter(|x| *x > 3)
                .zip(0u64..)
                .collect();
            assert_eq!(f.zip_with_index().unwrap().collect().unwrap(), want);
        }
    }
}

#[test]
fn key_by_keys_values() {
    let ctx = ctx();
    for data in int_inputs() {
        for p in PARTS {
            let rdd = ctx.parallelize(data.clone(), p);
            let kb = rdd.key_by(|x: &i64| x.rem_euclid(5) as u32);
            let want: Vec<(u32, i64)> = data.iter().map(|&x| (x.rem_euclid(5) as u32, x)).collect();
            assert_eq!(kb.collect().unwrap(), want);
            assert_eq!(
                kb.keys().collect().unwrap(),
                want.iter().map(|x| x.0).collect::<Vec<_>>()
            );
            assert_eq!(kb.values().collect().unwrap(), data);
        }
    }
}

#[test]
fn sort_by_sorts_globally() {
    let ctx = ctx();
    for data in int_inputs() {
        for p in PARTS {
            let rdd = ctx.parallelize(data.clone(), p);
            for n in [1usize, 3, 5] {
                // By a key that is not the record: |x| mod 10.
                let key = |x: &i64| x.abs() % 10;
                let asc = rdd.sort_by(key, true, n).unwrap();
                assert!(asc.num_partitions() <= n);
                let got = asc.collect().unwrap();
                let keys: Vec<i64> = got.iter().map(key).collect();
                assert_eq!(keys, sorted(keys.clone()));
                assert_eq!(sorted(got), sorted(data.clone()));

                let desc = rdd.sort_by(|x: &i64| *x, false, n).unwrap();
                let mut want = sorted(data.clone());
                want.reverse();
                assert_eq!(desc.collect().unwrap(), want);
            }
        }
    }
}

#[test]
fn cartesian_pairs_partitions_in_order() {
    let ctx = ctx();
    let small = [vec![], vec![1i64, 1, 2], ints(13, 5, 9)];
    for a in &small {
        for b in &small {
            for (pa, pb) in [(1usize, 1usize), (3, 2), (2, 7)] {
                let ra = ctx.parallelize(a.clone(), pa);
                let rb = ctx.parallelize(b.iter().map(|x| x.to_string()).collect(), pb);
                let c = ra.cartesian(&rb);
                assert_eq!(c.num_partitions(), pa * pb);
                let sa = slices(a, pa);
                let sb = slices(b, pb);
                let mut want = Vec::new();
                for pa_part in &sa {
                    for pb_part in &sb {
                        for x in pa_part {
                            for y in pb_part {
                                want.push((*x, y.to_string()));
                            }
                        }
                    }
                }
                assert_eq!(c.collect().unwrap(), want);
                assert_eq!(c.count().unwrap(), (a.len() * b.len()) as u64);
            }
        }
    }
}

#[test]
fn intersection_and_subtract() {
    let ctx = ctx();
    let inputs = int_inputs();
    for a in &inputs {
        for b in &inputs {
            for (pa, pb) in [(1usize, 3usize), (7, 3)] {
                let ra = ctx.parallelize(a.clone(), pa);
                let rb = ctx.parallelize(b.clone(), pb);
                let sa: BTreeSet<i64> = a.iter().copied().collect();
                let sb: BTreeSet<i64> = b.iter().copied().collect();
                let want: Vec<i64> = sa.intersection(&sb).copied().collect();
                assert_eq!(sorted(ra.intersection(&rb).collect().unwrap()), want);
                let want: Vec<i64> = a.iter().copied().filter(|x| !sb.contains(x)).collect();
                assert_eq!(sorted(ra.subtract(&rb).collect().unwrap()), sorted(want));
            }
        }
    }
}
