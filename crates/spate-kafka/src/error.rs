//! The one error type of `spate-kafka`.

/// What can go wrong with Kafka.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A call to the brokers failed (unreachable, refused, timed out).
    #[error("kafka at {brokers}: {what}: {source}")]
    Client {
        /// `bootstrap.servers`.
        brokers: String,
        /// What was being done.
        what: String,
        /// The client's error.
        #[source]
        source: Box<rdkafka::error::KafkaError>,
    },
    /// A parameter cannot be used.
    #[error("kafka parameter `{key}`: {reason}")]
    Param {
        /// The parameter.
        key: String,
        /// Why.
        reason: String,
    },
    /// A subscribed topic has no partitions (it does not exist, or was deleted).
    #[error("kafka topic `{topic}` at {brokers} does not exist (or has no partitions)")]
    NoTopic {
        /// The topic.
        topic: String,
        /// `bootstrap.servers`.
        brokers: String,
    },
    /// The records of an offset range are no longer in the partition (aged out): the range
    /// starts before the partition's earliest offset.
    #[error("kafka {range}: offsets {from}..{earliest} are gone from the partition (retention); set spate.streaming.kafka.offsetOutOfRange=earliest to skip to the earliest offset")]
    OffsetOutOfRange {
        /// The range as planned.
        range: String,
        /// Its first offset.
        from: i64,
        /// The partition's earliest offset now.
        earliest: i64,
    },
    /// A partition ends before the offset the stream reads next: the topic was deleted and
    /// created again, or truncated.
    #[error("kafka {topic}-{partition}: the next offset to read, {from}, is past the partition's end, {latest} (the topic was recreated or truncated); set spate.streaming.kafka.offsetOutOfRange=earliest to read from the earliest offset")]
    PastTheEnd {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// The offset the stream reads next.
        from: i64,
        /// The partition's end now.
        latest: i64,
    },
    /// Reading a range did not get all its records in time.
    #[error("kafka {range}: got records up to offset {reached} after polling for {waited_ms} ms (spate.streaming.kafka.consumer.poll.ms)")]
    Incomplete {
        /// The range.
        range: String,
        /// The next offset it was waiting for.
        reached: i64,
        /// How long it polled.
        waited_ms: u64,
    },
}

impl Error {
    /// A failed call to the brokers at `brokers`, while doing `what`.
    pub(crate) fn client(
        brokers: &str,
        what: impl Into<String>,
        source: rdkafka::error::KafkaError,
    ) -> Error {
        Error::Client {
            brokers: brokers.to_string(),
            what: what.into(),
            source: Box::new(source),
        }
    }
}

impl From<Error> for spate_streaming::Error {
    fn from(e: Error) -> Self {
        spate_streaming::Error::Connector {
            connector: "kafka",
            source: Box::new(e),
        }
    }
}
