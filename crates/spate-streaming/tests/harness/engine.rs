//! Runs a case on the engine: a manual-clock [`StreamingContext`] fed by queue streams, the
//! case's operation, one `foreach_rdd` collecting each output batch formatted with [`Show`].

use super::format::{Case, OutLine};
use super::{number, pair};
use parking_lot::Mutex;
use spate_core::{Context, Data};
use spate_streaming::{Clock, DStream, RddQueue, Show, StreamingContext};
use std::sync::Arc;
use std::time::Duration;

pub type Res<T> = Result<T, String>;

/// Output batches as they arrive: (time in ms, formatted records).
pub type Collected = Arc<Mutex<Vec<(i64, Vec<String>)>>>;

pub fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Registers the output of the case: every batch's records, formatted.
pub fn collect<T: Data + Show>(s: &DStream<T>) -> Collected {
    let out: Collected = Arc::new(Mutex::new(Vec::new()));
    let o = out.clone();
    s.foreach_rdd(move |rdd, t| {
        let recs = rdd.collect()?.iter().map(Show::show).collect();
        o.lock().push((t.millis(), recs));
        Ok(())
    });
    out
}

/// The engine side of a case: the context and the case's inputs as streams.
pub struct Setup<'a> {
    pub case: &'a Case,
    pub ssc: StreamingContext,
    _checkpoint: Option<tempfile::TempDir>,
}

/// A context every case runs on, with the directory under which each case checkpoints
/// (the same path in every process of a cluster), instead of a `local[2]` context each.
static SHARED: Mutex<Option<(Context, std::path::PathBuf, usize)>> = Mutex::new(None);

/// Runs the cases on `ctx` (a cluster's, say), checkpointing under `dir`.
#[allow(dead_code)]
pub fn share_context(ctx: Context, dir: std::path::PathBuf) {
    *SHARED.lock() = Some((ctx, dir, 0));
}

impl<'a> Setup<'a> {
    pub fn new(case: &'a Case) -> Res<Self> {
        let shared = SHARED.lock().as_mut().map(|(ctx, dir, n)| {
            *n += 1;
            (ctx.clone(), dir.join(format!("case-{n}")))
        });
        let (ctx, dir, temp) = match shared {
            Some((ctx, dir)) => (ctx, dir, None),
            None => {
                let temp = tempfile::tempdir().map_err(err)?;
                (
                    Context::local(2).map_err(err)?,
                    temp.path().to_path_buf(),
                    Some(temp),
                )
            }
        };
        let ssc = StreamingContext::with_clock(
            ctx,
            Duration::from_millis(case.batch_ms),
            Clock::manual(),
        )
        .map_err(err)?;
        ssc.checkpoint(&dir).map_err(err)?;
        Ok(Setup {
            case,
            ssc,
            _checkpoint: temp,
        })
    }

    /// Stops the case's streaming context, and its context unless it is shared.
    pub fn stop(&self) {
        self.ssc.stop(self._checkpoint.is_some(), false);
    }

    /// `n` batches as a duration.
    pub fn dur(&self, n: usize) -> Duration {
        Duration::from_millis(self.case.batch_ms * n as u64)
    }

    /// The `window=` and `slide=` parameters as durations.
    pub fn window_slide(&self) -> Res<(Duration, Duration)> {
        Ok((
            self.dur(self.case.required("window")?),
            self.dur(self.case.required("slide")?),
        ))
    }

    /// The `n=` parameter: a partition count for shuffles (default 2).
    pub fn parts(&self) -> Res<usize> {
        self.case.num("n", 2)
    }

    fn stream<T: Data>(
        &self,
        batches: &[Vec<String>],
        parse: impl Fn(&str) -> Res<T>,
    ) -> Res<DStream<T>> {
        let parts = self.case.partitions;
        let mut data = Vec::new();
        for b in batches {
            data.push(b.iter().map(|t| parse(t)).collect::<Res<Vec<T>>>()?);
        }
        let q = RddQueue::new();
        if !self.case.timed {
            for recs in data {
                q.push(self.ssc.ctx().parallelize_with(recs, parts));
            }
            return Ok(self.ssc.queue_stream(&q));
        }
        // Timed: the batch of time t is line t / batch_ms, whenever it is computed; an
        // empty queue underneath gives the (partitionless) RDD after the input ends.
        let bms = self.case.batch_ms as i64;
        Ok(self.ssc.queue_stream(&q).transform(move |rdd, t| {
            Ok(match data.get((t.millis() / bms - 1) as usize) {
                Some(recs) => rdd.context().parallelize_with(recs.clone(), parts),
                None => rdd,
            })
        }))
    }

