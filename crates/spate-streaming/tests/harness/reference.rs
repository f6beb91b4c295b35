//! An independent, plain-Rust model of what each case must output, computed directly
//! from the input batches (no engine, no `Show`): windows are the batches in (T-W, T]
//! for every T that is a multiple of the slide, taken straight from the definition rather
//! than incrementally. The harness asserts the engine agrees with it and with the file.

use super::format::{Case, OutLine};
use super::{number, pair};
use std::collections::{BTreeMap, BTreeSet};

type Res<T> = Result<T, String>;

fn tuple(a: impl std::fmt::Display, b: impl std::fmt::Display) -> String {
    format!("({a},{b})")
}
fn buffer(v: &[i64]) -> String {
    let s: Vec<String> = v.iter().map(i64::to_string).collect();
    format!("CompactBuffer({})", s.join(", "))
}
fn some(x: impl std::fmt::Display) -> String {
    format!("Some({x})")
}

/// The batches an input stream yields: the case's input lines, then nothing (an exhausted
/// queue gives an RDD without partitions).
struct Input<'a> {
    lines: &'a [Vec<String>],
    parts: usize,
    /// For a queue source whose stream is not computed at every batch time: the line each
    /// computed time takes (a queue yields its next RDD each time the stream is computed,
    /// as Spark's `QueueInputDStream`). `None`: line t-1 at time t.
    line_of: Option<BTreeMap<usize, usize>>,
}

impl Input<'_> {
    fn line(&self, t: usize) -> Option<&Vec<String>> {
        let i = match &self.line_of {
            None => t - 1,
            Some(m) => *m.get(&t)?,
        };
        self.lines.get(i)
    }
    /// Tokens of batch `t` (1-based).
    fn batch(&self, t: usize) -> &[String] {
        self.line(t).map_or(&[], Vec::as_slice)
    }
    /// Partitions of batch `t`: partition i of p over n records holds [i*n/p, (i+1)*n/p).
    fn partitions(&self, t: usize) -> Vec<Vec<String>> {
        let Some(b) = self.line(t) else {
            return Vec::new();
        };
        let (n, p) = (b.len(), self.parts);
        (0..p)
            .map(|i| b[i * n / p..(i + 1) * n / p].to_vec())
            .collect()
    }
    fn pairs(&self, t: usize) -> Res<Vec<(String, i64)>> {
        self.batch(t).iter().map(|x| pair(x)).collect()
    }
    fn numbers(&self, t: usize) -> Res<Vec<i64>> {
        self.batch(t).iter().map(|x| number(x)).collect()
    }
}

fn sums(pairs: &[(String, i64)]) -> BTreeMap<String, i64> {
    let mut m = BTreeMap::new();
    for (k, v) in pairs {
        *m.entry(k.clone()).or_insert(0) += v;
    }
    m
}

fn groups(pairs: &[(String, i64)]) -> BTreeMap<String, Vec<i64>> {
    let mut m: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for (k, v) in pairs {
        m.entry(k.clone()).or_default().push(*v);
    }
    for v in m.values_mut() {
        v.sort();
    }
    m
}

/// The expected output of a case; `None` when the model does not cover it.
pub fn expected(case: &Case) -> Option<Res<Vec<OutLine>>> {
    let mut a = Input {
        lines: &case.input,
        parts: case.partitions,
        line_of: None,
    };
    let b = Input {
        lines: case.input2.as_deref().unwrap_or(&[]),
        parts: case.partitions,
        line_of: None,
    };
    if case.op == "slice" {
        return slice(case, &a);
    }
    let r = case.batches();
    let label = |t: usize| format!("{} ms", t as u64 * case.batch_ms);
    if let Ok(w) = case.required("window") {
        let s = case.required("slide").ok()?;
        // Operations that only read the windows compute the input at the times of some
        // window; the incremental (inverse) ones read every batch.
        let windows_only = matches!(
            case.op.as_str(),
            "window" | "reduce_by_key_and_window" | "reduce_by_window" | "group_by_key_and_window"
        );
        if !case.timed && windows_only {
            let computed: BTreeSet<usize> = (s..=r)
                .step_by(s)
                .flat_map(|t| t.saturating_sub(w) + 1..=t)
                .collect();
            a.line_of = Some(
                computed
                    .into_iter()
                    .enumerate()
                    .map(|(i, t)| (t, i))
                    .collect(),
            );
        }
        let mut out = Vec::new();
        for t in (s..=r).step_by(s) {
            let window: Vec<usize> = (t.saturating_sub(w) + 1..=t).collect();
            match window_op(case, &a, t, &window) {
                Some(Ok(records)) => out.push(OutLine {
                    label: label(t),
                    records,
                }),
                Some(Err(e)) => return Some(Err(e)),
                None => return None,
            }
        }
        return Some(Ok(out));
    }
    let mut out = Vec::new();
    for t in 1..=r {
        match batch_op(case, &a, &b, t)? {
            Ok(records) => out.push(OutLine {
                label: label(t),
                records,
            }),
            Err(e) => return Some(Err(e)),
        }
    }
    Some(Ok(out))
}

