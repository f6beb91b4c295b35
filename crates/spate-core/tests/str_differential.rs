//! `Str` against `String`/`&str`: every operation on random UTF-8 (empty strings, the
//! 15/16-byte inline boundary, multi-byte characters at the edges, strings sharing a
//! buffer at random offsets, pieces moved between splits) must give what the standard
//! string gives. `Str` holds hand-written unsafe code (inline copies read 16 bytes at a
//! time, shared buffers are reference counted by hand); this is its differential check,
//! and `.ci/run` also runs it under AddressSanitizer where a nightly toolchain exists.

use proptest::prelude::*;
use spate_core::Str;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// Characters that stress the edges: ASCII letters, the separators, and 2-, 3- and 4-byte
/// characters.
fn piece_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => prop::char::range('a', 'e'),
        3 => Just(' '),
        1 => Just('\t'),
        1 => Just(','),
        1 => Just('é'),
        1 => Just('€'),
        1 => Just('𝄞'),
        1 => Just('\u{3000}'),
    ]
}

/// Strings whose lengths cluster around the inline limit.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(piece_char(), 0..4),
        prop::collection::vec(piece_char(), 12..18),
        prop::collection::vec(piece_char(), 0..60),
    ]
    .prop_map(|cs| cs.into_iter().collect())
}

fn hash_of<T: Hash>(t: &T) -> u64 {
    let mut h = DefaultHasher::new();
    t.hash(&mut h);
    h.finish()
}