    pub fn words(&self) -> Res<DStream<String>> {
        self.stream(&self.case.input, |t| Ok(t.to_string()))
    }
    pub fn words2(&self) -> Res<DStream<String>> {
        self.stream(self.case.input2()?, |t| Ok(t.to_string()))
    }
    pub fn pairs(&self) -> Res<DStream<(String, i64)>> {
        self.stream(&self.case.input, pair)
    }
    pub fn pairs2(&self) -> Res<DStream<(String, i64)>> {
        self.stream(self.case.input2()?, pair)
    }
    pub fn numbers(&self) -> Res<DStream<i64>> {
        self.stream(&self.case.input, number)
    }

    /// Starts, runs the case's batches, stops; the collected batches as output lines.
    pub fn run(&self, out: Collected) -> Res<Vec<OutLine>> {
        self.ssc.start().map_err(err)?;
        let r = self.ssc.advance_batches(self.case.batches());
        self.stop();
        r.map_err(err)?;
        let v = out.lock().clone();
        Ok(v.into_iter()
            .map(|(t, records)| OutLine {
                label: format!("{t} ms"),
                records,
            })
            .collect())
    }
}

/// Values of grouped records sorted, as the harness compares groups as multisets.
fn sorted(mut v: Vec<i64>) -> Vec<i64> {
    v.sort();
    v
}

/// Runs a case on the engine.
pub fn run(case: &Case) -> Res<Vec<OutLine>> {
    let s = Setup::new(case)?;
    if case.op == "slice" {
        return super::engine_window::slice(&s);
    }
    let out = match stateless(&s)? {
        Some(out) => out,
        None => match pairs(&s)? {
            Some(out) => out,
            None => super::engine_window::windows(&s)?
                .ok_or_else(|| format!("unknown op {:?}", case.op))?,
        },
    };
    s.run(out)
}

/// Operations on each batch of words or numbers.
fn stateless(s: &Setup<'_>) -> Res<Option<Collected>> {
    Ok(Some(match s.case.op.as_str() {
        "map" => collect(&s.words()?.map(|w| w.to_uppercase())),
        "flat_map" => collect(
            &s.words()?
                .flat_map(|w| w.chars().map(String::from).collect::<Vec<_>>()),
        ),
        "filter" => collect(&s.words()?.filter(|w| w.len() >= 2)),
        "map_partitions" => collect(&s.words()?.map_partitions(|it| {
            let v: Vec<String> = it.collect();
            std::iter::once(if v.is_empty() {
                "-".to_string()
            } else {
                v.join("+")
            })
        })),
        "glom" => collect(&s.words()?.glom()),
        "repartition" => {
            let n = s.case.required("n")?;
            collect(&s.words()?.repartition(n).transform(|rdd, _| {
                let tag = format!("partitions={}", rdd.num_partitions());
                Ok(rdd.context().parallelize_with(vec![tag], 1).union(&rdd))
            }))
        }
        "union" => collect(&s.words()?.union(&s.words2()?)),
        "count" => collect(&s.words()?.count()),
        "count_by_value" => collect(&s.words()?.count_by_value()),
        "reduce" => collect(&s.numbers()?.reduce(|a, b| a + b)),
        "transform" => collect(&s.words()?.transform(|rdd, t| {
            let ms = t.millis();
            Ok(rdd.distinct().map(move |w| format!("{w}@{ms}")))
        })),
        "transform_with" => collect(
            &s.words()?
                .transform_with(&s.words2()?, |a, b, _| Ok(a.subtract(&b))),
        ),
        _ => return Ok(None),
    }))
}

/// Operations on each batch of `(word, value)` pairs.
fn pairs(s: &Setup<'_>) -> Res<Option<Collected>> {
    let n = s.parts()?;
    Ok(Some(match s.case.op.as_str() {
        "reduce_by_key" => collect(&s.pairs()?.reduce_by_key_with(|a, b| a + b, n)),
        "group_by_key" => collect(&s.pairs()?.group_by_key_with(n).map_values(sorted)),
        "combine_by_key" => {
            let msc = s.case.param("map_side_combine") != Some("false");
            collect(&s.pairs()?.combine_by_key(
                |v| (v, 1i64),
                |(sum, c), v| (sum + v, c + 1),
                |(s1, c1), (s2, c2)| (s1 + s2, c1 + c2),
                n,
                msc,
            ))
        }
        "map_values" => collect(&s.pairs()?.map_values(|v| v * 10)),
        "flat_map_values" => collect(&s.pairs()?.flat_map_values(|v| (1..=v).collect::<Vec<_>>())),
        "join" => collect(&s.pairs()?.join_with(&s.pairs2()?, n)),
        "left_outer_join" => collect(&s.pairs()?.left_outer_join_with(&s.pairs2()?, n)),
        "right_outer_join" => collect(&s.pairs()?.right_outer_join_with(&s.pairs2()?, n)),
        "full_outer_join" => collect(&s.pairs()?.full_outer_join_with(&s.pairs2()?, n)),
        "cogroup" => collect(
            &s.pairs()?
                .cogroup_with(&s.pairs2()?, n)
                .map_values(|(a, b)| (sorted(a), sorted(b))),
        ),
        _ => return Ok(None),
    }))
}
