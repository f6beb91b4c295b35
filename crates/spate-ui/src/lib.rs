//! spate's web UI, served by the driver: the Streaming page (input rate, scheduling
//! delay, processing time and total delay per batch, as charts with their averages;
//! active and completed batches; receivers), batch detail (output operations, jobs,
//! stages, tasks), jobs, stages, storage, executors, environment, accumulators and live
//! dashboards. Every page reads a JSON REST API (`/api/v1/...`, Spark's monitoring paths
//! where they fit) and refreshes itself each second. `/metrics` gives Prometheus' text
//! format.
//!
//! ```no_run
//! use spate_ui::{Panel, ToDashboard, WebUi};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let ssc = spate_streaming::StreamingContext::new(
//!     spate_core::SpateConf::new().app_name("demo")?, std::time::Duration::from_secs(1))?;
//! let counts = ssc.socket_text_stream("127.0.0.1", 9999).count();
//! counts.to_dashboard("lines per batch", Panel::time_series());
//! let ui = WebUi::start(&ssc)?; // http://127.0.0.1:4040 (spate.ui.port)
//! println!("web UI at {}", ui.url().unwrap_or_default());
//! ssc.start()?;
//! ssc.await_termination()?;
//! # Ok(()) }
//! ```
//!
//! The UI lives in its own crate so programs that want no web server link none: one line
//! starts it (Spark starts its UI with every context). It starts on the driver only
//! (executor processes of a cluster get a handle that serves nothing) and stops when its
//! handle is dropped. Retention: `spate.ui.retainedBatches` (an alias of `spate.streaming.ui.retainedBatches`), `spate.ui.retainedJobs`.

mod api;
mod dashboard;
mod error;
mod metrics;
mod pages;
mod store;

pub use dashboard::{DashboardSink, Panel, PanelKind, ToDashboard};
pub use error::Error;

use spate_streaming::StreamingContext;
use std::net::SocketAddr;
use std::sync::Arc;

/// Ports tried after `spate.ui.port` when it is taken (Spark's `spark.port.maxRetries`).
const PORT_RETRIES: u16 = 16;

/// The running web UI; dropping it stops the server.
pub struct WebUi {
    addr: Option<SocketAddr>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for WebUi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebUi").field("addr", &self.addr).finish()
    }
}

fn conf_err(key: &'static str) -> impl FnOnce(spate_core::Error) -> Error {
    move |source| Error::Conf { key, source }
}

impl WebUi {
    /// Starts serving the UI of `ssc` at `spate.ui.host`:`spate.ui.port` (the next free
    /// port of the 16 after it when taken), unless `spate.ui.enabled` is false or this
    /// process is an executor. Call it before [`StreamingContext::start`] so the UI hears
    /// the start.
    pub fn start(ssc: &StreamingContext) -> Result<WebUi, Error> {
        let ctx = ssc.ctx();
        let conf = ctx.conf();
        let off = WebUi {
            addr: None,
            shutdown: None,
            thread: None,
        };
        if !ctx.is_driver()
            || !conf
                .get_bool("spate.ui.enabled")
                .map_err(conf_err("spate.ui.enabled"))?
        {
            return Ok(off);
        }
        let host = conf
            .get_text("spate.ui.host")
            .map_err(conf_err("spate.ui.host"))?
            .unwrap_or_else(|| "127.0.0.1".into());
        let port = conf
            .get_count("spate.ui.port")
            .map_err(conf_err("spate.ui.port"))?
            .unwrap_or(4040)
            .min(u16::MAX as usize) as u16;
        let count = |key: &'static str| -> Result<usize, Error> {
            Ok(conf.get_count(key).map_err(conf_err(key))?.unwrap_or(1000))
        };
        // `spate.ui.retainedBatches` is an alias of Spark's key.
        let retained_batches = spate_streaming::retained_batches(conf).map_err(|e| {
            conf_err("spate.streaming.ui.retainedBatches")(match e {
                spate_streaming::Error::Core(c) => c,
                other => spate_core::Error::Config(other.to_string()),
            })
        })?;
        let store = store::Store::new(
            retained_batches,
            count("spate.ui.retainedJobs")?,
            ssc.batch_ms(),
        );
        let listener = bind(&host, port)?;
        let addr = listener.local_addr().map_err(Error::Start)?;
        ssc.add_streaming_listener(Arc::new(store::StreamingSide(store.clone())));
        ctx.scheduler()
            .add_listener(Arc::new(store::SchedulerSide(store.clone())));
        let app = api::App::new(ssc, store);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(Error::Start)?;
        let thread = std::thread::Builder::new()
            .name("spate-ui".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => {
                            tracing::error!("web UI: {e}");
                            return;
                        }
                    };
                    let serve = axum::serve(listener, api::router(app)).with_graceful_shutdown(
                        async move {
                            let _ = rx.await;
                        },
                    );
                    if let Err(e) = serve.await {
                        tracing::error!("web UI stopped: {e}");
                    }
                })
            })
            .map_err(Error::Start)?;
        tracing::info!("web UI at http://{addr}");
        Ok(WebUi {
            addr: Some(addr),
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }

    /// The address it serves, `None` when it does not (disabled, or an executor).
    pub fn addr(&self) -> Option<SocketAddr> {
        self.addr
    }

    /// `http://host:port`, when it serves.
    pub fn url(&self) -> Option<String> {
        self.addr.map(|a| format!("http://{a}"))
    }

    /// Stops the server (also done on drop).
    pub fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for WebUi {
    fn drop(&mut self) {
        self.stop();
    }
}

fn bind(host: &str, port: u16) -> Result<std::net::TcpListener, Error> {
    let last = if port == 0 {
        0
    } else {
        port.saturating_add(PORT_RETRIES)
    };
    let mut error = None;
    for p in port..=last {
        match std::net::TcpListener::bind((host, p)) {
            Ok(l) => {
                if p != port {
                    tracing::warn!("web UI: port {port} is taken; serving on {p}");
                }
                l.set_nonblocking(true).map_err(Error::Start)?;
                return Ok(l);
            }
            Err(e) => error = Some(e),
        }
    }
    Err(Error::Bind {
        host: host.to_string(),
        first: port,
        last,
        source: error.unwrap_or_else(|| std::io::Error::other("no port tried")),
    })
}
