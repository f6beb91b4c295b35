//! The data-driven streaming test harness: runs every `tests/cases/*.case` file on the
//! engine, checks each output batch against the file and against an independent reference
//! model, and (with `SPATE_BLESS=1`) writes the engine's outputs back into the files.
//!
//! Environment:
//! - `SPATE_BLESS=1`: rewrite `output:` sections with the engine's outputs (only where the
//!   reference model agrees; a `# BUG:` case gets the reference's output instead).
//! - `SPATE_CASES=<text>`: run only files or cases whose name contains `<text>`.
//! - `SPATE_VERBOSE=1`: print the engine's whole output for `# BUG:` cases.

pub mod engine;
pub mod engine_window;
pub mod format;
pub mod reference;

use format::{Case, OutLine};
use std::io::Write;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// A pair token: `word` is `(word, 1)`, `word:v` is `(word, v)`.
pub fn pair(tok: &str) -> Result<(String, i64), String> {
    match tok.split_once(':') {
        None => Ok((tok.to_string(), 1)),
        Some((k, v)) => Ok((k.to_string(), number(v)?)),
    }
}

/// A number token.
pub fn number(tok: &str) -> Result<i64, String> {
    tok.parse()
        .map_err(|_| format!("{tok:?} is not a number (this op reads integers)"))
}

/// Writes to the real standard error, past the test harness's output capture, so notes
/// about known bugs show on passing runs too.
fn note(msg: &str) {
    let _ = writeln!(std::io::stderr(), "{msg}");
}

/// Where two sequences of output batches first differ.
pub struct Difference {
    /// 1-based index of the batch.
    pub batch: usize,
    pub label: String,
    pub expected: String,
    pub actual: String,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "batch {} ({}):\n      expected: {}\n      actual:   {}",
            self.batch, self.label, self.expected, self.actual
        )
    }
}

/// The first difference between two sequences of output batches, if any; records are
/// compared as multisets unless `exact`.
pub fn diff(expected: &[OutLine], actual: &[OutLine], exact: bool) -> Option<Difference> {
    let show = |l: Option<&OutLine>| match l {
        Some(l) => format::format_out_line(l, exact),
        None => "(no batch)".to_string(),
    };
    let norm = |l: &OutLine| {
        let mut r = l.records.clone();
        if !exact {
            r.sort();
        }
        (l.label.clone(), r)
    };
    (0..expected.len().max(actual.len())).find_map(|i| {
        let (e, a) = (expected.get(i), actual.get(i));
        (e.map(norm) != a.map(norm)).then(|| Difference {
            batch: i + 1,
            label: e.or(a).map(|l| l.label.clone()).unwrap_or_default(),
            expected: show(e),
            actual: show(a),
        })
    })
}

/// What checking one case found.
#[derive(Default)]
struct Outcome {
    failures: Vec<String>,
    notes: Vec<String>,
    /// The output to write when blessing.
    bless: Option<Vec<OutLine>>,
    known_bug: bool,
    /// Whether the reference model covered the case.
    referenced: bool,
}

fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

