//! `SpateConf`: typed configuration with dotted keys.
//!
//! Every key spate understands is declared once, in [`KEYS`], with its type, default and
//! meaning; `docs/configuration.md` is that table. A value can be set in code
//! ([`SpateConf::set`]), from the environment (`spate.task.maxFailures` is read from
//! `SPATE_TASK_MAXFAILURES`, see [`SpateConf::from_env`]) or from a file of `key value` or
//! `key = value` lines ([`SpateConf::load_file`]). An unknown key or a value that does not
//! parse is an [`Error::Config`] naming the key, the value and where it came from.

use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// The type of a configuration value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// Free text.
    Text,
    /// A non-negative integer.
    Count,
    /// A byte size: `1048576`, `64k`, `64m`, `2g`.
    Bytes,
    /// A duration: `200ms`, `10s`, `1min`, or a bare number of milliseconds.
    Duration,
    /// `true` or `false`.
    Bool,
    /// A master URL: `local`, `local[N]`, `local[*]`.
    Master,
}

/// One documented key.
#[derive(Debug)]
pub struct KeyDoc {
    /// The dotted key.
    pub key: &'static str,
    /// Its type.
    pub kind: ValueKind,
    /// Its default, as text (empty: no default).
    pub default: &'static str,
    /// What it does.
    pub doc: &'static str,
}

macro_rules! keys {
    ($($key:literal, $kind:ident, $default:literal, $doc:literal;)*) => {
        /// Every configuration key spate understands.
        pub const KEYS: &[KeyDoc] = &[
            $(KeyDoc { key: $key, kind: ValueKind::$kind, default: $default, doc: $doc },)*
        ];
    };
}

keys! {
    "spate.master", Master, "local[*]",
        "Where tasks run: `local` (one task thread), `local[N]` (N threads, at most 1,024 or the number of cores if more) or `local[*]` (one per core).";
    "spate.app.name", Text, "spate",
        "The application's name, shown in logs.";
    "spate.task.maxFailures", Count, "4",
        "How many times one task may fail before its job fails (Spark's spark.task.maxFailures).";
    "spate.stage.maxConsecutiveAttempts", Count, "4",
        "How many times a stage may lose the same input shuffle output before its job fails (each output lost for the first time is recomputed without counting).";
    "spate.default.parallelism", Count, "",
        "Partitions for shuffles and `parallelize` when none is given. Unset: the number of task threads for `parallelize`, the largest parent's partition count for shuffles (as Spark).";
    "spate.memory.storageBytes", Bytes, "512m",
        "Memory budget of the block store: cached partitions and in-memory shuffle output. Cached partitions are evicted least-recently-used first; shuffle output that does not fit goes to disk.";
    "spate.memory.executionBytes", Bytes, "256m",
        "Memory for aggregation buffers, shared by the task threads; a task's shuffle writer or reduce-side aggregation spills to `spate.local.dir` past its share.";
    "spate.local.dir", Text, "",
        "Scratch directory for spills and disk blocks. Unset: a fresh directory under the system temp dir, removed when the context stops.";
    "spate.checkpoint.dir", Text, "",
        "Directory for RDD checkpoints (same as `Context::set_checkpoint_dir`).";
    "spate.streaming.concurrentJobs", Count, "1",
        "How many output jobs of the streaming scheduler run at once.";
    "spate.streaming.blockInterval", Duration, "200ms",
        "How often a receiver cuts the data it received into a block; blocks are a batch's partitions. Set explicitly, it must lie between 1ms and the batch interval (checked at `StreamingContext::start`); the default is cut to a shorter batch interval.";
    "spate.streaming.gracefulStopTimeout", Duration, "",
        "How long a graceful stop (`stop(_, true)`) waits for the batches already generated. Unset: 10 batch intervals (as Spark). Past it the stop goes on as a non-graceful one (queued jobs dropped, running ones given 2 s more) and names the batches it abandoned (`StreamingContext::abandoned_batches`).";
    "spate.streaming.receiverRestartDelay", Duration, "2s",
        "How long a receiver that asked for a restart (or failed) waits before starting again.";
    "spate.streaming.receiver.maxRate", Count, "0",
        "Most records per second one receiver stores; 0 means no limit.";
    "spate.streaming.listenerBus.capacity", Count, "10000",
        "Most streaming listener events waiting for delivery; more are dropped with a warning (`StreamingContext::dropped_listener_events` counts them).";
}

