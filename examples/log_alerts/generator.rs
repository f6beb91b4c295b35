//! A built-in source of realistic web traffic: Combined Log Format lines of a small web
//! shop, deterministic for a seed, with periodic incidents and a few malformed lines.
//!
//! - Clients (RFC 5737 and 3849 documentation addresses), a few logged-in users, browser
//!   and bot user agents, referers, HTTP/1.0, 1.1 and 2.0.
//! - Endpoints with their own mix: pages, a JSON API, a search with a query string, static
//!   files answered 304 when cached (size `-`), a login that answers 401 to bad passwords,
//!   vulnerability scanners collecting 404s, and a rare 5xx everywhere dynamic.
//! - Incidents: every [`INCIDENT_PERIOD_MS`], from [`INCIDENT_START_MS`] and for
//!   [`INCIDENT_LENGTH_MS`], one endpoint (chosen by the seed) answers a third of its
//!   requests with 500, 502, 503 or 504 — enough for alerts with the default thresholds.
//! - [`MALFORMED_RATE`] of the lines are not log lines: cut before their status,
//!   garbage, binary noise decoded as U+FFFD, or a line of the server's error log.
//!
//! Line `n` is logged at `start + n / rate` seconds; [`GeneratorReceiver`] paces the lines
//! so that this is real time.

use spate::prelude::*;
use std::fmt::Write;
use std::thread::JoinHandle;
use std::time::Duration;

/// When the first incident starts, after the first line.
pub const INCIDENT_START_MS: i64 = 4_000;
/// How long an incident lasts.
pub const INCIDENT_LENGTH_MS: i64 = 5_000;
/// How often incidents come back.
pub const INCIDENT_PERIOD_MS: i64 = 30_000;
/// The share of an incident endpoint's requests that fail.
const INCIDENT_5XX: f64 = 0.35;
/// The share of lines that are not log lines.
pub const MALFORMED_RATE: f64 = 0.005;

/// The endpoints an incident can hit.
const FRAGILE: [&str; 5] = [
    "/checkout",
    "/api/orders",
    "/api/search",
    "/api/cart",
    "/login",
];

/// SplitMix64 (spate's deterministic generator): small, fast and good enough for traffic.
pub use spate::rng::SplitMix64;

/// The endpoint failing at `elapsed_ms` after the first line, if an incident is under way.
pub fn incident_at(seed: u64, elapsed_ms: i64) -> Option<&'static str> {
    if elapsed_ms < 0 {
        return None;
    }
    let k = elapsed_ms / INCIDENT_PERIOD_MS;
    let at = elapsed_ms % INCIDENT_PERIOD_MS;
    if !(INCIDENT_START_MS..INCIDENT_START_MS + INCIDENT_LENGTH_MS).contains(&at) {
        return None;
    }
    let mut r = SplitMix64::new(seed ^ (k as u64).wrapping_mul(0xA24B_AED4_963E_E407));
    Some(r.pick(&FRAGILE))
}

#[derive(Clone, Copy)]
enum Kind {
    Page,
    Login,
    Orders,
    Search,
    Cart,
    Static(u64),
    Favicon,
    Checkout,
    Products,
    Robots,
    Scanner,
}

const ENDPOINTS: [(u32, (&str, Kind)); 12] = [
    (10, ("/", Kind::Page)),
    (6, ("/login", Kind::Login)),
    (10, ("/api/orders", Kind::Orders)),
    (12, ("/api/search", Kind::Search)),
    (8, ("/api/cart", Kind::Cart)),
    (18, ("/static/app.js", Kind::Static(48_213))),
    (14, ("/static/style.css", Kind::Static(9_870))),
    (6, ("/favicon.ico", Kind::Favicon)),
    (6, ("/checkout", Kind::Checkout)),
    (7, ("/products", Kind::Products)),
    (1, ("/robots.txt", Kind::Robots)),
    (2, ("", Kind::Scanner)),
];

