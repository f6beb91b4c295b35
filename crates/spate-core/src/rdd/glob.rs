//! Hadoop-style path globs: `*`, `?`, `[abc]`, `[a-z]`, `[^a]` / `[!a]` within one path
//! component, `{a,b}` alternatives (nested, and across `/`), `\` escaping the next
//! character. Matching is per component, against names, as Hadoop's `GlobFilter` does.

use crate::error::{Error, Result};

/// Whether `s` holds a glob metacharacter (not escaped).
pub(crate) fn has_glob_chars(s: &str) -> bool {
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '*' | '?' | '[' | '{' => return true,
            _ => {}
        }
    }
    false
}

fn bad(pattern: &str, reason: &str) -> Error {
    Error::InvalidArgument {
        op: "glob",
        reason: format!("pattern {pattern:?}: {reason}"),
    }
}

/// Expands the `{a,b}` alternatives of `pattern` into plain glob patterns, in order
/// (`a{b,c{d,e}}f` gives `abf`, `acdf`, `acef`).
///
/// # Errors
/// An unclosed `{` or a `}` without its `{`.
pub(crate) fn expand_braces(pattern: &str) -> Result<Vec<String>> {
    let chars: Vec<char> = pattern.chars().collect();
    // The first top-level brace group.
    let mut depth = 0usize;
    let mut open = None;
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 1,
            '[' if depth == 0 => {
                // A character class: a brace inside it is literal.
                if let Some(end) = class_end(&chars, i) {
                    i = end;
                }
            }
            '{' => {
                if depth == 0 {
                    open = Some(i);
                }
                depth += 1;
            }
            '}' => {
                if depth == 0 {
                    return Err(bad(pattern, "'}' without a matching '{'"));
                }
                depth -= 1;
                if depth == 0 {
                    let start = open.unwrap_or(0);
                    let prefix: String = chars[..start].iter().collect();
                    let suffix: String = chars[i + 1..].iter().collect();
                    let mut out = Vec::new();
                    for alt in split_alternatives(&chars[start + 1..i]) {
                        for rest in expand_braces(&format!("{prefix}{alt}{suffix}"))? {
                            if !out.contains(&rest) {
                                out.push(rest);
                            }
                        }
                    }
                    return Ok(out);
                }
            }
            _ => {}
        }
        i += 1;
    }
    if depth > 0 {
        return Err(bad(pattern, "unclosed '{'"));
    }
    Ok(vec![pattern.to_string()])
}

/// The top-level comma-separated alternatives inside one brace group.
fn split_alternatives(inner: &[char]) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < inner.len() {
        let c = inner[i];
        match c {
            '\\' => {
                cur.push(c);
                if let Some(n) = inner.get(i + 1) {
                    cur.push(*n);
                }
                i += 1;
            }
            '{' => {
                depth += 1;
                cur.push(c);
            }
            '}' => {
                depth = depth.saturating_sub(1);
                cur.push(c);
            }
            ',' if depth == 0 => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
        i += 1;
    }
    out.push(cur);
    out
}

