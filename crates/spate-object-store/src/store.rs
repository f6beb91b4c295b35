//! [`ObjectStoreCheckpoints`]: a checkpoint directory in an object store.

use crate::error::{Error, Result};
use crate::open;
use crate::options::StoreOptions;
use crate::runtime::IoRuntime;
use futures_util::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use spate_core::checkpoint_store::CheckpointStore;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A checkpoint directory under a root path of an object store, such as
/// `s3://bucket/app/checkpoints`.
///
/// - `put` is one PUT of the whole object: object stores replace an object atomically,
///   so a reader sees the old value or the new one, never a part (no temporary names, no
///   rename).
/// - `list` shows the direct children of a prefix, objects and "directories" (common
///   prefixes) alike, sorted, without names starting with `.`.
/// - `delete(prefix)` removes the object `prefix` and every object under `prefix/`.
/// - `describe` gives the object's URL.
///
/// The engine is synchronous; each call runs on this store's own small tokio runtime and
/// waits for the answer, so it works from any thread, a tokio task's included.
#[derive(Debug)]
pub struct ObjectStoreCheckpoints {
    store: Arc<dyn ObjectStore>,
    root: Path,
    /// The location with no trailing `/`: object URLs are `{base}/{name}`.
    base: String,
    deadline: Duration,
    runtime: IoRuntime,
}

impl ObjectStoreCheckpoints {
    /// Opens the checkpoint directory at `location` (`s3://bucket/prefix`, `gs://...`,
    /// `az://...`, `memory:///prefix`) with the default [`StoreOptions`]; credentials,
    /// endpoint and region come from the standard environment variables.
    ///
    /// # Errors
    /// [`Error::Url`] for a URL this build cannot open, [`Error::Configure`] when the
    /// client cannot be configured. No request is made: a missing bucket or an
    /// unreachable endpoint shows at the first operation.
    pub fn open(location: &str) -> Result<Self> {
        Self::open_with(location, &StoreOptions::default())
    }

    /// Opens `location` with `options` (timeouts, retries, client settings).
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub fn open_with(location: &str, options: &StoreOptions) -> Result<Self> {
        let runtime = IoRuntime::new()?;
        // Built inside the runtime's context, so the HTTP client finds its reactor.
        let (store, root) = runtime.enter(|| open::client(location, options))?;
        tracing::debug!(url = location, root = %root, store = %store, "object store checkpoint directory opened");
        Ok(ObjectStoreCheckpoints {
            store,
            root,
            base: location.trim_end_matches('/').to_string(),
            deadline: options.operation_timeout,
            runtime,
        })
    }

    /// A checkpoint directory at `root` in a store made by the caller; `url` names it in
    /// errors and logs.
    ///
    /// # Errors
    /// When the I/O runtime cannot be started.
    pub fn new(store: Arc<dyn ObjectStore>, root: Path, url: &str) -> Result<Self> {
        Ok(ObjectStoreCheckpoints {
            store,
            root,
            base: url.trim_end_matches('/').to_string(),
            deadline: StoreOptions::default().operation_timeout,
            runtime: IoRuntime::new()?,
        })
    }

    /// The object store client.
    pub fn object_store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The root path inside the store.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The URL of `name` under the root.
    fn url(&self, name: &str) -> String {
        if name.is_empty() {
            self.base.clone()
        } else {
            format!("{}/{name}", self.base)
        }
    }

    /// The object path of `name` under the root.
    fn path(&self, name: &str) -> Result<Path> {
        let name = name.trim_matches('/');
        let full = match (self.root.as_ref().is_empty(), name.is_empty()) {
            (_, true) => return Ok(self.root.clone()),
            (true, false) => name.to_string(),
            (false, false) => format!("{}/{name}", self.root),
        };
        Path::parse(&full).map_err(|source| Error::Name {
            url: self.base.clone(),
            name: name.to_string(),
            source,
        })
    }