const SCANNED: [&str; 5] = [
    "/wp-login.php",
    "/.env",
    "/admin/config.php",
    "/phpmyadmin/index.php",
    "/.git/config",
];
const TERMS: [&str; 8] = [
    "shoes",
    "red+dress",
    "laptop",
    "usb-c",
    "coffee",
    "gift",
    "tent",
    "lamp",
];
const USERS: [&str; 6] = ["alice", "bob", "carol", "dave", "erin", "frank"];
const AGENTS: [&str; 6] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "okhttp/4.12.0",
];
const SCANNER_AGENTS: [&str; 3] = ["curl/8.5.0", "sqlmap/1.8", "python-requests/2.32.3"];
const REFERERS: [(u32, &str); 4] = [
    (40, "-"),
    (35, "https://shop.example.com/"),
    (15, "https://shop.example.com/products"),
    (10, "https://www.google.com/"),
];
const PROTOCOLS: [(u32, &str); 3] = [(75, "HTTP/1.1"), (20, "HTTP/2.0"), (5, "HTTP/1.0")];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The traffic of one seed, line by line.
#[derive(Debug, Clone)]
pub struct LogGenerator {
    seed: u64,
    rng: SplitMix64,
    rate: u32,
    start_ms: i64,
    produced: u64,
    /// The formatted time of the last second used.
    stamp: (i64, String),
}

impl LogGenerator {
    /// The lines of `seed` at `rate` lines per second (at least 1), the first logged at
    /// `start_ms` (milliseconds since the epoch).
    pub fn new(seed: u64, rate: u32, start_ms: i64) -> Self {
        LogGenerator {
            seed,
            rng: SplitMix64::new(seed),
            rate: rate.max(1),
            start_ms,
            produced: 0,
            stamp: (i64::MIN, String::new()),
        }
    }

    /// How many lines were made.
    pub fn produced(&self) -> u64 {
        self.produced
    }

    /// How many lines are due `now_ms` (since the epoch), at the generator's rate.
    pub fn due_at(&self, now_ms: i64) -> u64 {
        let elapsed = u64::try_from(now_ms - self.start_ms).unwrap_or(0);
        elapsed.saturating_mul(u64::from(self.rate)) / 1000
    }

    /// The next line.
    pub fn next_line(&mut self) -> String {
        let elapsed_ms = (self.produced.saturating_mul(1000) / u64::from(self.rate)) as i64;
        self.produced += 1;
        let r = &mut self.rng;
        if r.chance(MALFORMED_RATE) {
            let valid = self.log_line(elapsed_ms);
            return self.malformed(valid.0, valid.1, elapsed_ms);
        }
        self.log_line(elapsed_ms).0
    }

    /// A valid Combined line, and the length of its part before the status.
    fn log_line(&mut self, elapsed_ms: i64) -> (String, usize) {
        let failing = incident_at(self.seed, elapsed_ms);
        let r = &mut self.rng;
        let (path, kind) = r.weighted(&ENDPOINTS);
        // Busy clients are more likely: 0..300, skewed towards small numbers.
        let busiest = r.below(300) + 1;
        let client = r.below(busiest);
        let (ip, user, agent) = match kind {
            Kind::Scanner => (
                format!("198.51.100.{}", 200 + r.below(50)),
                "-",
                r.pick(&SCANNER_AGENTS),
            ),
            _ => (
                client_ip(client),
                if client % 7 == 3 {
                    USERS[(client / 7) as usize % USERS.len()]
                } else {
                    "-"
                },
                AGENTS[(client % AGENTS.len() as u64) as usize],
            ),
        };
        let server_error = match failing {
            Some(f) if f == path => INCIDENT_5XX,
            _ => match kind {
                Kind::Static(_) | Kind::Favicon | Kind::Robots | Kind::Scanner => 0.0,
                Kind::Search => 0.002,
                Kind::Products => 0.0005,
                _ => 0.001,
            },
        };
        let (method, target, status, bytes) = request(r, path, kind, server_error);
        let referer = r.weighted(&REFERERS);
        let protocol = r.weighted(&PROTOCOLS);
        let second = (self.start_ms + elapsed_ms).div_euclid(1000);
        if self.stamp.0 != second {
            self.stamp = (second, clf_time(second));
        }
        let mut line = String::with_capacity(256);
        let _ = write!(
            line,
            "{ip} - {user} [{}] \"{method} {target} {protocol}\"",
            self.stamp.1
        );
        let prefix = line.len();
        let size = bytes.map_or_else(|| "-".to_string(), |b| b.to_string());
        let _ = write!(line, " {status} {size} \"{referer}\" \"{agent}\"");
        (line, prefix)
    }

