//! Alerts out of a stream: [`WebhookSink`] POSTs each record of a batch as JSON to a
//! webhook URL, with retries, a timeout and a rate limit, and writes it to the log.
//!
//! ```no_run
//! use spate_alerts::WebhookSink;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let ssc = spate_streaming::StreamingContext::with_context(
//! #     spate_core::Context::local(2)?, std::time::Duration::from_secs(1))?;
//! # let alerts = ssc.queue_stream(&spate_streaming::RddQueue::<String>::new());
//! alerts.write_to(WebhookSink::new("http://127.0.0.1:8080/alerts")?.rate_limit(20.0));
//! # Ok(()) }
//! ```
//!
//! Each alert is sent once its batch is computed, from the driver, in batch and partition
//! order, as `{"batch_time": <ms>, "partition": <p>, "index": <i>, "alert": <the record>}`
//! with the header `Idempotency-Key: spate-<batch ms>-<p>-<i>`.
//!
//! **At least once.** A POST that fails (no connection, a timeout, HTTP 5xx or 429) is
//! tried again after a backoff (doubling from `backoff`, at most 5 s), up to `retries`
//! times. An alert the server took is not sent again within the run. A batch whose alerts
//! could not all be delivered fails (with the URL and the last cause), and the
//! output-failure policy decides what follows; with `retry`, only its undelivered alerts
//! are sent again. A batch recomputed after a crash sends its alerts again, with the same
//! keys: a receiver that remembers keys sees each alert once. HTTP 4xx other than 429 is
//! not retried: the batch fails at once, naming the status.

mod error;
mod webhook;

pub use error::Error;
pub use webhook::WebhookSink;
