//! [`WebhookSink`]: see the crate docs.

use crate::error::Error;
use parking_lot::Mutex;
use spate_core::{BoxIter, Data};
use spate_streaming::{BoxError, Sink, Time};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// A sink POSTing each record as a JSON alert to a webhook (see the crate docs).
pub struct WebhookSink {
    url: String,
    agent: ureq::Agent,
    retries: u32,
    backoff: Duration,
    /// Alerts per second at most (0: no limit).
    rate: f64,
    /// When the next alert may be sent.
    next_send: Mutex<Instant>,
    /// Keys delivered, by batch time, until the batch is committed.
    delivered: Mutex<BTreeMap<i64, BTreeSet<String>>>,
}

impl std::fmt::Debug for WebhookSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSink")
            .field("url", &self.url)
            .field("retries", &self.retries)
            .field("rate", &self.rate)
            .finish()
    }
}

const TIMEOUT: Duration = Duration::from_secs(10);

fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .build()
        .new_agent()
}

impl WebhookSink {
    /// Alerts to `url` (`http://` or `https://`): 10 s timeout per request, 8 retries from
    /// a 200 ms backoff, no rate limit.
    ///
    /// # Errors
    /// [`Error::Url`] when `url` is not an HTTP(S) URL with a host.
    pub fn new(url: impl Into<String>) -> Result<Self, Error> {
        let url = url.into();
        let bad = |reason: &str| Error::Url {
            url: url.clone(),
            reason: reason.into(),
        };
        let rest = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"))
            .ok_or_else(|| bad("not http:// or https://"))?;
        if rest.is_empty() || rest.starts_with('/') {
            return Err(bad("no host"));
        }
        Ok(WebhookSink {
            agent: agent(TIMEOUT),
            url,
            retries: 8,
            backoff: Duration::from_millis(200),
            rate: 0.0,
            next_send: Mutex::new(Instant::now()),
            delivered: Mutex::new(BTreeMap::new()),
        })
    }

    /// How long one request may take.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.agent = agent(timeout);
        self
    }

    /// How many times a failed POST is tried again.
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// The first wait before trying again (doubled each time, at most 5 s).
    pub fn backoff(mut self, backoff: Duration) -> Self {
        self.backoff = backoff;
        self
    }

    /// At most `per_s` alerts a second; more wait their turn (none is dropped).
    pub fn rate_limit(mut self, per_s: f64) -> Self {
        self.rate = per_s.max(0.0);
        self
    }

    /// Waits for the rate limit's next slot.
    fn pace(&self) {
        if self.rate <= 0.0 {
            return;
        }
        let due = {
            let mut next = self.next_send.lock();
            let at = (*next).max(Instant::now());
            *next = at + Duration::from_secs_f64(1.0 / self.rate);
            at
        };
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
    }

    /// POSTs one alert until the server takes it, retrying what may pass later.
    fn deliver(&self, key: &str, body: &str) -> Result<(), Error> {
        let mut wait = self.backoff;
        let mut last = String::new();
        for attempt in 0..=self.retries {
            if attempt > 0 {
                tracing::warn!(url = %self.url, alert = key, attempt, "webhook: trying again after {wait:?}: {last}");
                std::thread::sleep(wait);
                wait = (wait * 2).min(Duration::from_secs(5));
            }
            self.pace();
            let sent = self
                .agent
                .post(&self.url)
                .header("Content-Type", "application/json")
                .header("Idempotency-Key", key)
                .send(body.as_bytes());
            match sent {
                Ok(mut r) => {
                    let status = r.status().as_u16();
                    if (200..300).contains(&status) {
                        return Ok(());
                    }
                    let text: String = r
                        .body_mut()
                        .read_to_string()
                        .unwrap_or_default()
                        .chars()
                        .take(200)
                        .collect();
                    if status != 429 && status < 500 {
                        return Err(Error::Refused {
                            url: self.url.clone(),
                            key: key.into(),
                            status,
                            body: text,
                        });
                    }
                    last = format!("HTTP {status}: {text}");
                }
                Err(e) => last = e.to_string(),
            }
        }
        Err(Error::Undelivered {
            url: self.url.clone(),
            key: key.into(),
            attempts: self.retries + 1,
            last,
        })
    }
}

impl<T: Data> Sink<T> for WebhookSink {
    /// Each alert of the partition: its key and JSON body.
    type Staged = Vec<(String, String)>;

    fn name(&self) -> String {
        format!("webhook {}", self.url)
    }

    fn write(
        &self,
        time: Time,
        partition: usize,
        _attempt: u64,
        records: BoxIter<T>,
    ) -> Result<Self::Staged, BoxError> {
        let mut out = Vec::new();
        let mut failed = None;
        records.drive(&mut |alert: T| {
            if failed.is_some() {
                return;
            }
            let index = out.len();
            let key = format!("spate-{}-{partition}-{index}", time.0);
            let body = serde_json::json!({
                "batch_time": time.0,
                "partition": partition,
                "index": index,
                "alert": alert,
            });
            match serde_json::to_string(&body) {
                Ok(b) => out.push((key, b)),
                Err(source) => failed = Some(Error::Encode { key, source }),
            }
        });
        match failed {
            Some(e) => Err(Box::new(e)),
            None => Ok(out),
        }
    }

    fn commit(&self, time: Time, staged: Vec<Self::Staged>) -> Result<(), BoxError> {
        for (key, body) in staged.iter().flatten() {
            let done = self
                .delivered
                .lock()
                .get(&time.0)
                .is_some_and(|d| d.contains(key));
            if done {
                continue;
            }
            tracing::warn!(target: "spate::alert", alert = %body, "ALERT");
            self.deliver(key, body)?;
            self.delivered
                .lock()
                .entry(time.0)
                .or_default()
                .insert(key.clone());
        }
        self.delivered.lock().remove(&time.0);
        Ok(())
    }
}
