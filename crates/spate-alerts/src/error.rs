//! The one error type of `spate-alerts`.

/// What can go wrong sending alerts.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The webhook URL cannot be used.
    #[error("webhook URL `{url}`: {reason}")]
    Url {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The server refused an alert for good (HTTP 4xx other than 429).
    #[error("webhook {url} refused alert {key}: HTTP {status}: {body}")]
    Refused {
        /// The URL.
        url: String,
        /// The alert's idempotency key.
        key: String,
        /// The status.
        status: u16,
        /// The start of the answer.
        body: String,
    },
    /// An alert could not be delivered after every retry.
    #[error("webhook {url}: alert {key} not delivered after {attempts} attempts: {last}")]
    Undelivered {
        /// The URL.
        url: String,
        /// The alert's idempotency key.
        key: String,
        /// Attempts made.
        attempts: u32,
        /// The last attempt's failure.
        last: String,
    },
    /// An alert could not be encoded as JSON.
    #[error("alert {key} cannot be encoded as JSON: {source}")]
    Encode {
        /// The alert's idempotency key.
        key: String,
        /// The encoder's error.
        #[source]
        source: serde_json::Error,
    },
}
