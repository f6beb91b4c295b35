//! The gRPC codec: messages are Rust types in the engine's one binary format (postcard),
//! not protobuf.

use bytes::{Buf, BufMut};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::marker::PhantomData;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::Status;

/// Encodes `T` and decodes `U` with postcard.
#[derive(Debug)]
pub struct PostcardCodec<T, U>(PhantomData<fn(T) -> U>);

impl<T, U> Default for PostcardCodec<T, U> {
    fn default() -> Self {
        PostcardCodec(PhantomData)
    }
}

/// The encoding half of [`PostcardCodec`].
#[derive(Debug)]
pub struct PostcardEncoder<T>(PhantomData<fn(T)>);

/// The decoding half of [`PostcardCodec`].
#[derive(Debug)]
pub struct PostcardDecoder<U>(PhantomData<fn() -> U>);

impl<T, U> Codec for PostcardCodec<T, U>
where
    T: Serialize + Send + 'static,
    U: DeserializeOwned + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = PostcardEncoder<T>;
    type Decoder = PostcardDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        PostcardEncoder(PhantomData)
    }

    fn decoder(&mut self) -> Self::Decoder {
        PostcardDecoder(PhantomData)
    }
}

impl<T: Serialize> Encoder for PostcardEncoder<T> {
    type Item = T;
    type Error = Status;

    fn encode(&mut self, item: T, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        let bytes = postcard::to_allocvec(&item)
            .map_err(|e| Status::internal(format!("encoding a message: {e}")))?;
        dst.put_slice(&bytes);
        Ok(())
    }
}

impl<U: DeserializeOwned> Decoder for PostcardDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        let bytes = src.copy_to_bytes(src.remaining());
        postcard::from_bytes(&bytes)
            .map(Some)
            .map_err(|e| Status::invalid_argument(format!("a message that does not decode: {e}")))
    }
}
