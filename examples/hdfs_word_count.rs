//! `hdfs_word_count <dir>`: counts the words of each new text file moved into `dir`, batch
//! by batch (Spark's HdfsWordCount; any local or mounted directory here). Write a file
//! elsewhere, then move it in: a file is read once, in the batch after it appeared.

use spate::prelude::*;

fn main() -> std::process::ExitCode {
    spate::exit_code(run())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir] = args.as_slice() else {
        eprintln!("usage: hdfs_word_count <dir>");
        std::process::exit(2);
    };
    let ssc = StreamingContext::new(
        SpateConf::new()
            .app_name("hdfs_word_count")?
            .master("local[2]")?
            // SIGTERM or Ctrl-C: finish the batch, print it, exit 0.
            .set("spate.streaming.stopGracefullyOnShutdown", "true")?
            // A failed batch is reported and the stream goes on (the default stops it).
            .set("spate.streaming.outputFailure", "skip")?
            .from_env()?,
        seconds(2),
    )?;
    let counts = ssc
        .text_file_stream(dir)?
        .flat_map(|l| l.split(' '))
        .filter(|w| !w.is_empty())
        .map(|w| (w, 1i64))
        .reduce_by_key(|a, b| a + b);
    counts.print();
    ssc.start()?;
    // A failed batch is reported and the stream goes on; `Ok` once the context stops.
    while let Err(e) = ssc.await_termination() {
        eprintln!("batch failed (the stream goes on): {}", spate::report(&e));
    }
    Ok(())
}
