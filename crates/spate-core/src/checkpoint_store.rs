//! Reliable storage for checkpoints, behind one interface: a local (or mounted) directory
//! now, object stores later.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// Reliable storage of named byte blobs; names use `/` as separator.
pub trait CheckpointStore: Send + Sync + 'static {
    /// Writes `bytes` under `name`, atomically: a reader sees all of it or none.
    fn put(&self, name: &str, bytes: &[u8]) -> Result<()>;
    /// Reads `name`.
    fn get(&self, name: &str) -> Result<Vec<u8>>;
    /// Names under `prefix`, sorted.
    fn list(&self, prefix: &str) -> Result<Vec<String>>;
    /// Deletes everything under `prefix`.
    fn delete(&self, prefix: &str) -> Result<()>;
    /// A human-readable location of `name`, for errors and logs.
    fn describe(&self, name: &str) -> String;
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
        let path = self.path(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
        std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))
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
            out.push(format!("{prefix}/{}", e.file_name().to_string_lossy()));
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
