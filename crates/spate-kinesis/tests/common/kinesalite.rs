//! A real Kinesis-API server for the tests: the one `scripts/test.sh` started
//! (`SPATE_TEST_KINESIS_ENDPOINT`), else kinesalite started here on a free loopback port
//! when it is installed (`~/.cache/spate-services/kinesalite`, as the test command
//! installs it). With neither, the tests say SKIPPED, unless `SPATE_TEST_REQUIRE_SERVICES`
//! is set (the test command sets it): then they fail.

use aws_sdk_kinesis::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::StreamStatus;
use spate_kinesis::KinesisParams;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The server and a client of it; one started here is stopped when this is dropped.
pub struct Server {
    pub endpoint: String,
    client: aws_sdk_kinesis::Client,
    rt: tokio::runtime::Runtime,
    child: Option<Child>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn wrapper() -> Option<PathBuf> {
    let dir = match std::env::var("SPATE_SERVICES_DIR") {
        Ok(d) => PathBuf::from(d),
        Err(_) => PathBuf::from(std::env::var("HOME").ok()?).join(".cache/spate-services"),
    };
    let js = dir.join("kinesalite/start-kinesalite.js");
    js.is_file().then_some(js)
}

/// The server, or `None` (after saying SKIPPED) when there is none here.
pub fn server(test: &str) -> Option<Server> {
    let (endpoint, child) = if let Ok(e) = std::env::var("SPATE_TEST_KINESIS_ENDPOINT") {
        (e, None)
    } else if let Some(js) = wrapper() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("node")
            .arg(&js)
            .env("KINESALITE_PORT", port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start kinesalite");
        let until = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < until,
                "kinesalite did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        (format!("http://127.0.0.1:{port}"), Some(child))
    } else {
        if std::env::var("SPATE_TEST_REQUIRE_SERVICES").is_ok() {
            panic!("{test}: no Kinesis server (SPATE_TEST_KINESIS_ENDPOINT) and no kinesalite");
        }
        println!(
            "{test}: SKIPPED (no Kinesis server: run scripts/test.sh, which installs kinesalite)"
        );
        return None;
    };
    let mut s = at(&endpoint);
    s.child = child;
    Some(s)
}

/// A client of the server at `endpoint` (one already running).
pub fn at(endpoint: &str) -> Server {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let conf = aws_sdk_kinesis::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .build();
    Server {
        endpoint: endpoint.to_string(),
        client: aws_sdk_kinesis::Client::from_conf(conf),
        rt,
        child: None,
    }
}

impl Server {
    /// The stream's parameters for this server.
    pub fn params(&self, stream: &str) -> KinesisParams {
        KinesisParams::new(stream)
            .endpoint(&self.endpoint)
            .region("us-east-1")
            .credentials("test", "test")
    }

    /// Waits until `stream` is ACTIVE.
    fn wait_active(&self, stream: &str) {
        let until = Instant::now() + Duration::from_secs(20);
        loop {
            let out = self
                .rt
                .block_on(
                    self.client
                        .describe_stream_summary()
                        .stream_name(stream)
                        .send(),
                )
                .expect("describe stream");
            let status = out
                .stream_description_summary()
                .map(|s| s.stream_status().clone());
            if status == Some(StreamStatus::Active) {
                return;
            }
            assert!(Instant::now() < until, "stream {stream} stays {status:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Creates `stream` with `shards` shards and waits until it is active.
    pub fn create_stream(&self, stream: &str, shards: i32) {
        self.rt
            .block_on(
                self.client
                    .create_stream()
                    .stream_name(stream)
                    .shard_count(shards)
                    .send(),
            )
            .expect("create stream");
        self.wait_active(stream);
    }

    /// Puts `records` (partition key, data) one by one, in order; their (shard, sequence
    /// number).
    pub fn put(&self, stream: &str, records: &[(String, String)]) -> Vec<(String, String)> {
        records
            .iter()
            .map(|(k, v)| {
                let out = self
                    .rt
                    .block_on(
                        self.client
                            .put_record()
                            .stream_name(stream)
                            .partition_key(k)
                            .data(Blob::new(v.as_bytes()))
                            .send(),
                    )
                    .expect("put record");
                (
                    out.shard_id().to_string(),
                    out.sequence_number().to_string(),
                )
            })
            .collect()
    }

    /// The open shards' ids.
    pub fn open_shards(&self, stream: &str) -> Vec<String> {
        let out = self
            .rt
            .block_on(self.client.list_shards().stream_name(stream).send())
            .expect("list shards");
        out.shards()
            .iter()
            .filter(|s| {
                s.sequence_number_range()
                    .and_then(|r| r.ending_sequence_number())
                    .is_none()
            })
            .map(|s| s.shard_id().to_string())
            .collect()
    }

    /// Splits `shard` in two at the middle of its hash-key range; waits until the stream
    /// is active again.
    pub fn split(&self, stream: &str, shard: &str) {
        let out = self
            .rt
            .block_on(self.client.list_shards().stream_name(stream).send())
            .expect("list shards");
        let s = out
            .shards()
            .iter()
            .find(|s| s.shard_id() == shard)
            .expect("the shard");
        let range = s.hash_key_range().expect("hash range");
        let lo: u128 = range.starting_hash_key().parse().expect("hash key");
        let hi: u128 = range.ending_hash_key().parse().expect("hash key");
        let mid = lo + (hi - lo) / 2;
        self.rt
            .block_on(
                self.client
                    .split_shard()
                    .stream_name(stream)
                    .shard_to_split(shard)
                    .new_starting_hash_key(mid.to_string())
                    .send(),
            )
            .expect("split shard");
        self.wait_active(stream);
    }

    /// Merges two adjacent shards; waits until the stream is active again.
    pub fn merge(&self, stream: &str, shard: &str, adjacent: &str) {
        self.rt
            .block_on(
                self.client
                    .merge_shards()
                    .stream_name(stream)
                    .shard_to_merge(shard)
                    .adjacent_shard_to_merge(adjacent)
                    .send(),
            )
            .expect("merge shards");
        self.wait_active(stream);
    }
}
