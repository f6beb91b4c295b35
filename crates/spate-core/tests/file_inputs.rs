//! File inputs: globs, path lists and compressed files for `text_file`, whole files,
//! binary records, and object files round-tripped (including damaged ones). Every
//! expectation is computed from the files the test wrote.

mod oracle_common;

use oracle_common::*;
use spate_core::rng::SplitMix64;
use std::io::Write;
use std::path::Path;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn zstd_bytes(bytes: &[u8]) -> Vec<u8> {
    zstd::encode_all(bytes, 3).unwrap()
}

/// Lines `prefix-0 .. prefix-(n-1)`, each with some padding, newline-terminated.
fn lines(prefix: &str, n: usize) -> String {
    (0..n)
        .map(|i| format!("{prefix}-{i}-{}\n", "p".repeat(i % 23)))
        .collect()
}

fn collect_lines(rdd: &Rdd<Str>) -> Vec<String> {
    rdd.collect()
        .unwrap()
        .into_iter()
        .map(String::from)
        .collect()
}

fn want_lines(texts: &[&str]) -> Vec<String> {
    texts
        .iter()
        .flat_map(|t| t.lines().map(String::from))
        .collect()
}

/// A tree: `logs/2024-01/{a.txt, b.txt.gz}`, `logs/2024-02/{c.txt, d.txt.zst, _skip.txt}`,
/// `logs/2024-02/e.csv`; returns the texts by name.
fn tree(root: &Path) -> BTreeMap<&'static str, String> {
    let mut texts = BTreeMap::new();
    for (dir, name, n) in [
        ("2024-01", "a.txt", 3000),
        ("2024-01", "b.txt.gz", 2500),
        ("2024-02", "c.txt", 10),
        ("2024-02", "d.txt.zst", 4000),
        ("2024-02", "_skip.txt", 5),
        ("2024-02", "e.csv", 7),
    ] {
        let d = root.join("logs").join(dir);
        std::fs::create_dir_all(&d).unwrap();
        let text = lines(name, n);
        let bytes = if name.ends_with(".gz") {
            gzip(text.as_bytes())
        } else if name.ends_with(".zst") {
            zstd_bytes(text.as_bytes())
        } else {
            text.clone().into_bytes()
        };
        std::fs::write(d.join(name), bytes).unwrap();
        texts.insert(name, text);
    }
    texts
}

#[test]
fn text_file_reads_globs_lists_and_compressed_files() {
    let ctx = local_ctx();
    let d = tempfile::tempdir().unwrap();
    let t = tree(d.path());
    let r = d.path().display();
    let (a, b, c, dz, e) = (
        &t["a.txt"],
        &t["b.txt.gz"],
        &t["c.txt"],
        &t["d.txt.zst"],
        &t["e.csv"],
    );
    let cases: Vec<(String, Vec<String>)> = vec![
        (format!("{r}/logs/*/*.txt"), want_lines(&[a, c])),
        (
            format!("{r}/logs/2024-0?/*.txt*"),
            want_lines(&[a, b, c, dz]),
        ),
        (format!("{r}/logs/2024-0[2]"), want_lines(&[c, dz, e])),
        (
            format!("{r}/logs/{{2024-02,2024-01}}/[a-c]*"),
            want_lines(&[a, b, c]),
        ),
        (format!("{r}/logs/2024-01/b.txt.gz"), want_lines(&[b])),
        (
            format!("{r}/logs/2024-02/d.txt.zst,{r}/logs/2024-01,{r}/logs/*/e.*"),
            want_lines(&[dz, a, b, e]),
        ),
    ];
    for (spec, want) in cases {
        for min in [1, 3, 8] {
            let rdd = ctx.text_file_with(&spec, min).unwrap();
            assert_eq!(collect_lines(&rdd), want, "{spec} min {min}");
        }
    }
    // A compressed file is one partition however many are asked for; a plain one splits.
    let gz = ctx
        .text_file_with(format!("{r}/logs/2024-01/b.txt.gz"), 8)
        .unwrap();
    assert_eq!(gz.num_partitions(), 1);
    let plain = ctx
        .text_file_with(format!("{r}/logs/2024-01/a.txt"), 8)
        .unwrap();
    assert!(plain.num_partitions() >= 8);
    let both = ctx
        .text_file_with(format!("{r}/logs/2024-01/*"), 8)
        .unwrap();
    assert_eq!(both.num_partitions(), plain.num_partitions() + 1);
    assert_eq!(both.count().unwrap(), 5500);
}

