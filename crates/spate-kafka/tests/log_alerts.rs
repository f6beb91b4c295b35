//! The Kafka variant of `log_alerts` (`examples/kafka_log_alerts.rs`) run for real against
//! the broker: its generated traffic goes into a logs topic, and the alerts it prints are
//! the records in the alerts topic, one for one, keyed by endpoint.

#[allow(dead_code)]
#[path = "common/broker.rs"]
mod broker;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn the_alerts_printed_are_the_records_in_the_alerts_topic() {
    let Some(b) = broker::broker("kafka_log_alerts") else {
        return;
    };
    let (logs, alerts) = (
        format!("logs-{}", std::process::id()),
        format!("alerts-{}", std::process::id()),
    );
    b.create_topic(&logs, 3);
    b.create_topic(&alerts, 1);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(&cargo)
        .args([
            "run",
            "-q",
            "-p",
            "spate-kafka",
            "--example",
            "kafka_log_alerts",
            "--",
        ])
        .args([&b.brokers, &logs, &alerts])
        .args(["--generate", "2000", "--duration-s", "12"])
        .output()
        .expect("run the example");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "kafka_log_alerts failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: Vec<&str> = stdout.lines().filter(|l| l.starts_with("ALERT ")).collect();
    assert!(
        !printed.is_empty(),
        "no alert in 12 s of traffic with incidents:\n{stdout}"
    );
    // Everything in the alerts topic.
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &b.brokers)
        .set("group.id", "log-alerts-test")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(&alerts, 0, Offset::Beginning)
        .expect("partition");
    c.assign(&tpl).expect("assign");
    let mut got: Vec<(String, String)> = Vec::new();
    let until = Instant::now() + Duration::from_secs(20);
    while got.len() < printed.len() && Instant::now() < until {
        if let Some(m) = c.poll(Duration::from_millis(200)) {
            let m = m.expect("record");
            let text =
                |b: Option<&[u8]>| String::from_utf8_lossy(b.unwrap_or_default()).to_string();
            got.push((text(m.key()), text(m.payload())));
        }
    }
    // A little longer: an extra record would show.
    while let Some(m) = c.poll(Duration::from_millis(500)) {
        let m = m.expect("record");
        got.push((
            String::from_utf8_lossy(m.key().unwrap_or_default()).to_string(),
            String::from_utf8_lossy(m.payload().unwrap_or_default()).to_string(),
        ));
    }
    let mut sent: Vec<&str> = got.iter().map(|(_, v)| v.as_str()).collect();
    let mut printed = printed;
    sent.sort_unstable();
    printed.sort_unstable();
    assert_eq!(
        sent, printed,
        "the alerts topic differs from the printed alerts"
    );
    for (k, v) in &got {
        assert!(v.starts_with(&format!("ALERT {k} ")), "key {k} for {v}");
    }
}
