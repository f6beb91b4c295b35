//! Writing an RDD as a directory of part files, one per partition, committed atomically:
//! each task writes `_temporary/part-NNNNN-<attempt>` and renames it into place when it
//! succeeds; the driver removes `_temporary` and writes an empty `_SUCCESS` once every
//! partition is in (Hadoop's `FileOutputCommitter`, as Spark's `saveAsTextFile` uses it).

use super::{BoxIter, Rdd};
use crate::data::Data;
use crate::error::{Error, Result};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

/// Writes `rdd` into the new directory `path`, `write` filling one part file from one
/// partition's records (it gets the writer and the file's path, for errors). `op` names
/// the operation in errors.
///
/// # Errors
/// `path` already exists; a part file cannot be written; the input fails.
pub(crate) fn save_part_files<T, W>(
    rdd: &Rdd<T>,
    path: &Path,
    op: &'static str,
    write: W,
) -> Result<()>
where
    T: Data,
    W: Fn(&mut BufWriter<File>, &Path, BoxIter<T>) -> Result<()> + Send + Sync + 'static,
{
    let dir = path.to_path_buf();
    if dir.exists() {
        return Err(Error::InvalidArgument {
            op,
            reason: format!("output directory {} already exists", dir.display()),
        });
    }
    let tmp = dir.join("_temporary");
    std::fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let (d, t) = (dir.clone(), tmp.clone());
    rdd.run_job(move |tc, it| {
        let name = format!("part-{:05}", tc.partition());
        let attempt = t.join(format!("{name}-{}", tc.task_attempt_id()));
        let f = File::create(&attempt).map_err(|e| Error::io(&attempt, e))?;
        let mut w = BufWriter::new(f);
        let written = write(&mut w, &attempt, it)
            .and_then(|()| w.flush().map_err(|e| Error::io(&attempt, e)));
        drop(w);
        if let Err(e) = written {
            let _ = std::fs::remove_file(&attempt);
            return Err(e);
        }
        if let Some(e) = tc.take_failure() {
            // The input ended early on an error: no partial part file.
            let _ = std::fs::remove_file(&attempt);
            return Err(e);
        }
        let fin = d.join(&name);
        std::fs::rename(&attempt, &fin).map_err(|e| Error::io(&fin, e))
    })?;
    std::fs::remove_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let ok = dir.join("_SUCCESS");
    std::fs::write(&ok, b"").map_err(|e| Error::io(&ok, e))
}
