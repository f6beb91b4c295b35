//! Socket sources: a receiver that connects to a TCP server and decodes what it reads
//! (Spark's `socketStream` / `socketTextStream`). When the connection fails or the server
//! closes it, the receiver restarts and connects again.
//!
//! Lines ([`SocketReceiver::lines`], `socket_text_stream`): a line is a record once its
//! `\n` has arrived. The fragment of a line cut by a disconnect, or by a stop (graceful or
//! not), is dropped with a warning — as Spark's socket receiver does at a disconnect. A
//! line longer than `spate.streaming.maxLineBytes` is skipped as it arrives (never
//! buffered whole), counted, and reported by a warning and a receiver error event, at
//! most one of each every 10 s.

use super::receiver::{Receiver, ReceiverHandle};
use spate_core::{Data, StorageLevel, Str};
use std::io::{BufRead, BufReader, Read};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Turns what a connection delivers into records.
pub type Decoder<T> =
    dyn Fn(Box<dyn BufRead + Send>, &mut dyn FnMut(T)) -> std::io::Result<()> + Send + Sync;

/// The connection of a running socket receiver, and whether it is being stopped: checked
/// under one lock, so a connection made while stopping is closed at once.
#[derive(Default)]
struct Conn {
    stream: Option<TcpStream>,
    stopping: bool,
}

/// How long one connection attempt may take before the stop flag is looked at again.
const CONNECT_SLICE: Duration = Duration::from_millis(250);
/// How long connecting may take in all.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Makes the decoder of one run of a receiver, given its handle (to report errors).
type MakeDecoder<T> = dyn Fn(&ReceiverHandle<T>) -> Arc<Decoder<T>> + Send + Sync;

/// How often dropped over-long lines are reported at most.
const REPORT_EVERY: Duration = Duration::from_secs(10);

/// A receiver reading records from a TCP server.
pub struct SocketReceiver<T: Data> {
    host: String,
    port: u16,
    decoder: Arc<Decoder<T>>,
    make_decoder: Option<Arc<MakeDecoder<T>>>,
    conn: Arc<Mutex<Conn>>,
    thread: Option<JoinHandle<()>>,
    level: StorageLevel,
}

impl<T: Data> SocketReceiver<T> {
    /// Keeps its blocks at `level` (default `MEMORY_AND_DISK`; Spark's `storageLevel`
    /// argument of `socketTextStream`).
    pub fn with_storage_level(mut self, level: StorageLevel) -> Self {
        self.level = level;
        self
    }

    /// A receiver for `host:port` decoding with `decoder`.
    pub fn new(host: &str, port: u16, decoder: Arc<Decoder<T>>) -> Self {
        SocketReceiver {
            host: host.to_string(),
            port,
            decoder,
            make_decoder: None,
            conn: Arc::new(Mutex::new(Conn::default())),
            thread: None,
            level: StorageLevel::MEMORY_AND_DISK,
        }
    }
}

impl SocketReceiver<Str> {
    /// A receiver of `\n`-separated lines from `host:port` (see the module docs): the
    /// fragment of a line cut by a disconnect or a stop is dropped, and lines longer than
    /// `max_line_bytes` are dropped, counted and reported.
    pub fn lines(host: &str, port: u16, max_line_bytes: usize) -> Self {
        let mut r = SocketReceiver::new(host, port, Arc::new(lines_decoder));
        let name = format!("{host}:{port}");
        // Over the receiver's life, across restarts.
        let dropped = Arc::new(AtomicU64::new(0));
        let last_report: Arc<Mutex<Option<std::time::Instant>>> = Arc::default();
        r.make_decoder = Some(Arc::new(move |h: &ReceiverHandle<Str>| {
            let (h, name, dropped, last_report) = (
                h.clone(),
                name.clone(),
                dropped.clone(),
                last_report.clone(),
            );
            let d: Arc<Decoder<Str>> = Arc::new(move |input, sink| {
                capped_lines_decoder(input, sink, max_line_bytes, &mut |drop| {
                    match drop {
                    LineDrop::Partial { bytes } => tracing::warn!(
                        "socket {name}: dropped an incomplete line of {bytes} byte(s): the connection ended before its newline"
                    ),
                    LineDrop::TooLong { bytes } => {
                        let n = dropped.fetch_add(1, Ordering::Relaxed) + 1;
                        let mut last = last_report.lock().unwrap_or_else(|p| p.into_inner());
                        if last.is_none_or(|t| t.elapsed() >= REPORT_EVERY) {
                            *last = Some(std::time::Instant::now());
                            h.report_error(format!(
                                "socket {name}: dropped a line of {bytes} bytes, longer than spate.streaming.maxLineBytes ({max_line_bytes} bytes); {n} line(s) dropped so far"
                            ));
                        }
                    }
                }
                })
            });
            d
        }));
        r
    }
}

