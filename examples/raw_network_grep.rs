//! `raw_network_grep <streams> <host> <port> <batch-ms>`: opens `streams` raw socket
//! streams to the same server, unions them, and prints every batch how many records
//! contain "the" (Spark's RawNetworkGrep). Records arrive as frames of strings already
//! encoded (`raw_frame_server` serves a text file that way), so nothing is parsed.

use spate::prelude::*;

fn main() -> std::process::ExitCode {
    spate::exit_code(run())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 4 {
        eprintln!("usage: raw_network_grep <streams> <host> <port> <batch-ms>");
        std::process::exit(2);
    }
    let streams: usize = args[0].parse()?;
    let port: u16 = args[2].parse()?;
    let batch: u64 = args[3].parse()?;
    if streams == 0 {
        return Err("streams must be at least 1".into());
    }
    let ssc = StreamingContext::new(
        SpateConf::new()
            .app_name("raw_network_grep")?
            // One core per receiver and one to process.
            .master(&format!("local[{}]", streams + 1))?
            // SIGTERM or Ctrl-C: process what was received, print it, exit 0.
            .set("spate.streaming.stopGracefullyOnShutdown", "true")?
            // A failed batch is reported and the stream goes on (the default stops it).
            .set("spate.streaming.outputFailure", "skip")?
            .from_env()?,
        milliseconds(batch),
    )?;
    let raw: Vec<DStream<String>> = (0..streams)
        .map(|_| ssc.raw_socket_stream::<String>(&args[1], port))
        .collect();
    let all = ssc.union(&raw);
    all.filter(|r| r.contains("the"))
        .count()
        .foreach_rdd(|rdd, _time| {
            let counts: Vec<String> = rdd.collect()?.iter().map(i64::to_string).collect();
            println!("Grep count: {}", counts.concat());
            Ok(())
        });
    ssc.start()?;
    // A failed batch is reported and the stream goes on; `Ok` once the context stops.
    while let Err(e) = ssc.await_termination() {
        eprintln!("batch failed (the stream goes on): {}", spate::report(&e));
    }
    Ok(())
}
