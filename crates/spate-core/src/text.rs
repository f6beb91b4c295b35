//! [`Str`]: an immutable UTF-8 string that is cheap to clone and to cut.
//!
//! Text sources hand out lines as `Str`s sharing the buffer they were read into; a word cut
//! from a line is either copied inline (22 bytes or fewer: no allocation, no reference
//! count) or shares the line's buffer. Equality, ordering and hashing are those of `str`,
//! so a `Str` can key a map looked up with `&str`.

use bytes::Bytes;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

const INLINE: usize = 22;

#[derive(Clone)]
enum Repr {
    Inline { len: u8, buf: [u8; INLINE] },
    Shared(Bytes),
}

/// An immutable, cheaply clonable UTF-8 string (see the module docs).
#[derive(Clone)]
pub struct Str(Repr);

impl Str {
    /// The empty string.
    pub const fn new() -> Self {
        Str(Repr::Inline {
            len: 0,
            buf: [0; INLINE],
        })
    }

    /// Copies `s` (inline when short).
    pub fn from_str_copy(s: &str) -> Self {
        if s.len() <= INLINE {
            let mut buf = [0u8; INLINE];
            buf[..s.len()].copy_from_slice(s.as_bytes());
            Str(Repr::Inline {
                len: s.len() as u8,
                buf,
            })
        } else {
            Str(Repr::Shared(Bytes::copy_from_slice(s.as_bytes())))
        }
    }

    /// Wraps bytes already known to be UTF-8.
    ///
    /// # Errors
    /// Returns the bytes back when they are not UTF-8.
    pub fn from_utf8(bytes: Bytes) -> Result<Self, Bytes> {
        if std::str::from_utf8(&bytes).is_err() {
            return Err(bytes);
        }
        Ok(Self::from_checked(bytes))
    }

    /// Decodes `bytes`, replacing invalid UTF-8 with U+FFFD (as Hadoop's `Text` does).
    pub fn from_utf8_lossy(bytes: Bytes) -> Self {
        match Self::from_utf8(bytes) {
            Ok(s) => s,
            Err(b) => Self::from(String::from_utf8_lossy(&b).into_owned()),
        }
    }

    fn from_checked(bytes: Bytes) -> Self {
        if bytes.len() <= INLINE {
            let mut buf = [0u8; INLINE];
            buf[..bytes.len()].copy_from_slice(&bytes);
            Str(Repr::Inline {
                len: bytes.len() as u8,
                buf,
            })
        } else {
            Str(Repr::Shared(bytes))
        }
    }

    /// The text.
    #[inline]
    pub fn as_str(&self) -> &str {
        let bytes: &[u8] = match &self.0 {
            Repr::Inline { len, buf } => &buf[..*len as usize],
            Repr::Shared(b) => b,
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
            return Str::from_str_copy(part);
        }
        match &self.0 {
            Repr::Shared(b) => Str(Repr::Shared(b.slice_ref(part.as_bytes()))),
            Repr::Inline { .. } => Str::from_str_copy(part),
        }
    }

    /// Splits on `sep`, yielding owned pieces that share this string's buffer. Like
    /// `str::split`, empty pieces are kept.
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

impl Iterator for SplitOwned {
    type Item = Str;
    #[inline]
    fn next(&mut self) -> Option<Str> {
        if self.done {
            return None;
        }
        let s = self.src.as_str();
        let rest = &s[self.pos..];
        let (piece, next) = match rest.find(self.sep) {
            Some(i) => (&rest[..i], self.pos + i + self.sep.len_utf8()),
            None => {
                self.done = true;
                (rest, s.len())
            }
        };
        let out = self.src.slice_of(piece);
        self.pos = next;
        Some(out)
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

impl Borrow<str> for Str {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Str {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
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
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
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
            Str(Repr::Shared(Bytes::from(s.into_bytes())))
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
    fn split_and_words_match_str() {
        let long = "alpha beta  gamma-delta-epsilon-zeta-eta-theta-iota kappa ";
        let s = Str::from(long.to_string());
        let a: Vec<String> = s.clone().split_owned(' ').map(String::from).collect();
        let b: Vec<String> = long.split(' ').map(String::from).collect();
        assert_eq!(a, b);
        let w: Vec<String> = s.words().map(String::from).collect();
        let e: Vec<String> = long.split_whitespace().map(String::from).collect();
        assert_eq!(w, e);
    }

    #[test]
    fn str_semantics_for_keys() {
        let mut m: HashMap<Str, u32> = HashMap::new();
        m.insert(Str::from("abc"), 1);
        assert_eq!(m.get("abc"), Some(&1));
        let big = Str::from("x".repeat(40));
        let cut = big.slice_of(&big.as_str()[..30]);
        assert_eq!(cut.len(), 30);
        let bytes = crate::codec::encode(&cut, "t").unwrap();
        let back: Str = crate::codec::decode(&bytes, "t").unwrap();
        assert_eq!(back, cut);
        assert!(Str::from("a") < Str::from("b"));
        let bad = Str::from_utf8_lossy(Bytes::from_static(b"a\xffb"));
        assert_eq!(bad.as_str(), "a\u{fffd}b");
    }
}