impl<T: Data> Receiver<T> for SocketReceiver<T> {
    fn name(&self) -> String {
        format!("socket {}:{}", self.host, self.port)
    }

    fn storage_level(&self) -> StorageLevel {
        self.level
    }

    fn on_start(&mut self, handle: ReceiverHandle<T>) {
        *self.conn.lock().unwrap_or_else(|p| p.into_inner()) = Conn::default();
        let decoder = match &self.make_decoder {
            Some(make) => make(&handle),
            None => self.decoder.clone(),
        };
        let (host, port, conn) = (self.host.clone(), self.port, self.conn.clone());
        self.thread = Some(
            std::thread::Builder::new()
                .name(format!("spate-socket-{host}:{port}"))
                .spawn(move || {
                    let addr = match (host.as_str(), port)
                        .to_socket_addrs()
                        .map(|mut a| a.next())
                    {
                        Ok(Some(a)) => a,
                        _ => {
                            handle.restart(format!("cannot resolve {host}:{port}"));
                            return;
                        }
                    };
                    // Connect in short attempts, so that a stop is not held up by a server
                    // that does not answer.
                    let deadline = std::time::Instant::now() + CONNECT_TIMEOUT;
                    let stream = loop {
                        if conn.lock().unwrap_or_else(|p| p.into_inner()).stopping {
                            return;
                        }
                        match TcpStream::connect_timeout(&addr, CONNECT_SLICE) {
                            Ok(s) => break s,
                            Err(e)
                                if e.kind() == std::io::ErrorKind::TimedOut
                                    && std::time::Instant::now() < deadline => {}
                            Err(e) => {
                                handle.restart(format!("error connecting to {host}:{port}: {e}"));
                                return;
                            }
                        }
                    };
                    tracing::info!("connected to {host}:{port}");
                    let reader = match stream.try_clone() {
                        Ok(r) => r,
                        Err(e) => {
                            handle.restart(format!("socket {host}:{port}: {e}"));
                            return;
                        }
                    };
                    {
                        let mut c = conn.lock().unwrap_or_else(|p| p.into_inner());
                        if c.stopping {
                            let _ = stream.shutdown(Shutdown::Both);
                            return;
                        }
                        c.stream = Some(stream);
                    }
                    let h = handle.clone();
                    // A record that cannot be stored ends the connection (the decoder then
                    // returns) and restarts the receiver, as Spark's socket receiver does.
                    let mut store_error = None;
                    let result = decoder(
                        Box::new(BufReader::with_capacity(64 << 10, reader)),
                        &mut |r| {
                            if store_error.is_some() {
                                return;
                            }
                            if let Err(e) = h.store(r) {
                                store_error = Some(e);
                                let c = conn.lock().unwrap_or_else(|p| p.into_inner());
                                if let Some(s) = &c.stream {
                                    let _ = s.shutdown(Shutdown::Both);
                                }
                            }
                        },
                    );
                    if handle.is_stopped() {
                        return;
                    }
                    if let Some(e) = store_error {
                        if !matches!(e, crate::Error::ReceiverStopped { .. }) {
                            handle.restart(format!("storing what {host}:{port} sent failed: {e}"));
                        }
                        return;
                    }
                    match result {
                        Ok(()) => handle.restart(format!("socket {host}:{port} had no more data")),
                        Err(e) => {
                            handle.restart(format!("error receiving from {host}:{port}: {e}"))
                        }
                    }
                })
                .expect("spawn socket receiver thread"),
        );
    }