/// One batch of a stateless or pair operation.
fn batch_op(case: &Case, a: &Input<'_>, b: &Input<'_>, t: usize) -> Option<Res<Vec<String>>> {
    let words = a.batch(t);
    let r = |v: Vec<String>| Some(Ok(v));
    match case.op.as_str() {
        "map" => r(words.iter().map(|w| w.to_uppercase()).collect()),
        "flat_map" => r(words
            .iter()
            .flat_map(|w| w.chars().map(String::from))
            .collect()),
        "filter" => r(words.iter().filter(|w| w.len() >= 2).cloned().collect()),
        "map_partitions" => r(a
            .partitions(t)
            .iter()
            .map(|p| {
                if p.is_empty() {
                    "-".into()
                } else {
                    p.join("+")
                }
            })
            .collect()),
        "glom" => r(a
            .partitions(t)
            .iter()
            .map(|p| format!("CompactBuffer({})", p.join(", ")))
            .collect()),
        "repartition" => {
            let mut v = vec![format!("partitions={}", case.param("n")?)];
            v.extend(words.iter().cloned());
            r(v)
        }
        "union" => r(words.iter().chain(b.batch(t)).cloned().collect()),
        "count" => r(vec![words.len().to_string()]),
        "count_by_value" => {
            let mut m: BTreeMap<&String, usize> = BTreeMap::new();
            for w in words {
                *m.entry(w).or_insert(0) += 1;
            }
            r(m.iter().map(|(k, v)| tuple(k, v)).collect())
        }
        "reduce" => Some(a.numbers(t).map(|v| match v.is_empty() {
            true => vec![],
            false => vec![v.iter().sum::<i64>().to_string()],
        })),
        "transform" => {
            let set: BTreeSet<&String> = words.iter().collect();
            let ms = t as u64 * case.batch_ms;
            r(set.iter().map(|w| format!("{w}@{ms}")).collect())
        }
        "transform_with" => {
            let other: BTreeSet<&String> = b.batch(t).iter().collect();
            r(words
                .iter()
                .filter(|w| !other.contains(w))
                .cloned()
                .collect())
        }
        _ => Some(pair_op(&case.op, a, b, t)?),
    }
}

/// One batch of an operation on `(word, value)` pairs.
fn pair_op(op: &str, a: &Input<'_>, b: &Input<'_>, t: usize) -> Option<Res<Vec<String>>> {
    let (pa, pb) = match (a.pairs(t), b.pairs(t)) {
        (Ok(x), Ok(y)) => (x, y),
        (Err(e), _) | (_, Err(e)) => return Some(Err(e)),
    };
    let (ga, gb) = (groups(&pa), groups(&pb));
    let mut out = Vec::new();
    match op {
        "reduce_by_key" => out.extend(sums(&pa).iter().map(|(k, v)| tuple(k, v))),
        "group_by_key" => out.extend(ga.iter().map(|(k, v)| tuple(k, buffer(v)))),
        "combine_by_key" => out.extend(
            ga.iter()
                .map(|(k, v)| tuple(k, tuple(v.iter().sum::<i64>(), v.len()))),
        ),
        "map_values" => out.extend(pa.iter().map(|(k, v)| tuple(k, v * 10))),
        "flat_map_values" => {
            for (k, v) in &pa {
                out.extend((1..=*v).map(|i| tuple(k, i)));
            }
        }
        "join" | "left_outer_join" | "right_outer_join" | "full_outer_join" => {
            let keys: BTreeSet<&String> = ga.keys().chain(gb.keys()).collect();
            let (left, right) = match op {
                "join" => (false, false),
                "left_outer_join" => (true, false),
                "right_outer_join" => (false, true),
                _ => (true, true),
            };
            let full = left && right;
            for k in keys {
                match (ga.get(k), gb.get(k)) {
                    (Some(vs), Some(ws)) => {
                        for v in vs {
                            for w in ws {
                                out.push(tuple(
                                    k,
                                    match (left, right) {
                                        (false, false) => tuple(v, w),
                                        (true, false) => tuple(v, some(w)),
                                        (false, true) => tuple(some(v), w),
                                        (true, true) => tuple(some(v), some(w)),
                                    },
                                ));
                            }
                        }
                    }
                    (Some(vs), None) if left => out.extend(vs.iter().map(|v| {
                        let v = if full { some(v) } else { v.to_string() };
                        tuple(k, tuple(v, "None"))
                    })),
                    (None, Some(ws)) if right => out.extend(ws.iter().map(|w| {
                        let w = if full { some(w) } else { w.to_string() };
                        tuple(k, tuple("None", w))
                    })),
                    _ => {}
                }
            }
        }
        "cogroup" => {
            let keys: BTreeSet<&String> = ga.keys().chain(gb.keys()).collect();
            for k in keys {
                let (vs, ws) = (ga.get(k).cloned(), gb.get(k).cloned());
                let pair = tuple(
                    buffer(&vs.unwrap_or_default()),
                    buffer(&ws.unwrap_or_default()),
                );
                out.push(tuple(k, pair));
            }
        }
        _ => return None,
    }
    Some(Ok(out))
}

