// What a Spark user types, as they would type it: no `Result` in the middle of a chain,
// no type annotations for windowed reductions, `split` on lines inside `flat_map`, Spark's
// defaults (`print()`, `parallelize(data)`, `window(w)`), the three-argument
// `StateSpec::function`, and printing a user's struct.
use spate::prelude::*;

#[derive(Clone, serde::Serialize, serde::Deserialize, Show)]
struct PageView {
    url: String,
    status: i32,
    zip_code: i32,
    user_id: i32,
}

fn parse(line: &str) -> PageView {
    let f: Vec<&str> = line.split('\t').collect();
    PageView {
        url: f[0].to_string(),
        status: f[1].parse().unwrap_or(0),
        zip_code: f[2].parse().unwrap_or(0),
        user_id: f[3].parse().unwrap_or(0),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ssc = StreamingContext::new(SpateConf::new().master("local[2]")?, seconds(1))?;
    ssc.checkpoint("/tmp/spate-ui-pass")?;
    let lines = ssc.socket_text_stream("localhost", 9999);

    // Words: `split` on a `Str` gives pieces that may leave the closure.
    let words = lines.flat_map(|l| l.split(' '));
    let _ = lines.flat_map(|l| l.split(" "));
    let _ = lines.flat_map(|l| l.words());
    let pairs = words.map(|w| (w, 1i64));
    pairs.reduce_by_key(|a, b| a + b).print();

    // Windows: the chain continues on the window with a field of the user's struct.
    let views = lines.map(|l| parse(&l));
    views.window(seconds(30)).map(|v| v.zip_code).count_by_value().print();
    views.print();
    pairs
        .reduce_by_key_and_window(|a, b| a + b)
        .inverse(|a, b| a - b)
        .filter(|(_, n)| *n != 0)
        .window(seconds(30))
        .slide(seconds(10))
        .print();
    words.count_by_value_and_window(seconds(30)).print();
    let _ = views.map(|v| (v.zip_code, v.status)).join(&views.map(|v| (v.zip_code, v.user_id)));

    // State: Spark's common three-argument mapping function.
    let spec = StateSpec::function(|word: &Str, one: Option<i64>, state: &mut State<i64>| {
        let sum = one.unwrap_or(0) + state.get_option().unwrap_or(0);
        state.update(sum);
        (word.clone(), sum)
    });
    pairs.map_with_state(spec).print();

    // Batch defaults.
    let ctx = ssc.ctx();
    let nums = ctx.parallelize((1..=10).collect::<Vec<i64>>());
    let _ = nums.sum()?;
    let _: StreamingContextState = ssc.state();
    let _: Option<&Decoder<i64>> = None;
    Ok(())
}