    /// Runs one operation on the runtime, logging how long it took.
    fn run<T, F>(&self, op: &'static str, url: &str, fut: F) -> Result<T>
    where
        T: Send + 'static,
        F: std::future::Future<Output = Result<T>> + Send + 'static,
    {
        let started = Instant::now();
        let r = self.runtime.run(op, url, self.deadline, fut);
        match &r {
            Ok(_) => tracing::trace!(op, url, elapsed = ?started.elapsed(), "object store"),
            Err(e) => tracing::debug!(op, url, elapsed = ?started.elapsed(), "object store: {e}"),
        }
        r
    }

    /// Writes `bytes` as the object `name`, in one PUT. (The `try_` operations are the
    /// [`CheckpointStore`] ones with this crate's [`Error`]; the trait's turn it into a
    /// `spate_core::Error`.)
    pub fn try_put(&self, name: &str, bytes: &[u8]) -> Result<()> {
        let path = self.path(name)?;
        let url = self.url(name);
        let store = self.store.clone();
        let payload = PutPayload::from(bytes.to_vec());
        let u = url.clone();
        self.run("put", &url, async move {
            store
                .put(&path, payload)
                .await
                .map(|_| ())
                .map_err(|source| Error::from_store("put", u, source))
        })
    }

    /// Reads `name`; [`Error::NotFound`] when it is not there.
    pub fn try_get(&self, name: &str) -> Result<Vec<u8>> {
        let path = self.path(name)?;
        let url = self.url(name);
        let store = self.store.clone();
        let u = url.clone();
        self.run("get", &url, async move {
            let got = async { store.get(&path).await?.bytes().await }.await;
            got.map(|b| b.to_vec())
                .map_err(|source| Error::from_store("get", u, source))
        })
    }

    /// The direct children of `prefix`, as [`CheckpointStore::list`] gives them.
    pub fn try_list(&self, prefix: &str) -> Result<Vec<String>> {
        let dir = self.path(prefix)?;
        let url = self.url(prefix);
        let store = self.store.clone();
        let u = url.clone();
        let children = self.run("list", &url, async move {
            let at = (!dir.as_ref().is_empty()).then_some(&dir);
            let listed = store
                .list_with_delimiter(at)
                .await
                .map_err(|source| Error::from_store("list", u, source))?;
            let names = listed
                .objects
                .iter()
                .map(|o| &o.location)
                .chain(listed.common_prefixes.iter())
                .filter_map(|p| p.filename().map(str::to_string))
                .collect::<Vec<_>>();
            Ok(names)
        })?;
        let prefix = prefix.trim_matches('/');
        let mut out: Vec<String> = children
            .into_iter()
            // Hidden names are not entries (as in a local checkpoint directory).
            .filter(|c| !c.starts_with('.'))
            .map(|c| {
                if prefix.is_empty() {
                    c
                } else {
                    format!("{prefix}/{c}")
                }
            })
            .collect();
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Deletes the object `prefix` and everything under `prefix/`; nothing there is no
    /// error.
    pub fn try_delete(&self, prefix: &str) -> Result<()> {
        let dir = self.path(prefix)?;
        let url = self.url(prefix);
        let store = self.store.clone();
        let u = url.clone();
        self.run("delete", &url, async move {
            let failed = |source| Error::from_store("delete", u.clone(), source);
            let at = (!dir.as_ref().is_empty()).then_some(&dir);
            if let Some(object) = at {
                match store.delete(object).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(failed(e)),
                }
            }
            let under = store.list(at).map_ok(|meta| meta.location).boxed();
            let mut deleted = store.delete_stream(under);
            while let Some(r) = deleted.next().await {
                match r {
                    Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(failed(e)),
                }
            }
            Ok(())
        })
    }
}

impl CheckpointStore for ObjectStoreCheckpoints {
    fn put(&self, name: &str, bytes: &[u8]) -> spate_core::Result<()> {
        Ok(self.try_put(name, bytes)?)
    }

    fn get(&self, name: &str) -> spate_core::Result<Vec<u8>> {
        Ok(self.try_get(name)?)
    }

    fn list(&self, prefix: &str) -> spate_core::Result<Vec<String>> {
        Ok(self.try_list(prefix)?)
    }

    fn delete(&self, prefix: &str) -> spate_core::Result<()> {
        Ok(self.try_delete(prefix)?)
    }

    fn describe(&self, name: &str) -> String {
        self.url(name)
    }
}
