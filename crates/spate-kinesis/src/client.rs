//! The Kinesis client as the source and its tasks use it: blocking calls over the AWS SDK,
//! run on one small runtime shared by the process.

use crate::error::Error;
use crate::source::KinesisParams;
use crate::stream::KinesisRecord;
use aws_sdk_kinesis::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_kinesis::primitives::DateTime;
use aws_sdk_kinesis::types::{ShardIteratorType, StreamStatus};
use std::cmp::Ordering;
use std::future::Future;
use std::sync::OnceLock;

/// The runtime the SDK's calls run on (two worker threads, made on first use).
fn runtime() -> Result<&'static tokio::runtime::Runtime, Error> {
    static RT: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("spate-kinesis")
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(|e| Error::Runtime(e.clone()))
}

/// Runs `f` on the runtime and waits for it, from any thread (a task's, the driver's, or
/// one of another runtime).
fn block<F>(f: F) -> Result<F::Output, Error>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    runtime()?.spawn(async move {
        let _ = tx.send(f.await);
    });
    rx.recv()
        .map_err(|_| Error::Runtime("a call panicked or the runtime shut down".into()))
}

/// Orders two sequence numbers (decimal strings of up to 128 bits, no leading zeros).
pub(crate) fn seq_cmp(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// A shard as listed: its id and its parents (a split has one, a merge two).
#[derive(Debug, Clone)]
pub(crate) struct ShardInfo {
    pub(crate) id: String,
    pub(crate) parents: Vec<String>,
}

/// Where a shard iterator starts.
#[derive(Debug, Clone)]
pub(crate) enum Start {
    TrimHorizon,
    Latest,
    AtTimestamp(i64),
    At(String),
    After(String),
}

/// One `GetRecords` answer.
pub(crate) struct Fetched {
    pub(crate) records: Vec<KinesisRecord>,
    /// `None`: the shard is closed and read to its end.
    pub(crate) next: Option<String>,
    /// How far behind the shard's tip the last record is.
    pub(crate) behind_ms: i64,
}

/// A client of one stream.
#[derive(Clone)]
pub(crate) struct Kinesis {
    client: aws_sdk_kinesis::Client,
    pub(crate) endpoint: String,
    pub(crate) stream: String,
}

impl Kinesis {
    pub(crate) fn new(p: &KinesisParams) -> Result<Kinesis, Error> {
        let (key, secret) = p.key_and_secret().ok_or_else(|| Error::Param {
            key: "credentials".into(),
            reason: "none given and AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are not set".into(),
        })?;
        let mut b = aws_sdk_kinesis::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(p.region_name()))
            .credentials_provider(Credentials::new(key, secret, None, None, "spate"));
        if let Some(e) = &p.endpoint {
            b = b.endpoint_url(e);
        }
        Ok(Kinesis {
            client: aws_sdk_kinesis::Client::from_conf(b.build()),
            endpoint: p
                .endpoint
                .clone()
                .unwrap_or_else(|| format!("kinesis.{}.amazonaws.com", p.region_name())),
            stream: p.stream.clone(),
        })
    }

    fn err<E>(&self, what: impl Into<String>) -> impl FnOnce(E) -> Error + '_
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        let what = what.into();
        move |e| Error::client(&self.endpoint, what, e)
    }

    /// Checks the stream exists and can be read (active, or being resharded).
    pub(crate) fn check_stream(&self) -> Result<(), Error> {
        let c = self.client.clone();
        let name = self.stream.clone();
        let out = block(async move { c.describe_stream_summary().stream_name(name).send().await })?;
        let out = match out {
            Ok(o) => o,
            Err(e) => {
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception())
                {
                    return Err(self.stream_error("does not exist".into()));
                }
                return Err(self.err("describing the stream")(e));
            }
        };
        let status = out
            .stream_description_summary()
            .map(|s| s.stream_status().clone());
        match status {
            Some(StreamStatus::Active) | Some(StreamStatus::Updating) => Ok(()),
            other => Err(self.stream_error(format!("is {other:?}, not ACTIVE"))),
        }
    }

    pub(crate) fn stream_error(&self, reason: String) -> Error {
        Error::Stream {
            stream: self.stream.clone(),
            endpoint: self.endpoint.clone(),
            reason,
        }
    }

    /// Every shard of the stream, open and closed (still within retention).
    pub(crate) fn shards(&self) -> Result<Vec<ShardInfo>, Error> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let c = self.client.clone();
            let name = self.stream.clone();
            let t = token.clone();
            let page = block(async move {
                let req = c.list_shards();
                // The stream's name and a page token may not be given together.
                let req = match t {
                    Some(t) => req.next_token(t),
                    None => req.stream_name(name),
                };
                req.send().await
            })?
            .map_err(self.err("listing shards"))?;
            for s in page.shards() {
                let parents = [s.parent_shard_id(), s.adjacent_parent_shard_id()]
                    .into_iter()
                    .flatten()
                    .map(str::to_string)
                    .collect();
                out.push(ShardInfo {
                    id: s.shard_id().to_string(),
                    parents,
                });
            }
            match page.next_token() {
                Some(t) => token = Some(t.to_string()),
                None => return Ok(out),
            }
        }
    }

    /// A shard iterator of `shard` at `start`.
    pub(crate) fn iterator(&self, shard: &str, start: &Start) -> Result<Option<String>, Error> {
        let c = self.client.clone();
        let (name, id, start2) = (self.stream.clone(), shard.to_string(), start.clone());
        let out = block(async move {
            let req = c.get_shard_iterator().stream_name(name).shard_id(id);
            let req = match start2 {
                Start::TrimHorizon => req.shard_iterator_type(ShardIteratorType::TrimHorizon),
                Start::Latest => req.shard_iterator_type(ShardIteratorType::Latest),
                Start::AtTimestamp(ms) => req
                    .shard_iterator_type(ShardIteratorType::AtTimestamp)
                    .timestamp(DateTime::from_millis(ms)),
                Start::At(s) => req
                    .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
                    .starting_sequence_number(s),
                Start::After(s) => req
                    .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                    .starting_sequence_number(s),
            };
            req.send().await
        })?
        .map_err(self.err(format!("getting an iterator of shard {shard} at {start:?}")))?;
        Ok(out.shard_iterator().map(str::to_string))
    }

    /// Up to `limit` records from `iterator`; `Ok(None)` when the iterator expired (they
    /// last five minutes).
    pub(crate) fn get_records(
        &self,
        shard: &str,
        iterator: &str,
        limit: i32,
    ) -> Result<Option<Fetched>, Error> {
        let c = self.client.clone();
        let it = iterator.to_string();
        let out =
            block(async move { c.get_records().shard_iterator(it).limit(limit).send().await })?;
        let out = match out {
            Ok(o) => o,
            Err(e) => {
                if e.as_service_error()
                    .is_some_and(|s| s.is_expired_iterator_exception())
                {
                    return Ok(None);
                }
                return Err(self.err(format!("reading shard {shard}"))(e));
            }
        };
        let records = out
            .records()
            .iter()
            .map(|r| KinesisRecord {
                shard_id: shard.to_string(),
                sequence_number: r.sequence_number().to_string(),
                partition_key: r.partition_key().unwrap_or_default().to_string(),
                data: r.data().as_ref().to_vec(),
                arrival_ms: r
                    .approximate_arrival_timestamp()
                    .and_then(|t| t.to_millis().ok()),
            })
            .collect();
        Ok(Some(Fetched {
            records,
            next: out.next_shard_iterator().map(str::to_string),
            behind_ms: out.millis_behind_latest().unwrap_or(0),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::seq_cmp;
    use std::cmp::Ordering;

    #[test]
    fn sequence_numbers_order_as_numbers_not_as_text() {
        assert_eq!(seq_cmp("9", "10"), Ordering::Less);
        assert_eq!(seq_cmp("100", "99"), Ordering::Greater);
        let a = "49680714099030159191663674382995432262933870740315832338";
        let b = "49680714099030159191663674382996641188753485369490538514";
        assert_eq!(seq_cmp(a, b), Ordering::Less);
        assert_eq!(seq_cmp(b, b), Ordering::Equal);
    }
}