fn check(case: &Case, bless: bool, verbose: bool) -> Outcome {
    let mut o = Outcome {
        known_bug: case.bug.is_some(),
        ..Outcome::default()
    };
    let actual = std::panic::catch_unwind(AssertUnwindSafe(|| engine::run(case)))
        .unwrap_or_else(|p| Err(format!("panicked: {}", panic_text(p))));
    let reference = match reference::expected(case) {
        Some(Err(e)) => {
            o.failures.push(format!("bad input: {e}"));
            return o;
        }
        Some(Ok(r)) => Some(r),
        None => None,
    };
    o.referenced = reference.is_some();
    let exact = case.exact;
    if let Some(reason) = &case.bug {
        // Run, but only report: the file holds the correct output (the reference's).
        let what = match (&actual, &case.expected) {
            (Err(e), _) => format!("engine error: {e}"),
            (Ok(a), Some(e)) => match diff(e, a, exact) {
                Some(d) => {
                    let cut = |x: &str| x.split_once(": ").map_or(x, |p| p.1).to_string();
                    format!(
                        "at {}: expected `{}`, engine `{}`",
                        d.label,
                        cut(&d.expected),
                        cut(&d.actual)
                    )
                }
                None => {
                    "the engine now gives the expected output: remove the # BUG marker".to_string()
                }
            },
            (Ok(_), None) => "no output: section yet".to_string(),
        };
        o.notes.push(format!(
            "note: known bug, skipped: {} (BUG: {reason})\n      {what}",
            case.title()
        ));
        if let (true, Ok(a)) = (verbose, &actual) {
            for l in a {
                o.notes
                    .push(format!("        {}", format::format_out_line(l, exact)));
            }
        }
        if let (Some(e), Some(r)) = (&case.expected, &reference) {
            if let Some(d) = diff(e, r, exact) {
                o.failures.push(format!(
                    "the output of this # BUG case must be the correct one, but the \
                     reference model disagrees at {d}"
                ));
            }
        }
        o.bless = reference;
        return o;
    }
    let actual = match actual {
        Ok(a) => a,
        Err(e) => {
            o.failures.push(format!("engine error: {e}"));
            return o;
        }
    };
    if reference.is_none() {
        o.notes.push(format!(
            "note: no reference model for {}: checked against the file only",
            case.title()
        ));
    }
    let mut reference_agrees = true;
    if let Some(d) = reference.as_ref().and_then(|r| diff(r, &actual, exact)) {
        reference_agrees = false;
        o.failures.push(format!(
            "engine disagrees with the reference model (expected) at {d}"
        ));
    }
    if bless {
        // Never bless an output the reference model rejects.
        if reference_agrees {
            o.bless = Some(actual);
        }
        return o;
    }
    match &case.expected {
        None => o
            .failures
            .push("no output: section (run with SPATE_BLESS=1 to write it)".to_string()),
        Some(e) => {
            if let Some(d) = diff(e, &actual, exact) {
                o.failures
                    .push(format!("engine disagrees with the file at {d}"));
            }
        }
    }
    o
}

fn case_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "case"))
        .collect();
    files.sort();
    files
}

/// Runs every case file; panics with every failure, each naming its file, case and batch.
pub fn run_all() {
    let bless = std::env::var("SPATE_BLESS").is_ok_and(|v| v == "1");
    let only = std::env::var("SPATE_CASES").ok();
    let verbose = std::env::var("SPATE_VERBOSE").is_ok_and(|v| v == "1");
    let started = Instant::now();
    let (mut run, mut bugs, mut referenced) = (0usize, 0usize, 0usize);
    let mut failures: Vec<String> = Vec::new();
    for file in case_files() {
        let rel = file
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap_or(&file)
            .to_path_buf();
        let text = std::fs::read_to_string(&file).expect("read case file");
        let cases = match format::parse_file(&rel, &text) {
            Ok(c) => c,
            Err(e) => {
                failures.push(e);
                continue;
            }
        };
        let mut names = std::collections::HashSet::new();
        let mut outputs = Vec::new();
        for case in &cases {
            if !names.insert(case.name.clone()) {
                failures.push(format!("{}: duplicate case name", case.title()));
            }
            let selected = only
                .as_deref()
                .is_none_or(|f| case.name.contains(f) || rel.to_string_lossy().contains(f));
            if !selected {
                outputs.push(None);
                continue;
            }
            run += 1;
            let o = check(case, bless, verbose);
            bugs += usize::from(o.known_bug);
            referenced += usize::from(o.referenced);
            for n in &o.notes {
                note(n);
            }
            for f in o.failures {
                failures.push(format!("{}: {f}", case.title()));
            }
            outputs.push(o.bless);
        }
        if bless {
            let new = format::rewrite(&text, &cases, &outputs);
            if new != text {
                std::fs::write(&file, new).expect("write case file");
                note(&format!("blessed {}", rel.display()));
            }
        }
    }
    note(&format!(
        "spate cases: {run} run ({referenced} also checked against the reference model), \
         {} failure(s), {bugs} known bug(s) skipped, in {:.1} s",
        failures.len(),
        started.elapsed().as_secs_f64()
    ));
    assert!(run > 0 || only.is_some(), "no cases found");
    if !failures.is_empty() {
        panic!(
            "{} case failure(s):\n\n{}",
            failures.len(),
            failures.join("\n\n")
        );
    }
}