/// Looks up the documentation of `key`.
pub fn key_doc(key: &str) -> Option<&'static KeyDoc> {
    KEYS.iter().find(|k| k.key == key)
}

/// The master URL, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Master {
    /// `local`, `local[N]` or `local[*]`: N task threads in this process.
    Local {
        /// Task threads.
        threads: usize,
    },
}

/// Configuration of a [`crate::Context`]: dotted keys to values, checked against [`KEYS`].
#[derive(Debug, Clone, Default)]
pub struct SpateConf {
    values: BTreeMap<String, String>,
}

impl SpateConf {
    /// An empty configuration (every key at its default).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` to `value`, checking both. Chainable: `SpateConf::new().set(..)?.set(..)?`.
    pub fn set(mut self, key: &str, value: impl Into<String>) -> Result<Self> {
        self.insert(key, value.into(), "code")?;
        Ok(self)
    }

    /// Sets `key` in place.
    pub fn set_mut(&mut self, key: &str, value: impl Into<String>) -> Result<()> {
        self.insert(key, value.into(), "code")
    }

    /// Shorthand for `set("spate.master", master)`.
    pub fn master(self, master: &str) -> Result<Self> {
        self.set("spate.master", master)
    }

    /// Shorthand for `set("spate.app.name", name)`.
    pub fn app_name(self, name: &str) -> Result<Self> {
        self.set("spate.app.name", name)
    }

    fn insert(&mut self, key: &str, value: String, origin: &str) -> Result<()> {
        let doc = key_doc(key).ok_or_else(|| {
            Error::Config(format!(
                "unknown key `{key}` (from {origin}); the known keys are listed in docs/configuration.md"
            ))
        })?;
        validate(doc, &value).map_err(|reason| {
            Error::Config(format!(
                "key `{key}` (from {origin}): invalid value `{value}`: {reason}"
            ))
        })?;
        self.values.insert(key.to_string(), value);
        Ok(())
    }

    /// The environment variable read for `key`: `SPATE_` and the key's parts upper-cased,
    /// joined by `_` (`spate.task.maxFailures` -> `SPATE_TASK_MAXFAILURES`).
    pub fn env_var_name(key: &str) -> String {
        key.replace('.', "_").to_uppercase()
    }

    /// Reads every documented key from its environment variable, over the current values.
    pub fn from_env(mut self) -> Result<Self> {
        for doc in KEYS {
            let var = Self::env_var_name(doc.key);
            if let Ok(v) = std::env::var(&var) {
                self.insert(doc.key, v, &format!("environment variable {var}"))?;
            }
        }
        Ok(self)
    }

    /// Reads `key value` or `key = value` lines from `path`; `#` starts a comment.
    pub fn load_file(mut self, path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        for (n, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let (k, v) = match line.split_once('=') {
                Some((k, v)) => (k.trim(), v.trim()),
                None => match line.split_once(char::is_whitespace) {
                    Some((k, v)) => (k.trim(), v.trim()),
                    None => {
                        return Err(Error::Config(format!(
                            "{}:{}: expected `key value`, found `{line}`",
                            path.display(),
                            n + 1
                        )))
                    }
                },
            };
            self.insert(k, v.to_string(), &format!("{}:{}", path.display(), n + 1))?;
        }
        Ok(self)
    }

