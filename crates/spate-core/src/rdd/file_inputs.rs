//! File inputs of [`Context`] beyond `text_file`: whole files as text or bytes,
//! fixed-length binary records and object files. Every path argument takes what
//! [`Context::text_file_with`] takes: a comma-separated list of files, directories and
//! globs.

use super::binary_records::BinaryRecordsRdd;
use super::object_file::ObjectFileRdd;
use super::whole_files::{read_binary, read_text, WholeFilesRdd};
use super::Rdd;
use crate::context::Context;
use crate::data::Data;
use crate::error::Result;
use crate::text::Str;

impl Context {
    /// [`Context::whole_text_files_with`] with [`Context::default_min_partitions`]
    /// (Spark's `wholeTextFiles(path)`).
    ///
    /// # Errors
    /// As [`Context::whole_text_files_with`].
    pub fn whole_text_files(&self, path: &str) -> Result<Rdd<(String, Str)>> {
        self.whole_text_files_with(path, self.default_min_partitions())
    }

    /// One record per file: its path (as listed from `path`; Spark gives a qualified
    /// `file:` URI) and its whole text, decompressed for `.gz`/`.zst`, invalid UTF-8
    /// replaced. Files are packed into partitions of about `total / min_partitions` bytes,
    /// in path order (Spark's `wholeTextFiles(path, minPartitions)`). Each file is read
    /// whole into memory when its partition is computed.
    ///
    /// # Errors
    /// A path that does not exist; a glob that matches no file.
    pub fn whole_text_files_with(
        &self,
        path: &str,
        min_partitions: usize,
    ) -> Result<Rdd<(String, Str)>> {
        WholeFilesRdd::create(self, "whole_text_files", path, min_partitions, read_text)
    }

    /// [`Context::binary_files_with`] with [`Context::default_min_partitions`]
    /// (Spark's `binaryFiles(path)`).
    ///
    /// # Errors
    /// As [`Context::binary_files_with`].
    pub fn binary_files(&self, path: &str) -> Result<Rdd<(String, Vec<u8>)>> {
        self.binary_files_with(path, self.default_min_partitions())
    }

    /// One record per file: its path and its bytes as stored (compressed files are not
    /// decompressed), packed into partitions as [`Context::whole_text_files_with`]
    /// (Spark's `binaryFiles`, whose `PortableDataStream` is read here into a `Vec`).
    ///
    /// # Errors
    /// A path that does not exist; a glob that matches no file.
    pub fn binary_files_with(
        &self,
        path: &str,
        min_partitions: usize,
    ) -> Result<Rdd<(String, Vec<u8>)>> {
        WholeFilesRdd::create(self, "binary_files", path, min_partitions, read_binary)
    }

    /// The consecutive `record_length`-byte records of flat binary files (Spark's
    /// `binaryRecords`). Plain files are split on record boundaries into at least
    /// [`Context::default_min_partitions`] partitions; `.gz`/`.zst` files are decompressed,
    /// one partition each.
    ///
    /// # Errors
    /// `record_length` of 0; a path that does not exist; a glob that matches no file; a
    /// plain file whose length is not a multiple of `record_length`
    /// ([`crate::Error::BadInput`] naming the file and both numbers; for a compressed file
    /// the task reading it fails so).
    pub fn binary_records(&self, path: &str, record_length: usize) -> Result<Rdd<Vec<u8>>> {
        BinaryRecordsRdd::create(self, path, record_length, self.default_min_partitions())
    }

    /// Reads records written by [`Rdd::save_as_object_file`]: one partition per part
    /// file, in path order (Spark's `objectFile`). Each file starts with a header (magic
    /// `SPATEOBJ`, format version, the record type's name) and holds length-prefixed,
    /// crc32-checked chunks and an end marker; a truncated or damaged file fails its task
    /// with [`crate::Error::Corrupt`] naming the file and the byte offset.
    ///
    /// # Errors
    /// A path that does not exist; a glob that matches no file.
    pub fn object_file<T: Data>(&self, path: &str) -> Result<Rdd<T>> {
        ObjectFileRdd::create(self, path)
    }
}
