//! `raw_frame_server <port> <file> <records-per-frame> [rounds]`: serves the lines of
//! `file` to every client as raw frames (each `records-per-frame` lines encoded with
//! `encode_raw_frame`), for `raw_network_grep` (after Spark's RawTextSender). It sends the
//! file `rounds` times (default: without end), then keeps the connection open until the
//! client closes it.

use spate::streaming::encode_raw_frame;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

fn main() -> std::process::ExitCode {
    spate::exit_code(run())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        eprintln!("usage: raw_frame_server <port> <file> <records-per-frame> [rounds]");
        std::process::exit(2);
    }
    let port: u16 = args[0].parse()?;
    let per_frame: usize = args[2].parse()?;
    if per_frame == 0 {
        return Err("records-per-frame must be at least 1".into());
    }
    let rounds: Option<u64> = args.get(3).map(|s| s.parse()).transpose()?;
    let text =
        std::fs::read_to_string(&args[1]).map_err(|e| format!("reading {}: {e}", args[1]))?;
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    // Encoded once: every client gets the same bytes.
    let mut frames = Vec::new();
    for chunk in lines.chunks(per_frame) {
        frames.extend(encode_raw_frame(chunk)?);
    }
    let frames = Arc::new(frames);
    let listener = TcpListener::bind(("0.0.0.0", port))?;
    eprintln!(
        "serving {} lines of {} in frames of {per_frame} on port {}",
        lines.len(),
        args[1],
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
        let frames = Arc::clone(&frames);
        std::thread::spawn(move || {
            if let Err(e) = serve(conn, &frames, rounds) {
                eprintln!("client gone: {e}");
            }
        });
    }
    Ok(())
}

/// Sends `frames` `rounds` times (or until the client goes), then waits for it to close.
fn serve(mut conn: TcpStream, frames: &[u8], rounds: Option<u64>) -> std::io::Result<()> {
    let mut sent = 0u64;
    while rounds.is_none_or(|r| sent < r) {
        conn.write_all(frames)?;
        sent += 1;
    }
    conn.flush()?;
    let mut sink = [0u8; 256];
    while conn.read(&mut sink)? > 0 {}
    Ok(())
}