    /// A line that is not a log line, made from a valid one of `prefix` bytes before its
    /// status.
    fn malformed(&mut self, valid: String, prefix: usize, elapsed_ms: i64) -> String {
        let r = &mut self.rng;
        match r.below(4) {
            // Cut before the status (the line is ASCII: any byte is a char boundary).
            0 => valid[..1 + r.below(prefix as u64) as usize].to_string(),
            1 => (0..5 + r.below(60))
                .map(|_| char::from(b' ' + r.below(95) as u8))
                .collect(),
            // What invalid UTF-8 becomes once decoded, with control characters.
            2 => (0..3 + r.below(20))
                .map(|_| r.pick(&['\u{FFFD}', '\u{1}', '\u{16}', '\u{3}', 'Ã', '\t']))
                .collect(),
            _ => format!(
                "{} [error] 1234#0: *{} upstream timed out (110: Connection timed out) while reading response header from upstream",
                error_log_time(self.start_ms + elapsed_ms),
                r.below(100_000)
            ),
        }
    }
}

/// Method, target, status and size (`None`: logged as `-`) of a request to `path`.
fn request(
    r: &mut SplitMix64,
    path: &'static str,
    kind: Kind,
    server_error: f64,
) -> (&'static str, String, u16, Option<u64>) {
    let body = |r: &mut SplitMix64, lo: u64, hi: u64| Some(lo + r.below(hi - lo));
    let (method, target, status, bytes) = match kind {
        Kind::Page => {
            let m = if r.chance(0.03) { "HEAD" } else { "GET" };
            let (s, b) = if r.chance(0.15) {
                (304, None)
            } else {
                (200, body(r, 9_000, 14_000))
            };
            (m, path.to_string(), s, b)
        }
        Kind::Login if r.chance(0.5) => ("GET", path.to_string(), 200, body(r, 3_000, 3_500)),
        Kind::Login if r.chance(0.12) => ("POST", path.to_string(), 401, body(r, 300, 400)),
        Kind::Login => ("POST", path.to_string(), 302, Some(0)),
        Kind::Orders if r.chance(0.7) => ("GET", path.to_string(), 200, body(r, 500, 20_000)),
        Kind::Orders if r.chance(0.025) => ("POST", path.to_string(), 400, body(r, 80, 200)),
        Kind::Orders => ("POST", path.to_string(), 201, body(r, 200, 900)),
        Kind::Search => {
            let target = format!("{path}?q={}&page={}", r.pick(&TERMS), 1 + r.below(3));
            ("GET", target, 200, body(r, 1_000, 30_000))
        }
        Kind::Cart => match r.below(10) {
            0..=5 => ("GET", path.to_string(), 200, body(r, 200, 4_000)),
            6..=8 => ("POST", path.to_string(), 201, body(r, 100, 300)),
            _ => ("DELETE", path.to_string(), 204, None),
        },
        Kind::Static(_) if r.chance(0.35) => ("GET", path.to_string(), 304, None),
        Kind::Static(size) => ("GET", path.to_string(), 200, Some(size)),
        Kind::Favicon => match r.below(20) {
            0 => ("GET", path.to_string(), 404, body(r, 150, 200)),
            1..=5 => ("GET", path.to_string(), 304, None),
            _ => ("GET", path.to_string(), 200, Some(1_150)),
        },
        Kind::Checkout if r.chance(0.6) => ("GET", path.to_string(), 200, body(r, 6_000, 9_000)),
        Kind::Checkout if r.chance(0.04) => ("POST", path.to_string(), 400, body(r, 100, 300)),
        Kind::Checkout => ("POST", path.to_string(), 302, Some(0)),
        Kind::Products => {
            let target = format!("{path}?page={}", 1 + r.below(20));
            ("GET", target, 200, body(r, 15_000, 60_000))
        }
        Kind::Robots => ("GET", path.to_string(), 200, Some(67)),
        Kind::Scanner => {
            let m = if r.chance(0.8) { "GET" } else { "POST" };
            (m, r.pick(&SCANNED).to_string(), 404, body(r, 150, 200))
        }
    };
    if server_error > 0.0 && r.chance(server_error) {
        let s = r.weighted(&[(50, 500), (15, 502), (25, 503), (10, 504)]);
        return (method, target, s, body(r, 150, 600));
    }
    (method, target, status, bytes)
}

