//! A real Kafka-protocol broker for the tests: the one `scripts/test.sh` started
//! (`SPATE_TEST_KAFKA_BROKERS`, with `SPATE_TEST_TANSU` naming its binary), else tansu
//! started here on a free loopback port when it is installed. With neither, the tests say
//! SKIPPED — unless `SPATE_TEST_REQUIRE_SERVICES` is set (the test command sets it), then
//! they fail.

use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::ClientConfig;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A broker the tests use; one started here is stopped when this is dropped.
pub struct Broker {
    pub brokers: String,
    tansu: PathBuf,
    child: Option<Child>,
    dir: Option<tempfile::TempDir>,
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn find_tansu() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("SPATE_TEST_TANSU") {
        return Some(PathBuf::from(p));
    }
    let mut candidates = Vec::new();
    if let Ok(path) = std::env::var("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|d| d.join("tansu")));
    }
    if let Ok(home) = std::env::var("HOME") {
        candidates.push(PathBuf::from(&home).join(".cargo/bin/tansu"));
        candidates.push(PathBuf::from(&home).join(".cache/spate-services/tansu/bin/tansu"));
    }
    candidates.into_iter().find(|p| p.is_file())
}

/// The broker, or `None` (after saying SKIPPED) when there is none here.
pub fn broker(test: &str) -> Option<Broker> {
    if let Ok(b) = std::env::var("SPATE_TEST_KAFKA_BROKERS") {
        return Some(Broker {
            brokers: b,
            tansu: find_tansu().unwrap_or_else(|| PathBuf::from("tansu")),
            child: None,
            dir: None,
        });
    }
    let Some(tansu) = find_tansu() else {
        if std::env::var("SPATE_TEST_REQUIRE_SERVICES").is_ok() {
            panic!("{test}: no Kafka broker (SPATE_TEST_KAFKA_BROKERS) and no tansu binary");
        }
        println!("{test}: SKIPPED (no Kafka broker: run scripts/test.sh, which installs tansu)");
        return None;
    };
    Some(start_own(tansu))
}

/// A broker of the test's own (one it may restart), or `None` (after saying SKIPPED).
pub fn own_broker(test: &str) -> Option<Broker> {
    match find_tansu() {
        Some(t) => Some(start_own(t)),
        None => {
            if std::env::var("SPATE_TEST_REQUIRE_SERVICES").is_ok() {
                panic!("{test}: no tansu binary");
            }
            println!("{test}: SKIPPED (no tansu: run scripts/test.sh, which installs it)");
            None
        }
    }
}

fn start_own(tansu: PathBuf) -> Broker {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let dir = tempfile::tempdir().expect("broker dir");
    let mut b = Broker {
        brokers: format!("127.0.0.1:{port}"),
        tansu,
        child: None,
        dir: Some(dir),
    };
    b.start();
    b
}

impl Broker {
    /// Starts this (own) broker's process, on its port and data directory.
    fn start(&mut self) {
        let dir = self
            .dir
            .as_ref()
            .expect("an own broker")
            .path()
            .to_path_buf();
        let url = format!("tcp://{}", self.brokers);
        let child = Command::new(&self.tansu)
            .current_dir(&dir)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
                "--storage-engine",
                "sqlite://tansu.db",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tansu");
        let until = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(&self.brokers).is_err() {
            assert!(Instant::now() < until, "tansu did not listen on {url}");
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child = Some(child);
    }

    /// Kills this (own) broker, waits `down`, and starts it again on the same port and
    /// data.
    pub fn restart(&mut self, down: Duration) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        std::thread::sleep(down);
        self.start();
    }

    /// Creates `topic` with `partitions` partitions.
    pub fn create_topic(&self, topic: &str, partitions: u32) {
        let status = Command::new(&self.tansu)
            .args([
                "topic",
                "create",
                "--broker",
                &format!("tcp://{}", self.brokers),
                "--partitions",
                &partitions.to_string(),
                topic,
            ])
            .stdout(Stdio::null())
            .status()
            .expect("tansu topic create");
        assert!(status.success(), "creating topic {topic}: {status:?}");
    }

    /// Deletes `topic`.
    pub fn delete_topic(&self, topic: &str) {
        let status = Command::new(&self.tansu)
            .args([
                "topic",
                "delete",
                "--broker",
                &format!("tcp://{}", self.brokers),
                topic,
            ])
            .stdout(Stdio::null())
            .status()
            .expect("tansu topic delete");
        assert!(status.success(), "deleting topic {topic}: {status:?}");
    }

    /// Produces `records` (partition, key, value) and waits until the broker has them.
    pub fn produce(&self, topic: &str, records: &[(i32, String, String)]) {
        let producer: BaseProducer = ClientConfig::new()
            .set("bootstrap.servers", &self.brokers)
            .set("enable.idempotence", "true")
            .create()
            .expect("producer");
        for (p, k, v) in records {
            let mut rec = BaseRecord::to(topic).partition(*p).key(k).payload(v);
            loop {
                match producer.send(rec) {
                    Ok(()) => break,
                    Err((_, r)) => {
                        producer.poll(Duration::from_millis(50));
                        rec = r;
                    }
                }
            }
        }
        producer
            .flush(Duration::from_secs(30))
            .expect("the broker took the records");
    }
}
