//! The errors of the web UI.

/// What can go wrong starting the UI or publishing to a dashboard.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A `spate.ui.*` setting is invalid.
    #[error("web UI: invalid setting {key}")]
    Conf {
        /// The key.
        key: &'static str,
        /// Why.
        #[source]
        source: spate_core::Error,
    },
    /// No port of the range could be bound.
    #[error("web UI: could not bind {host} on ports {first}..={last}")]
    Bind {
        /// The host.
        host: String,
        /// The first port tried.
        first: u16,
        /// The last port tried.
        last: u16,
        /// The last bind error.
        #[source]
        source: std::io::Error,
    },
    /// The server's thread or runtime could not start.
    #[error("web UI: could not start the server")]
    Start(#[source] std::io::Error),
    /// A record of a dashboard's stream could not be encoded or decoded as JSON.
    #[error("dashboard {dashboard:?}: a record is not representable as JSON")]
    Record {
        /// The dashboard.
        dashboard: String,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
}
