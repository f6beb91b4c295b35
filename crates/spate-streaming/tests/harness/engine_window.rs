//! The engine side of window operations and of `slice`.

use super::engine::{collect, err, Collected, Res, Setup};
use super::format::OutLine;
use spate_streaming::{Show, Time};

/// Window operations; `None` for an op that is not one.
pub fn windows(s: &Setup<'_>) -> Res<Option<Collected>> {
    let op = s.case.op.as_str();
    if !matches!(
        op,
        "window"
            | "reduce_by_key_and_window"
            | "reduce_by_key_and_window_inv"
            | "count_by_window"
            | "reduce_by_window"
            | "reduce_by_window_inv"
            | "count_by_value_and_window"
            | "group_by_key_and_window"
    ) {
        return Ok(None);
    }
    let (w, sl) = s.window_slide()?;
    let n = s.parts()?;
    Ok(Some(match op {
        "window" => collect(&s.words()?.window_with(w, sl)),
        "reduce_by_key_and_window" => collect(
            &s.pairs()?
                .reduce_by_key_and_window(|a, b| a + b)
                .window(w)
                .slide(sl)
                .partitions(n),
        ),
        "reduce_by_key_and_window_inv" => {
            let stream = s
                .pairs()?
                .reduce_by_key_and_window(|a, b| a + b)
                .inverse(|a, b| a - b)
                .window(w)
                .slide(sl)
                .partitions(n);
            let stream = match s.case.param("filter") {
                None => stream,
                Some("nonzero") => stream.filter(|kv| kv.1 != 0),
                Some(f) => return Err(format!("filter={f}: only filter=nonzero is known")),
            };
            collect(&stream)
        }
        "count_by_window" => collect(&s.words()?.count_by_window(w).slide(sl)),
        "reduce_by_window" => collect(
            &s.numbers()?
                .reduce_by_window(|a, b| a + b)
                .window(w)
                .slide(sl),
        ),
        "reduce_by_window_inv" => collect(
            &s.numbers()?
                .reduce_by_window(|a, b| a + b)
                .inverse(|a, b| a - b)
                .window(w)
                .slide(sl),
        ),
        "count_by_value_and_window" => collect(
            &s.words()?
                .count_by_value_and_window(w)
                .slide(sl)
                .partitions(n),
        ),
        "group_by_key_and_window" => collect(
            &s.pairs()?
                .group_by_key_and_window(w)
                .slide(sl)
                .partitions(n)
                .map_values(|mut v| {
                    v.sort();
                    v
                }),
        ),
        _ => unreachable!("checked above"),
    }))
}

/// `op: slice from=MS to=MS remember=B [window=W slide=S]`: runs the batches with
/// `ssc.remember(B batches)`, then slices the input stream (or its window) over
/// `[from, to]` and prints each RDD as `rdd <i>`.
pub fn slice(s: &Setup<'_>) -> Res<Vec<OutLine>> {
    let c = s.case;
    let from = Time(c.required("from")? as i64);
    let to = Time(c.required("to")? as i64);
    let words = s.words()?;
    let stream = if c.param("window").is_some() {
        let (w, sl) = s.window_slide()?;
        words.window_with(w, sl)
    } else {
        words
    };
    // An output, so the stream is part of the graph and generated every batch.
    stream.foreach_rdd(|rdd, _| {
        rdd.count()?;
        Ok(())
    });
    s.ssc
        .remember(s.dur(c.required("remember")?))
        .map_err(err)?;
    s.ssc.start().map_err(err)?;
    let ran = s.ssc.advance_batches(c.batches());
    let sliced = ran.and_then(|_| stream.slice(from, to));
    let out = sliced.map_err(err).and_then(|rdds| {
        rdds.iter()
            .enumerate()
            .map(|(i, rdd)| {
                Ok(OutLine {
                    label: format!("rdd {i}"),
                    records: rdd.collect().map_err(err)?.iter().map(Show::show).collect(),
                })
            })
            .collect::<Res<Vec<_>>>()
    });
    s.stop();
    out
}
