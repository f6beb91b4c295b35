//! [`Str`]: an immutable UTF-8 string that is cheap to clone and to cut, in 24 bytes.
//!
//! Text sources hand out lines as `Str`s sharing the buffer they were read into; a piece
//! cut from a line (a word) is copied inline when it has 23 bytes or fewer (no allocation,
//! no reference count) and otherwise shares the line's buffer. Short strings compare and
//! hash a machine word at a time, which is what makes a word count's map lookups cheap.
//! Equality and ordering are those of `str`; the hash is spate's own (stable across
//! processes, not equal to `str`'s).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

const INLINE: usize = 23;
const INLINE_FLAG: u8 = 0x80;

/// Layout, three words:
/// - inline: bytes 0..23 hold the text, zero-padded; byte 23 is `0x80 | len`.
/// - shared: word 0 is `Arc::into_raw` of the buffer, word 1 the start offset, word 2 the
///   length (below 2^56, so byte 23 is 0).
#[repr(C, align(8))]
pub struct Str {
    bytes: [u8; 24],
}

// SAFETY: a shared `Str` owns a strong count of an `Arc<Vec<u8>>`, which is Send + Sync;
// the inline form is plain bytes.
unsafe impl Send for Str {}
unsafe impl Sync for Str {}

impl Str {
    /// The empty string.
    pub const fn new() -> Self {
        let mut bytes = [0u8; 24];
        bytes[23] = INLINE_FLAG;
        Str { bytes }
    }

    #[inline]
    fn is_inline(&self) -> bool {
        self.bytes[23] & INLINE_FLAG != 0
    }

    #[inline]
    fn word(&self, i: usize) -> u64 {
        u64::from_ne_bytes(self.bytes[i * 8..i * 8 + 8].try_into().expect("8 bytes"))
    }

    #[inline]
    fn inline_from(s: &[u8]) -> Self {
        debug_assert!(s.len() <= INLINE);
        let mut bytes = [0u8; 24];
        bytes[..s.len()].copy_from_slice(s);
        bytes[23] = INLINE_FLAG | s.len() as u8;
        Str { bytes }
    }

    /// An inline `Str` of the `len <= 23` bytes at `ptr`, where 24 bytes are readable:
    /// one fixed-size copy and a mask instead of a variable-length copy.
    ///
    /// # Safety
    /// `ptr..ptr + 24` must be readable and its first `len` bytes UTF-8.
    #[inline]
    unsafe fn inline_from_wide(ptr: *const u8, len: usize) -> Self {
        debug_assert!(len <= INLINE);
        // SAFETY: the caller guarantees 24 readable bytes.
        let mut bytes: [u8; 24] = unsafe { std::ptr::read_unaligned(ptr as *const [u8; 24]) };
        for (k, chunk) in bytes.chunks_exact_mut(8).enumerate() {
            let keep = len.saturating_sub(8 * k).min(8);
            let mask = if keep == 8 {
                u64::MAX
            } else {
                (1u64 << (keep * 8)) - 1
            };
            let w = u64::from_le_bytes((&*chunk).try_into().expect("8 bytes")) & mask;
            chunk.copy_from_slice(&w.to_le_bytes());
        }
        bytes[23] = INLINE_FLAG | len as u8;
        Str { bytes }
    }

    /// Where this string's bytes start, and how many bytes are readable from there
    /// (for a shared string, up to the end of its buffer).
    #[inline]
    fn readable(&self) -> (*const u8, usize) {
        if self.is_inline() {
            (self.bytes.as_ptr(), 24)
        } else {
            let start = self.word(1) as usize;
            let buf = self.buffer();
            // SAFETY: start is within the buffer.
            (unsafe { buf.as_ptr().add(start) }, buf.len() - start)
        }
    }

    /// A `Str` sharing `buf[start..start + len]`, which must be UTF-8 (checked in debug).
    fn shared_from(buf: &Arc<Vec<u8>>, start: usize, len: usize) -> Self {
        debug_assert!(std::str::from_utf8(&buf[start..start + len]).is_ok());
        if len <= INLINE {
            return Self::inline_from(&buf[start..start + len]);
        }
        let ptr = Arc::into_raw(buf.clone()) as usize as u64;
        let mut bytes = [0u8; 24];
        bytes[0..8].copy_from_slice(&ptr.to_ne_bytes());
        bytes[8..16].copy_from_slice(&(start as u64).to_ne_bytes());
        bytes[16..24].copy_from_slice(&(len as u64).to_le_bytes());
        debug_assert!(bytes[23] == 0);
        Str { bytes }
    }

    /// The buffer of a shared `Str`.
    #[inline]
    fn buffer(&self) -> &Vec<u8> {
        let ptr = self.word(0) as usize as *const Vec<u8>;
        // SAFETY: a shared Str holds a strong count on this Arc for its whole life.
        unsafe { &*ptr }
    }

