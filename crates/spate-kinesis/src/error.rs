//! The one error type of `spate-kinesis`.

/// What can go wrong with Kinesis.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A call to the Kinesis endpoint failed (unreachable, refused, throttled past the
    /// client's retries, a missing stream...). `detail` is the client's full account.
    #[error("kinesis at {endpoint}: {what}: {detail}")]
    Client {
        /// The endpoint (or the region's, when none was set).
        endpoint: String,
        /// What was being done.
        what: String,
        /// The client's error with its causes.
        detail: String,
        /// The client's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A parameter cannot be used.
    #[error("kinesis parameter `{key}`: {reason}")]
    Param {
        /// The parameter.
        key: String,
        /// Why.
        reason: String,
    },
    /// The stream is not there or not readable.
    #[error("kinesis stream `{stream}` at {endpoint}: {reason}")]
    Stream {
        /// The stream.
        stream: String,
        /// The endpoint.
        endpoint: String,
        /// Why it cannot be read.
        reason: String,
    },
    /// Reading a range did not get all its records in time.
    #[error("kinesis {range}: got {got} of its {want} records after polling for {waited_ms} ms (spate.streaming.kinesis.poll.ms)")]
    Incomplete {
        /// The range.
        range: String,
        /// Records read.
        got: u64,
        /// Records the range holds.
        want: u64,
        /// How long it polled.
        waited_ms: u64,
    },
    /// The client's runtime could not be started or stopped answering.
    #[error("kinesis client runtime: {0}")]
    Runtime(String),
}

impl Error {
    /// A failed call to `endpoint`, while doing `what`.
    pub(crate) fn client<E>(endpoint: &str, what: impl Into<String>, source: E) -> Error
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        Error::Client {
            endpoint: endpoint.to_string(),
            what: what.into(),
            detail: aws_sdk_kinesis::error::DisplayErrorContext(&source).to_string(),
            source: Box::new(source),
        }
    }
}

impl From<Error> for spate_streaming::Error {
    fn from(e: Error) -> Self {
        spate_streaming::Error::Connector {
            connector: "kinesis",
            source: Box::new(e),
        }
    }
}