/// A documentation address for client `n`: IPv4 in RFC 5737's ranges, some IPv6.
fn client_ip(n: u64) -> String {
    let h = SplitMix64::new(n).next_u64();
    match h % 20 {
        0 => format!("2001:db8::{:x}", h >> 48),
        1..=7 => format!("192.0.2.{}", 1 + (h >> 8) % 254),
        8..=13 => format!("198.51.100.{}", 1 + (h >> 8) % 199),
        _ => format!("203.0.113.{}", 1 + (h >> 8) % 254),
    }
}

/// Year, month (1..=12) and day of a day number since 1970-01-01 (Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, usize, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month as usize, day)
}

/// `10/Oct/2026:13:55:36 +0000` for a time in seconds since the epoch.
pub fn clf_time(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{d:02}/{}/{y:04}:{:02}:{:02}:{:02} +0000",
        MONTHS[m - 1],
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// `2026/10/10 13:55:36`, as an error log writes it.
fn error_log_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}/{m:02}/{d:02} {:02}:{:02}:{:02}",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// Milliseconds since the epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A [`Receiver`] storing a [`LogGenerator`]'s lines in real time, `rate` per second.
/// After a restart it continues the same sequence (catching up on the lines due).
pub struct GeneratorReceiver {
    seed: u64,
    rate: u32,
    generator: Option<LogGenerator>,
    worker: Option<JoinHandle<LogGenerator>>,
}

impl GeneratorReceiver {
    /// The traffic of `seed` at `rate` lines per second, starting when the receiver does.
    pub fn new(seed: u64, rate: u32) -> Self {
        GeneratorReceiver {
            seed,
            rate,
            generator: None,
            worker: None,
        }
    }
}

impl Receiver<Str> for GeneratorReceiver {
    fn name(&self) -> String {
        format!("log generator (seed {}, {} lines/s)", self.seed, self.rate)
    }

    fn on_start(&mut self, handle: ReceiverHandle<Str>) {
        let mut generator = self
            .generator
            .take()
            .unwrap_or_else(|| LogGenerator::new(self.seed, self.rate, now_ms()));
        let h = handle.clone();
        let worker = std::thread::Builder::new()
            .name("log-generator".into())
            .spawn(move || {
                let handle = h;
                while !handle.is_stopped() {
                    let due = generator.due_at(now_ms());
                    let n = due.saturating_sub(generator.produced()).min(50_000);
                    if n > 0 {
                        let lines = (0..n).map(|_| Str::from(generator.next_line())).collect();
                        // Returns once the lines are in the block store; a block that
                        // cannot be stored restarts the receiver.
                        if let Err(e) = handle.store_many(lines) {
                            handle.restart(format!("storing generated lines failed: {e}"));
                            break;
                        }
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                generator
            });
        match worker {
            Ok(w) => self.worker = Some(w),
            Err(e) => handle.restart(format!("cannot start the generator thread: {e}")),
        }
    }

    fn on_stop(&mut self) {
        if let Some(w) = self.worker.take() {
            // The thread ends within a few milliseconds of `is_stopped`.
            if let Ok(g) = w.join() {
                self.generator = Some(g);
            }
        }
    }
}
