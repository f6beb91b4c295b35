//! How many completed batches are kept: `spate.streaming.ui.retainedBatches` (Spark's
//! `spark.streaming.ui.retainedBatches`), or its alias `spate.ui.retainedBatches`.

use crate::error::Result;
use spate_core::SpateConf;

/// The default of `spate.streaming.ui.retainedBatches` (Spark's).
pub const DEFAULT_RETAINED_BATCHES: usize = 1000;

/// Most completed batches kept, by the streaming context
/// ([`crate::StreamingContext::completed_batches`]) and by the web UI:
/// `spate.streaming.ui.retainedBatches`, or its alias `spate.ui.retainedBatches`, or
/// 1,000.
///
/// # Errors
/// A value that does not parse, or the two keys set to different values.
pub fn retained_batches(conf: &SpateConf) -> Result<usize> {
    const SPARK: &str = "spate.streaming.ui.retainedBatches";
    const ALIAS: &str = "spate.ui.retainedBatches";
    let spark = conf
        .contains(SPARK)
        .then(|| conf.get_count(SPARK))
        .transpose()?
        .flatten();
    let alias = conf
        .contains(ALIAS)
        .then(|| conf.get_count(ALIAS))
        .transpose()?
        .flatten();
    match (spark, alias) {
        (Some(a), Some(b)) if a != b => Err(spate_core::Error::Config(format!(
            "{SPARK} is {a} and its alias {ALIAS} is {b}: set one of them"
        ))
        .into()),
        (Some(n), _) | (None, Some(n)) => Ok(n),
        (None, None) => Ok(DEFAULT_RETAINED_BATCHES),
    }
}
