//! Input streams: where batches come from.

mod direct;
mod file;
mod queue;
mod receiver;
mod replay;
mod socket;
mod tracker;

pub(crate) use direct::DirectInput;
pub use direct::{DirectRanges, DirectSource};
pub(crate) use file::FileInput;
pub(crate) use queue::QueueInput;
pub use queue::RddQueue;
pub use receiver::{Receiver, ReceiverHandle};
pub(crate) use receiver::{ReceiverCompute, ReceiverInput};
pub(crate) use replay::ReplayInput;
pub use socket::{lines_decoder, read_all, Decoder, SocketReceiver};
pub use tracker::{InputFile, InputInfo, InputRecord, InputSource, InputTracker, ReceivedBlock};

use crate::time::Time;

/// An input stream, untyped: what the context needs to start, stop and account for it.
pub(crate) trait InputStream: Send + Sync + 'static {
    /// Starts receiving (receivers); called by `StreamingContext::start`.
    fn start(&self) {}
    /// Stops receiving.
    fn stop(&self) {}
    /// Gives the data received so far to batch `time`; called once per batch, before its
    /// jobs are generated, whether or not an output reads this input then.
    fn allocate_blocks(&self, _time: Time) {}
    /// Drops what batches older than the stream's remember duration before `time` hold
    /// and nothing reads any more.
    fn forget_before(&self, _time: Time) {}
    /// Whether received records still wait for a batch (a graceful stop waits for them).
    fn has_pending(&self) -> bool {
        false
    }
}
