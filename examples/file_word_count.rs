//! `file_word_count <dir>`: word counts of the text files that appear in `dir` (write them
//! elsewhere, then move them in), batch by batch (Spark's HdfsWordCount).

use spate::prelude::*;
use std::time::Duration;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    spate::init_logging();
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: file_word_count <dir>");
        std::process::exit(2);
    };
    let ssc = StreamingContext::new(
        SpateConf::new()
            .app_name("file_word_count")?
            .master("local[2]")?
            .from_env()?,
        Duration::from_secs(2),
    )?;
    let counts = ssc
        .text_file_stream(&dir)?
        .flat_map(Str::words)
        .map(|w| (w, 1u64))
        .reduce_by_key(|a, b| a + b);
    counts.print(10);
    ssc.start()?;
    ssc.await_termination()?;
    Ok(())
}
