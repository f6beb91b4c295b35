//! Logging on by default: a program that installs no `tracing` subscriber still sees
//! warnings and errors (a refused connection, a failed batch) on standard error.

/// Installs the default logger unless the program already has a global `tracing`
/// subscriber: `RUST_LOG`'s filter (default `warn`), to standard error, so standard output
/// holds only the program's results. Does nothing the second time. Returns whether this
/// call installed it.
pub fn install_default_logger() -> bool {
    if tracing::dispatcher::has_been_set() {
        return false;
    }
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init()
        .is_ok()
}