/// Index of the `]` closing the class opened at `open`, if any (`[]a]` and `[!]a]` hold a
/// literal `]`).
fn class_end(chars: &[char], open: usize) -> Option<usize> {
    let mut i = open + 1;
    if matches!(chars.get(i), Some('!') | Some('^')) {
        i += 1;
    }
    if chars.get(i) == Some(&']') {
        i += 1;
    }
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 1,
            ']' => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

/// One element of a compiled component pattern.
#[derive(Debug, Clone)]
enum Tok {
    Lit(char),
    Any,
    Star,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// A glob for one path component (no `/`, braces already expanded).
#[derive(Debug, Clone)]
pub(crate) struct ComponentGlob {
    toks: Vec<Tok>,
}

impl ComponentGlob {
    /// Compiles `pattern`.
    ///
    /// # Errors
    /// An unclosed `[` or a reversed range such as `[z-a]`.
    pub(crate) fn new(pattern: &str) -> Result<Self> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut toks = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '\\' => {
                    i += 1;
                    toks.push(Tok::Lit(*chars.get(i).unwrap_or(&'\\')));
                }
                '*' => {
                    if !matches!(toks.last(), Some(Tok::Star)) {
                        toks.push(Tok::Star);
                    }
                }
                '?' => toks.push(Tok::Any),
                '[' => {
                    let end = class_end(&chars, i).ok_or_else(|| bad(pattern, "unclosed '['"))?;
                    let mut j = i + 1;
                    let negated = matches!(chars[j], '!' | '^');
                    if negated {
                        j += 1;
                    }
                    let mut ranges = Vec::new();
                    while j < end {
                        let mut lo = chars[j];
                        if lo == '\\' && j + 1 < end {
                            j += 1;
                            lo = chars[j];
                        }
                        if j + 2 < end && chars[j + 1] == '-' {
                            let hi = chars[j + 2];
                            if hi < lo {
                                return Err(bad(pattern, &format!("reversed range {lo}-{hi}")));
                            }
                            ranges.push((lo, hi));
                            j += 3;
                        } else {
                            ranges.push((lo, lo));
                            j += 1;
                        }
                    }
                    toks.push(Tok::Class { negated, ranges });
                    i = end;
                }
                c => toks.push(Tok::Lit(c)),
            }
            i += 1;
        }
        Ok(ComponentGlob { toks })
    }

    /// Whether `name` matches the whole pattern.
    pub(crate) fn matches(&self, name: &str) -> bool {
        let s: Vec<char> = name.chars().collect();
        // Iterative matching with backtracking to the last `*`.
        let (mut p, mut i) = (0usize, 0usize);
        let mut star: Option<(usize, usize)> = None;
        while i < s.len() {
            let step = match self.toks.get(p) {
                Some(Tok::Star) => {
                    star = Some((p, i));
                    p += 1;
                    continue;
                }
                Some(Tok::Lit(c)) => *c == s[i],
                Some(Tok::Any) => true,
                Some(Tok::Class { negated, ranges }) => {
                    let hit = ranges.iter().any(|(lo, hi)| *lo <= s[i] && s[i] <= *hi);
                    hit != *negated
                }
                None => false,
            };
            if step {
                p += 1;
                i += 1;
            } else if let Some((sp, si)) = star {
                p = sp + 1;
                i = si + 1;
                star = Some((sp, si + 1));
            } else {
                return false;
            }
        }
        self.toks[p..].iter().all(|t| matches!(t, Tok::Star))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        ComponentGlob::new(p).unwrap().matches(s)
    }

    #[test]
    fn components() {
        assert!(m("*.txt", "a.txt") && m("*.txt", ".txt") && !m("*.txt", "a.txt.gz"));
        assert!(m("a?c", "abc") && !m("a?c", "ac"));
        assert!(m("[abc]x", "bx") && !m("[abc]x", "dx"));
        assert!(m("[a-c][!0-9]", "cz") && !m("[a-c][!0-9]", "c5") && m("[^a]", "b"));
        assert!(m("*a*b*", "xxaybzz") && !m("*a*b*", "ba"));
        assert!(m(r"\*", "*") && !m(r"\*", "x"));
        assert!(m("[]]", "]") && m("part-*", "part-00001"));
        assert!(ComponentGlob::new("[ab").is_err());
        assert!(ComponentGlob::new("[z-a]").is_err());
    }

    /// Reference matcher: plain recursion over `*`, `?`, `[ab]` and literals.
    fn reference(p: &[char], s: &[char]) -> bool {
        match p.first() {
            None => s.is_empty(),
            Some('*') => (0..=s.len()).any(|k| reference(&p[1..], &s[k..])),
            Some('?') => !s.is_empty() && reference(&p[1..], &s[1..]),
            Some('[') => {
                let end = p.iter().position(|c| *c == ']').unwrap_or(p.len() - 1);
                !s.is_empty() && p[1..end].contains(&s[0]) && reference(&p[end + 1..], &s[1..])
            }
            Some(c) => s.first() == Some(c) && reference(&p[1..], &s[1..]),
        }
    }

    proptest::proptest! {
        #[test]
        fn matcher_agrees_with_reference(
            pat in proptest::collection::vec(
                proptest::sample::select(vec!["a", "b", ".", "*", "?", "[ab]", "[b.]"]),
                0..8,
            ),
            name in "[ab.]{0,10}",
        ) {
            let pat: String = pat.concat();
            let p: Vec<char> = pat.chars().collect();
            let s: Vec<char> = name.chars().collect();
            proptest::prop_assert_eq!(m(&pat, &name), reference(&p, &s), "{} vs {}", pat, name);
        }
    }

    #[test]
    fn braces() {
        assert_eq!(expand_braces("a{b,c}d").unwrap(), vec!["abd", "acd"]);
        assert_eq!(
            expand_braces("{x,y}/{1,2{a,b}}").unwrap(),
            vec!["x/1", "x/2a", "x/2b", "y/1", "y/2a", "y/2b"]
        );
        assert_eq!(expand_braces("plain").unwrap(), vec!["plain"]);
        assert_eq!(expand_braces("[{]").unwrap(), vec!["[{]"]);
        assert!(expand_braces("a{b").is_err() && expand_braces("a}b").is_err());
        assert!(has_glob_chars("a/*.txt") && has_glob_chars("{a,b}") && !has_glob_chars(r"a\*"));
    }
}
