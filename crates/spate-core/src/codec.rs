//! spate's one binary format: [postcard](https://docs.rs/postcard) (compact varints) over
//! serde. Shuffle spills, cached serialized blocks, disk blocks and checkpoints all use it.

use crate::error::{Error, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Encodes `value`; `what` names it in an error.
pub fn encode<T: Serialize + ?Sized>(value: &T, what: &str) -> Result<Vec<u8>> {
    postcard::to_stdvec(value).map_err(|e| Error::Serde {
        what: what.to_string(),
        reason: e.to_string(),
    })
}

/// Appends the encoding of `value` to `out`.
pub fn encode_into<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>, what: &str) -> Result<()> {
    let bytes = postcard::to_extend(value, std::mem::take(out)).map_err(|e| Error::Serde {
        what: what.to_string(),
        reason: e.to_string(),
    })?;
    *out = bytes;
    Ok(())
}

/// Decodes a value written by [`encode`].
pub fn decode<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T> {
    postcard::from_bytes(bytes).map_err(|e| Error::Serde {
        what: what.to_string(),
        reason: e.to_string(),
    })
}

/// Decodes one value from the front of `bytes` and returns it with the bytes after it
/// (for a run of values written one after another with [`encode_into`]).
pub fn decode_prefix<'a, T: DeserializeOwned>(
    bytes: &'a [u8],
    what: &str,
) -> Result<(T, &'a [u8])> {
    postcard::take_from_bytes(bytes).map_err(|e| Error::Serde {
        what: what.to_string(),
        reason: e.to_string(),
    })
}

/// Encoded size of a few sample records, averaged: the engine's size estimate for records
/// whose heap footprint it cannot see.
pub fn estimate_record_bytes<T: Serialize>(sample: &[T]) -> usize {
    if sample.is_empty() {
        return std::mem::size_of::<T>().max(1);
    }
    let mut total = 0usize;
    for r in sample {
        total += postcard::to_stdvec(r).map(|v| v.len()).unwrap_or(16);
    }
    std::mem::size_of::<T>() + total / sample.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_error_names_what() {
        let v = vec![(String::from("a"), 1u64), (String::from("bb"), 300)];
        let b = encode(&v, "test").unwrap();
        let back: Vec<(String, u64)> = decode(&b, "test").unwrap();
        assert_eq!(back, v);
        let err = decode::<Vec<(String, u64)>>(&b[..3], "spill file x").unwrap_err();
        assert!(err.to_string().contains("spill file x"), "{err}");
    }
}
