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
    crate::register();
    Context::new(
        SpateConf::new()
            .master(&format!("spate://127.0.0.1:{port}"))
            .and_then(|c| c.app_name("hostile-test"))
            .and_then(|c| c.set("spate.authenticate.secret", "right-secret"))
            .and_then(|c| c.set("spate.rpc.message.maxSize", "64k"))
            .and_then(|c| c.set("spate.cluster.minExecutors", "0"))
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

#[test]
fn garbage_truncated_and_oversized_messages_leave_the_driver_serving() {
    let port = free_port();
    let ctx = driver(port);
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    for round in 0..150 {
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
            panic!("round {round}: the driver stopped accepting connections");
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
    let beat = rt
        .block_on(c.heartbeat(Heartbeat {
            executor_id: "sneaky".into(),
        }))
        .expect("the driver answers after the fuzz");
    assert!(
        !beat.into_inner().known,
        "the refused executor was registered"
    );
    ctx.stop();
}
