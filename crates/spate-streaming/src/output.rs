//! Output operations: what turns a batch's RDD into an effect. Each registers one job per
//! batch with the context, run in the order the outputs were declared.

use crate::dstream::{DStream, DStreamBase, DStreamNode};
use crate::error::Result;
use crate::show::Show;
use crate::time::Time;
use spate_core::{Data, Rdd};
use std::io::Write;
use std::sync::Arc;

/// The error type user output functions return (anything that is an error).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The work of one output operation for one batch.
pub(crate) type JobFn = Box<dyn FnOnce() -> std::result::Result<(), BoxError> + Send>;

/// An output operation, untyped: the graph asks it for each batch's job.
pub(crate) trait OutputOp: Send + Sync + 'static {
    /// The operation (`print`, `foreach_rdd`, ...).
    fn name(&self) -> &'static str;
    /// The stream it outputs.
    fn stream(&self) -> Arc<dyn DStreamBase>;
    /// The job for batch `time`, if the stream has an RDD then.
    fn generate_job(&self, time: Time) -> Result<Option<JobFn>>;
    /// Opens what the operation writes to (a sink's `open`); called by
    /// `StreamingContext::start`. An error fails the start.
    fn open(&self) -> Result<()> {
        Ok(())
    }
    /// Closes it (a sink's `close`); called by `StreamingContext::stop` after the last batch.
    fn close(&self) {}
}

type ForeachFn<T> = dyn Fn(Rdd<T>, Time) -> std::result::Result<(), BoxError> + Send + Sync;

/// `foreach_rdd` and everything built on it.
pub(crate) struct ForEachRdd<T: Data> {
    name: &'static str,
    parent: Arc<dyn DStreamNode<T>>,
    f: Arc<ForeachFn<T>>,
}

impl<T: Data> OutputOp for ForEachRdd<T> {
    fn name(&self) -> &'static str {
        self.name
    }
    fn stream(&self) -> Arc<dyn DStreamBase> {
        self.parent.clone()
    }
    fn generate_job(&self, time: Time) -> Result<Option<JobFn>> {
        Ok(self.parent.get_or_compute(time)?.map(|rdd| {
            let f = self.f.clone();
            Box::new(move || f(rdd, time)) as JobFn
        }))
    }
}

impl<T: Data> DStream<T> {
    /// Runs `f(rdd, time)` for every batch, on the driver (Spark's `foreachRDD`); the
    /// function usually runs actions on the RDD. An error fails the batch's job and
    /// surfaces from `await_termination`.
    pub fn foreach_rdd<F>(&self, f: F)
    where
        F: Fn(Rdd<T>, Time) -> std::result::Result<(), BoxError> + Send + Sync + 'static,
    {
        self.register_output("foreach_rdd", f);
    }

    pub(crate) fn register_output<F>(&self, name: &'static str, f: F)
    where
        F: Fn(Rdd<T>, Time) -> std::result::Result<(), BoxError> + Send + Sync + 'static,
    {
        self.ssc.register_output(Arc::new(ForEachRdd {
            name,
            parent: self.node.clone(),
            f: Arc::new(f),
        }));
    }

    /// Prints the first 10 records of every batch, as [`DStream::print_with`] (Spark's
    /// `print()`).
    pub fn print(&self)
    where
        T: Show,
    {
        self.print_with(10)
    }

    /// Prints the first `n` records of every batch to standard output in Spark's format:
    /// a dashed line, `Time: <ms> ms`, a dashed line, the records, `...` when there are
    /// more, and an empty line.
    pub fn print_with(&self, n: usize)
    where
        T: Show,
    {
        self.register_output("print", move |rdd, time| {
            let first = rdd.take(n + 1)?;
            // Once, on the driver (an executor process's copy gets the same records).
            if !rdd.context().is_driver() {
                return Ok(());
            }
            let text = format_batch(&first, n, time);
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
            Ok(())
        });
    }

    /// Writes every batch as a directory `prefix-<time ms>[.suffix]` of part files, one
    /// record per line (Spark's `saveAsTextFiles`), through a [`crate::sink::TextFilesSink`]:
    /// the batch is staged, then moved into place with `_SUCCESS` last, so a replayed batch
    /// replaces its directory and a failed batch leaves none.
    pub fn save_as_text_files(&self, prefix: &str, suffix: &str)
    where
        T: Show,
    {
        self.write_to_named(
            "save_as_text_files",
            crate::sink::TextFilesSink::new(prefix, suffix),
        );
    }
}

impl<T: Data> DStream<T> {
    /// Writes every batch as a directory `prefix-<time ms>[.suffix]` of part files in the
    /// engine's binary format (Spark's `saveAsObjectFiles`), read back with
    /// `Context::object_file`. The batch is written to a hidden staging directory next to
    /// it and renamed into place once whole, so a replayed batch replaces its directory and
    /// a failed batch leaves none.
    pub fn save_as_object_files(&self, prefix: &str, suffix: &str) {
        let (prefix, suffix) = (prefix.to_string(), suffix.to_string());
        self.register_output("save_as_object_files", move |rdd, time| {
            let target = std::path::PathBuf::from(batch_file_name(&prefix, &suffix, time));
            let name = target
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let staging = target.with_file_name(format!(".{name}.staging"));
            if staging.exists() {
                std::fs::remove_dir_all(&staging)
                    .map_err(|e| spate_core::Error::io(&staging, e))?;
            }
            rdd.save_as_object_file(&staging)?;
            if !rdd.context().is_driver() {
                return Ok(());
            }
            if target.exists() {
                // A replayed batch replaces what its earlier run wrote.
                std::fs::remove_dir_all(&target).map_err(|e| spate_core::Error::io(&target, e))?;
            }
            std::fs::rename(&staging, &target).map_err(|e| spate_core::Error::io(&target, e))?;
            Ok(())
        });
    }
}

/// Spark's `rddToFileName`: `prefix-<ms>` and `.suffix` when the suffix is not empty.
pub fn batch_file_name(prefix: &str, suffix: &str, time: Time) -> String {
    if suffix.is_empty() {
        format!("{prefix}-{}", time.0)
    } else {
        format!("{prefix}-{}.{suffix}", time.0)
    }
}

/// The text `print(n)` writes for a batch whose first `n + 1` records are `first`.
pub fn format_batch<T: Show>(first: &[T], n: usize, time: Time) -> String {
    let mut s = String::new();
    s.push_str("-------------------------------------------\n");
    s.push_str(&format!("Time: {time}\n"));
    s.push_str("-------------------------------------------\n");
    for x in first.iter().take(n) {
        x.show_into(&mut s);
        s.push('\n');
    }
    if first.len() > n {
        s.push_str("...\n");
    }
    s.push('\n');
    s
}
