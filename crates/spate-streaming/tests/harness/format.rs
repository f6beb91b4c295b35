//! The `.case` file format: parsing, output lines, and rewriting outputs (`SPATE_BLESS=1`).
//! See `tests/cases/README.md` for the format itself.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One output batch: a label (`2000 ms`, or `rdd 0` for slices) and its records, each
/// formatted as Spark's `toString` would.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutLine {
    pub label: String,
    pub records: Vec<String>,
}

/// A test case of a `.case` file.
#[derive(Debug, Clone)]
pub struct Case {
    pub file: PathBuf,
    /// 1-based line of `case:`.
    pub line: usize,
    pub name: String,
    pub op: String,
    pub params: BTreeMap<String, String>,
    /// Partitions of each input batch (`parallelize_with(batch, partitions)`).
    pub partitions: usize,
    pub batch_ms: u64,
    /// Explicit number of batches to run.
    pub run: Option<usize>,
    /// `order: exact`: records compared in order, not as multisets.
    pub exact: bool,
    /// `source: timed`: input line i is the batch of time i x batch_ms (as Spark's
    /// `TestInputStream`), instead of the next RDD of a queue each time the stream is
    /// computed (`source: queue`, the default).
    pub timed: bool,
    /// `# BUG: <reason>`: a known engine bug; the case is reported, not failed.
    pub bug: Option<String>,
    /// Batches of tokens; `<empty>` is an empty batch.
    pub input: Vec<Vec<String>>,
    pub input2: Option<Vec<Vec<String>>>,
    /// `None` when the case has no `output:` section yet.
    pub expected: Option<Vec<OutLine>>,
    /// 0-based line range of the output block's body, for rewriting.
    output_span: Option<(usize, usize)>,
    /// 0-based index after the case's last non-blank line.
    end: usize,
}

impl Case {
    /// `file:line case <name>`, for messages.
    pub fn title(&self) -> String {
        format!("{}:{} case {}", self.file.display(), self.line, self.name)
    }

    /// A parameter of the `op:` line.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params.get(key).map(String::as_str)
    }

    /// A numeric parameter, or `default`.
    pub fn num(&self, key: &str, default: usize) -> Result<usize, String> {
        match self.param(key) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| format!("parameter {key}={v} is not a number")),
        }
    }

    /// A numeric parameter that must be present.
    pub fn required(&self, key: &str) -> Result<usize, String> {
        let v = self
            .param(key)
            .ok_or_else(|| format!("op {} needs {key}=N", self.op))?;
        v.parse()
            .map_err(|_| format!("parameter {key}={v} is not a number"))
    }

    /// The second input, required by two-input operations.
    pub fn input2(&self) -> Result<&[Vec<String>], String> {
        self.input2
            .as_deref()
            .ok_or_else(|| format!("op {} needs an input2: section", self.op))
    }

    /// Number of input batches (the longer input).
    pub fn input_len(&self) -> usize {
        self.input
            .len()
            .max(self.input2.as_ref().map_or(0, Vec::len))
    }

    /// Batches to run: `run:`, else the input length, plus for window operations enough
    /// batches to drain the window: up to the first multiple of the slide at or after
    /// `input + window`, so the last output covers only empty batches.
    pub fn batches(&self) -> usize {
        if let Some(r) = self.run {
            return r;
        }
        let n = self.input_len();
        match (self.num("window", 0), self.num("slide", 0)) {
            (Ok(w), Ok(s)) if w > 0 && s > 0 && self.op != "slice" => (n + w).div_ceil(s) * s,
            _ => n,
        }
    }
}