    fn on_stop(&mut self) {
        // Drain what has already arrived: read on until the server closes or nothing comes
        // for a short while, then close.
        // A server that never stops sending is cut off after a second.
        let conn = {
            let mut c = self.conn.lock().unwrap_or_else(|p| p.into_inner());
            c.stopping = true;
            c.stream.take()
        };
        if let Some(s) = &conn {
            let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
        }
        if let Some(t) = self.thread.take() {
            let deadline = std::time::Instant::now() + Duration::from_secs(1);
            while !t.is_finished() && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            if let Some(s) = &conn {
                let _ = s.shutdown(Shutdown::Both);
            }
            let _ = t.join();
        }
        if let Some(s) = conn {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

/// Decodes `\n`-separated UTF-8 lines (`\r\n` ends a line too; invalid UTF-8 replaced).
/// A final fragment without `\n` (a line cut by a disconnect or a stop) is not a record:
/// it is dropped.
pub fn lines_decoder(
    input: Box<dyn BufRead + Send>,
    sink: &mut dyn FnMut(Str),
) -> std::io::Result<()> {
    capped_lines_decoder(input, sink, usize::MAX, &mut |_| {})
}

/// A line [`capped_lines_decoder`] dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineDrop {
    /// The input ended (or failed) `bytes` into a line, before its `\n`.
    Partial {
        /// Bytes of the fragment.
        bytes: u64,
    },
    /// A line of more than the cap (`bytes` long, without its `\n`, or as far as it got
    /// before the input ended).
    TooLong {
        /// Its length.
        bytes: u64,
    },
}

/// [`lines_decoder`] with a cap: a line longer than `max_line_bytes` is skipped as it is
/// read (at most the cap is ever buffered) and reported to `dropped`, as is a final
/// fragment without `\n`.
pub fn capped_lines_decoder(
    mut input: Box<dyn BufRead + Send>,
    sink: &mut dyn FnMut(Str),
    max_line_bytes: usize,
    dropped: &mut dyn FnMut(LineDrop),
) -> std::io::Result<()> {
    let mut line: Vec<u8> = Vec::with_capacity(256);
    // Bytes of the over-long line being skipped, if one is.
    let mut skipping: Option<u64> = None;
    loop {
        let buf = match input.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                if !line.is_empty() {
                    dropped(LineDrop::Partial {
                        bytes: line.len() as u64,
                    });
                }
                return Err(e);
            }
        };
        if buf.is_empty() {
            if let Some(bytes) = skipping {
                dropped(LineDrop::TooLong { bytes });
            } else if !line.is_empty() {
                dropped(LineDrop::Partial {
                    bytes: line.len() as u64,
                });
            }
            return Ok(());
        }
        let (take, ends) = match memchr::memchr(b'\n', buf) {
            Some(i) => (i, true),
            None => (buf.len(), false),
        };
        if let Some(bytes) = &mut skipping {
            *bytes += take as u64;
        } else if line.len() + take > max_line_bytes {
            skipping = Some((line.len() + take) as u64);
            line = Vec::with_capacity(256);
        } else {
            line.extend_from_slice(&buf[..take]);
        }
        input.consume(take + usize::from(ends));
        if ends {
            if let Some(bytes) = skipping.take() {
                dropped(LineDrop::TooLong { bytes });
            } else {
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                sink(match std::str::from_utf8(&line) {
                    Ok(s) => Str::from(s),
                    Err(_) => Str::from(String::from_utf8_lossy(&line).into_owned()),
                });
                line.clear();
            }
        }
    }
}

/// Reads raw bytes until the connection closes (for custom decoders).
pub fn read_all(mut input: Box<dyn BufRead + Send>) -> std::io::Result<Vec<u8>> {
    let mut v = Vec::new();
    input.read_to_end(&mut v)?;
    Ok(v)
}