#[test]
fn a_pattern_matching_nothing_is_an_error_naming_it() {
    let ctx = local_ctx();
    let d = tempfile::tempdir().unwrap();
    tree(d.path());
    let r = d.path().display();
    for spec in [
        format!("{r}/logs/*/*.parquet"),
        format!("{r}/nothing*"),
        format!("{r}/logs/2024-01/a.txt,{r}/logs/2099-*"),
    ] {
        let e = ctx.text_file(&spec).unwrap_err().to_string();
        assert!(e.contains("matches 0 files"), "{e}");
        let bad = spec.rsplit(',').next().unwrap();
        assert!(e.contains(bad), "{e} should name {bad}");
    }
    let e = ctx
        .text_file(format!("{r}/logs/missing.txt"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing.txt"), "{e}");
    assert!(ctx.whole_text_files(&format!("{r}/x*")).is_err());
    assert!(ctx.binary_records(&format!("{r}/x*"), 4).is_err());
    assert!(ctx.object_file::<u32>(&format!("{r}/x*")).is_err());
}

/// `text_file_capped` (a file stream's reader) takes the path it is given literally.
#[test]
fn capped_reader_takes_paths_literally() {
    let ctx = local_ctx();
    let d = tempfile::tempdir().unwrap();
    let odd = d.path().join("odd[1],{x}*.txt");
    std::fs::write(&odd, "one\ntwo\n").unwrap();
    let gz = d.path().join("new.txt.gz");
    std::fs::write(&gz, gzip(b"g1\ng2\n")).unwrap();
    let (rdd, _) = ctx.text_file_capped(&odd, 1, 100).unwrap();
    assert_eq!(collect_lines(&rdd), vec!["one", "two"]);
    let (rdd, _) = ctx.text_file_capped(&gz, 1, 100).unwrap();
    assert_eq!(collect_lines(&rdd), vec!["g1", "g2"]);
    // Empty compressed files are empty.
    let sub = d.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(sub.join("e.gz"), b"").unwrap();
    std::fs::write(sub.join("e.zst"), b"").unwrap();
    std::fs::write(sub.join("f.txt.gz"), gzip(b"")).unwrap();
    let spec = sub.display().to_string();
    assert_eq!(ctx.text_file(&spec).unwrap().count().unwrap(), 0);
    let whole: Vec<String> = ctx
        .whole_text_files(&spec)
        .unwrap()
        .collect()
        .unwrap()
        .into_iter()
        .map(|(_, t)| String::from(t))
        .collect();
    assert_eq!(whole, vec!["", "", ""]);
    // Through text_file, `\` escapes the glob characters and the comma.
    let escaped = odd
        .display()
        .to_string()
        .replace('[', "\\[")
        .replace(']', "\\]")
        .replace(',', "\\,")
        .replace('{', "\\{")
        .replace('}', "\\}")
        .replace('*', "\\*");
    assert_eq!(
        collect_lines(&ctx.text_file(&escaped).unwrap()),
        vec!["one", "two"]
    );
    // `escape_glob` makes the same literal path.
    let literal = spate_core::rdd::escape_glob(&odd.display().to_string());
    assert_eq!(
        collect_lines(&ctx.text_file(&literal).unwrap()),
        vec!["one", "two"]
    );
}

#[test]
fn whole_text_files_and_binary_files() {
    let ctx = local_ctx();
    let d = tempfile::tempdir().unwrap();
    let t = tree(d.path());
    let r = d.path().display();
    let dir2 = format!("{r}/logs/2024-02");
    for min in [1, 2, 5] {
        let got = ctx.whole_text_files_with(&dir2, min).unwrap();
        assert!(got.num_partitions() <= 3 && got.num_partitions() >= 1);
        let got: Vec<(String, String)> = got
            .collect()
            .unwrap()
            .into_iter()
            .map(|(p, s)| (p, String::from(s)))
            .collect();
        let want: Vec<(String, String)> = ["c.txt", "d.txt.zst", "e.csv"]
            .iter()
            .map(|n| (format!("{dir2}/{n}"), t[n].clone()))
            .collect();
        assert_eq!(got, want, "min {min}");
    }
    let all = ctx
        .whole_text_files_with(&format!("{r}/logs/*/*.txt*"), 4)
        .unwrap();
    // Packed by size: at most one partition per file.
    assert!((1..=4).contains(&all.num_partitions()));
    let names: Vec<String> = all.collect().unwrap().into_iter().map(|x| x.0).collect();
    assert_eq!(names.len(), 4);
    // binary_files: the bytes as stored, compressed or not.
    let bins = ctx.binary_files(&format!("{r}/logs/2024-01")).unwrap();
    for (p, bytes) in bins.collect().unwrap() {
        assert_eq!(bytes, std::fs::read(&p).unwrap(), "{p}");
    }
    assert_eq!(bins.count().unwrap(), 2);
}

#[test]
fn binary_records_split_on_record_boundaries() {
    let ctx = local_ctx();
    let d = tempfile::tempdir().unwrap();
    let mut rng = SplitMix64::new(3);
    let rl = 7usize;
    let mut want = Vec::new();
    for (name, n) in [("r1.bin", 1000usize), ("r2.bin", 0), ("r3.bin", 333)] {
        let bytes: Vec<u8> = (0..n * rl).map(|_| rng.below(256) as u8).collect();
        want.extend(bytes.chunks(rl).map(<[u8]>::to_vec));
        std::fs::write(d.path().join(name), &bytes).unwrap();
    }
    let gz_bytes: Vec<u8> = (0..50 * rl).map(|i| i as u8).collect();
    std::fs::write(d.path().join("r4.bin.gz"), gzip(&gz_bytes)).unwrap();
    want.extend(gz_bytes.chunks(rl).map(<[u8]>::to_vec));
    let rdd = ctx
        .binary_records(&d.path().display().to_string(), rl)
        .unwrap();
    assert_eq!(rdd.collect().unwrap(), want);
    for p in rdd.glom().collect().unwrap() {
        assert!(p.iter().all(|r| r.len() == rl));
    }
    // A plain file of the wrong length is refused up front, naming it and both numbers.
    let bad = d.path().join("bad.bin");
    std::fs::write(&bad, vec![0u8; 2 * rl + 3]).unwrap();
    let e = ctx
        .binary_records(&bad.display().to_string(), rl)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("bad.bin") && e.contains("17") && e.contains(" 7"),
        "{e}"
    );
    // A compressed one fails the job that reads it.
    let badgz = d.path().join("bad.bin.gz");
    std::fs::write(&badgz, gzip(&[1u8; 10])).unwrap();
    let e = ctx
        .binary_records(&badgz.display().to_string(), rl)
        .unwrap()
        .collect()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("bad.bin.gz") && e.contains("10") && e.contains(" 7"),
        "{e}"
    );
    assert!(ctx.binary_records(&bad.display().to_string(), 0).is_err());
}

