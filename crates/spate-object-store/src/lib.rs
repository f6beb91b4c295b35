//! Checkpoint directories on object stores: `StreamingContext::checkpoint("s3://bucket/app")`.
//!
//! ```text
//!  engine (sync)                      spate-object-store                      network
//!  ───────────────                    ──────────────────                      ───────
//!  checkpoint_store::open(url) ──► factory registered by register()
//!                                      └► ObjectStoreCheckpoints ── IoRuntime (1 tokio
//!  put/get/list/delete ─────────────►     (root path, URL)          worker thread) ──► S3 / GCS / Azure
//!                       ◄─ waits on a channel, bounded by timeouts and retries ─┘
//! ```
//!
//! A program that checkpoints to an object store calls [`register`] once, before
//! `StreamingContext::checkpoint` or `get_or_create`:
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! spate_object_store::register();
//! // now "s3://bucket/prefix" (and gs://, az://, memory://) open as checkpoint directories
//! let store = spate_core::checkpoint_store::open("s3://my-bucket/apps/word-count")?;
//! spate_core::checkpoint_store::put_checked(store.as_ref(), "hello", b"world")?;
//! # Ok(()) }
//! ```
//!
//! Credentials, endpoint and region come from the standard environment variables of each
//! store (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
//! `AWS_REGION`, `AWS_ENDPOINT` or `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`;
//! `GOOGLE_SERVICE_ACCOUNT`, `GOOGLE_APPLICATION_CREDENTIALS`; `AZURE_STORAGE_ACCOUNT_NAME`,
//! `AZURE_STORAGE_ACCOUNT_KEY`, ...), read by `object_store`'s `from_env` builders; code
//! that wants other settings opens a store itself with
//! [`ObjectStoreCheckpoints::open_with`] and [`StoreOptions`].
//!
//! A `put` is a single PUT of the whole object, which object stores apply atomically: a
//! reader sees the previous object or the new one. Everything spate writes there is also
//! framed with a checksum (`checkpoint_store::put_checked`), so a damaged object is
//! detected, not decoded.

mod error;
mod open;
mod options;
mod runtime;
mod store;
#[cfg(test)]
mod tests;

pub use error::{Error, Result};
pub use open::SCHEMES;
pub use options::StoreOptions;
pub use store::ObjectStoreCheckpoints;

use spate_core::checkpoint_store::{self, CheckpointStore};
use std::sync::Arc;

/// Registers the object-store URL schemes this build supports ([`SCHEMES`]: `s3`, `s3a`,
/// `gs`, `az`, `adl`, `azure`, `abfs`, `abfss`, `memory`) with
/// `spate_core::checkpoint_store`, so checkpoint directories given as such URLs open as an
/// [`ObjectStoreCheckpoints`] with the default [`StoreOptions`]. Calling it again is
/// harmless.
pub fn register() {
    for scheme in SCHEMES {
        checkpoint_store::register_scheme(
            scheme,
            Arc::new(|location: &str| {
                let store = ObjectStoreCheckpoints::open(location)?;
                Ok(Arc::new(store) as Arc<dyn CheckpointStore>)
            }),
        );
    }
}
