//! The bounds every record and key satisfies.

use serde::de::DeserializeOwned;
use serde::Serialize;
use std::hash::Hash;

/// A record: cheap to clone, shareable between task threads, and encodable with spate's
/// binary format so it can be shuffled, spilled, checkpointed and (later) sent to another
/// process.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a record of an RDD or DStream",
    label = "records must be `Clone + Send + Sync + Serialize + DeserializeOwned + 'static`",
    note = "derive them: `#[derive(Clone, serde::Serialize, serde::Deserialize)]`; a borrowed `&str` cannot be a record (use `Str` or `String`)"
)]
pub trait Data: Clone + Send + Sync + Serialize + DeserializeOwned + 'static {}
impl<T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static> Data for T {}

/// A key of a pair RDD: a [`Data`] with equality and hashing.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a key of a pair operation",
    label = "keys must be records (`Data`) with `Eq + Hash`",
    note = "derive them: `#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]`"
)]
pub trait Key: Data + Eq + Hash {}
impl<T: Data + Eq + Hash> Key for T {}
