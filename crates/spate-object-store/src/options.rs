//! How long a store waits and how often it retries, and extra client settings.

use std::time::Duration;

/// Timeouts, retries and client settings of a store opened by URL.
///
/// The defaults make an unreachable endpoint fail within a few seconds (a refused
/// connection in well under one, a host that does not answer within about
/// `connect_timeout × (max_retries + 1)` bounded by `retry_timeout`), while a large data
/// checkpoint still has `request_timeout` per request. The environment can override the
/// two client timeouts (`AWS_CONNECT_TIMEOUT`, `AWS_TIMEOUT`, `GOOGLE_TIMEOUT`,
/// `AZURE_TIMEOUT`, ... in humantime syntax such as `10s`); [`config`](Self::config)
/// overrides the environment.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StoreOptions {
    /// Time to establish a connection (default 2 s).
    pub connect_timeout: Duration,
    /// Time for one whole request, body included (default 30 s).
    pub request_timeout: Duration,
    /// Retries of a failed request (connection error, timeout, 5xx); default 3.
    pub max_retries: usize,
    /// No retry starts later than this after the first attempt (default 5 s).
    pub retry_timeout: Duration,
    /// First pause between retries, doubled each time up to 1 s (default 100 ms).
    pub initial_backoff: Duration,
    /// A whole operation (a `delete` of a prefix is several requests) is abandoned after
    /// this (default 120 s): a guard that nothing waits forever.
    pub operation_timeout: Duration,
    /// Settings of the object store's builder, as `object_store` names them
    /// (`aws_endpoint`, `aws_allow_http`, `aws_region`, `google_service_account`,
    /// `azure_storage_account_name`, ...); they override the environment.
    pub config: Vec<(String, String)>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(30),
            max_retries: 3,
            retry_timeout: Duration::from_secs(5),
            initial_backoff: Duration::from_millis(100),
            operation_timeout: Duration::from_secs(120),
            config: Vec::new(),
        }
    }
}

impl StoreOptions {
    /// Adds a builder setting (see [`config`](Self::config)).
    pub fn with_config(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.push((key.into(), value.into()));
        self
    }

    /// Sets the connection and request timeouts.
    pub fn with_timeouts(mut self, connect: Duration, request: Duration) -> Self {
        self.connect_timeout = connect;
        self.request_timeout = request;
        self
    }

    /// Sets the number of retries and the time after which none starts.
    pub fn with_retries(mut self, max_retries: usize, retry_timeout: Duration) -> Self {
        self.max_retries = max_retries;
        self.retry_timeout = retry_timeout;
        self
    }

    /// Sets the deadline of one whole operation.
    pub fn with_operation_timeout(mut self, d: Duration) -> Self {
        self.operation_timeout = d;
        self
    }
}
