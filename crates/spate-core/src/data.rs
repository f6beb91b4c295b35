//! The bounds every record and key satisfies.

use serde::de::DeserializeOwned;
use serde::Serialize;
use std::hash::Hash;

/// A record: cheap to clone, shareable between task threads, and encodable with spate's
/// binary format so it can be shuffled, spilled, checkpointed and (later) sent to another
/// process.
pub trait Data: Clone + Send + Sync + Serialize + DeserializeOwned + 'static {}
impl<T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static> Data for T {}

/// A key of a pair RDD: a [`Data`] with equality and hashing.
pub trait Key: Data + Eq + Hash {}
impl<T: Data + Eq + Hash> Key for T {}