    /// Copies `s` (inline when short).
    pub fn from_str_copy(s: &str) -> Self {
        if s.len() <= INLINE {
            Self::inline_from(s.as_bytes())
        } else {
            Self::shared_from(&Arc::new(s.as_bytes().to_vec()), 0, s.len())
        }
    }

    /// The line `buf[start..start + len]`, sharing `buf`; invalid UTF-8 is replaced with
    /// U+FFFD (as Hadoop's `Text` does).
    pub fn from_buffer_lossy(buf: &Arc<Vec<u8>>, start: usize, len: usize) -> Self {
        let slice = &buf[start..start + len];
        match std::str::from_utf8(slice) {
            Ok(_) => Self::shared_from(buf, start, len),
            Err(_) => Str::from(String::from_utf8_lossy(slice).into_owned()),
        }
    }

    /// The text.
    #[inline]
    pub fn as_str(&self) -> &str {
        let bytes: &[u8] = if self.is_inline() {
            let len = (self.bytes[23] & !INLINE_FLAG) as usize;
            &self.bytes[..len]
        } else {
            let start = self.word(1) as usize;
            let len = u64::from_le_bytes(self.bytes[16..24].try_into().expect("8 bytes")) as usize;
            &self.buffer()[start..start + len]
        };
        // SAFETY: every constructor checks UTF-8 or copies from a `str`, and `slice_of`
        // only cuts at positions of a `str` borrowed from this value.
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }

    /// The `Str` for `part`, which must be a sub-slice of `self.as_str()`: inline when
    /// short, otherwise sharing this string's buffer.
    ///
    /// # Panics
    /// When `part` does not lie within `self`.
    #[inline]
    pub fn slice_of(&self, part: &str) -> Str {
        if part.len() <= INLINE {
            return Self::inline_from(part.as_bytes());
        }
        let me = self.as_str();
        let off = (part.as_ptr() as usize).wrapping_sub(me.as_ptr() as usize);
        assert!(
            off <= me.len() && off + part.len() <= me.len(),
            "slice_of: part not within the string"
        );
        // Not inline here, since part is longer than INLINE.
        let ptr = self.word(0) as usize as *const Vec<u8>;
        // SAFETY: we hold a strong count; borrow the Arc without consuming it.
        let arc = std::mem::ManuallyDrop::new(unsafe { Arc::from_raw(ptr) });
        Self::shared_from(&arc, self.word(1) as usize + off, part.len())
    }

    /// Splits on `sep`, yielding owned pieces (sharing this string's buffer when long).
    /// Like `str::split`, empty pieces are kept.
    pub fn split_owned(self, sep: char) -> SplitOwned {
        SplitOwned {
            src: self,
            pos: 0,
            sep,
            done: false,
        }
    }

    /// Splits on runs of ASCII whitespace, dropping empty pieces.
    pub fn words(self) -> Words {
        Words { src: self, pos: 0 }
    }
}

impl Clone for Str {
    #[inline]
    fn clone(&self) -> Self {
        if !self.is_inline() {
            // SAFETY: we hold a strong count, so the Arc is alive.
            unsafe { Arc::increment_strong_count(self.word(0) as usize as *const Vec<u8>) };
        }
        Str { bytes: self.bytes }
    }
}

impl Drop for Str {
    #[inline]
    fn drop(&mut self) {
        if !self.is_inline() {
            // SAFETY: gives back the strong count this Str owns.
            unsafe { Arc::decrement_strong_count(self.word(0) as usize as *const Vec<u8>) };
        }
    }
}

impl Default for Str {
    fn default() -> Self {
        Str::new()
    }
}

/// Iterator of [`Str::split_owned`].
pub struct SplitOwned {
    src: Str,
    pos: usize,
    sep: char,
    done: bool,
}

impl SplitOwned {
    #[inline]
    fn piece(&self, start: usize, end: usize) -> Str {
        let len = end - start;
        let (ptr, readable) = self.src.readable();
        if len <= INLINE && start + 24 <= readable {
            // SAFETY: 24 bytes from ptr + start are readable, and [start, end) lies on
            // char boundaries of the source (cut at an ASCII separator or its ends).
            unsafe { Str::inline_from_wide(ptr.add(start), len) }
        } else {
            let s = self.src.as_str();
            self.src.slice_of(&s[start..end])
        }
    }
}

impl Iterator for SplitOwned {
    type Item = Str;
    #[inline]
    fn next(&mut self) -> Option<Str> {
        if self.done {
            return None;
        }
        let s = self.src.as_str();
        let start = self.pos;
        let (end, next) = if self.sep.is_ascii() {
            let b = self.sep as u8;
            match s.as_bytes()[start..].iter().position(|&c| c == b) {
                Some(i) => (start + i, start + i + 1),
                None => {
                    self.done = true;
                    (s.len(), s.len())
                }
            }
        } else {
            match s[start..].find(self.sep) {
                Some(i) => (start + i, start + i + self.sep.len_utf8()),
                None => {
                    self.done = true;
                    (s.len(), s.len())
                }
            }
        };
        self.pos = next;
        Some(self.piece(start, end))
    }
}

