//! The driver's port against hostile peers: an executor with the wrong secret is refused
//! with a clear error; garbage, truncated frames and oversized messages are rejected and
//! the driver goes on serving.

use crate::proto::driver::driver_client::DriverClient;
use crate::proto::{Heartbeat, RegisterRequest};
use crate::AddSecret;
use spate_core::{Context, SpateConf};
use std::io::Write;
use std::time::Duration;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A driver on `spate://127.0.0.1:<port>` expecting no executors of its own.
fn driver(port: u16) -> Context {
    driver_with(port, "1g")
}

/// A driver whose replay log holds `replay_log` bytes at most.
fn driver_with(port: u16, replay_log: &str) -> Context {
    crate::register();
    Context::new(
        SpateConf::new()
            .master(&format!("spate://127.0.0.1:{port}"))
            .and_then(|c| c.app_name("hostile-test"))
            .and_then(|c| c.set("spate.authenticate.secret", "right-secret"))
            .and_then(|c| c.set("spate.rpc.message.maxSize", "64k"))
            .and_then(|c| c.set("spate.cluster.minExecutors", "0"))
            .and_then(|c| c.set("spate.cluster.replayLog.maxBytes", replay_log))
            .expect("conf"),
    )
    .expect("driver")
}

fn client(
    rt: &tokio::runtime::Runtime,
    port: u16,
    secret: &str,
) -> DriverClient<
    tonic::service::interceptor::InterceptedService<tonic::transport::Channel, AddSecret>,
> {
    let channel = rt
        .block_on(
            tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
                .expect("url")
                .connect(),
        )
        .expect("connect");
    DriverClient::with_interceptor(channel, AddSecret::new(Some(secret)))
        .max_encoding_message_size(16 << 20)
}

fn register(name: &str, address: String) -> RegisterRequest {
    RegisterRequest {
        executor_id: name.into(),
        cores: 2,
        address,
        app_name: "hostile-test".into(),
    }
}

#[test]
fn an_executor_with_the_wrong_secret_is_refused_clearly() {
    let port = free_port();
    let ctx = driver(port);
    // An executor process of the same program with another secret.
    let intruder = Context::local(1).expect("an env");
    let conf = SpateConf::new()
        .app_name("hostile-test")
        .and_then(|c| c.set("spate.authenticate.secret", "wrong-secret"))
        .expect("conf");
    let err = crate::executor::start(
        intruder.env(),
        intruder.scheduler().executor().clone(),
        &conf,
        &format!("spate://127.0.0.1:{port}"),
        "intruder",
    )
    .err()
    .expect("refused")
    .to_string();
    assert!(
        err.contains("register") && err.contains("wrong or missing spate.authenticate.secret"),
        "{err}"
    );
    ctx.stop();
}

/// Sends `rounds` connections of garbage, truncated prefaces and frames announcing
/// payloads that never come to `port`.
fn fuzz_port(port: u16, rounds: usize) {
    let mut seed = 0x9E37_79B9_7F4A_7C15u64 ^ u64::from(port);
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    for round in 0..rounds {
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
            panic!("round {round}: port {port} stopped accepting connections");
        };
        let _ = s.set_write_timeout(Some(Duration::from_millis(200)));
        let len = (next() % 4096) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        match round % 3 {
            // A valid preface, then random frames.
            0 => bytes.splice(0..0, PREFACE.iter().copied()).for_each(drop),
            // A truncated preface.
            1 => bytes = PREFACE[..(next() as usize % PREFACE.len())].to_vec(),
            // A frame header announcing 16 MiB of payload that never comes.
            _ => {
                bytes = PREFACE.to_vec();
                bytes.extend_from_slice(&[0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01]);
            }
        }
        let _ = s.write_all(&bytes);
    }
}

#[test]
fn garbage_truncated_and_oversized_messages_leave_the_driver_serving() {
    let port = free_port();
    let ctx = driver(port);
    fuzz_port(port, 150);
    let rt = crate::runtime("fuzz-client").expect("runtime");
    // Oversized: a registration far over spate.rpc.message.maxSize (64 KiB).
    let mut c = client(&rt, port, "right-secret");
    let big = rt.block_on(c.register(register("big", "x".repeat(1 << 20))));
    let status = big.expect_err("an oversized message must be refused");
    assert!(
        matches!(
            status.code(),
            tonic::Code::ResourceExhausted | tonic::Code::OutOfRange | tonic::Code::Internal
        ),
        "{status:?}"
    );
    // Wrong secret: refused, and nothing registered.
    let mut w = client(&rt, port, "nope");
    let refused = rt
        .block_on(w.register(register("sneaky", "http://127.0.0.1:1".into())))
        .expect_err("wrong secret");
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    // The driver still serves: a heartbeat of an unknown executor is answered.
    let mut c = client(&rt, port, "right-secret");
    let mut other_app = register("other", "http://127.0.0.1:1".into());
    other_app.app_name = "another-program".into();
    let reply = rt
        .block_on(c.register(other_app))
        .expect("the driver answers after the fuzz")
        .into_inner();
    assert!(!reply.accepted, "an executor of another program was taken");
    let instance = reply.driver_instance;
    let beat = rt
        .block_on(c.heartbeat(Heartbeat {
            executor_id: "sneaky".into(),
            driver_instance: instance,
        }))
        .expect("the driver answers after the fuzz")
        .into_inner();
    assert!(!beat.known, "the refused executor was registered");
    assert!(!beat.restarted, "the driver took its own start for another");
    // An executor of an earlier start of a driver on this address is told to leave.
    let stale = rt
        .block_on(c.heartbeat(Heartbeat {
            executor_id: "sneaky".into(),
            driver_instance: instance.wrapping_add(1),
        }))
        .expect("the driver answers")
        .into_inner();
    assert!(
        stale.restarted,
        "a stale executor was not told the driver restarted"
    );
    ctx.stop();
}

