//! Reliable storage for checkpoints, behind one interface: a local (or mounted) directory
//! here, object stores in their own crate (`spate-object-store`), chosen by the URL of the
//! checkpoint directory ([`open`]).
//!
//! Writes are atomic (a reader sees a whole file or none), and what spate writes there —
//! metadata checkpoints, data (RDD) checkpoints, write-ahead log segments — is framed by
//! [`put_checked`]: a magic number, a format version, the payload's length and its CRC-32,
//! so [`get_checked`] tells a torn or corrupt file from a good one instead of decoding
//! garbage.

use crate::error::{Error, Result};
use parking_lot::RwLock;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Reliable storage of named byte blobs; names use `/` as separator.
pub trait CheckpointStore: Send + Sync + 'static {
    /// Writes `bytes` under `name`, atomically: a reader sees all of it or none, and a
    /// successful `put` survives a crash of this process (and, for a local directory, of
    /// the machine).
    fn put(&self, name: &str, bytes: &[u8]) -> Result<()>;
    /// Reads `name`.
    fn get(&self, name: &str) -> Result<Vec<u8>>;
    /// Names under `prefix` (a directory-like prefix, without its trailing `/`), sorted,
    /// as `prefix/child`; only direct children.
    fn list(&self, prefix: &str) -> Result<Vec<String>>;
    /// Deletes `prefix` and everything under it (nothing there is not an error).
    fn delete(&self, prefix: &str) -> Result<()>;
    /// A human-readable location of `name`, for errors and logs.
    fn describe(&self, name: &str) -> String;
}

/// The first bytes of every framed file.
pub const FRAME_MAGIC: [u8; 4] = *b"SPCK";
/// The frame's format version.
pub const FRAME_VERSION: u16 = 1;
const FRAME_HEADER: usize = 4 + 2 + 8 + 4;

/// `payload` framed: magic, version, length, CRC-32, payload.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(FRAME_HEADER + payload.len());
    out.extend_from_slice(&FRAME_MAGIC);
    out.extend_from_slice(&FRAME_VERSION.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// The payload of a framed file, checked; `what` names the file in errors.
///
/// # Errors
/// [`Error::Checkpoint`] saying what is wrong: not a spate file, a newer frame version,
/// torn (shorter or longer than its header says) or corrupt (checksum mismatch).
pub fn unframe<'a>(bytes: &'a [u8], what: &str) -> Result<&'a [u8]> {
    let bad = |reason: String| Error::Checkpoint {
        path: what.to_string(),
        reason,
    };
    if bytes.len() < FRAME_HEADER || bytes[..4] != FRAME_MAGIC {
        return Err(bad(format!(
            "not a spate checkpoint file ({} bytes, no SPCK header): torn or foreign",
            bytes.len()
        )));
    }
    let version = u16::from_le_bytes([bytes[4], bytes[5]]);
    if version > FRAME_VERSION {
        return Err(bad(format!(
            "written in frame format {version}, newer than this spate's {FRAME_VERSION}"
        )));
    }
    let mut len = [0u8; 8];
    len.copy_from_slice(&bytes[6..14]);
    let len = u64::from_le_bytes(len);
    let mut crc = [0u8; 4];
    crc.copy_from_slice(&bytes[14..18]);
    let crc = u32::from_le_bytes(crc);
    let payload = &bytes[FRAME_HEADER..];
    if payload.len() as u64 != len {
        return Err(bad(format!(
            "torn: {len} bytes of payload expected, {} found",
            payload.len()
        )));
    }
    if crc32fast::hash(payload) != crc {
        return Err(bad("corrupt: checksum mismatch".into()));
    }
    Ok(payload)
}

/// Writes `payload` under `name`, framed (see [`frame`]).
pub fn put_checked(store: &dyn CheckpointStore, name: &str, payload: &[u8]) -> Result<()> {
    store.put(name, &frame(payload))
}

/// Reads `name` and checks its frame (see [`unframe`]).
pub fn get_checked(store: &dyn CheckpointStore, name: &str) -> Result<Vec<u8>> {
    let bytes = store.get(name)?;
    unframe(&bytes, &store.describe(name)).map(<[u8]>::to_vec)
}

/// Makes the store of a URL whose scheme was registered with [`register_scheme`].
pub type StoreFactory = Arc<dyn Fn(&str) -> Result<Arc<dyn CheckpointStore>> + Send + Sync>;

static SCHEMES: RwLock<BTreeMap<String, StoreFactory>> = RwLock::new(BTreeMap::new());

/// Registers the store of URLs `scheme://...` (the object-store crate registers `s3` and
/// the like).
pub fn register_scheme(scheme: &str, factory: StoreFactory) {
    SCHEMES.write().insert(scheme.to_ascii_lowercase(), factory);
}

