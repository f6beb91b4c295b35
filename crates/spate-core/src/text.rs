//! [`Str`]: an immutable UTF-8 string that is cheap to clone and to cut, in 16 bytes.
//!
//! Text sources hand out lines as `Str`s sharing the buffer they were read into; a piece
//! cut from a line (a word) is copied inline when it has 15 bytes or fewer (no allocation,
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

#[cfg(target_endian = "big")]
compile_error!("spate's Str layout assumes a little-endian target");

const INLINE: usize = 15;
/// Width of the readable window an inline copy loads.
const WIDE: usize = 16;
/// Length field value meaning "to the end of the buffer".
const LEN_TO_END: u64 = 0xff_ffff;
const FLAG: u64 = 0x80 << 56;

/// Layout, two words (little-endian, so byte i of the text is byte i in memory):
/// - inline: the text in bytes 0..15, zero-padded; the top byte of word 1 is `0x80 | len`.
/// - shared: word 0 is `Arc::into_raw` of the buffer; word 1 holds the start offset in its
///   low 32 bits and the length in the next 24 (`0xffffff`: to the end of the buffer, for
///   strings of 16 MiB and more); its top byte is 0.
pub struct Str {
    w: [u64; 2],
}

// SAFETY: a shared `Str` owns a strong count of an `Arc<Vec<u8>>`, which is Send + Sync;
// the inline form is plain bytes.
unsafe impl Send for Str {}
unsafe impl Sync for Str {}

const LOW_BYTES: [u64; 9] = [
    0,
    0xff,
    0xffff,
    0xff_ffff,
    0xffff_ffff,
    0xff_ffff_ffff,
    0xffff_ffff_ffff,
    0xff_ffff_ffff_ffff,
    u64::MAX,
];