/// The ways to make a `Str` of `s`: copied, from a `String`, and as a slice of a larger
/// buffer at an offset (with bytes before and after, so inline copies read real bytes).
fn make_all(s: &str, pad_before: usize, pad_after: usize) -> Vec<Str> {
    let mut buf = "x".repeat(pad_before).into_bytes();
    buf.extend_from_slice(s.as_bytes());
    buf.extend(std::iter::repeat_n(b'y', pad_after));
    let buf = Arc::new(buf);
    vec![
        Str::from_str_copy(s),
        Str::from(s.to_string()),
        Str::from(s),
        Str::from_buffer_lossy(&buf, pad_before, s.len()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn construction_comparison_hash_and_serde_match_str(
        a in text(), b in text(), pa in 0usize..20, pb in 0usize..20,
    ) {
        for (x, y) in make_all(&a, pa, pb).into_iter().zip(make_all(&b, pb, pa)) {
            prop_assert_eq!(x.as_str(), a.as_str());
            prop_assert_eq!(x.len(), a.len());
            prop_assert_eq!(x.to_string(), a.clone());
            prop_assert_eq!(format!("{x:?}"), format!("{a:?}"));
            prop_assert_eq!(x == y, a == b);
            prop_assert_eq!(x.cmp(&y), a.cmp(&b));
            if a == b {
                prop_assert_eq!(hash_of(&x), hash_of(&y));
            }
            let c = x.clone();
            drop(x);
            prop_assert_eq!(c.as_str(), a.as_str());
            let bytes = spate_core::codec::encode(&c, "str").unwrap();
            let back: Str = spate_core::codec::decode(&bytes, "str").unwrap();
            prop_assert_eq!(back.as_str(), a.as_str());
            prop_assert_eq!(String::from(back), a.clone());
        }
    }

    #[test]
    fn split_owned_matches_str_split_even_when_moved_between_pieces(
        s in text(), sep in piece_char(), pad in 0usize..20, moves in prop::collection::vec(any::<bool>(), 0..40),
    ) {
        let want: Vec<&str> = s.split(sep).collect();
        for src in make_all(&s, pad, pad) {
            // All at once (the internal fold).
            let all: Vec<Str> = src.clone().split_owned(sep).collect();
            prop_assert_eq!(all.iter().map(|p| p.as_str()).collect::<Vec<_>>(), want.clone());
            // One piece at a time, moving the iterator (and with it an inline source)
            // to a new place between pieces, and dropping the source handle early.
            let mut it = Box::new(src.split_owned(sep));
            let mut got: Vec<Str> = Vec::new();
            let mut i = 0;
            loop {
                if moves.get(i).copied().unwrap_or(false) {
                    let moved = *it;
                    let again = Box::new(moved);
                    it = again;
                }
                i += 1;
                match it.next() {
                    Some(p) => got.push(p),
                    None => break,
                }
            }
            drop(it);
            prop_assert_eq!(got.iter().map(|p| p.as_str()).collect::<Vec<_>>(), want.clone());
        }
    }

    #[test]
    fn split_on_a_char_or_a_string_matches_str_split(
        s in text(), sep in piece_char(), pat in "(|ab|, |é|[a ,]{1,3})", pad in 0usize..20,
    ) {
        for src in make_all(&s, pad, pad) {
            // `Str::split` shadows `str::split`: the pieces are owned `Str`s.
            let by_char: Vec<Str> = src.split(sep).collect();
            let want: Vec<&str> = s.split(sep).collect();
            prop_assert_eq!(by_char.iter().map(|p| p.as_str()).collect::<Vec<_>>(), want);
            let want: Vec<&str> = s.split(pat.as_str()).collect();
            let by_str: Vec<Str> = src.split(pat.as_str()).collect();
            prop_assert_eq!(by_str.iter().map(|p| p.as_str()).collect::<Vec<_>>(), want.clone());
            let one_by_one: Vec<String> = src.split(&pat).map(String::from).collect();
            prop_assert_eq!(one_by_one, want.iter().map(|p| p.to_string()).collect::<Vec<_>>());
            let ws: Vec<Str> = src.split_whitespace().collect();
            let want: Vec<&str> = s.split_whitespace().collect();
            prop_assert_eq!(ws.iter().map(|p| p.as_str()).collect::<Vec<_>>(), want);
        }
    }

    #[test]
    fn words_match_split_ascii_whitespace(s in text(), pad in 0usize..20) {
        let want: Vec<&str> = s.split_ascii_whitespace().collect();
        for src in make_all(&s, pad, 3) {
            let got: Vec<Str> = src.clone().words().collect();
            prop_assert_eq!(got.iter().map(|p| p.as_str()).collect::<Vec<_>>(), want.clone());
            let mut one_by_one = Vec::new();
            let mut w = src.words();
            while let Some(p) = w.next() {
                // Move the iterator (and an inline source with it) between pieces.
                w = std::hint::black_box(w);
                one_by_one.push(p);
            }
            prop_assert_eq!(one_by_one.iter().map(|p| p.as_str()).collect::<Vec<_>>(), want.clone());
        }
    }

    #[test]
    fn slice_of_any_char_range_matches(s in text(), from in 0usize..70, to in 0usize..70, pad in 0usize..20) {
        let bounds: Vec<usize> = s.char_indices().map(|(i, _)| i).chain([s.len()]).collect();
        let (a, b) = (bounds[from % bounds.len()], bounds[to % bounds.len()]);
        let (a, b) = (a.min(b), a.max(b));
        for src in make_all(&s, pad, pad) {
            let part = src.slice_of(&src.as_str()[a..b]);
            drop(src);
            prop_assert_eq!(part.as_str(), &s[a..b]);
        }
    }

    #[test]
    fn invalid_utf8_is_replaced_as_string_from_utf8_lossy_does(
        bytes in prop::collection::vec(any::<u8>(), 0..40), pad in 0usize..8,
    ) {
        let mut buf = vec![b'z'; pad];
        buf.extend_from_slice(&bytes);
        let buf = Arc::new(buf);
        let s = Str::from_buffer_lossy(&buf, pad, bytes.len());
        let want = String::from_utf8_lossy(&bytes);
        prop_assert_eq!(s.as_str(), want.as_ref());
    }
}