/// The store of a checkpoint location: a path or `file://` URL is a [`LocalDirStore`];
/// `scheme://...` goes to the factory registered for `scheme`.
///
/// # Errors
/// A URL whose scheme no crate registered (naming it and what to add), or a directory
/// that cannot be made.
pub fn open(location: &str) -> Result<Arc<dyn CheckpointStore>> {
    if let Some(path) = location.strip_prefix("file://") {
        return Ok(Arc::new(LocalDirStore::new(path)?));
    }
    if let Some((scheme, _)) = location.split_once("://") {
        let factory = SCHEMES.read().get(&scheme.to_ascii_lowercase()).cloned();
        return match factory {
            Some(f) => f(location),
            None => Err(Error::InvalidArgument {
                op: "checkpoint directory",
                reason: format!(
                    "{location}: no store for {scheme}:// URLs in this program (add the \
                     spate-object-store crate and call spate_object_store::register())"
                ),
            }),
        };
    }
    Ok(Arc::new(LocalDirStore::new(location)?))
}

/// A directory on a local or mounted file system.
#[derive(Debug, Clone)]
pub struct LocalDirStore {
    root: PathBuf,
}

impl LocalDirStore {
    /// A store rooted at `root`, created if missing.
    pub fn new(root: impl AsRef<Path>) -> Result<Self> {
        let root = root.as_ref().to_path_buf();
        std::fs::create_dir_all(&root).map_err(|e| Error::io(&root, e))?;
        Ok(LocalDirStore { root })
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }
}

impl CheckpointStore for LocalDirStore {
    fn put(&self, name: &str, bytes: &[u8]) -> Result<()> {
        use std::io::Write;
        static TMP: AtomicU64 = AtomicU64::new(0);
        let path = self.path(name);
        let parent = path.parent().unwrap_or(&self.root).to_path_buf();
        std::fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
        // A hidden, unique temporary name in the same directory: concurrent writers of one
        // name never share it, `list` does not show it, and the rename is atomic.
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = parent.join(format!(
            ".{file_name}.tmp-{}-{}",
            std::process::id(),
            TMP.fetch_add(1, Ordering::Relaxed)
        ));
        let written = (|| {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(Error::io(&tmp, e));
        }
        if let Err(e) = std::fs::rename(&tmp, &path) {
            let _ = std::fs::remove_file(&tmp);
            return Err(Error::io(&path, e));
        }
        // The rename itself survives a machine crash once the directory is synced.
        if let Ok(d) = std::fs::File::open(&parent) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    fn get(&self, name: &str) -> Result<Vec<u8>> {
        let path = self.path(name);
        std::fs::read(&path).map_err(|e| Error::Checkpoint {
            path: path.display().to_string(),
            reason: e.to_string(),
        })
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>> {
        let dir = self.path(prefix);
        let mut out = Vec::new();
        let rd = match std::fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(Error::io(&dir, e)),
        };
        for e in rd {
            let e = e.map_err(|err| Error::io(&dir, err))?;
            let name = e.file_name().to_string_lossy().into_owned();
            // Temporary files of writes in progress (or torn by a crash) are not entries.
            if name.starts_with('.') {
                continue;
            }
            out.push(format!("{prefix}/{name}"));
        }
        out.sort();
        Ok(out)
    }

    fn delete(&self, prefix: &str) -> Result<()> {
        let p = self.path(prefix);
        let r = if p.is_dir() {
            std::fs::remove_dir_all(&p)
        } else {
            std::fs::remove_file(&p)
        };
        match r {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(&p, e)),
        }
    }

    fn describe(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }
}

/// A store seen under a prefix of another: names `a/b` are `prefix/a/b` in `inner` (a
/// checkpoint directory's `data/`, `metadata/` and `wal/` parts share one store).
pub struct Prefixed {
    inner: Arc<dyn CheckpointStore>,
    prefix: String,
}

impl Prefixed {
    /// `inner` under `prefix` (no leading or trailing `/`).
    pub fn new(inner: Arc<dyn CheckpointStore>, prefix: &str) -> Self {
        Prefixed {
            inner,
            prefix: prefix.trim_matches('/').to_string(),
        }
    }

    fn full(&self, name: &str) -> String {
        if name.is_empty() {
            self.prefix.clone()
        } else {
            format!("{}/{name}", self.prefix)
        }
    }
}

impl CheckpointStore for Prefixed {
    fn put(&self, name: &str, bytes: &[u8]) -> Result<()> {
        self.inner.put(&self.full(name), bytes)
    }
    fn get(&self, name: &str) -> Result<Vec<u8>> {
        self.inner.get(&self.full(name))
    }
    fn list(&self, prefix: &str) -> Result<Vec<String>> {
        let strip = format!("{}/", self.prefix);
        Ok(self
            .inner
            .list(&self.full(prefix))?
            .into_iter()
            .map(|n| n.strip_prefix(&strip).map(str::to_string).unwrap_or(n))
            .collect())
    }
    fn delete(&self, prefix: &str) -> Result<()> {
        self.inner.delete(&self.full(prefix))
    }
    fn describe(&self, name: &str) -> String {
        self.inner.describe(&self.full(name))
    }
}