    /// The value set for `key`, if any (no default).
    pub fn get_raw(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// Whether `key` was set explicitly.
    pub fn contains(&self, key: &str) -> bool {
        self.values.contains_key(key)
    }

    fn get_or_default(&self, key: &str) -> Result<(&str, &'static KeyDoc)> {
        let doc = key_doc(key)
            .ok_or_else(|| Error::Config(format!("unknown key `{key}` (asked by code)")))?;
        Ok((self.get_raw(key).unwrap_or(doc.default), doc))
    }

    /// The text value of `key` (its default when unset); `None` when unset without default.
    pub fn get_text(&self, key: &str) -> Result<Option<String>> {
        let (v, _) = self.get_or_default(key)?;
        Ok((!v.is_empty()).then(|| v.to_string()))
    }

    /// A count value; `None` when unset without default.
    pub fn get_count(&self, key: &str) -> Result<Option<usize>> {
        let (v, _) = self.get_or_default(key)?;
        if v.is_empty() {
            return Ok(None);
        }
        parse_count(v)
            .map(Some)
            .map_err(|r| Error::Config(format!("key `{key}`: `{v}`: {r}")))
    }

    /// A byte-size value.
    pub fn get_bytes(&self, key: &str) -> Result<Option<u64>> {
        let (v, _) = self.get_or_default(key)?;
        if v.is_empty() {
            return Ok(None);
        }
        parse_bytes(v)
            .map(Some)
            .map_err(|r| Error::Config(format!("key `{key}`: `{v}`: {r}")))
    }

    /// A duration value.
    pub fn get_duration(&self, key: &str) -> Result<Option<Duration>> {
        let (v, _) = self.get_or_default(key)?;
        if v.is_empty() {
            return Ok(None);
        }
        parse_duration(v)
            .map(Some)
            .map_err(|r| Error::Config(format!("key `{key}`: `{v}`: {r}")))
    }

    /// A boolean value.
    pub fn get_bool(&self, key: &str) -> Result<bool> {
        let (v, _) = self.get_or_default(key)?;
        parse_bool(v).map_err(|r| Error::Config(format!("key `{key}`: `{v}`: {r}")))
    }

    /// The parsed master URL.
    pub fn get_master(&self) -> Result<Master> {
        let (v, _) = self.get_or_default("spate.master")?;
        parse_master(v).map_err(|r| Error::Config(format!("key `spate.master`: `{v}`: {r}")))
    }

    /// All explicitly set keys and values.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

fn validate(doc: &KeyDoc, v: &str) -> std::result::Result<(), String> {
    match doc.kind {
        ValueKind::Text => Ok(()),
        ValueKind::Count => parse_count(v).map(|_| ()),
        ValueKind::Bytes => parse_bytes(v).map(|_| ()),
        ValueKind::Duration => parse_duration(v).map(|_| ()),
        ValueKind::Bool => parse_bool(v).map(|_| ()),
        ValueKind::Master => parse_master(v).map(|_| ()),
    }
}

fn parse_count(v: &str) -> std::result::Result<usize, String> {
    v.trim()
        .parse::<usize>()
        .map_err(|_| "expected a non-negative integer".to_string())
}

fn parse_bool(v: &str) -> std::result::Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err("expected `true` or `false`".into()),
    }
}

