//! `kafka_produce <brokers> <topic>`: sends each line of stdin to `topic` as a record's
//! value (what `kafka_word_count` reads), e.g.
//! `echo "to be or not to be" | kafka_produce 127.0.0.1:9092 words`.

use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::ClientConfig;
use std::io::BufRead;
use std::time::Duration;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: kafka_produce <brokers> <topic> < lines");
        std::process::exit(2);
    }
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", &args[0])
        .set("enable.idempotence", "true")
        .create()?;
    let mut sent = 0u64;
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let mut record = BaseRecord::<(), _>::to(&args[1]).payload(&line);
        // A full local queue: let the client deliver, then try again.
        while let Err((e, r)) = producer.send(record) {
            if !matches!(
                e.rdkafka_error_code(),
                Some(rdkafka::types::RDKafkaErrorCode::QueueFull)
            ) {
                return Err(e.into());
            }
            producer.poll(Duration::from_millis(50));
            record = r;
        }
        sent += 1;
    }
    producer.flush(Duration::from_secs(30))?;
    eprintln!("kafka_produce: {sent} record(s) sent to {}", args[1]);
    Ok(())
}
