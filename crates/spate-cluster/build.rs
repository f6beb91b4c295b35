//! gRPC stubs for the driver and executor services, generated without .proto files: the
//! messages are Rust types carried in the engine's binary format (postcard) by
//! `crate::codec::PostcardCodec`.

use tonic_build::manual::{Builder, Method, Service};

fn method(name: &str, route: &str, input: &str, output: &str) -> Method {
    Method::builder()
        .name(name)
        .route_name(route)
        .input_type(format!("crate::proto::{input}"))
        .output_type(format!("crate::proto::{output}"))
        .codec_path("crate::codec::PostcardCodec")
        .build()
}

fn main() {
    let driver = Service::builder()
        .name("Driver")
        .package("spate")
        .method(method(
            "register",
            "Register",
            "RegisterRequest",
            "RegisterReply",
        ))
        .method(method(
            "heartbeat",
            "Heartbeat",
            "Heartbeat",
            "HeartbeatReply",
        ))
        .method(method(
            "job_result",
            "JobResult",
            "JobResultRequest",
            "JobResultReply",
        ))
        .method(method(
            "executor_address",
            "ExecutorAddress",
            "AddressRequest",
            "AddressReply",
        ))
        .method(method(
            "fetch_broadcast",
            "FetchBroadcast",
            "BroadcastRequest",
            "FetchReply",
        ))
        .method(method("send", "Send", "MessageRequest", "MessageReply"))
        .build();
    let executor = Service::builder()
        .name("Executor")
        .package("spate")
        .method(method("launch", "Launch", "TaskRequest", "TaskReply"))
        .method(method(
            "shutdown",
            "Shutdown",
            "ShutdownRequest",
            "HeartbeatReply",
        ))
        .method(method(
            "fetch_bucket",
            "FetchBucket",
            "FetchRequest",
            "FetchReply",
        ))
        .method(method(
            "fetch_block",
            "FetchBlock",
            "BlockRequest",
            "FetchReply",
        ))
        .build();
    Builder::new().compile(&[driver, executor]);
}