/// Mask keeping the low `n` bytes of a word (`n` clamped to 0..=8), without a branch.
#[inline(always)]
fn low_bytes(n: usize) -> u64 {
    LOW_BYTES[n.min(8)]
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Index of the first byte equal to `b` in the slice `ptr[from..len]`, or `len`; reads a
/// word at a time while `readable` allows (bytes past `len` are ignored).
#[inline(always)]
fn find_byte(ptr: *const u8, from: usize, len: usize, readable: usize, b: u8) -> usize {
    let pattern = ONES * u64::from(b);
    let mut i = from;
    while i < len {
        if i + 8 <= readable {
            // SAFETY: 8 bytes from ptr + i are readable.
            let w = unsafe { std::ptr::read_unaligned(ptr.add(i) as *const u64) } ^ pattern;
            let hit = w.wrapping_sub(ONES) & !w & HIGHS;
            if hit != 0 {
                return (i + (hit.trailing_zeros() / 8) as usize).min(len);
            }
            i += 8;
        } else {
            // SAFETY: i < len <= readable.
            if unsafe { *ptr.add(i) } == b {
                return i;
            }
            i += 1;
        }
    }
    len
}

impl Str {
    /// The empty string.
    pub const fn new() -> Self {
        Str { w: [0, FLAG] }
    }

    #[inline(always)]
    fn is_inline(&self) -> bool {
        self.w[1] & FLAG != 0
    }

    #[inline(always)]
    fn inline_len(&self) -> usize {
        ((self.w[1] >> 56) & 0x7f) as usize
    }

    #[inline]
    fn inline_from(s: &[u8]) -> Self {
        debug_assert!(s.len() <= INLINE);
        let mut bytes = [0u8; WIDE];
        bytes[..s.len()].copy_from_slice(s);
        let mut w = [0u64; 2];
        for (i, c) in bytes.chunks_exact(8).enumerate() {
            w[i] = u64::from_le_bytes(c.try_into().expect("8 bytes"));
        }
        w[1] |= FLAG | ((s.len() as u64) << 56);
        Str { w }
    }

    /// An inline `Str` of the `len <= 15` bytes at `ptr`, where 16 bytes are readable: two
    /// word loads and masks instead of a variable-length copy.
    ///
    /// # Safety
    /// `ptr..ptr + 16` must be readable and its first `len` bytes UTF-8.
    #[inline(always)]
    unsafe fn inline_from_wide(ptr: *const u8, len: usize) -> Self {
        debug_assert!(len <= INLINE);
        // SAFETY: the caller guarantees 16 readable bytes.
        let (a, b) = unsafe {
            (
                std::ptr::read_unaligned(ptr as *const u64),
                std::ptr::read_unaligned(ptr.add(8) as *const u64),
            )
        };
        let a = a & low_bytes(len);
        let b = (b & low_bytes(len.saturating_sub(8))) | FLAG | ((len as u64) << 56);
        Str { w: [a, b] }
    }

    /// A `Str` sharing `buf[start..start + len]`, which must be UTF-8 (checked in debug).
    fn shared_from(buf: &Arc<Vec<u8>>, start: usize, len: usize) -> Self {
        debug_assert!(std::str::from_utf8(&buf[start..start + len]).is_ok());
        if len <= INLINE {
            return Self::inline_from(&buf[start..start + len]);
        }
        let fits =
            start <= u32::MAX as usize && ((len as u64) < LEN_TO_END || start + len == buf.len());
        if !fits {
            // Too far into a buffer, or too long to end before its end: own a copy.
            let own = Arc::new(buf[start..start + len].to_vec());
            return Self::shared_from(&own, 0, len);
        }
        let len_field = if (len as u64) < LEN_TO_END {
            len as u64
        } else {
            LEN_TO_END
        };
        let ptr = Arc::into_raw(buf.clone()) as usize as u64;
        Str {
            w: [ptr, start as u64 | (len_field << 32)],
        }
    }

    /// The buffer of a shared `Str`.
    #[inline]
    fn buffer(&self) -> &Vec<u8> {
        let ptr = self.w[0] as usize as *const Vec<u8>;
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

    /// `buf[start..start + len]`, already known to be UTF-8, sharing `buf`.
    ///
    /// # Safety
    /// The bytes must be valid UTF-8.
    pub(crate) unsafe fn from_buffer_unchecked(
        buf: &Arc<Vec<u8>>,
        start: usize,
        len: usize,
    ) -> Self {
        if len <= INLINE && start + WIDE <= buf.len() {
            // SAFETY: 16 bytes are readable; the caller guarantees UTF-8.
            return unsafe { Self::inline_from_wide(buf.as_ptr().add(start), len) };
        }
        Self::shared_from(buf, start, len)
    }

    /// Where the text starts, its length, and how many bytes are readable from the start
    /// (for a shared string, up to the end of its buffer).
    #[inline(always)]
    fn raw_parts(&self) -> (*const u8, usize, usize) {
        if self.is_inline() {
            (self.w.as_ptr() as *const u8, self.inline_len(), WIDE)
        } else {
            let start = (self.w[1] & 0xffff_ffff) as usize;
            let len_field = (self.w[1] >> 32) & LEN_TO_END;
            let buf = self.buffer();
            let len = if len_field == LEN_TO_END {
                buf.len() - start
            } else {
                len_field as usize
            };
            // SAFETY: start is within the buffer.
            (unsafe { buf.as_ptr().add(start) }, len, buf.len() - start)
        }
    }

    /// The text.
    #[inline]
    pub fn as_str(&self) -> &str {
        let (ptr, len, _) = self.raw_parts();
        // SAFETY: every constructor checks UTF-8 or copies from a `str`, and pieces are cut
        // only at char boundaries.
        unsafe { std::str::from_utf8_unchecked(std::slice::from_raw_parts(ptr, len)) }
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
        let ptr = self.w[0] as usize as *const Vec<u8>;
        // SAFETY: we hold a strong count; borrow the Arc without consuming it.
        let arc = std::mem::ManuallyDrop::new(unsafe { Arc::from_raw(ptr) });
        Self::shared_from(&arc, (self.w[1] & 0xffff_ffff) as usize + off, part.len())
    }

    /// Splits on `sep`, yielding owned pieces (inline when short, else sharing this
    /// string's buffer). Like `str::split`, empty pieces are kept.
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

    /// Splits on `pat` (a `char` or a string), yielding owned pieces that share this
    /// string's buffer (inline when short); empty pieces are kept, as `str::split` and
    /// Java's `split` with a limit of -1 do. It shadows `str::split`, whose borrowed
    /// pieces cannot leave the closure of a `flat_map`: `lines.flat_map(|l| l.split(' '))`
    /// gives a stream of [`Str`].
    pub fn split<P: SplitPattern>(&self, pat: P) -> Split {
        pat.split(self.clone())
    }

    /// Splits on runs of Unicode whitespace, dropping empty pieces, as
    /// `str::split_whitespace` does, but yielding owned pieces (it shadows it, so the
    /// pieces can leave a `flat_map` closure). [`Str::words`] is the faster ASCII form.
    pub fn split_whitespace(&self) -> SplitWhitespace {
        SplitWhitespace {
            src: self.clone(),
            pos: 0,
        }
    }
}

/// What [`Str::split`] splits on: a `char` or a string.
pub trait SplitPattern {
    /// The split of `src` on this pattern.
    fn split(self, src: Str) -> Split;
}

impl SplitPattern for char {
    fn split(self, src: Str) -> Split {
        Split::Char(src.split_owned(self))
    }
}

impl SplitPattern for &str {
    fn split(self, src: Str) -> Split {
        let mut chars = self.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => Split::Char(src.split_owned(c)),
            _ => Split::Str(SplitStr {
                src,
                pat: self.into(),
                pos: 0,
                started: false,
                done: false,
            }),
        }
    }
}

impl SplitPattern for &String {
    fn split(self, src: Str) -> Split {
        SplitPattern::split(self.as_str(), src)
    }
}

impl SplitPattern for String {
    fn split(self, src: Str) -> Split {
        SplitPattern::split(self.as_str(), src)
    }
}

/// Iterator of [`Str::split`].
pub enum Split {
    /// On one character (the fast path).
    Char(SplitOwned),
    /// On a string of several characters (or none).
    Str(SplitStr),
}

impl Iterator for Split {
    type Item = Str;
    #[inline]
    fn next(&mut self) -> Option<Str> {
        match self {
            Split::Char(s) => s.next(),
            Split::Str(s) => s.next(),
        }
    }
    #[inline]
    fn fold<B, F: FnMut(B, Str) -> B>(self, init: B, f: F) -> B {
        match self {
            Split::Char(s) => s.fold(init, f),
            Split::Str(s) => s.fold(init, f),
        }
    }
}

/// Iterator of [`Str::split_whitespace`].
pub struct SplitWhitespace {
    src: Str,
    pos: usize,
}

impl Iterator for SplitWhitespace {
    type Item = Str;
    fn next(&mut self) -> Option<Str> {
        let s = self.src.as_str();
        let rest = &s[self.pos..];
        let start = rest.find(|c: char| !c.is_whitespace())?;
        let word = &rest[start..];
        let len = word.find(char::is_whitespace).unwrap_or(word.len());
        self.pos += start + len;
        Some(self.src.slice_of(&word[..len]))
    }
}

/// Iterator of [`Str::split`] on a string pattern. An empty pattern splits between
/// characters, with an empty piece at each end, as `str::split("")` does.
pub struct SplitStr {
    src: Str,
    pat: Box<str>,
    pos: usize,
    started: bool,
    done: bool,
}

impl Iterator for SplitStr {
    type Item = Str;
    fn next(&mut self) -> Option<Str> {
        if self.done {
            return None;
        }
        let s = self.src.as_str();
        let rest = &s[self.pos..];
        if self.pat.is_empty() {
            if !self.started {
                self.started = true;
                return Some(Str::new());
            }
            return match rest.chars().next() {
                Some(c) => {
                    let p = self.src.slice_of(&rest[..c.len_utf8()]);
                    self.pos += c.len_utf8();
                    Some(p)
                }
                None => {
                    self.done = true;
                    Some(Str::new())
                }
            };
        }
        match rest.find(&*self.pat) {
            Some(i) => {
                let p = self.src.slice_of(&rest[..i]);
                self.pos += i + self.pat.len();
                Some(p)
            }
            None => {
                self.done = true;
                Some(self.src.slice_of(rest))
            }
        }
    }
}

impl Clone for Str {
    #[inline]
    fn clone(&self) -> Self {
        if !self.is_inline() {
            // SAFETY: we hold a strong count, so the Arc is alive.
            unsafe { Arc::increment_strong_count(self.w[0] as usize as *const Vec<u8>) };
        }
        Str { w: self.w }
    }
}

impl Drop for Str {
    #[inline]
    fn drop(&mut self) {
        if !self.is_inline() {
            // SAFETY: gives back the strong count this Str owns.
            unsafe { Arc::decrement_strong_count(self.w[0] as usize as *const Vec<u8>) };
        }
    }
}

impl Default for Str {
    fn default() -> Self {
        Str::new()
    }
}

/// The piece `[start, end)` of a source string at `ptr` with `readable` bytes readable.
#[inline(always)]
fn piece(src: &Str, ptr: *const u8, readable: usize, start: usize, end: usize) -> Str {
    let len = end - start;
    if len <= INLINE && start + WIDE <= readable {
        // SAFETY: 16 bytes from ptr + start are readable, and [start, end) lies on char
        // boundaries of the source (cut at an ASCII byte or the ends).
        unsafe { Str::inline_from_wide(ptr.add(start), len) }
    } else {
        let s = src.as_str();
        src.slice_of(&s[start..end])
    }
}

/// Iterator of [`Str::split_owned`]. (No pointer into `src` is kept across calls: an
/// inline `src` moves with the iterator.)
pub struct SplitOwned {
    src: Str,
    pos: usize,
    sep: char,
    done: bool,
}

impl Iterator for SplitOwned {
    type Item = Str;

    /// Internal iteration: the whole split runs as one loop with its state in registers.
    #[inline]
    fn fold<B, F: FnMut(B, Str) -> B>(mut self, init: B, mut f: F) -> B {
        let mut acc = init;
        if !self.sep.is_ascii() {
            for s in self.by_ref() {
                acc = f(acc, s);
            }
            return acc;
        }
        let (ptr, len, readable) = self.src.raw_parts();
        let b = self.sep as u8;
        let mut start = self.pos;
        if self.done {
            return acc;
        }
        loop {
            let end = find_byte(ptr, start, len, readable, b);
            acc = f(acc, piece(&self.src, ptr, readable, start, end));
            if end >= len {
                return acc;
            }
            start = end + 1;
        }
    }

    #[inline]
    fn next(&mut self) -> Option<Str> {
        if self.done {
            return None;
        }
        let start = self.pos;
        let (ptr, len, readable) = self.src.raw_parts();
        // SAFETY: ptr..ptr+len is the source's text, alive as long as `src`.
        let bytes = unsafe { std::slice::from_raw_parts(ptr, len) };
        let (end, next) = if self.sep.is_ascii() {
            let i = find_byte(ptr, start, len, readable, self.sep as u8);
            (i, i + 1)
        } else {
            let s = self.src.as_str();
            match s[start..].find(self.sep) {
                Some(i) => (start + i, start + i + self.sep.len_utf8()),
                None => (s.len(), s.len() + 1),
            }
        };
        if end >= bytes.len() {
            self.done = true;
        }
        self.pos = next;
        Some(piece(&self.src, ptr, readable, start, end.min(bytes.len())))
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
        let (ptr, len, readable) = self.src.raw_parts();
        // SAFETY: ptr..ptr+len is the source's text, alive as long as `src`.
        let bytes = unsafe { std::slice::from_raw_parts(ptr, len) };
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
        Some(piece(&self.src, ptr, readable, start, i))
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
            (true, true) => self.w == other.w,
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
            let len = self.inline_len();
            if len <= 8 {
                state.write_u64(self.w[0] ^ ((len as u64) << 59));
            } else {
                state.write_u64(self.w[0]);
                state.write_u64(self.w[1]);
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
    fn layout_is_two_words() {
        assert_eq!(std::mem::size_of::<Str>(), 16);
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
    fn splitting_an_inline_string_after_it_moved() {
        fn make() -> SplitOwned {
            Str::from("ab cd ef").split_owned(' ')
        }
        let it = make();
        let moved = Box::new(it);
        let v: Vec<String> = moved.map(String::from).collect();
        assert_eq!(v, ["ab", "cd", "ef"]);
        let w: Vec<String> = Box::new(Str::from("ünï cø").words())
            .map(String::from)
            .collect();
        assert_eq!(w, ["ünï", "cø"]);
    }

    #[test]
    fn strings_past_16_mib_keep_their_length() {
        let n = (17 << 20) + 3;
        let big = Str::from("ab".repeat(n));
        assert_eq!(big.len(), 2 * n);
        let middle = big.slice_of(&big.as_str()[1..2 * n - 1]);
        assert_eq!(middle.len(), 2 * n - 2);
        assert!(middle.starts_with("ba"));
        let tail = big.slice_of(&big.as_str()[2..]);
        assert_eq!(tail.len(), 2 * n - 2);
        assert!(tail.starts_with("ab") && tail.ends_with("ab"));
        let inner = middle.slice_of(&middle.as_str()[1..]);
        assert!(inner.len() == 2 * n - 3 && inner.starts_with("ab"));
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
