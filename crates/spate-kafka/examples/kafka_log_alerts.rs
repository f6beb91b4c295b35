//! `kafka_log_alerts <brokers> <logs-topic> <alerts-topic> [--generate RATE]
//! [--duration-s N] [--seed N]`: `log_alerts` on Kafka. Access-log lines come from a
//! topic (a direct stream), every 2 s the last 10 s are reported on standard output as
//! `log_alerts` does, and each alert goes to the alerts topic as a record keyed by its
//! endpoint, through `KafkaSink`. A record whose value is not UTF-8 is skipped and
//! counted (`DStream::decode`); lines that are not log lines are counted as malformed.
//!
//! `--generate RATE` also writes `log_alerts`' built-in traffic (with its incidents) into
//! the logs topic, RATE lines a second, so a broker is all it needs. Both topics must
//! exist (README: "Kafka"). It stops gracefully after `--duration-s` (0: at Ctrl-C).

#[allow(dead_code)]
#[path = "../../../examples/log_alerts/generator.rs"]
mod generator;
#[allow(dead_code)]
#[path = "../../../examples/log_alerts/parse.rs"]
mod parse;
#[allow(dead_code)]
#[path = "../../../examples/log_alerts/stats.rs"]
mod stats;

use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::ClientConfig;
use spate::prelude::*;
use spate_kafka::{create_direct_stream, KafkaParams, KafkaSink, ProducerRecord, Subscription};
use spate_streaming::dstream::BadRecords;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(10);
const SLIDE: Duration = Duration::from_secs(2);

struct Options {
    brokers: String,
    logs: String,
    alerts: String,
    generate: Option<u32>,
    duration_s: u64,
    seed: u64,
}

fn options() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let mut positional = Vec::new();
    let (mut generate, mut duration_s, mut seed) = (None, 20, 7);
    while let Some(a) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .ok_or(format!("{name} needs a value"))?
                .parse::<u64>()
                .map_err(|e| format!("{name}: {e}"))
        };
        match a.as_str() {
            "--generate" => generate = Some(value("--generate")? as u32),
            "--duration-s" => duration_s = value("--duration-s")?,
            "--seed" => seed = value("--seed")?,
            _ => positional.push(a),
        }
    }
    let [brokers, logs, alerts] = <[String; 3]>::try_from(positional)
        .map_err(|_| "usage: kafka_log_alerts <brokers> <logs-topic> <alerts-topic> [--generate RATE] [--duration-s N] [--seed N]".to_string())?;
    Ok(Options {
        brokers,
        logs,
        alerts,
        generate,
        duration_s,
        seed,
    })
}

fn main() -> std::process::ExitCode {
    spate::exit_code(run())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    spate::init_logging();
    let o = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("kafka_log_alerts: {e}");
            std::process::exit(2);
        }
    };
    let ssc = StreamingContext::new(
        SpateConf::new()
            .app_name("kafka_log_alerts")?
            .master("local[2]")?
            .set("spate.streaming.stopGracefullyOnShutdown", "true")?
            .set("spate.streaming.outputFailure", "skip")?
            .from_env()?,
        Duration::from_secs(1),
    )?;
    let params = KafkaParams::new(&o.brokers)
        .set("group.id", "kafka_log_alerts")
        .set("auto.offset.reset", "latest");
    let (records, _) =
        create_direct_stream(&ssc, params.clone(), Subscription::topics([o.logs.clone()]))?;
    let not_text = ssc.ctx().long_accumulator("records not UTF-8");
    let lines = records.decode(BadRecords::Skip(not_text.clone()), |r| {
        r.value_str().map(Str::from).ok_or("the value is not UTF-8")
    });
    let job = stats::window_counts(&lines, WINDOW, SLIDE)?;
    let th = stats::Thresholds::default();
    // Alerts out: one record per alerting endpoint and window, keyed by the endpoint.
    let alerts = job.alerts(th);
    alerts.write_to(KafkaSink::new(
        params,
        o.alerts.clone(),
        |a: &stats::AlertOut| ProducerRecord::keyed(a.endpoint.as_bytes(), a.text.as_bytes()),
    ));
    let sent = Arc::new(AtomicU64::new(0));
    let seen = sent.clone();
    job.on_window(th, move |report| {
        seen.fetch_add(report.alerts.len() as u64, Ordering::Relaxed);
        let mut out = std::io::stdout().lock();
        out.write_all(report.render(5).as_bytes())?;
        out.flush()?;
        Ok(())
    });
    ssc.start()?;
    let generating = Arc::new(AtomicBool::new(true));
    let generator = o.generate.map(|rate| {
        let (brokers, topic, seed, on) = (
            o.brokers.clone(),
            o.logs.clone(),
            o.seed,
            generating.clone(),
        );
        std::thread::spawn(move || generate(&brokers, &topic, seed, rate, &on))
    });
    eprintln!(
        "kafka_log_alerts: reading {} at {}, alerts to {}; {}",
        o.logs,
        o.brokers,
        o.alerts,
        match o.duration_s {
            0 => "until Ctrl-C".to_string(),
            s => format!("for {s} s"),
        }
    );
    let started = Instant::now();
    let deadline = (o.duration_s > 0).then(|| started + Duration::from_secs(o.duration_s));
    loop {
        let waited = match deadline {
            None => ssc.await_termination().map(|()| true),
            Some(d) => {
                ssc.await_termination_or_timeout(d.saturating_duration_since(Instant::now()))
            }
        };
        match waited {
            Ok(_) => break,
            Err(e) => eprintln!(
                "kafka_log_alerts: batch failed (the stream goes on): {}",
                spate::report(&e)
            ),
        }
    }
    generating.store(false, Ordering::Release);
    if let Some(g) = generator {
        g.join().map_err(|_| "the generator thread panicked")??;
    }
    ssc.stop(true, true);
    println!(
        "done after {:.1}s: {} lines, {} malformed, {} not UTF-8, {} alerts sent to {}",
        started.elapsed().as_secs_f64(),
        job.lines.value(),
        job.malformed.value(),
        not_text.value(),
        sent.load(Ordering::Relaxed),
        o.alerts
    );
    Ok(())
}

/// Writes `log_alerts`' generated traffic into `topic` in real time, `rate` lines a second.
fn generate(
    brokers: &str,
    topic: &str,
    seed: u64,
    rate: u32,
    on: &AtomicBool,
) -> Result<(), String> {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("linger.ms", "20")
        .create()
        .map_err(|e| format!("generator: {e}"))?;
    let mut g = generator::LogGenerator::new(seed, rate, generator::now_ms());
    while on.load(Ordering::Acquire) {
        let due = g.due_at(generator::now_ms());
        while g.produced() < due {
            let line = g.next_line();
            while let Err((e, _)) = producer.send(BaseRecord::<(), str>::to(topic).payload(&line)) {
                if !matches!(
                    e.rdkafka_error_code(),
                    Some(rdkafka::types::RDKafkaErrorCode::QueueFull)
                ) {
                    return Err(format!("generator: sending to {topic}: {e}"));
                }
                producer.poll(Duration::from_millis(10));
            }
        }
        producer.poll(Duration::from_millis(20));
    }
    producer
        .flush(Duration::from_secs(10))
        .map_err(|e| format!("generator: flushing: {e}"))
}
