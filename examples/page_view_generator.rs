//! `page_view_generator <port> <views-per-second> [seed] [total]`: a TCP server that sends
//! every client random page views, one a line, tab-separated as
//! `url<TAB>status<TAB>zip code<TAB>user id` (Spark's PageViewGenerator), for
//! `page_view_stream` to read.
//!
//! Each client gets its own sequence from `seed` (default 0): two clients, or two runs with
//! the same seed, get the same views in the same order. With `total`, a client gets that
//! many views and then nothing more (the connection stays open until the client closes
//! it), so a run is reproducible end to end.

use spate::rng::SplitMix64;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// Pages and how often they are visited.
const PAGES: &[(&str, f64)] = &[
    ("http://foo.com/", 0.7),
    ("http://foo.com/news", 0.2),
    ("http://foo.com/contact", 0.1),
];
/// Answers: mostly OK, sometimes not found.
const STATUSES: &[(i32, f64)] = &[(200, 0.95), (404, 0.05)];
/// Where the visitors are.
const ZIP_CODES: &[(i32, f64)] = &[(94709, 0.5), (94117, 0.5)];
/// User ids are drawn uniformly from 1..=USERS.
const USERS: u64 = 100;

fn main() -> std::process::ExitCode {
    spate::exit_code(run())
}

/// One of `choices`, drawn with their weights (which sum to 1).
fn pick<T: Copy>(rng: &mut SplitMix64, choices: &[(T, f64)]) -> T {
    let mut x = rng.next_f64();
    for &(v, w) in choices {
        if x < w {
            return v;
        }
        x -= w;
    }
    choices[choices.len() - 1].0
}

/// The next page view of a sequence, as the line the server sends.
fn page_view(rng: &mut SplitMix64) -> String {
    let url = pick(rng, PAGES);
    let status = pick(rng, STATUSES);
    let zip = pick(rng, ZIP_CODES);
    let user = 1 + rng.below(USERS);
    format!("{url}\t{status}\t{zip}\t{user}\n")
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: page_view_generator <port> <views-per-second> [seed] [total]");
        std::process::exit(2);
    }
    let port: u16 = args[0].parse()?;
    let rate: u64 = args[1].parse()?;
    if rate == 0 {
        return Err("views-per-second must be at least 1".into());
    }
    let seed: u64 = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(0);
    let total: Option<u64> = args.get(3).map(|s| s.parse()).transpose()?;
    let listener = TcpListener::bind(("0.0.0.0", port))?;
    eprintln!(
        "serving {rate} page views a second on port {}",
        listener.local_addr()?.port()
    );
    for conn in listener.incoming() {
        let conn = match conn {
            Ok(c) => c,
            Err(e) => {
                eprintln!("accept failed: {e}");
                continue;
            }
        };
        std::thread::spawn(move || {
            let peer = conn.peer_addr().map(|a| a.to_string()).unwrap_or_default();
            eprintln!("client {peer} connected");
            match serve(conn, rate, seed, total) {
                Ok(()) => eprintln!("client {peer} done"),
                Err(e) => eprintln!("client {peer} gone: {e}"),
            }
        });
    }
    Ok(())
}

/// Sends `conn` views at `rate` a second, up to `total`, then waits for it to close.
fn serve(mut conn: TcpStream, rate: u64, seed: u64, total: Option<u64>) -> std::io::Result<()> {
    let mut rng = SplitMix64::new(seed);
    let start = Instant::now();
    let mut sent = 0u64;
    while total.is_none_or(|t| sent < t) {
        // Every view due by now (paced in 10 ms steps rather than one sleep per view).
        let due = start.elapsed().as_millis() as u64 * rate / 1000 + 1;
        let due = total.map_or(due, |t| due.min(t));
        let mut chunk = String::new();
        while sent < due {
            chunk.push_str(&page_view(&mut rng));
            sent += 1;
        }
        conn.write_all(chunk.as_bytes())?;
        std::thread::sleep(Duration::from_millis(10));
    }
    conn.flush()?;
    // All sent: keep the connection open (a closed one would make the reader reconnect
    // and get the sequence again) until the client closes it.
    let mut sink = [0u8; 256];
    while conn.read(&mut sink)? > 0 {}
    Ok(())
}