/// An executor of the driver on `port`, with the right secret and a 64 KiB message bound;
/// its context (whose task threads run the driver's tasks) and its service's address.
type Joined = Result<(std::sync::Arc<dyn spate_core::cluster::ClusterLink>, String), crate::Error>;

fn executor(port: u16, id: &str) -> (Context, Joined) {
    let host = Context::local(1).expect("an env");
    let conf = SpateConf::new()
        .app_name("hostile-test")
        .and_then(|c| c.set("spate.authenticate.secret", "right-secret"))
        .and_then(|c| c.set("spate.rpc.message.maxSize", "64k"))
        .expect("conf");
    let joined = crate::executor::start(
        host.env(),
        host.scheduler().executor().clone(),
        &conf,
        &format!("spate://127.0.0.1:{port}"),
        id,
    );
    let address = joined.map(|link| {
        let rt = crate::runtime("address-client").expect("runtime");
        let mut c = client(&rt, port, "right-secret");
        let address = rt
            .block_on(c.executor_address(crate::proto::AddressRequest {
                executor_id: id.into(),
            }))
            .expect("the executor's address")
            .into_inner()
            .address
            .expect("a registered executor has an address");
        (link, address)
    });
    (host, address)
}

#[test]
fn garbage_truncated_and_oversized_messages_leave_an_executor_serving() {
    use crate::proto::executor::executor_client::ExecutorClient;
    let port = free_port();
    let ctx = driver(port);
    let (_host, address) = executor(port, "exec-fuzzed");
    let (_link, address) = address.expect("the executor joins");
    let exec_port: u16 = address
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    fuzz_port(exec_port, 150);
    let rt = crate::runtime("fuzz-client").expect("runtime");
    let channel = rt
        .block_on(
            tonic::transport::Endpoint::from_shared(address)
                .expect("url")
                .connect(),
        )
        .expect("connect to the executor");
    let mut c = ExecutorClient::with_interceptor(channel, AddSecret::new(Some("right-secret")))
        .max_encoding_message_size(16 << 20);
    // Oversized: a task far over spate.rpc.message.maxSize (64 KiB).
    let big = rt.block_on(c.launch(crate::proto::TaskRequest {
        task_id: 1,
        bytes: vec![7; 1 << 20],
    }));
    let status = big.expect_err("an oversized task must be refused");
    assert!(
        matches!(
            status.code(),
            tonic::Code::ResourceExhausted | tonic::Code::OutOfRange | tonic::Code::Internal
        ),
        "{status:?}"
    );
    // A task that is not a task: a failed result, not a dead executor.
    let reply = rt
        .block_on(c.launch(crate::proto::TaskRequest {
            task_id: 2,
            bytes: b"not a task description".to_vec(),
        }))
        .expect("a garbage task gets an answer")
        .into_inner();
    let result: spate_core::scheduler::TaskResult =
        spate_core::codec::decode(&reply.bytes, "task result").expect("a task result");
    assert!(result.outcome.is_err(), "a garbage task cannot succeed");
    // Wrong secret: refused.
    let channel = rt
        .block_on(
            tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{exec_port}"))
                .expect("url")
                .connect(),
        )
        .expect("connect");
    let mut w = ExecutorClient::with_interceptor(channel, AddSecret::new(Some("nope")));
    let refused = rt
        .block_on(w.shutdown(crate::proto::ShutdownRequest {}))
        .expect_err("wrong secret");
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    // Still serving: a bucket of a shuffle it does not have is "not found".
    let missing = rt
        .block_on(c.fetch_bucket(crate::proto::FetchRequest {
            shuffle_id: 999,
            map_id: 0,
            bucket: 0,
        }))
        .expect_err("no such shuffle");
    assert_eq!(missing.code(), tonic::Code::NotFound, "{missing:?}");
    ctx.stop();
}

