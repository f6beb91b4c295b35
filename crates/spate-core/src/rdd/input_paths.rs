//! Resolving an input path the way Hadoop's `FileInputFormat` does: a comma-separated
//! list of files, directories (their files, names starting with `.` or `_` skipped) and
//! globs; and opening a file through its compression codec, chosen by its extension.

use super::glob::{expand_braces, has_glob_chars, ComponentGlob};
use crate::error::{Error, Result};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Component, Path, PathBuf};

/// How a file is compressed, from its name (Hadoop's `CompressionCodecFactory`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compression {
    /// Plain bytes: splittable.
    None,
    /// `.gz`: gzip (concatenated members are read through).
    Gzip,
    /// `.zst`: Zstandard.
    Zstd,
}

impl Compression {
    pub(crate) fn of(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some("gz") => Compression::Gzip,
            Some("zst") => Compression::Zstd,
            _ => Compression::None,
        }
    }

    /// Whether a split may start inside the file.
    pub(crate) fn splittable(self) -> bool {
        self == Compression::None
    }
}

/// Opens `path` and decompresses it as its extension says.
pub(crate) fn open_decompressed(path: &Path) -> Result<Box<dyn Read + Send>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let empty = file.metadata().map_err(|e| Error::io(path, e))?.len() == 0;
    if empty {
        // An empty file holds nothing, whatever its extension says.
        return Ok(Box::new(std::io::empty()));
    }
    Ok(match Compression::of(path) {
        Compression::None => Box::new(file),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(file))),
        Compression::Zstd => {
            Box::new(zstd::stream::read::Decoder::new(file).map_err(|e| Error::io(path, e))?)
        }
    })
}

/// Reads all of `path`, decompressed when its extension says so.
pub(crate) fn read_decompressed(path: &Path) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    open_decompressed(path)?
        .read_to_end(&mut out)
        .map_err(|e| Error::io(path, e))?;
    Ok(out)
}

/// An input file and its size on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InputFile {
    pub(crate) path: PathBuf,
    pub(crate) len: u64,
}

/// Splits a path list at its top-level commas (a comma inside `{}` belongs to the glob;
/// `\,` is a literal comma), as Hadoop's `FileInputFormat.getPathStrings`.
pub(crate) fn split_path_list(spec: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0usize;
    let mut chars = spec.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&',') => {
                cur.push(',');
                chars.next();
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
    }
    out.push(cur);
    out.into_iter().filter(|s| !s.is_empty()).collect()
}

fn hidden(name: &str) -> bool {
    name.starts_with('.') || name.starts_with('_')
}

/// The files of a directory, sorted, hidden names and subdirectories skipped.
fn list_dir(dir: &Path, out: &mut Vec<InputFile>) -> Result<()> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        if hidden(&entry.file_name().to_string_lossy()) {
            continue;
        }
        let path = entry.path();
        let m = std::fs::metadata(&path).map_err(|e| Error::io(&path, e))?;
        if m.is_file() {
            files.push(InputFile { path, len: m.len() });
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    out.extend(files);
    Ok(())
}

/// A file, or a directory's files.
fn add_path(path: &Path, out: &mut Vec<InputFile>) -> Result<()> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        list_dir(path, out)
    } else {
        out.push(InputFile {
            path: path.to_path_buf(),
            len: meta.len(),
        });
        Ok(())
    }
}

/// The characters a path pattern treats specially (glob, brace and list syntax).
const GLOB_META: &str = "*?[]{},\\";