/// The output of a window operation at `t` whose window holds batches `window`.
fn window_op(case: &Case, a: &Input<'_>, t: usize, window: &[usize]) -> Option<Res<Vec<String>>> {
    let op = case.op.as_str();
    let words: Vec<String> = window.iter().flat_map(|&u| a.batch(u).to_vec()).collect();
    // The batches that some window up to t covered: the inverse-based operations emit
    // once a record was in a window, and keep every key that ever was (when the window is
    // shorter than the slide, batches between windows are in none).
    let covered: Vec<usize> = match (case.required("window"), case.required("slide")) {
        (Ok(w), Ok(s)) if s > 0 => (1..=t)
            .filter(|&u| {
                (1..=t)
                    .filter(|x| x % s == 0)
                    .any(|x| x + 1 > u && u + w > x)
            })
            .collect(),
        _ => (1..=t).collect(),
    };
    let seen = covered.iter().any(|&u| !a.batch(u).is_empty());
    let collect_pairs = |ts: &[usize]| -> Res<Vec<(String, i64)>> {
        let mut v = Vec::new();
        for &u in ts {
            v.extend(a.pairs(u)?);
        }
        Ok(v)
    };
    let out = match op {
        "window" => words,
        "count_by_window" => match seen {
            true => vec![words.len().to_string()],
            false => vec![],
        },
        "reduce_by_window" | "reduce_by_window_inv" => {
            let mut nums = Vec::new();
            for &u in window {
                match a.numbers(u) {
                    Ok(v) => nums.extend(v),
                    Err(e) => return Some(Err(e)),
                }
            }
            let emit = if op == "reduce_by_window" {
                !nums.is_empty()
            } else {
                seen
            };
            match emit {
                true => vec![nums.iter().sum::<i64>().to_string()],
                false => vec![],
            }
        }
        "count_by_value_and_window" => {
            let mut m: BTreeMap<&String, usize> = BTreeMap::new();
            for w in &words {
                *m.entry(w).or_insert(0) += 1;
            }
            m.iter().map(|(k, v)| tuple(k, v)).collect()
        }
        "reduce_by_key_and_window" | "group_by_key_and_window" => {
            let p = match collect_pairs(window) {
                Ok(p) => p,
                Err(e) => return Some(Err(e)),
            };
            if op == "reduce_by_key_and_window" {
                sums(&p).iter().map(|(k, v)| tuple(k, v)).collect()
            } else {
                groups(&p)
                    .iter()
                    .map(|(k, v)| tuple(k, buffer(v)))
                    .collect()
            }
        }
        "reduce_by_key_and_window_inv" => {
            // Without a filter every key a window held so far stays, with 0 once its values left
            // the window; with filter=nonzero only keys whose window sum is not 0 remain.
            let (p, so_far) = match (collect_pairs(window), collect_pairs(&covered)) {
                (Ok(p), Ok(q)) => (p, q),
                (Err(e), _) | (_, Err(e)) => return Some(Err(e)),
            };
            let in_window = sums(&p);
            let keys: BTreeSet<String> = so_far.into_iter().map(|(k, _)| k).collect();
            keys.into_iter()
                .map(|k| {
                    let v = in_window.get(&k).copied().unwrap_or(0);
                    (k, v)
                })
                .filter(|(_, v)| *v != 0 || case.param("filter").is_none())
                .map(|(k, v)| tuple(k, v))
                .collect()
        }
        _ => return None,
    };
    Some(Ok(out))
}

/// `slice`: the input stream's RDDs (or its window's) at the aligned times in [from, to].
/// Remembered RDDs are returned as they were; a forgotten or future time of the input
/// stream is computed now, taking the next RDD from the queue (empty once it ran dry).
fn slice(case: &Case, a: &Input<'_>) -> Option<Res<Vec<OutLine>>> {
    let bms = case.batch_ms as usize;
    let (from, to) = (case.required("from").ok()?, case.required("to").ok()?);
    let r = case.batches();
    let remember = case.required("remember").ok()?;
    let (w, s) = match case.required("window") {
        Ok(w) => (Some(w), case.required("slide").ok()?),
        Err(_) => (None, 1),
    };
    let keep = remember.max(s);
    let mut popped = r;
    let mut out = Vec::new();
    // Times in batches, both ends floored to the stream's slide.
    let (first, last) = (from / bms / s * s, to / bms / s * s);
    for u in (first..=last).step_by(s).filter(|&u| u >= s) {
        let remembered = u <= r && u + keep > r;
        let records = match w {
            None if remembered => a.batch(u).to_vec(),
            None => {
                popped += 1;
                a.batch(popped).to_vec()
            }
            Some(w) if remembered => (u.saturating_sub(w) + 1..=u)
                .flat_map(|x| a.batch(x).to_vec())
                .collect(),
            Some(_) => return None,
        };
        out.push(OutLine {
            label: format!("rdd {}", out.len()),
            records,
        });
    }
    Some(Ok(out))
}