/// Splits an output line's records on whitespace outside parentheses, so that
/// `CompactBuffer(1, 2)` stays one record.
pub fn split_records(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0i32;
    for c in s.chars() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            _ => {}
        }
        if c.is_whitespace() && depth <= 0 {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push(c);
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Parses `label: rec rec ...` (`<empty>` for no records).
fn parse_out_line(s: &str) -> Result<OutLine, String> {
    let (label, rest) = s
        .split_once(':')
        .ok_or_else(|| format!("output line without `label:`: {s:?}"))?;
    let rest = rest.trim();
    let records = if rest == "<empty>" {
        Vec::new()
    } else {
        split_records(rest)
    };
    Ok(OutLine {
        label: label.trim().to_string(),
        records,
    })
}

/// The text of an output line; records sorted unless `exact`.
pub fn format_out_line(l: &OutLine, exact: bool) -> String {
    let mut recs = l.records.clone();
    if !exact {
        recs.sort();
    }
    if recs.is_empty() {
        format!("{}: <empty>", l.label)
    } else {
        format!("{}: {}", l.label, recs.join(" "))
    }
}

fn parse_input_line(s: &str) -> Vec<String> {
    if s == "<empty>" {
        Vec::new()
    } else {
        s.split_whitespace().map(String::from).collect()
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Block {
    None,
    Input,
    Input2,
    Output,
}

fn new_case(file: &Path, line: usize, name: &str) -> Case {
    Case {
        file: file.to_path_buf(),
        line: line + 1,
        name: name.to_string(),
        op: String::new(),
        params: BTreeMap::new(),
        partitions: 2,
        batch_ms: 1000,
        run: None,
        exact: false,
        timed: false,
        bug: None,
        input: Vec::new(),
        input2: None,
        expected: None,
        output_span: None,
        end: line + 1,
    }
}

/// Parses the cases of a file.
pub fn parse_file(file: &Path, text: &str) -> Result<Vec<Case>, String> {
    let mut cases: Vec<Case> = Vec::new();
    let mut block = Block::None;
    let err = |i: usize, m: String| format!("{}:{}: {m}", file.display(), i + 1);
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if let Some(c) = cases.last_mut() {
            if let Some(reason) = line.strip_prefix("# BUG:") {
                c.bug = Some(reason.trim().to_string());
            }
        }
        if line.starts_with('#') {
            continue;
        }
        if line.is_empty() {
            block = Block::None;
            continue;
        }
        if let Some(name) = line.strip_prefix("case:") {
            cases.push(new_case(file, i, name.trim()));
            block = Block::None;
            continue;
        }
        let Some(c) = cases.last_mut() else {
            return Err(err(i, format!("text before the first `case:`: {line:?}")));
        };
        c.end = i + 1;
        match line {
            "input:" => {
                block = Block::Input;
                continue;
            }
            "input2:" => {
                block = Block::Input2;
                c.input2 = Some(Vec::new());
                continue;
            }
            "output:" => {
                block = Block::Output;
                c.expected = Some(Vec::new());
                c.output_span = Some((i + 1, i + 1));
                continue;
            }
            _ => {}
        }
        if line == "<none>" && matches!(block, Block::Input | Block::Input2) {
            // queue_stream (the only source the public API offers tests) always yields
            // an RDD; times without one show as missing output lines instead.
            return Err(err(
                i,
                "<none> (a batch without an RDD) is not supported".into(),
            ));
        }
        match block {
            Block::Input => c.input.push(parse_input_line(line)),
            Block::Input2 => c
                .input2
                .as_mut()
                .expect("input2 started")
                .push(parse_input_line(line)),
            Block::Output => {
                let l = parse_out_line(line).map_err(|m| err(i, m))?;
                c.expected.as_mut().expect("output started").push(l);
                if let Some(span) = c.output_span.as_mut() {
                    span.1 = i + 1;
                }
            }
            Block::None => {
                let (key, value) = line
                    .split_once(':')
                    .ok_or_else(|| err(i, format!("expected `key: value`, got {line:?}")))?;
                let value = value.trim();
                let num = |v: &str| {
                    v.parse::<usize>()
                        .map_err(|_| err(i, format!("{key}: {v:?} is not a number")))
                };
                match key.trim() {
                    "op" => {
                        let mut words = value.split_whitespace();
                        c.op = words.next().unwrap_or_default().to_string();
                        for w in words {
                            let (k, v) = w
                                .split_once('=')
                                .ok_or_else(|| err(i, format!("op parameter {w:?} is not k=v")))?;
                            c.params.insert(k.to_string(), v.to_string());
                        }
                    }
                    "partitions" => c.partitions = num(value)?,
                    "batch_ms" => c.batch_ms = num(value)? as u64,
                    "run" => c.run = Some(num(value)?),
                    "order" => match value {
                        "exact" => c.exact = true,
                        "any" => c.exact = false,
                        _ => return Err(err(i, format!("order: {value:?} (exact or any)"))),
                    },
                    "source" => match value {
                        "timed" => c.timed = true,
                        "queue" => c.timed = false,
                        _ => return Err(err(i, format!("source: {value:?} (queue or timed)"))),
                    },
                    k => return Err(err(i, format!("unknown header {k:?}"))),
                }
            }
        }
    }
    for c in &cases {
        if c.op.is_empty() {
            return Err(format!("{}: no `op:` line", c.title()));
        }
    }
    Ok(cases)
}

/// Rewrites the output sections of `cases` (all from `text`) with `outputs` (same order;
/// `None` leaves a case alone).
pub fn rewrite(text: &str, cases: &[Case], outputs: &[Option<Vec<OutLine>>]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    // From the last case up, so earlier line numbers stay valid.
    for (c, out) in cases.iter().zip(outputs).rev() {
        let Some(out) = out else { continue };
        let body: Vec<String> = out.iter().map(|l| format_out_line(l, c.exact)).collect();
        match c.output_span {
            Some((start, end)) => {
                lines.splice(start..end, body);
            }
            None => {
                let mut block = vec!["output:".to_string()];
                block.extend(body);
                lines.splice(c.end..c.end, block);
            }
        }
    }
    let mut s = lines.join("\n");
    s.push('\n');
    s
}