/// Iterator of [`Str::words`].
pub struct Words {
    src: Str,
    pos: usize,
}

impl Iterator for Words {
    type Item = Str;
    #[inline]
    fn next(&mut self) -> Option<Str> {
        let bytes = self.src.as_str().as_bytes();
        let mut i = self.pos;
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= bytes.len() {
            self.pos = i;
            return None;
        }
        let start = i;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        self.pos = i;
        let s = self.src.as_str();
        Some(self.src.slice_of(&s[start..i]))
    }
}

impl Deref for Str {
    type Target = str;
    #[inline]
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Str {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Str {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        match (self.is_inline(), other.is_inline()) {
            // Zero-padded with the length in the last byte: equal strings, equal words.
            (true, true) => self.bytes == other.bytes,
            // The length decides the representation: mixed ones differ.
            (false, false) => self.as_str() == other.as_str(),
            _ => false,
        }
    }
}
impl Eq for Str {}

impl PartialEq<str> for Str {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}
impl PartialEq<&str> for Str {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialOrd for Str {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Str {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Hash for Str {
    /// A word at a time for inline strings (a few rounds of the map's hasher, no byte
    /// loop); not the same value as `str`'s hash.
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        if self.is_inline() {
            let len = self.bytes[23] & !INLINE_FLAG;
            if len <= 8 {
                state.write_u64(self.word(0) ^ (u64::from(len) << 59));
            } else {
                state.write_u64(self.word(0));
                state.write_u64(self.word(1));
                if len > 16 {
                    state.write_u64(self.word(2));
                }
            }
        } else {
            state.write(self.as_str().as_bytes());
        }
    }
}

impl fmt::Debug for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}
impl fmt::Display for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl From<&str> for Str {
    fn from(s: &str) -> Self {
        Str::from_str_copy(s)
    }
}
impl From<String> for Str {
    fn from(s: String) -> Self {
        if s.len() <= INLINE {
            Str::from_str_copy(&s)
        } else {
            let len = s.len();
            Str::shared_from(&Arc::new(s.into_bytes()), 0, len)
        }
    }
}
impl From<Str> for String {
    fn from(s: Str) -> Self {
        s.as_str().to_string()
    }
}

impl Serialize for Str {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}
impl<'de> Deserialize<'de> for Str {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Str;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Str, E> {
                Ok(Str::from_str_copy(v))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Str, E> {
                Ok(Str::from(v))
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn layout_is_three_words() {
        assert_eq!(std::mem::size_of::<Str>(), 24);
    }

    #[test]
    fn split_and_words_match_str() {
        let long = "alpha beta  gamma-delta-epsilon-zeta-eta-theta-iota kappa ";
        let s = Str::from(long.to_string());
        let a: Vec<String> = s.clone().split_owned(' ').map(String::from).collect();
        let b: Vec<String> = long.split(' ').map(String::from).collect();
        assert_eq!(a, b);
        let w: Vec<String> = s.clone().words().map(String::from).collect();
        let e: Vec<String> = long.split_whitespace().map(String::from).collect();
        assert_eq!(w, e);
        let u: Vec<String> = Str::from("añb€c")
            .split_owned('€')
            .map(String::from)
            .collect();
        assert_eq!(u, vec!["añb", "c"]);
        drop(s);
    }

    #[test]
    fn shared_pieces_keep_the_buffer_alive() {
        let buf = Arc::new(b"0123456789012345678901234567890123456789 tail".to_vec());
        let line = Str::from_buffer_lossy(&buf, 0, buf.len());
        drop(buf);
        let first = line.clone().split_owned(' ').next().unwrap();
        drop(line);
        assert_eq!(first.as_str(), "0123456789012345678901234567890123456789");
        let c = first.clone();
        drop(first);
        assert_eq!(c.len(), 40);
    }

    #[test]
    fn str_semantics_for_keys() {
        let mut m: HashMap<Str, u32> = HashMap::new();
        m.insert(Str::from("abc"), 1);
        assert_eq!(m.get(&Str::from(String::from("abc"))), Some(&1));
        assert_ne!(Str::from("abc"), Str::from("abd"));
        assert_ne!(Str::from("a"), Str::from("a\0"));
        let big = Str::from("x".repeat(40));
        let cut = big.slice_of(&big.as_str()[..30]);
        assert_eq!(cut.len(), 30);
        assert_eq!(cut, Str::from("x".repeat(30)));
        let bytes = crate::codec::encode(&cut, "t").unwrap();
        let back: Str = crate::codec::decode(&bytes, "t").unwrap();
        assert_eq!(back, cut);
        assert_eq!(Str::from("a").cmp(&Str::from("b")), Ordering::Less);
        let bad_buf = Arc::new(b"a\xffb".to_vec());
        let bad = Str::from_buffer_lossy(&bad_buf, 0, 3);
        assert_eq!(bad.as_str(), "a\u{fffd}b");
    }
}