#[test]
fn object_files_round_trip() {
    let ctx = local_ctx();
    let d = tempfile::tempdir().unwrap();
    let data: Vec<(String, u64, Vec<i32>)> = (0..5000u64)
        .map(|i| (format!("k{i}"), i * i, (0..(i % 9) as i32).collect()))
        .collect();
    for p in [1, 4, 9] {
        let out = d.path().join(format!("objs{p}"));
        ctx.parallelize_with(data.clone(), p)
            .save_as_object_file(&out)
            .unwrap();
        assert!(out.join("_SUCCESS").exists() && !out.join("_temporary").exists());
        let back = ctx
            .object_file::<(String, u64, Vec<i32>)>(&out.display().to_string())
            .unwrap();
        assert_eq!(back.num_partitions(), p);
        assert_eq!(back.collect().unwrap(), data);
    }
    // Records larger than a chunk, and empty partitions.
    let big: Vec<Vec<u8>> = (0..5).map(|i| vec![i as u8; 200_000]).collect();
    let out = d.path().join("big");
    ctx.parallelize_with(big.clone(), 8)
        .save_as_object_file(&out)
        .unwrap();
    let back = ctx
        .object_file::<Vec<u8>>(&format!("{}/part-*", out.display()))
        .unwrap();
    assert_eq!(back.collect().unwrap(), big);
    // Saving over an existing directory is refused.
    assert!(ctx
        .parallelize(vec![1u8])
        .save_as_object_file(&out)
        .unwrap_err()
        .to_string()
        .contains("already exists"));
    // Str records go out and come back.
    let strs = ctx.parallelize_with(vec![Str::from("a"), Str::from("bb")], 2);
    let out = d.path().join("strs");
    strs.save_as_object_file(&out).unwrap();
    let back = ctx.object_file::<Str>(&out.display().to_string()).unwrap();
    assert_eq!(back.collect().unwrap(), strs.collect().unwrap());
}