#[test]
fn an_executor_joining_a_running_application_replays_it_or_is_refused_clearly() {
    // With the replay log on (the default), a late executor joins and is answered what
    // was published before it came (from the log once no longer kept in memory).
    let port = free_port();
    let ctx = driver(port);
    let (_first, joined) = executor(port, "exec-first");
    let (first_link, _) = joined.expect("an executor joins before the first job");
    let link = ctx.env().cluster_link().expect("the driver's link");
    link.publish("streaming/0/0", b"plan zero".to_vec());
    // More than the driver keeps in memory: plan zero is then only in the log.
    for n in 1..5_000 {
        link.publish(&format!("streaming/0/{n}"), n.to_string().into_bytes());
    }
    let (_late, late) = executor(port, "exec-late");
    let (late_link, _) = late.expect("a late executor joins while the replay log is complete");
    assert_eq!(
        late_link
            .fetch("streaming/0/0")
            .expect("what was published before it came"),
        b"plan zero"
    );
    assert_eq!(
        late_link.fetch("streaming/0/4999").expect("the newest"),
        b"4999"
    );
    // A new process under the id of one that is still registered is refused.
    let (_again, again) = executor(port, "exec-first");
    let err = again.err().expect("a taken id is refused").to_string();
    assert!(err.contains("is taken"), "{err}");
    drop(first_link);
    ctx.stop();
    // With the log off, a late executor is refused, and the reason says why.
    let port = free_port();
    let ctx = driver_with(port, "0");
    let (_first, joined) = executor(port, "exec-first");
    joined.expect("an executor joins before the first job");
    ctx.env()
        .cluster_link()
        .expect("the driver's link")
        .publish("streaming/0/0", Vec::new());
    let (_late, late) = executor(port, "exec-late");
    let err = late.err().expect("a late executor is refused").to_string();
    assert!(
        err.contains("refused")
            && err.contains("joins a running application")
            && err.contains("replayLog.maxBytes is 0"),
        "{err}"
    );
    ctx.stop();
}

#[path = "../tests/common/certs.rs"]
mod certs;

/// A conf of `hostile-test` with `settings`.
fn conf_with(settings: &[(&str, String)]) -> SpateConf {
    let mut c = SpateConf::new()
        .app_name("hostile-test")
        .and_then(|c| c.set("spate.authenticate.secret", "right-secret"))
        .expect("conf");
    for (k, v) in settings {
        c = c.set(k, v).expect("setting");
    }
    c
}

#[test]
fn with_tls_only_peers_with_a_certificate_of_the_authority_join() {
    let good = tempfile::tempdir().expect("dir");
    let other = tempfile::tempdir().expect("dir");
    certs::write_certs(good.path());
    certs::write_certs(other.path());
    let port = free_port();
    crate::register();
    let mut driver_conf = SpateConf::new()
        .master(&format!("spate://127.0.0.1:{port}"))
        .and_then(|c| c.app_name("hostile-test"))
        .and_then(|c| c.set("spate.authenticate.secret", "right-secret"))
        .and_then(|c| c.set("spate.cluster.minExecutors", "0"))
        .expect("conf");
    for (k, v) in certs::ssl_settings(good.path()) {
        driver_conf = driver_conf.set(k, v).expect("setting");
    }
    let ctx = Context::new(driver_conf).expect("a TLS driver");
    let url = format!("spate://127.0.0.1:{port}");
    let join = |conf: SpateConf, id: &str| {
        let host = Context::local(1).expect("an env");
        crate::executor::start(
            host.env(),
            host.scheduler().executor().clone(),
            &conf,
            &url,
            id,
        )
        .map(|link| (host, link))
    };
    // Without TLS: no connection.
    let plain = join(conf_with(&[]), "plain")
        .err()
        .expect("a plaintext executor is refused");
    assert!(plain.to_string().contains("127.0.0.1"), "{plain}");
    // With a certificate another authority signed: the handshake fails.
    let foreign = join(conf_with(&certs::ssl_settings(other.path())), "foreign")
        .err()
        .expect("an executor of another authority is refused");
    assert!(
        foreign.to_string().contains("spate.ssl.trustFile"),
        "{foreign}"
    );
    // A setting missing: a clear error before anything connects.
    let mut partial = certs::ssl_settings(good.path());
    partial.retain(|(k, _)| *k != "spate.ssl.keyFile");
    let missing = join(conf_with(&partial), "partial")
        .err()
        .expect("a missing key file is an error")
        .to_string();
    assert!(missing.contains("spate.ssl.keyFile"), "{missing}");
    // The authority's certificate: it joins, and the driver knows it by an https address.
    let (_host, _link) = join(conf_with(&certs::ssl_settings(good.path())), "trusted")
        .expect("a trusted executor joins");
    ctx.stop();
}
