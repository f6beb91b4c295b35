//! Input streams: where batches come from.

mod direct;
mod file;
mod queue;
pub mod rate;
mod raw_socket;
mod receiver;
pub(crate) mod remote_files;
mod replay;
mod socket;
mod streams;
mod tracker;

pub(crate) use direct::{DirectInput, DirectLifecycle};
pub use direct::{DirectRanges, DirectSource};
pub(crate) use file::{
    read_lines, remember_ms as file_remember_ms, FileInput, FileLifecycle, PathFilter, ReadFile,
};
pub(crate) use queue::QueueInput;
pub use queue::RddQueue;
pub use raw_socket::{encode_raw_frame, raw_frames_decoder};
pub(crate) use receiver::{block_interval, follow_placements, ReceiverCompute, ReceiverInput};
pub use receiver::{Receiver, ReceiverHandle};
pub(crate) use remote_files::RemoteFileInput;
pub(crate) use replay::ReplayInput;
pub use socket::{
    capped_lines_decoder, lines_decoder, read_all, Decoder, LineDrop, SocketReceiver,
};
pub(crate) use tracker::generating;
pub use tracker::{InputFile, InputInfo, InputRecord, InputSource, InputTracker, ReceivedBlock};

use crate::error::{Error, Result};
use crate::time::Time;

/// An input stream, untyped: what the context needs to start, stop and account for it.
pub(crate) trait InputStream: Send + Sync + 'static {
    /// Whether it is a receiver's (which runs a receiver while started).
    fn is_receiver(&self) -> bool {
        false
    }
    /// Starts receiving (receivers); called by `StreamingContext::start`.
    fn start(&self) {}
    /// Stops receiving.
    fn stop(&self) {}
    /// Cluster mode, in an executor process: runs the receiver here under the driver's
    /// placement `epoch` (`Some`), or no longer here (`None`).
    fn place(&self, _epoch: Option<u64>) {}
    /// Cluster mode, on the driver, at the stop: has the executor running the receiver
    /// stop it, and waits until `until` (a graceful stop) for it to have reported its last
    /// blocks.
    fn stop_elsewhere(&self, _until: Option<std::time::Instant>) {}
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
    /// The stream id of a direct input (one with a source lifecycle), else `None`.
    fn direct_id(&self) -> Option<usize> {
        None
    }
    /// Starts the source (a direct source's `start`); called by `StreamingContext::start`
    /// before the first batch. An error fails the start.
    fn open(&self) -> Result<()> {
        Ok(())
    }
    /// Stops the source (a direct source's `stop`); called by `StreamingContext::stop`
    /// after the last batch.
    fn close(&self) {}
    /// Batch `time` completed (`succeeded`: every output operation of it succeeded): the
    /// source commits what batches up to `time` read, in order (or leaves it uncommitted
    /// when the batch failed). Called in batch order. The commit errors.
    fn settle(&self, _time: Time, _succeeded: bool) -> Vec<Error> {
        Vec::new()
    }
    /// The source's position (see `DirectSource::position`).
    fn position(&self) -> Result<Option<Vec<u8>>> {
        Ok(None)
    }
    /// Restores the source's position (see `DirectSource::restore`).
    fn restore(&self, _position: &[u8]) -> Result<()> {
        Ok(())
    }
    /// The stream id under which the metadata checkpoint keeps this input's state, when
    /// it keeps one ([`Self::checkpoint_state`]).
    fn checkpoint_id(&self) -> Option<usize> {
        None
    }
    /// What a recovered run needs to go on where this input stood (a direct source's
    /// position and ranges by batch, a file stream's picked files), encoded.
    fn checkpoint_state(&self) -> Result<Option<Vec<u8>>> {
        Ok(None)
    }
    /// Takes [`Self::checkpoint_state`] of the run being recovered; before the start.
    fn restore_state(&self, _state: &[u8]) -> Result<()> {
        Ok(())
    }
    /// Cluster mode, on the driver: what the executors' copies of this input need,
    /// beyond its [`InputInfo`], to give batch `time` what it gave it (a direct source's
    /// range), encoded.
    fn batch_plan(&self, _time: Time) -> Result<Option<Vec<u8>>> {
        Ok(None)
    }
    /// Cluster mode, in an executor process: takes the driver's [`Self::batch_plan`] of
    /// batch `time`, before the batch is generated.
    fn follow_plan(&self, _time: Time, _plan: &[u8]) -> Result<()> {
        Ok(())
    }
}
