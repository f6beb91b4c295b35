//! `custom_receiver <host> <port>`: a receiver written by hand (Spark's CustomReceiver). It
//! connects to a TCP server on a thread of its own, stores each line it reads, and asks to
//! be restarted when the connection fails or ends; the program counts words per batch.
//! Feed it with `nc -lk 9999`.

use spate::prelude::*;
use std::io::{BufRead, BufReader};
use std::net::TcpStream;

/// Lines read from `host:port`.
struct LineReceiver {
    host: String,
    port: u16,
}

impl Receiver<String> for LineReceiver {
    fn on_start(&mut self, handle: ReceiverHandle<String>) {
        // `on_start` must return at once: the reading happens on this thread, which ends
        // when the receiver stops or restarts (a restart calls `on_start` again).
        let (host, port) = (self.host.clone(), self.port);
        std::thread::spawn(move || receive(&host, port, &handle));
    }

    fn on_stop(&mut self) {
        // Nothing to release: the thread sees `is_stopped` and ends.
    }

    fn name(&self) -> String {
        format!("line receiver {}:{}", self.host, self.port)
    }
}

/// Reads lines until the receiver stops; restarts it on any error or end of input.
fn receive(host: &str, port: u16, handle: &ReceiverHandle<String>) {
    let stream = match TcpStream::connect((host, port)) {
        Ok(s) => s,
        Err(e) => {
            handle.restart_with(format!("connecting to {host}:{port}"), Some(&e), None);
            return;
        }
    };
    let mut lines = BufReader::new(stream).lines();
    while !handle.is_stopped() {
        match lines.next() {
            Some(Ok(line)) => {
                if handle.store(line).is_err() {
                    // Refused (a block could not be stored, or stopping): read again.
                    handle.restart("a block could not be stored");
                    return;
                }
            }
            Some(Err(e)) => {
                handle.restart_with(format!("reading from {host}:{port}"), Some(&e), None);
                return;
            }
            None => {
                handle.restart(format!("{host}:{port} closed the connection"));
                return;
            }
        }
    }
}

fn main() -> std::process::ExitCode {
    spate::exit_code(run())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 2 {
        eprintln!("usage: custom_receiver <host> <port>");
        std::process::exit(2);
    }
    let port: u16 = args[1].parse()?;
    let ssc = StreamingContext::new(
        SpateConf::new()
            .app_name("custom_receiver")?
            .master("local[2]")?
            // SIGTERM or Ctrl-C: process what was received, print it, exit 0.
            .set("spate.streaming.stopGracefullyOnShutdown", "true")?
            // A failed batch is reported and the stream goes on (the default stops it).
            .set("spate.streaming.outputFailure", "skip")?
            .from_env()?,
        seconds(1),
    )?;
    let lines = ssc.receiver_stream(LineReceiver {
        host: args[0].clone(),
        port,
    });
    let counts = lines
        .flat_map(|l| l.split_whitespace().map(str::to_string).collect::<Vec<_>>())
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
