//! Where the tests find their S3 server: `scripts/test.sh` starts moto on 127.0.0.1,
//! creates a bucket and exports `SPATE_TEST_S3_ENDPOINT` and `SPATE_TEST_S3_BUCKET` (and
//! the standard `AWS_*` variables). Without them the tests fail, saying so.
#![allow(dead_code)]

use spate_object_store::{ObjectStoreCheckpoints, StoreOptions};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The test S3 server.
#[derive(Debug, Clone)]
pub struct S3 {
    /// Its endpoint, `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// A bucket that exists there.
    pub bucket: String,
}

fn var(name: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v,
        _ => panic!(
            "{name} is not set: the spate-object-store tests need an S3-compatible server. \
             Run them through `bash scripts/test.sh` (e.g. `bash scripts/test.sh -p \
             spate-object-store`), which installs and starts moto on 127.0.0.1 and sets \
             SPATE_TEST_S3_ENDPOINT and SPATE_TEST_S3_BUCKET."
        ),
    }
}

/// The server `scripts/test.sh` started; panics (failing the test) when there is none.
pub fn s3() -> S3 {
    S3 {
        endpoint: var("SPATE_TEST_S3_ENDPOINT"),
        bucket: var("SPATE_TEST_S3_BUCKET"),
    }
}

/// Like [`s3`], and checks that the standard environment points the client at it too
/// (for stores opened by URL alone, as `StreamingContext::checkpoint` does).
pub fn s3_from_env() -> S3 {
    let s3 = s3();
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .or_else(|_| std::env::var("AWS_ENDPOINT"))
        .unwrap_or_default();
    assert_eq!(
        endpoint, s3.endpoint,
        "AWS_ENDPOINT_URL must point at the test server; run the tests through `bash scripts/test.sh`"
    );
    s3
}

impl S3 {
    /// `s3://bucket/prefix`.
    pub fn url(&self, prefix: &str) -> String {
        format!("s3://{}/{prefix}", self.bucket)
    }

    /// Options that reach this server whatever the environment says.
    pub fn options(&self) -> StoreOptions {
        StoreOptions::default()
            .with_config("aws_endpoint", &self.endpoint)
            .with_config("aws_allow_http", "true")
            .with_config("aws_region", "us-east-1")
            .with_config("aws_access_key_id", "testing")
            .with_config("aws_secret_access_key", "testing")
    }

    /// A store at `s3://bucket/prefix` on this server.
    pub fn store(&self, prefix: &str) -> ObjectStoreCheckpoints {
        ObjectStoreCheckpoints::open_with(&self.url(prefix), &self.options())
            .unwrap_or_else(|e| panic!("open {}: {e}", self.url(prefix)))
    }
}

/// A prefix no other test (or earlier run against the same server) uses.
pub fn unique(name: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{name}-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A loopback port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    l.local_addr().expect("local address").port()
}
