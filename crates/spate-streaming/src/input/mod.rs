//! Input streams: where batches come from.

mod queue;
mod replay;

pub(crate) use queue::QueueInput;
pub use queue::RddQueue;
pub(crate) use replay::ReplayInput;

use crate::time::Time;

/// An input stream, untyped: what the context needs to start, stop and account for it.
#[allow(dead_code)] // receiver inputs implement all of it
pub(crate) trait InputStream: Send + Sync + 'static {
    /// The stream id.
    fn id(&self) -> usize;
    /// Starts receiving (receivers); called by `StreamingContext::start`.
    fn start(&self) {}
    /// Stops receiving.
    fn stop(&self) {}
    /// Records received for batch `time` (0 when not counted).
    fn records_for(&self, _time: Time) -> u64 {
        0
    }
}
