//! The Kafka sink: `stream.write_to(KafkaSink::new(params, topic, to_record))` sends every
//! record of a batch to a topic from the tasks that computed it, through an idempotent
//! producer (no duplicates from the producer's own retries), batched by librdkafka.
//!
//! **At least once.** A batch is written by its tasks as they run; a task run again (a
//! retry, a batch recomputed after a driver failure) sends its records again. Every record
//! carries headers naming where it came from — `spate-batch-time` (ms), `spate-partition`
//! and `spate-index` (its place in the partition) — so a consumer can drop repeats.
//! Exactly once per batch needs Kafka transactions, which the broker the tests run here
//! (tansu) does not implement; they are not built yet (`docs/kafka.md`).

use crate::error::Error;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::ClientConfig;
use spate_core::{BoxIter, Data};
use spate_streaming::{BoxError, Sink, Time};
use std::sync::Arc;
use std::time::Duration;

/// One record to send: key, value and headers (the sink adds its own headers after).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProducerRecord {
    /// The key (records with the same key go to the same partition).
    pub key: Option<Vec<u8>>,
    /// The value.
    pub value: Option<Vec<u8>>,
    /// Headers, in order.
    pub headers: Vec<(String, Vec<u8>)>,
}

impl ProducerRecord {
    /// A record with only a value.
    pub fn value(value: impl Into<Vec<u8>>) -> Self {
        ProducerRecord {
            value: Some(value.into()),
            ..Default::default()
        }
    }
    /// A record with a key and a value.
    pub fn keyed(key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Self {
        ProducerRecord {
            key: Some(key.into()),
            value: Some(value.into()),
            headers: Vec::new(),
        }
    }
}

/// A sink that sends each record of a stream to a Kafka topic (see the module docs).
pub struct KafkaSink<T> {
    config: Vec<(String, String)>,
    brokers: String,
    topic: String,
    to_record: Arc<dyn Fn(&T) -> ProducerRecord + Send + Sync>,
    flush: Duration,
}

impl<T> KafkaSink<T> {
    /// A sink to `topic` of the brokers in `params`, each record made by `to_record`.
    pub fn new(
        params: crate::KafkaParams,
        topic: impl Into<String>,
        to_record: impl Fn(&T) -> ProducerRecord + Send + Sync + 'static,
    ) -> Self {
        KafkaSink {
            brokers: params.brokers(),
            config: params.client_settings(),
            topic: topic.into(),
            to_record: Arc::new(to_record),
            flush: Duration::from_secs(60),
        }
    }

    fn producer(&self) -> Result<BaseProducer, Error> {
        let mut c = ClientConfig::new();
        for (k, v) in &self.config {
            if !k.starts_with("group.") && k != "enable.auto.commit" {
                c.set(k, v);
            }
        }
        c.set("enable.idempotence", "true");
        c.create().map_err(|source| {
            Error::client(
                &self.brokers,
                format!("creating a producer for topic {}", self.topic),
                source,
            )
        })
    }
}

impl<T: Data> Sink<T> for KafkaSink<T> {
    /// How many records the task sent.
    type Staged = u64;

    fn name(&self) -> String {
        format!("kafka topic {} at {}", self.topic, self.brokers)
    }

    fn open(&self) -> Result<(), BoxError> {
        // The brokers answer and the topic exists, before the first batch.
        let producer = self.producer()?;
        producer
            .client()
            .fetch_metadata(Some(&self.topic), Duration::from_secs(10))
            .map_err(|source| {
                Error::client(
                    &self.brokers,
                    format!("reading the metadata of topic {}", self.topic),
                    source,
                )
            })
            .and_then(|m| match m.topics().first() {
                Some(t) if t.error().is_none() && !t.partitions().is_empty() => Ok(()),
                _ => Err(Error::NoTopic {
                    topic: self.topic.clone(),
                    brokers: self.brokers.clone(),
                }),
            })?;
        Ok(())
    }

    fn write(
        &self,
        time: Time,
        partition: usize,
        _attempt: u64,
        records: BoxIter<T>,
    ) -> Result<u64, BoxError> {
        let producer = self.producer()?;
        let mut sent = 0u64;
        for r in records {
            let rec = (self.to_record)(&r);
            let mut headers = OwnedHeaders::new_with_capacity(rec.headers.len() + 3);
            for (k, v) in &rec.headers {
                headers = headers.insert(Header {
                    key: k,
                    value: Some(v),
                });
            }
            let (t, p, i) = (time.0.to_string(), partition.to_string(), sent.to_string());
            for (k, v) in [
                ("spate-batch-time", &t),
                ("spate-partition", &p),
                ("spate-index", &i),
            ] {
                headers = headers.insert(Header {
                    key: k,
                    value: Some(v.as_bytes()),
                });
            }
            let mut record = BaseRecord::to(&self.topic).headers(headers);
            if let Some(k) = &rec.key {
                record = record.key(k);
            }
            if let Some(v) = &rec.value {
                record = record.payload(v);
            }
            // A full local queue: let the client deliver, then send again.
            while let Err((e, again)) = producer.send(record) {
                if !matches!(
                    e.rdkafka_error_code(),
                    Some(rdkafka::types::RDKafkaErrorCode::QueueFull)
                ) {
                    return Err(Box::new(Error::client(
                        &self.brokers,
                        format!("sending to topic {}", self.topic),
                        e,
                    )));
                }
                producer.poll(Duration::from_millis(20));
                record = again;
            }
            sent += 1;
        }
        producer.flush(self.flush).map_err(|source| {
            Error::client(
                &self.brokers,
                format!(
                "delivering {sent} record(s) of batch {} ms, partition {partition}, to topic {}",
                time.0, self.topic
            ),
                source,
            )
        })?;
        Ok(sent)
    }

    fn commit(&self, time: Time, staged: Vec<u64>) -> Result<(), BoxError> {
        tracing::debug!(topic = %self.topic, batch = time.0, records = staged.iter().sum::<u64>(), "kafka sink: batch delivered");
        Ok(())
    }

    fn abort(&self, time: Time, staged: Vec<u64>) {
        let sent: u64 = staged.iter().sum();
        if sent > 0 {
            tracing::warn!(topic = %self.topic, batch = time.0, records = sent, "kafka sink: the batch failed after {sent} of its records were delivered; they stay in the topic (at least once: the spate-batch-time, spate-partition and spate-index headers tell repeats)");
        }
    }
}
