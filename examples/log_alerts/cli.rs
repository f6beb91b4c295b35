//! Command-line options of `log_alerts`.

use crate::stats::Thresholds;
use std::path::PathBuf;

/// The usage text.
pub const USAGE: &str = "\
usage: log_alerts [source] [options]

source (default: the built-in traffic generator):
  --seed N               generator seed (default 7)
  --rate LINES_PER_SEC   generator rate (default 2000)
  --dir PATH             read log files moved into PATH (Common or Combined Log Format)
  --socket HOST:PORT     read log lines from a TCP server (e.g. `nc -lk 9999`)
  --emit N               print N lines of the generator (--seed) to stdout and exit:
                         sample input for --dir and --socket

options:
  --batch-ms MS          batch interval (default 1000)
  --window-s S           window length (default 10)
  --slide-s S            how often a window is reported (default 2); both multiples of the batch
  --min-errors N         alert when an endpoint has N 5xx in a window (default 20)
  --max-error-ratio F    ...or a 5xx ratio above F (default 0.05)
  --min-requests N       ...over at least N requests (default 50)
  --top N                endpoints listed by errors per window (default 3; 0: none)
  --duration-s S         stop gracefully after S seconds (default 20; 0: run until Ctrl-C)
  --webhook URL          also POST each alert as JSON to URL (retries, at most 20 a second)
  --ui                   serve the web UI (spate.ui.port, default 4040) with dashboards of the
                         5xx rate per endpoint and of the alerts
  --master URL           spate master (default local[2])";

/// Where the log lines come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// The built-in generator.
    Generator {
        /// Its seed.
        seed: u64,
        /// Lines per second.
        rate: u32,
    },
    /// Files moved into a directory.
    Dir(PathBuf),
    /// A TCP server.
    Socket {
        /// Host name or address.
        host: String,
        /// Port.
        port: u16,
    },
}

/// Everything the command line decides.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// The input.
    pub source: Source,
    /// Batch interval in ms.
    pub batch_ms: u64,
    /// Window length in seconds.
    pub window_s: u64,
    /// Slide in seconds.
    pub slide_s: u64,
    /// Alert thresholds.
    pub thresholds: Thresholds,
    /// Endpoints listed by errors per window.
    pub top: usize,
    /// Run time in seconds; 0 for ever.
    pub duration_s: u64,
    /// The master URL.
    pub master: String,
    /// Print this many generated lines instead of running.
    pub emit: Option<u64>,
    /// Where alerts are also POSTed.
    pub webhook: Option<String>,
    /// Serve the web UI with the dashboards.
    pub ui: bool,
}

/// The options of `args` (without the program name); `Ok(None)` for `--help`.
pub fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Option<Options>, String> {
    let mut seed = None;
    let mut rate = None;
    let mut dir = None;
    let mut socket = None;
    let mut o = Options {
        source: Source::Generator {
            seed: 7,
            rate: 2000,
        },
        batch_ms: 1000,
        window_s: 10,
        slide_s: 2,
        thresholds: Thresholds::default(),
        top: 3,
        duration_s: 20,
        master: "local[2]".into(),
        emit: None,
        webhook: None,
        ui: false,
    };
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            return Ok(None);
        }
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (flag.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match name.as_str() {
            "--seed" => seed = Some(number(&name, &value()?)?),
            "--rate" => rate = Some(positive(&name, &value()?)?),
            "--dir" => dir = Some(PathBuf::from(value()?)),
            "--socket" => socket = Some(host_port(&value()?)?),
            "--batch-ms" => o.batch_ms = positive(&name, &value()?)?,
            "--window-s" => o.window_s = positive(&name, &value()?)?,
            "--slide-s" => o.slide_s = positive(&name, &value()?)?,
            "--min-errors" => o.thresholds.min_errors = number(&name, &value()?)?,
            "--max-error-ratio" => {
                let v = value()?;
                o.thresholds.max_error_ratio = match v.parse::<f64>() {
                    Ok(f) if (0.0..=1.0).contains(&f) => f,
                    _ => return Err(format!("{name}: `{v}` is not a ratio in 0..=1")),
                };
            }
            "--min-requests" => o.thresholds.min_requests = number(&name, &value()?)?,
            "--top" => o.top = number(&name, &value()?)?,
            "--duration-s" => o.duration_s = number(&name, &value()?)?,
            "--master" => o.master = value()?,
            "--emit" => o.emit = Some(number(&name, &value()?)?),
            "--webhook" => o.webhook = Some(value()?),
            "--ui" => o.ui = true,
            _ => return Err(format!("unknown argument `{flag}`")),
        }
    }
    o.source = match (dir, socket) {
        (Some(_), Some(_)) => return Err("--dir and --socket exclude each other".into()),
        (Some(_), None) | (None, Some(_))
            if seed.is_some() || rate.is_some() || o.emit.is_some() =>
        {
            return Err("--seed, --rate and --emit are options of the built-in generator".into())
        }
        (Some(d), None) => Source::Dir(d),
        (None, Some((host, port))) => Source::Socket { host, port },
        (None, None) => Source::Generator {
            seed: seed.unwrap_or(7),
            rate: rate.unwrap_or(2000),
        },
    };
    for (what, s) in [("--window-s", o.window_s), ("--slide-s", o.slide_s)] {
        if (s * 1000) % o.batch_ms != 0 {
            return Err(format!(
                "{what} {s} is not a multiple of the batch interval ({} ms)",
                o.batch_ms
            ));
        }
    }
    Ok(Some(o))
}

fn number<T: std::str::FromStr>(name: &str, v: &str) -> Result<T, String> {
    v.parse()
        .map_err(|_| format!("{name}: `{v}` is not a whole number"))
}

fn positive<T: std::str::FromStr + Default + PartialEq>(name: &str, v: &str) -> Result<T, String> {
    let n: T = number(name, v)?;
    if n == T::default() {
        return Err(format!("{name} must be positive"));
    }
    Ok(n)
}

/// `host:port`, `[v6 address]:port`.
fn host_port(v: &str) -> Result<(String, u16), String> {
    let (host, port) = v
        .rsplit_once(':')
        .ok_or_else(|| format!("--socket: `{v}` is not HOST:PORT"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = port
        .parse()
        .map_err(|_| format!("--socket: `{port}` is not a port"))?;
    if host.is_empty() {
        return Err(format!("--socket: `{v}` has no host"));
    }
    Ok((host.to_string(), port))
}
