//! The one error type of `spate-object-store`, and how it becomes a `spate_core::Error`.

use std::time::Duration;

/// What can go wrong opening or using an object-store checkpoint directory; every variant
/// names the URL involved.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The location is not a URL this program can open (bad syntax, or a scheme whose
    /// feature is not compiled in).
    #[error("{url}: not an object store URL this program can open: {reason}")]
    Url {
        /// The location as given.
        url: String,
        /// Why.
        reason: String,
    },

    /// The object store client could not be configured (a missing bucket name or region,
    /// an unknown option, bad credentials syntax).
    #[error("{url}: cannot configure the object store client: {source}")]
    Configure {
        /// The location as given.
        url: String,
        /// The object store's error.
        #[source]
        source: object_store::Error,
    },

    /// A name is not a valid object path (an empty segment, `.` or `..`).
    #[error("{url}: {name:?} is not a valid object name: {source}")]
    Name {
        /// The checkpoint directory.
        url: String,
        /// The name given.
        name: String,
        /// Why the object store refuses it.
        #[source]
        source: object_store::path::Error,
    },

    /// The I/O runtime driving the object store client could not be started.
    #[error("cannot start the object store's I/O runtime: {source}")]
    Runtime {
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },

    /// `get` of an object that is not there (or of an object in a bucket that is not
    /// there: S3 answers both with 404).
    #[error("{url}: no such object: {source}")]
    NotFound {
        /// The object.
        url: String,
        /// The object store's error.
        #[source]
        source: object_store::Error,
    },

    /// The bucket (or container) of the URL does not exist: object stores do not create
    /// it, so it must be created before the first checkpoint.
    #[error("{url}: the bucket does not exist (create it first): {source}")]
    NoSuchBucket {
        /// The object or prefix.
        url: String,
        /// The object store's error.
        #[source]
        source: object_store::Error,
    },

    /// A request failed: the server refused it, could not be reached, or answered with
    /// an error, after the configured retries.
    #[error("{op} {url} failed: {source}")]
    Store {
        /// The operation (`put`, `get`, `list`, `delete`).
        op: &'static str,
        /// The object or prefix.
        url: String,
        /// The object store's error.
        #[source]
        source: object_store::Error,
    },

    /// An operation did not finish within its deadline (retries included).
    #[error("{op} {url} did not finish within {after:?}")]
    TimedOut {
        /// The operation.
        op: &'static str,
        /// The object or prefix.
        url: String,
        /// The deadline.
        after: Duration,
    },

    /// The task running an operation ended without an answer (its runtime shut down, or
    /// the client panicked).
    #[error(
        "{op} {url}: the operation ended without an answer (I/O runtime stopped or task panicked)"
    )]
    Interrupted {
        /// The operation.
        op: &'static str,
        /// The object or prefix.
        url: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The error of a failed `op` on `url`: a missing bucket, a missing object (for
    /// `get`) or any other failure.
    pub(crate) fn from_store(op: &'static str, url: String, source: object_store::Error) -> Self {
        // S3 and GCS say NoSuchBucket (GCS's XML API too), Azure ContainerNotFound; the
        // object store client keeps the server's answer in the error's text.
        let text = source.to_string();
        if [
            "NoSuchBucket",
            "ContainerNotFound",
            "The specified bucket does not exist",
        ]
        .iter()
        .any(|m| text.contains(m))
        {
            return Error::NoSuchBucket { url, source };
        }
        match source {
            object_store::Error::NotFound { .. } if op == "get" => Error::NotFound { url, source },
            source => Error::Store { op, url, source },
        }
    }

    /// The URL (object, prefix or checkpoint directory) the error is about, when it has
    /// one.
    pub fn url(&self) -> Option<&str> {
        match self {
            Error::Url { url, .. }
            | Error::Configure { url, .. }
            | Error::Name { url, .. }
            | Error::NotFound { url, .. }
            | Error::NoSuchBucket { url, .. }
            | Error::Store { url, .. }
            | Error::TimedOut { url, .. }
            | Error::Interrupted { url, .. } => Some(url),
            Error::Runtime { .. } => None,
        }
    }

    /// Whether retrying the same operation could succeed (a network failure, a timeout,
    /// a server error), as opposed to a configuration or naming mistake.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Store { source, .. } => !matches!(
                source,
                object_store::Error::PermissionDenied { .. }
                    | object_store::Error::Unauthenticated { .. }
                    | object_store::Error::NotSupported { .. }
                    | object_store::Error::NotImplemented { .. }
                    | object_store::Error::InvalidPath { .. }
            ),
            Error::TimedOut { .. } | Error::Interrupted { .. } => true,
            Error::Url { .. }
            | Error::Configure { .. }
            | Error::Name { .. }
            | Error::Runtime { .. }
            | Error::NotFound { .. }
            | Error::NoSuchBucket { .. } => false,
        }
    }
}

/// Into the engine's error: a missing object or an unusable location is a
/// `spate_core::Error::Checkpoint` (not retryable, its reason the whole cause chain); a
/// failed or timed-out request is a retryable `spate_core::Error::Io` on the URL that
/// keeps this error (and its causes) as its source.
impl From<Error> for spate_core::Error {
    fn from(e: Error) -> Self {
        let path = e.url().unwrap_or("object store").to_string();
        if e.is_retryable() || matches!(e, Error::Runtime { .. }) {
            let kind = match &e {
                Error::TimedOut { .. } => std::io::ErrorKind::TimedOut,
                Error::Interrupted { .. } => std::io::ErrorKind::Interrupted,
                _ => std::io::ErrorKind::Other,
            };
            return spate_core::Error::io(path, std::io::Error::new(kind, e));
        }
        // The path is the URL: the reason need not say it again.
        let mut reason = match &e {
            Error::NotFound { .. } => "no such object".to_string(),
            other => {
                let msg = other.to_string();
                match msg.strip_prefix(&format!("{path}: ")) {
                    Some(rest) => rest.to_string(),
                    None => msg,
                }
            }
        };
        let mut shown = reason.clone();
        let mut cause = std::error::Error::source(&e);
        while let Some(c) = cause {
            let msg = c.to_string();
            if !shown.contains(&msg) {
                reason.push_str(": ");
                reason.push_str(&msg);
                shown = msg;
            }
            cause = c.source();
        }
        spate_core::Error::Checkpoint { path, reason }
    }
}