/// Parses `123`, `64k`, `64kb`, `16m`, `2g`, `1t` (binary multiples).
pub fn parse_bytes(v: &str) -> std::result::Result<u64, String> {
    let s = v.trim().to_ascii_lowercase();
    let digits_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(digits_end);
    let n: u64 = num
        .parse()
        .map_err(|_| "expected a byte size such as 1048576, 64k, 512m or 2g".to_string())?;
    let mult: u64 = match unit.trim() {
        "" | "b" => 1,
        "k" | "kb" => 1 << 10,
        "m" | "mb" => 1 << 20,
        "g" | "gb" => 1 << 30,
        "t" | "tb" => 1 << 40,
        u => return Err(format!("unknown size unit `{u}` (use b, k, m, g or t)")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| "size overflows".to_string())
}

/// Parses `250ms`, `10s`, `2min`, `1h` or a bare number of milliseconds.
pub fn parse_duration(v: &str) -> std::result::Result<Duration, String> {
    let s = v.trim().to_ascii_lowercase();
    let digits_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(digits_end);
    let n: u64 = num
        .parse()
        .map_err(|_| "expected a duration such as 200ms, 10s or 1min".to_string())?;
    let ms = match unit.trim() {
        "" | "ms" => n,
        "s" => n * 1000,
        "m" | "min" => n * 60_000,
        "h" => n * 3_600_000,
        u => return Err(format!("unknown duration unit `{u}` (use ms, s, min or h)")),
    };
    Ok(Duration::from_millis(ms))
}

/// The most task threads `local[N]` may ask for: 1,024, or the number of cores if that
/// is more.
pub const MAX_LOCAL_THREADS: usize = 1024;

fn max_local_threads() -> usize {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    MAX_LOCAL_THREADS.max(cores)
}

/// Parses a master URL.
pub fn parse_master(v: &str) -> std::result::Result<Master, String> {
    let v = v.trim();
    if v == "local" {
        return Ok(Master::Local { threads: 1 });
    }
    if let Some(inner) = v.strip_prefix("local[").and_then(|r| r.strip_suffix(']')) {
        if inner == "*" {
            let n = std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1);
            return Ok(Master::Local { threads: n });
        }
        return match inner.parse::<usize>() {
            Ok(n) if n > max_local_threads() => Err(format!(
                "`local[{n}]`: at most {} task threads (each reserves a 16 MiB stack, and \
                 threads beyond a few per core only add memory and contention); use `local[*]` \
                 for one per core",
                max_local_threads()
            )),
            Ok(n) if n > 0 => Ok(Master::Local { threads: n }),
            _ => Err(format!(
                "`local[{inner}]`: the thread count must be a positive integer or `*`"
            )),
        };
    }
    Err(
        "expected `local`, `local[N]` or `local[*]` (cluster masters come with spate-cluster)"
            .into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_and_malformed_keys_are_named() {
        let e = SpateConf::new()
            .set("spate.nope", "1")
            .unwrap_err()
            .to_string();
        assert!(e.contains("spate.nope"), "{e}");
        let e = SpateConf::new()
            .set("spate.task.maxFailures", "many")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("spate.task.maxFailures") && e.contains("many"),
            "{e}"
        );
        let e = SpateConf::new().master("yarn").unwrap_err().to_string();
        assert!(e.contains("spate.master"), "{e}");
    }

    #[test]
    fn values_parse_and_defaults_apply() {
        let c = SpateConf::new()
            .master("local[3]")
            .unwrap()
            .set("spate.memory.storageBytes", "64m")
            .unwrap();
        assert_eq!(c.get_master().unwrap(), Master::Local { threads: 3 });
        assert_eq!(
            c.get_bytes("spate.memory.storageBytes").unwrap(),
            Some(64 << 20)
        );
        assert_eq!(c.get_count("spate.task.maxFailures").unwrap(), Some(4));
        assert_eq!(c.get_count("spate.default.parallelism").unwrap(), None);
        assert_eq!(
            c.get_duration("spate.streaming.blockInterval").unwrap(),
            Some(Duration::from_millis(200))
        );
        assert_eq!(parse_master("local").unwrap(), Master::Local { threads: 1 });
        assert!(parse_master("local[0]").is_err());
    }

    #[test]
    fn file_and_env_sources() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("spate.conf");
        std::fs::write(
            &p,
            "# comment\nspate.app.name = demo\nspate.task.maxFailures 7\n",
        )
        .unwrap();
        let c = SpateConf::new().load_file(&p).unwrap();
        assert_eq!(
            c.get_text("spate.app.name").unwrap().as_deref(),
            Some("demo")
        );
        assert_eq!(c.get_count("spate.task.maxFailures").unwrap(), Some(7));
        std::fs::write(&p, "spate.task.maxFailures = x\n").unwrap();
        let e = SpateConf::new().load_file(&p).unwrap_err().to_string();
        assert!(e.contains("spate.conf:1"), "{e}");
        assert_eq!(
            SpateConf::env_var_name("spate.streaming.receiver.maxRate"),
            "SPATE_STREAMING_RECEIVER_MAXRATE"
        );
        // The env var of a key nobody else sets in tests.
        std::env::set_var("SPATE_STAGE_MAXCONSECUTIVEATTEMPTS", "9");
        let c = SpateConf::new().from_env().unwrap();
        std::env::remove_var("SPATE_STAGE_MAXCONSECUTIVEATTEMPTS");
        assert_eq!(
            c.get_count("spate.stage.maxConsecutiveAttempts").unwrap(),
            Some(9)
        );
        assert!(parse_bool("TRUE").unwrap() && parse_bool("maybe").is_err());
    }
}