#[test]
fn damaged_object_files_fail_naming_file_and_offset() {
    let ctx = local_ctx();
    let d = tempfile::tempdir().unwrap();
    let data: Vec<(u32, String)> = (0..40_000).map(|i| (i, format!("v{i}"))).collect();
    let out = d.path().join("objs");
    ctx.parallelize_with(data, 2)
        .save_as_object_file(&out)
        .unwrap();
    let part = out.join("part-00001");
    let good = std::fs::read(&part).unwrap();
    assert!(good.len() > 2 * 65_536, "{}", good.len());
    let spec = out.display().to_string();

    // One flipped byte in the middle: a checksum mismatch at that chunk.
    let mut bad = good.clone();
    bad[good.len() / 2] ^= 0x01;
    std::fs::write(&part, &bad).unwrap();
    let e = ctx
        .object_file::<(u32, String)>(&spec)
        .unwrap()
        .collect()
        .unwrap_err()
        .to_string();
    eprintln!("flipped byte: {e}");
    assert!(
        e.contains("part-00001") && e.contains("at byte") && e.contains("checksum"),
        "{e}"
    );

    // Truncated inside a chunk, and at a chunk boundary (the end marker is missing).
    for cut in [good.len() / 3, good.len() - 20] {
        std::fs::write(&part, &good[..cut]).unwrap();
        let e = ctx
            .object_file::<(u32, String)>(&spec)
            .unwrap()
            .collect()
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("part-00001") && e.contains("truncated"),
            "cut {cut}: {e}"
        );
    }

    // Not an object file at all.
    std::fs::write(&part, b"hello world, not ours").unwrap();
    let e = ctx
        .object_file::<(u32, String)>(&spec)
        .unwrap()
        .count()
        .unwrap_err()
        .to_string();
    assert!(e.contains("part-00001") && e.contains("SPATEOBJ"), "{e}");

    // Restored, it reads again.
    std::fs::write(&part, &good).unwrap();
    assert_eq!(
        ctx.object_file::<(u32, String)>(&spec)
            .unwrap()
            .count()
            .unwrap(),
        40_000
    );
}