/// `path` with a `\` before each of [`GLOB_META`], so that as a `text_file` (or
/// `binary_records`, ...) path it names exactly that one file or directory.
pub fn escape_glob(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if GLOB_META.contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Removes the `\` before glob metacharacters ([`GLOB_META`]); other backslashes stay.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('\\', Some(n)) if GLOB_META.contains(*n) => {
                out.push(*n);
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

/// The paths matching one brace-free glob, component by component; sorted.
fn glob_paths(pattern: &str) -> Result<Vec<PathBuf>> {
    let mut bases: Vec<PathBuf> = vec![PathBuf::new()];
    for comp in Path::new(pattern).components() {
        let part = match comp {
            Component::Normal(s) => s.to_string_lossy().to_string(),
            other => {
                for b in &mut bases {
                    b.push(other.as_os_str());
                }
                continue;
            }
        };
        let mut next = Vec::new();
        if !has_glob_chars(&part) {
            let lit = unescape(&part);
            for b in &bases {
                let p = b.join(&lit);
                if p.symlink_metadata().is_ok() {
                    next.push(p);
                }
            }
        } else {
            let glob = ComponentGlob::new(&part)?;
            for b in &bases {
                let dir = if b.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    b.as_path()
                };
                let Ok(rd) = std::fs::read_dir(dir) else {
                    continue; // not a directory: nothing below it matches
                };
                let mut hits = Vec::new();
                for entry in rd {
                    let entry = entry.map_err(|e| Error::io(dir, e))?;
                    let name = entry.file_name().to_string_lossy().to_string();
                    if glob.matches(&name) {
                        hits.push(b.join(name));
                    }
                }
                hits.sort();
                next.extend(hits);
            }
        }
        bases = next;
        if bases.is_empty() {
            break;
        }
    }
    Ok(bases)
}

/// The file `path`, or a directory's files, taken literally (no glob, no list): for
/// paths a program discovered itself, such as a file stream's new files.
///
/// # Errors
/// A path that does not exist or cannot be listed.
pub(crate) fn list_literal(path: &Path) -> Result<Vec<InputFile>> {
    let mut out = Vec::new();
    add_path(path, &mut out)?;
    Ok(out)
}

/// The input files named by `spec`: a comma-separated list of files, directories (their
/// files, sorted) and globs (`*`, `?`, `[..]`, `{a,b}` in any component; a matched
/// directory contributes its files). Names starting with `.` or `_` are skipped in
/// directories and among glob matches.
///
/// # Errors
/// A plain path that does not exist ([`Error::Io`] naming it); a glob that matches no
/// file ([`Error::NoMatch`]); an empty list; a malformed glob.
pub(crate) fn list_input_files(spec: &str) -> Result<Vec<InputFile>> {
    let items = split_path_list(spec);
    if items.is_empty() {
        return Err(Error::InvalidArgument {
            op: "input path",
            reason: format!("no path in {spec:?}"),
        });
    }
    let mut out = Vec::new();
    for item in items {
        if !has_glob_chars(&item) {
            add_path(Path::new(&unescape(&item)), &mut out)?;
            continue;
        }
        let mut matched: Vec<PathBuf> = Vec::new();
        for pattern in expand_braces(&item)? {
            for p in glob_paths(&pattern)? {
                let name = p
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default();
                if !hidden(&name) && !matched.contains(&p) {
                    matched.push(p);
                }
            }
        }
        if matched.is_empty() {
            return Err(Error::NoMatch { pattern: item });
        }
        matched.sort();
        for p in &matched {
            add_path(p, &mut out)?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_lists() {
        assert_eq!(split_path_list("a,b"), vec!["a", "b"]);
        assert_eq!(split_path_list("x/{a,b}/*,c"), vec!["x/{a,b}/*", "c"]);
        assert_eq!(split_path_list(r"a\,b"), vec!["a,b"]);
        assert_eq!(split_path_list("a,,b,"), vec!["a", "b"]);
    }

    #[test]
    fn globs_over_a_tree() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        for (dir, files) in [
            ("x1", vec!["a.txt", "b.log", "_c.txt"]),
            ("x2", vec!["d.txt"]),
        ] {
            std::fs::create_dir(root.join(dir)).unwrap();
            for f in files {
                std::fs::write(root.join(dir).join(f), f).unwrap();
            }
        }
        let r = root.display();
        let names = |spec: String| -> Vec<String> {
            list_input_files(&spec)
                .unwrap()
                .into_iter()
                .map(|f| f.path.strip_prefix(root).unwrap().display().to_string())
                .collect()
        };
        assert_eq!(names(format!("{r}/x*/*.txt")), vec!["x1/a.txt", "x2/d.txt"]);
        assert_eq!(
            names(format!("{r}/x?")),
            vec!["x1/a.txt", "x1/b.log", "x2/d.txt"]
        );
        assert_eq!(
            names(format!("{r}/{{x2,x1}}/[ad].txt,{r}/x1/b.log")),
            vec!["x1/a.txt", "x2/d.txt", "x1/b.log"]
        );
        let e = list_input_files(&format!("{r}/x*/*.csv")).unwrap_err();
        assert!(e.to_string().contains("matches 0 files"), "{e}");
        assert!(e.to_string().contains("*.csv"), "{e}");
    }
}
