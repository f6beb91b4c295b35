//! Socket sources: a receiver that connects to a TCP server and decodes what it reads
//! (Spark's `socketStream` / `socketTextStream`). When the connection fails or the server
//! closes it, the receiver restarts and connects again.

use super::receiver::{Receiver, ReceiverHandle};
use spate_core::{Data, Str};
use std::io::{BufRead, BufReader, Read};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
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

/// A receiver reading records from a TCP server.
pub struct SocketReceiver<T: Data> {
    host: String,
    port: u16,
    decoder: Arc<Decoder<T>>,
    conn: Arc<Mutex<Conn>>,
    thread: Option<JoinHandle<()>>,
}

impl<T: Data> SocketReceiver<T> {
    /// A receiver for `host:port` decoding with `decoder`.
    pub fn new(host: &str, port: u16, decoder: Arc<Decoder<T>>) -> Self {
        SocketReceiver {
            host: host.to_string(),
            port,
            decoder,
            conn: Arc::new(Mutex::new(Conn::default())),
            thread: None,
        }
    }
}

impl<T: Data> Receiver<T> for SocketReceiver<T> {
    fn name(&self) -> String {
        format!("socket {}:{}", self.host, self.port)
    }

    fn on_start(&mut self, handle: ReceiverHandle<T>) {
        *self.conn.lock().unwrap_or_else(|p| p.into_inner()) = Conn::default();
        let (host, port, decoder, conn) = (
            self.host.clone(),
            self.port,
            self.decoder.clone(),
            self.conn.clone(),
        );
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

/// Decodes `\n`-separated UTF-8 lines (a final line without `\n` included; `\r\n` ends a
/// line too; invalid UTF-8 replaced).
pub fn lines_decoder(
    mut input: Box<dyn BufRead + Send>,
    sink: &mut dyn FnMut(Str),
) -> std::io::Result<()> {
    let mut line = Vec::with_capacity(256);
    loop {
        line.clear();
        let n = input.read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(());
        }
        if line.last() == Some(&b'\n') {
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
        }
        sink(match std::str::from_utf8(&line) {
            Ok(s) => Str::from(s),
            Err(_) => Str::from(String::from_utf8_lossy(&line).into_owned()),
        });
    }
}

/// Reads raw bytes until the connection closes (for custom decoders).
pub fn read_all(mut input: Box<dyn BufRead + Send>) -> std::io::Result<Vec<u8>> {
    let mut v = Vec::new();
    input.read_to_end(&mut v)?;
    Ok(v)
}
