//! Batches saved as Parquet files: [`ParquetSink`] writes batch `time` to the directory
//! `prefix-<time ms>[.suffix]` of `part-NNNNN` Parquet files (one per partition, snappy
//! compressed) and `_SUCCESS`, staged and committed whole as
//! [`spate_streaming::TextFilesSink`] does: a replayed batch replaces its directory, a
//! failed one leaves none.
//!
//! Each record's `Serialize` form is a row: a struct's fields are the columns, their
//! Arrow types inferred from the partition's records (integers as `Int64`, floats as
//! `Float64`, strings as `Utf8`, booleans; nested structs and lists as Arrow structs and
//! lists). A partition without records is a Parquet file with no columns.
//!
//! ```no_run
//! # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct Count { word: String, n: u64 }
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let ssc = spate_streaming::StreamingContext::with_context(
//! #     spate_core::Context::local(2)?, std::time::Duration::from_secs(1))?;
//! # let counts = ssc.queue_stream(&spate_streaming::RddQueue::<Count>::new());
//! counts.write_to(spate_parquet::ParquetSink::new("/data/counts", "parquet"));
//! # Ok(()) }
//! ```

use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use spate_core::{BoxIter, Data};
use spate_streaming::{BoxError, Sink, StagedTextFile, TextFilesSink, Time};
use std::sync::Arc;

/// A sink writing each batch as a directory of Parquet files (see the crate docs).
#[derive(Debug, Clone)]
pub struct ParquetSink {
    files: TextFilesSink,
}

impl ParquetSink {
    /// Batches to `prefix-<time ms>[.suffix]` directories.
    pub fn new(prefix: impl Into<String>, suffix: impl Into<String>) -> Self {
        ParquetSink {
            files: TextFilesSink::new(prefix, suffix),
        }
    }

    /// The directory batch `time` is committed to.
    pub fn batch_dir(&self, time: Time) -> std::path::PathBuf {
        self.files.batch_dir(time)
    }
}

/// Writes `rows` (JSON objects) as one Parquet file at `path`.
fn write_parquet(path: &std::path::Path, rows: &[serde_json::Value]) -> Result<(), String> {
    let schema = arrow_json::reader::infer_json_schema_from_iterator(rows.iter().map(Ok))
        .map_err(|e| format!("inferring the columns: {e}"))?;
    let schema = Arc::new(schema);
    let mut decoder = arrow_json::ReaderBuilder::new(schema.clone())
        .build_decoder()
        .map_err(|e| e.to_string())?;
    decoder
        .serialize(rows)
        .map_err(|e| format!("a record as a row: {e}"))?;
    let file = std::fs::File::create(path).map_err(|e| e.to_string())?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let mut w = ArrowWriter::try_new(file, schema, Some(props)).map_err(|e| e.to_string())?;
    if let Some(batch) = decoder.flush().map_err(|e| e.to_string())? {
        w.write(&batch).map_err(|e| e.to_string())?;
    }
    w.close().map_err(|e| e.to_string())?;
    Ok(())
}

impl<T: Data> Sink<T> for ParquetSink {
    type Staged = StagedTextFile;

    fn name(&self) -> String {
        format!("Parquet files {}", self.files.pattern())
    }

    fn write(
        &self,
        time: Time,
        partition: usize,
        attempt: u64,
        records: BoxIter<T>,
    ) -> Result<StagedTextFile, BoxError> {
        let mut rows = Vec::new();
        let mut failed = None;
        records.drive(&mut |r: T| {
            if failed.is_some() {
                return;
            }
            match serde_json::to_value(&r) {
                Ok(v @ serde_json::Value::Object(_)) => rows.push(v),
                Ok(other) => failed = Some(format!("a record is {other}, not a struct or map")),
                Err(e) => failed = Some(e.to_string()),
            }
        });
        self.files.stage_file(time, partition, attempt, |path| {
            if let Some(e) = failed {
                return Err(e);
            }
            write_parquet(path, &rows)
        })
    }

    fn commit(&self, time: Time, staged: Vec<StagedTextFile>) -> Result<(), BoxError> {
        self.files.commit_staged(time, staged)
    }

    fn abort(&self, time: Time, staged: Vec<StagedTextFile>) {
        self.files.abort_staged(time, staged)
    }
}
