//! Spark's `rawSocketStream`: a TCP server sends blocks of records already encoded, each a
//! frame of a 4-byte big-endian length and that many bytes of the engine's encoding of a
//! `Vec<T>` ([`encode_raw_frame`] makes one). No per-line parsing: the fastest way to feed
//! records from another spate (or any) program.
//!
//! A frame longer than `spate.streaming.maxLineBytes`, or one that does not decode, ends
//! the connection with an error naming the frame and its offset, and the receiver
//! restarts (reconnects), as on any socket error. A frame cut by a disconnect is dropped.

use spate_core::Data;
use std::io::{BufRead, ErrorKind, Read};

/// One frame of `records` for [`raw_frames_decoder`] (a raw socket stream's input).
///
/// # Errors
/// A record that cannot be encoded, or a frame over 4 GiB.
pub fn encode_raw_frame<T: Data>(records: &[T]) -> spate_core::Result<Vec<u8>> {
    let body = spate_core::codec::encode(records, "raw socket frame")?;
    let len = u32::try_from(body.len()).map_err(|_| spate_core::Error::InvalidArgument {
        op: "encode_raw_frame",
        reason: format!("a frame of {} bytes is over 4 GiB", body.len()),
    })?;
    let mut out = Vec::with_capacity(4 + body.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

/// Reads frames until the connection ends, handing each frame's records to `sink` in
/// order. A frame of more than `max_frame_bytes` or one that does not decode is an
/// [`ErrorKind::InvalidData`] error naming the frame's number and byte offset.
pub fn raw_frames_decoder<T: Data>(
    mut input: Box<dyn BufRead + Send>,
    sink: &mut dyn FnMut(T),
    max_frame_bytes: usize,
) -> std::io::Result<()> {
    let mut offset = 0u64;
    let mut frame = 0u64;
    let mut body = Vec::new();
    loop {
        let mut len = [0u8; 4];
        match input.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e),
        }
        let n = u32::from_be_bytes(len) as usize;
        if n > max_frame_bytes {
            return Err(std::io::Error::new(
                ErrorKind::InvalidData,
                format!(
                    "raw frame {frame} at byte {offset}: {n} bytes, more than spate.streaming.maxLineBytes ({max_frame_bytes})"
                ),
            ));
        }
        body.resize(n, 0);
        match input.read_exact(&mut body) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::UnexpectedEof => {
                tracing::warn!(
                    frame,
                    offset,
                    bytes = n,
                    "a raw frame cut by the end of the connection was dropped"
                );
                return Ok(());
            }
            Err(e) => return Err(e),
        }
        let records: Vec<T> =
            spate_core::codec::decode(&body, "raw socket frame").map_err(|e| {
                std::io::Error::new(
                    ErrorKind::InvalidData,
                    format!("raw frame {frame} at byte {offset} ({n} bytes): {e}"),
                )
            })?;
        records.into_iter().for_each(&mut *sink);
        offset += 4 + n as u64;
        frame += 1;
    }
}
