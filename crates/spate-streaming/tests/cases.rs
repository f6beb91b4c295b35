//! Data-driven DStream tests: every `tests/cases/*.case` file, run on a manual clock and
//! checked against its expected outputs and an independent reference model.
//! `SPATE_BLESS=1` writes the engine's outputs into the files; `SPATE_CASES=<text>` runs
//! only matching files or cases. The format is described in `tests/cases/README.md`.

mod harness;

use harness::format::{self, OutLine};
use std::path::Path;

#[test]
fn streaming_cases() {
    harness::run_all();
}

// The harness's own machinery.

fn parse(text: &str) -> Vec<format::Case> {
    format::parse_file(Path::new("t.case"), text).unwrap()
}

fn line(label: &str, recs: &[&str]) -> OutLine {
    OutLine {
        label: label.into(),
        records: recs.iter().map(|s| s.to_string()).collect(),
    }
}

#[test]
fn records_split_outside_parentheses() {
    assert_eq!(
        format::split_records("(a,CompactBuffer(1, 2))  b (c,(None,Some(1)))"),
        vec!["(a,CompactBuffer(1, 2))", "b", "(c,(None,Some(1)))"]
    );
}

#[test]
fn parse_then_rewrite_round_trips_and_adds_missing_outputs() {
    let text = "# top\n\ncase: one\n# BUG: broken\nop: window window=2 slide=1 n=3\n\
                order: exact\ninput:\na b\n<empty>\ninput2:\nc\noutput:\n1000 ms: a b\n\
                2000 ms: <empty>\n\ncase: two\nop: count\ninput:\nx\n";
    let cases = parse(text);
    assert_eq!(cases.len(), 2);
    let one = &cases[0];
    assert_eq!(one.bug.as_deref(), Some("broken"));
    assert_eq!(
        (one.op.as_str(), one.param("n"), one.exact),
        ("window", Some("3"), true)
    );
    assert_eq!(one.input, vec![vec!["a", "b"], vec![]]);
    assert_eq!(one.input2.as_deref(), Some(&[vec!["c".to_string()]][..]));
    assert_eq!(
        one.batches(),
        4,
        "2 inputs + window 2, up to a multiple of the slide"
    );
    let expected = vec![line("1000 ms", &["a", "b"]), line("2000 ms", &[])];
    assert_eq!(one.expected.as_ref(), Some(&expected));
    let same = format::rewrite(text, &cases, &[Some(expected), None]);
    assert_eq!(same, text);
    let added = format::rewrite(text, &cases, &[None, Some(vec![line("1000 ms", &["1"])])]);
    assert_eq!(added, format!("{text}output:\n1000 ms: 1\n"));
}

#[test]
fn differences_name_the_batch_and_ignore_order_unless_exact() {
    let a = vec![line("1000 ms", &["x", "y"]), line("2000 ms", &["z"])];
    let b = vec![line("1000 ms", &["y", "x"]), line("2000 ms", &[])];
    assert!(harness::diff(&a[..1], &b[..1], false).is_none());
    assert!(harness::diff(&a[..1], &b[..1], true).is_some());
    let d = harness::diff(&a, &b, false).unwrap();
    assert_eq!((d.batch, d.label.as_str()), (2, "2000 ms"));
    assert_eq!(d.actual, "2000 ms: <empty>");
    let d = harness::diff(&a, &a[..1], false).unwrap();
    assert_eq!(d.actual, "(no batch)");
}

#[test]
fn reference_model_matches_hand_computed_windows() {
    let text = "case: w\nop: window window=3 slide=2\nsource: timed\norder: exact\ninput:\n\
                a\nb\nc\nd\n\ncase: r\nop: reduce_by_key_and_window_inv window=2 slide=1\n\
                input:\na:1 b:2\nb:3\n";
    let cases = parse(text);
    let w = harness::reference::expected(&cases[0]).unwrap().unwrap();
    assert_eq!(
        w,
        vec![
            line("2000 ms", &["a", "b"]),
            line("4000 ms", &["b", "c", "d"]),
            line("6000 ms", &["d"]),
            line("8000 ms", &[]),
        ]
    );
    let r = harness::reference::expected(&cases[1]).unwrap().unwrap();
    assert_eq!(
        r,
        vec![
            line("1000 ms", &["(a,1)", "(b,2)"]),
            line("2000 ms", &["(a,1)", "(b,5)"]),
            line("3000 ms", &["(a,0)", "(b,3)"]),
            line("4000 ms", &["(a,0)", "(b,0)"]),
        ]
    );
}
