//! Access-log lines in the Common and Combined Log Formats, parsed without allocating and
//! without ever panicking: a line that does not have the format is `None`, for the caller
//! to count.
//!
//! ```text
//! Common:   203.0.113.7 - alice [10/Oct/2026:13:55:36 +0000] "GET /a?b=1 HTTP/1.1" 200 2326
//! Combined: ... 200 2326 "https://shop.example.com/" "Mozilla/5.0 (X11; Linux x86_64)"
//! ```
//!
//! A request line that is not `METHOD TARGET [PROTOCOL]` (`"-"` for a client that sent
//! nothing, TLS bytes sent to a plain-text port) is still a logged request: its method and
//! endpoint are `-`. The log line itself is malformed when a field is missing or wrong:
//! no `[time]` of the CLF shape, no quoted request, a status that is not three digits in
//! 100..=599, a size that is neither digits nor `-`. Referer and user agent are optional
//! (Common) and read when present; a line cut inside them keeps its request.

/// One request of an access log, borrowed from its line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    /// The client address (or host name).
    pub ip: &'a str,
    /// The authenticated user, `-` when none.
    pub user: &'a str,
    /// The time as logged, without brackets: `10/Oct/2026:13:55:36 +0000`.
    pub time: &'a str,
    /// `GET`, `POST`, ... (`-` when the request line was not a request).
    pub method: &'a str,
    /// The path without its query string or fragment (`-` as for `method`).
    pub endpoint: &'a str,
    /// `HTTP/1.1`, ... (empty when absent).
    pub protocol: &'a str,
    /// The response status.
    pub status: u16,
    /// The response size; `-` in the log is 0.
    pub bytes: u64,
    /// The referer (Combined only; `-` as logged when none).
    pub referer: Option<&'a str>,
    /// The user agent (Combined only).
    pub user_agent: Option<&'a str>,
}

/// Parses one log line; `None` when it is not in the Common or Combined Log Format.
pub fn parse(line: &str) -> Option<Request<'_>> {
    let line = line.trim_end_matches(['\r', '\n']);
    let (ip, rest) = field(line)?;
    let (_ident, rest) = field(rest)?;
    let (user, rest) = field(rest)?;
    let (time, rest) = rest.strip_prefix('[')?.split_once(']')?;
    if !is_clf_time(time) {
        return None;
    }
    let (request, rest) = quoted(rest.strip_prefix(" \"")?)?;
    let (status, rest) = field_or_last(rest.strip_prefix(' ')?);
    let status = parse_status(status)?;
    let (bytes, rest) = field_or_last(rest);
    let bytes = match bytes {
        "-" => 0,
        b if !b.is_empty() && b.len() <= 19 && b.bytes().all(|c| c.is_ascii_digit()) => {
            b.parse().ok()?
        }
        _ => return None,
    };
    let (referer, user_agent) = combined_fields(rest);
    let (method, endpoint, protocol) = request_parts(request);
    Some(Request {
        ip,
        user,
        time,
        method,
        endpoint,
        protocol,
        status,
        bytes,
        referer,
        user_agent,
    })
}

/// The non-empty text up to the next space, and what follows the space.
fn field(s: &str) -> Option<(&str, &str)> {
    let (a, b) = s.split_once(' ')?;
    (!a.is_empty()).then_some((a, b))
}

/// Like [`field`], but the last field of a line has no space after it.
fn field_or_last(s: &str) -> (&str, &str) {
    s.split_once(' ').unwrap_or((s, ""))
}

/// The text up to the closing `"` (skipping `\"` and `\\` escapes) and what follows it.
fn quoted(s: &str) -> Option<(&str, &str)> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            // Only ASCII bytes are compared, so `i` is a char boundary when it matches.
            b'\\' => i += 2,
            b'"' => return Some((&s[..i], &s[i + 1..])),
            _ => i += 1,
        }
    }
    None
}

/// `dd/Mon/yyyy:HH:MM:SS +zzzz`.
fn is_clf_time(t: &str) -> bool {
    const SHAPE: &[u8; 26] = b"00/Aaa/0000:00:00:00 +0000";
    let b = t.as_bytes();
    b.len() == SHAPE.len()
        && b.iter().zip(SHAPE).all(|(&c, &s)| match s {
            b'0' => c.is_ascii_digit(),
            b'A' => c.is_ascii_uppercase(),
            b'a' => c.is_ascii_lowercase(),
            b'+' => c == b'+' || c == b'-',
            _ => c == s,
        })
}

fn parse_status(s: &str) -> Option<u16> {
    if s.len() != 3 || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let v: u16 = s.parse().ok()?;
    (100..=599).contains(&v).then_some(v)
}

/// Method, endpoint (path without `?query` or `#fragment`) and protocol of a request line.
fn request_parts(request: &str) -> (&str, &str, &str) {
    let mut parts = request.split(' ');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(method), Some(target), protocol, None)
            if !method.is_empty() && !target.is_empty() =>
        {
            let end = target.find(['?', '#']).unwrap_or(target.len());
            let endpoint = if end == 0 { "-" } else { &target[..end] };
            (method, endpoint, protocol.unwrap_or(""))
        }
        _ => ("-", "-", ""),
    }
}

/// The referer and user agent of a Combined line's tail ` "referer" "agent"`, when there.
fn combined_fields(rest: &str) -> (Option<&str>, Option<&str>) {
    let Some((referer, rest)) = rest.strip_prefix('"').and_then(quoted) else {
        return (None, None);
    };
    let agent = rest
        .strip_prefix(" \"")
        .and_then(quoted)
        .map(|(agent, _)| agent);
    (Some(referer), agent)
}
