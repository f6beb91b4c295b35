//! Batches saved as JSON lines or CSV files ([`RecordFilesSink`],
//! [`DStream::save_as_json_files`], [`DStream::save_as_csv_files`]): the same two-phase,
//! one-directory-per-batch commit as [`TextFilesSink`], with each record written in the
//! format through its `Serialize` form.

use crate::dstream::DStream;
use crate::output::BoxError;
use crate::sink::{Sink, StagedTextFile, TextFilesSink};
use crate::time::Time;
use spate_core::{BoxIter, Data};

/// How a [`RecordFilesSink`] writes a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordFormat {
    /// One JSON value per line (a struct as an object, a tuple as an array).
    JsonLines,
    /// Comma-separated values, RFC 4180 quoting. A struct's field names make the header
    /// line of each part file; a tuple or a plain value gives rows without a header.
    /// Records must be flat: a nested struct, list or map is refused.
    Csv,
}

/// A sink writing batch `time` to the directory `prefix-<time ms>[.suffix]` of
/// `part-NNNNN` files in a [`RecordFormat`], with `_SUCCESS` last (staged, then renamed
/// into place: a replayed batch replaces its directory, a failed one leaves none; see
/// [`TextFilesSink`]). A record the format cannot hold fails its task with an error naming
/// the file and why.
#[derive(Debug, Clone)]
pub struct RecordFilesSink {
    files: TextFilesSink,
    format: RecordFormat,
}

impl RecordFilesSink {
    /// Batches as JSON lines files.
    pub fn json_lines(prefix: impl Into<String>, suffix: impl Into<String>) -> Self {
        Self::new(prefix.into(), suffix.into(), RecordFormat::JsonLines)
    }

    /// Batches as CSV files.
    pub fn csv(prefix: impl Into<String>, suffix: impl Into<String>) -> Self {
        Self::new(prefix.into(), suffix.into(), RecordFormat::Csv)
    }

    fn new(prefix: String, suffix: String, format: RecordFormat) -> Self {
        RecordFilesSink {
            files: TextFilesSink::new(prefix, suffix),
            format,
        }
    }

    /// The directory batch `time` is committed to.
    pub fn batch_dir(&self, time: Time) -> std::path::PathBuf {
        self.files.batch_dir(time)
    }
}

impl<T: Data> Sink<T> for RecordFilesSink {
    type Staged = StagedTextFile;

    fn name(&self) -> String {
        match self.format {
            RecordFormat::JsonLines => format!("JSON lines files {}", self.files.pattern()),
            RecordFormat::Csv => format!("CSV files {}", self.files.pattern()),
        }
    }

    fn write(
        &self,
        time: Time,
        partition: usize,
        attempt: u64,
        records: BoxIter<T>,
    ) -> Result<StagedTextFile, BoxError> {
        match self.format {
            RecordFormat::JsonLines => {
                self.files
                    .stage(time, partition, attempt, records, |x: &T, w| {
                        serde_json::to_writer(&mut *w, x).map_err(|e| e.to_string())?;
                        w.write_all(b"\n").map_err(|e| e.to_string())
                    })
            }
            RecordFormat::Csv => {
                let mut first = true;
                let mut row = 0u64;
                self.files
                    .stage(time, partition, attempt, records, |x: &T, w| {
                        // The header (a struct's field names) with the first row only.
                        let mut out = csv::WriterBuilder::new()
                            .has_headers(first)
                            .buffer_capacity(1024)
                            .from_writer(&mut *w);
                        first = false;
                        row += 1;
                        out.serialize(x)
                            .and_then(|()| out.flush().map_err(Into::into))
                            .map_err(|e| format!("record {row} of the partition: {e}"))
                    })
            }
        }
    }

    fn commit(&self, time: Time, staged: Vec<StagedTextFile>) -> Result<(), BoxError> {
        self.files.commit_staged(time, staged)
    }

    fn abort(&self, time: Time, staged: Vec<StagedTextFile>) {
        self.files.abort_staged(time, staged)
    }
}

impl<T: Data> DStream<T> {
    /// Writes every batch as a directory `prefix-<time ms>[.suffix]` of JSON lines part
    /// files, committed whole ([`RecordFilesSink::json_lines`]).
    pub fn save_as_json_files(&self, prefix: &str, suffix: &str) {
        self.write_to_named(
            "save_as_json_files",
            RecordFilesSink::json_lines(prefix, suffix),
        );
    }

    /// Writes every batch as a directory `prefix-<time ms>[.suffix]` of CSV part files,
    /// committed whole ([`RecordFilesSink::csv`]).
    pub fn save_as_csv_files(&self, prefix: &str, suffix: &str) {
        self.write_to_named("save_as_csv_files", RecordFilesSink::csv(prefix, suffix));
    }
}
