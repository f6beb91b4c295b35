//! Whole-file sources: `whole_text_files` and `binary_files` (one record per file: its
//! path and its contents), files packed into partitions by size as Hadoop's
//! `CombineFileInputFormat` does for Spark.

use super::input_paths::{list_input_files, read_decompressed, InputFile};
use super::{BoxIter, Dependency, Rdd, RddBase, RddInfo, RddNode};
use crate::context::Context;
use crate::data::Data;
use crate::error::{Error, Result};
use crate::scheduler::TaskContext;
use crate::text::Str;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Packs files, in order, into groups of at least `ceil(total / min_partitions)` bytes
/// (the last group may be smaller); a group closes as soon as it reaches that size.
pub(crate) fn pack_files(files: Vec<InputFile>, min_partitions: usize) -> Vec<Vec<PathBuf>> {
    let total: u64 = files.iter().map(|f| f.len).sum();
    let parts = min_partitions.max(1) as u64;
    let max = total.div_ceil(parts);
    let mut groups = Vec::new();
    let mut cur = Vec::new();
    let mut size = 0u64;
    for f in files {
        cur.push(f.path);
        size += f.len;
        if size >= max {
            groups.push(std::mem::take(&mut cur));
            size = 0;
        }
    }
    if !cur.is_empty() {
        groups.push(cur);
    }
    groups
}

/// Reads one file into a record.
pub(crate) type FileReader<T> = fn(&Path) -> Result<T>;

/// One record per file; partition i reads the files of group i, one at a time.
pub(crate) struct WholeFilesRdd<T: Data> {
    info: RddInfo,
    groups: Vec<Vec<PathBuf>>,
    read: FileReader<T>,
}

impl<T: Data> WholeFilesRdd<T> {
    pub(crate) fn create(
        ctx: &Context,
        op: &'static str,
        path: &str,
        min_partitions: usize,
        read: FileReader<T>,
    ) -> Result<Rdd<T>> {
        let groups = pack_files(list_input_files(path)?, min_partitions);
        let info = RddInfo::new(ctx, op, groups.len(), &[]);
        Ok(Rdd::from_node(Arc::new(WholeFilesRdd {
            info,
            groups,
            read,
        })))
    }
}

impl<T: Data> RddBase for WholeFilesRdd<T> {
    fn info(&self) -> &RddInfo {
        &self.info
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
}

impl<T: Data> RddNode<T> for WholeFilesRdd<T> {
    fn compute(&self, split: usize, _tc: &TaskContext) -> Result<BoxIter<T>> {
        let read = self.read;
        let files = self
            .groups
            .get(split)
            .cloned()
            .ok_or(Error::InvalidArgument {
                op: "whole-file input",
                reason: format!("no partition {split}"),
            })?;
        Ok(Box::new(files.into_iter().map_while(move |p| {
            match read(&p) {
                Ok(v) => Some(v),
                Err(e) => {
                    // Ends the partition; the task fails with the error naming the file.
                    TaskContext::fail_current(e);
                    None
                }
            }
        })))
    }
}

/// `(path, text)`: decompressed, invalid UTF-8 replaced, the text sharing the file's
/// buffer.
pub(crate) fn read_text(path: &Path) -> Result<(String, Str)> {
    let bytes = Arc::new(read_decompressed(path)?);
    let text = Str::from_buffer_lossy(&bytes, 0, bytes.len());
    Ok((path.display().to_string(), text))
}

/// `(path, bytes)`: the file's bytes as stored (not decompressed, as Spark's
/// `binaryFiles`).
pub(crate) fn read_binary(path: &Path) -> Result<(String, Vec<u8>)> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    Ok((path.display().to_string(), bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(name: &str, len: u64) -> InputFile {
        InputFile {
            path: PathBuf::from(name),
            len,
        }
    }

    #[test]
    fn packing_by_size() {
        let files = vec![f("a", 10), f("b", 10), f("c", 10), f("d", 10)];
        let sizes = |g: Vec<Vec<PathBuf>>| g.iter().map(Vec::len).collect::<Vec<_>>();
        assert_eq!(sizes(pack_files(files.clone(), 1)), vec![4]);
        assert_eq!(sizes(pack_files(files.clone(), 2)), vec![2, 2]);
        assert_eq!(sizes(pack_files(files.clone(), 3)), vec![2, 2]);
        assert_eq!(sizes(pack_files(files.clone(), 4)), vec![1, 1, 1, 1]);
        assert_eq!(sizes(pack_files(files, 10)), vec![1, 1, 1, 1]);
        assert_eq!(sizes(pack_files(vec![f("e", 0), f("g", 0)], 1)), vec![1, 1]);
        assert!(pack_files(Vec::new(), 2).is_empty());
    }
}
