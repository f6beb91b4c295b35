//! `kinesis_put <endpoint> <stream> [shards]`: puts each line of stdin as a record (its
//! partition key: the line's number), creating the stream first (2 shards by default)
//! when it does not exist. For trying `kinesis_word_count` against a local server.

use aws_sdk_kinesis::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_kinesis::primitives::Blob;
use std::io::BufRead;
use std::time::Duration;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(put())
}

async fn put() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: kinesis_put <endpoint> <stream> [shards]");
        std::process::exit(2);
    }
    let shards: i32 = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(2);
    let key = std::env::var("AWS_ACCESS_KEY_ID").unwrap_or_else(|_| "local".into());
    let secret = std::env::var("AWS_SECRET_ACCESS_KEY").unwrap_or_else(|_| "local".into());
    let conf = aws_sdk_kinesis::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(
            std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()),
        ))
        .endpoint_url(&args[0])
        .credentials_provider(Credentials::new(key, secret, None, None, "env"))
        .build();
    let client = aws_sdk_kinesis::Client::from_conf(conf);
    let stream = &args[1];
    if client
        .describe_stream_summary()
        .stream_name(stream)
        .send()
        .await
        .is_err()
    {
        client
            .create_stream()
            .stream_name(stream)
            .shard_count(shards)
            .send()
            .await?;
        // Until it is ACTIVE.
        loop {
            let s = client
                .describe_stream_summary()
                .stream_name(stream)
                .send()
                .await?;
            let active = s.stream_description_summary().is_some_and(|d| {
                d.stream_status() == &aws_sdk_kinesis::types::StreamStatus::Active
            });
            if active {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        eprintln!("created stream {stream} with {shards} shards");
    }
    for (i, line) in std::io::stdin().lock().lines().enumerate() {
        client
            .put_record()
            .stream_name(stream)
            .partition_key(i.to_string())
            .data(Blob::new(line?.into_bytes()))
            .send()
            .await?;
    }
    Ok(())
}
