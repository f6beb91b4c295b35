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
    ssc.await_termination()?;
    Ok(())
}
