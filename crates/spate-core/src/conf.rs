//! `SpateConf`: typed configuration with dotted keys.
//!
//! Every key spate understands is declared once, in [`KEYS`], with its type, default and
//! meaning; `docs/configuration.md` is that table. A value can be set in code
//! ([`SpateConf::set`]), from the environment (`spate.task.maxFailures` is read from
//! `SPATE_TASK_MAXFAILURES`, see [`SpateConf::from_env`]) or from a file of `key value` or
//! `key = value` lines ([`SpateConf::load_file`]). An unknown key or a value that does not
//! parse is an [`Error::Config`] naming the key, the value and where it came from; so is an
//! unknown `SPATE_*` environment variable (with the closest known one). Applications keep
//! their own settings under [`APP_PREFIX`] (`spate.app.*`, `SPATE_APP_*`).

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
    /// A non-negative decimal number: `0.2`, `100`.
    Number,
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
        "Where tasks run: `local` (one task thread), `local[N]` (N threads, at most 1,024 or the number of cores if more), `local[*]` (one per core), `local-cluster[N]` / `local-cluster[N,cores]` (N executor processes of this program on this machine) or `spate://host:port` (the driver listens there; executors join it). Cluster masters need the spate-cluster crate (`spate_cluster::register()`).";
    "spate.executor.cores", Count, "2",
        "Task slots of each executor process in cluster mode.";
    "spate.locality.wait", Duration, "3s",
        "Cluster mode: how long a task waits for a free slot on the executor that holds what it reads (a cached partition, a received block) before it runs on another one (which fetches it from there). Spark's `spark.locality.wait`.";
    "spate.cluster.replayLog.maxBytes", Bytes, "1g",
        "Cluster mode: the driver logs every job result and batch plan it publishes (in its scratch directory) so that an executor can join the running application: its copy of the program replays them from the start, then takes tasks. Past this size joining is refused (with the reason); 0 turns the log off.";
    "spate.cluster.minExecutors", Count, "1",
        "With a `spate://host:port` master: how many executors the driver waits for (up to 60 s) before its context is ready.";
    "spate.rpc.message.maxSize", Bytes, "256m",
        "Largest message a cluster process accepts or sends (a task, a result, a shuffle bucket): a peer cannot make it allocate more.";
    "spate.authenticate.secret", Text, "",
        "Shared secret of a cluster application: the driver refuses executors (and executors refuse peers) that do not present it. Unset: no authentication (bind to 127.0.0.1 only).";
    "spate.ssl.enabled", Bool, "false",
        "Cluster mode: every connection between the driver and the executors uses TLS (rustls), authenticated both ways: each process presents `spate.ssl.certFile` with `spate.ssl.keyFile`, and accepts only peers whose certificate `spate.ssl.trustFile` signed, for the name `spate.ssl.serverName`. Works with or without `spate.authenticate.secret`.";
    "spate.ssl.certFile", Text, "",
        "With `spate.ssl.enabled`: the PEM certificate (chain) this process presents; it must carry `spate.ssl.serverName` as a subject alternative name.";
    "spate.ssl.keyFile", Text, "",
        "With `spate.ssl.enabled`: the PEM private key of `spate.ssl.certFile`.";
    "spate.ssl.trustFile", Text, "",
        "With `spate.ssl.enabled`: the PEM certificate(s) of the authority that signs the application's certificates; a peer whose certificate it did not sign is refused.";
    "spate.ssl.serverName", Text, "spate",
        "With `spate.ssl.enabled`: the name every process's certificate carries and peers check, whatever address they connect to (one certificate for the whole application is enough).";
    "spate.app.name", Text, "spate",
        "The application's name, shown in logs.";
    "spate.log.stderr", Bool, "true",
        "Whether creating a context installs a logger when the program has none: warnings and errors (or what `RUST_LOG` selects) to standard error, so a refused connection or a failed batch is seen. A program that installs its own `tracing` subscriber first keeps it; `false` installs nothing.";
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
        "Where scratch directories go: each context makes a fresh `spate-<pid>-<n>` directory there for spills and disk blocks, removed at `Context::stop` (or when the context is dropped) and on SIGTERM/SIGINT (see `spate.signal.cleanup`). Unset: the system temp dir.";
    "spate.signal.cleanup", Bool, "true",
        "On Unix, the first context installs (once per process) a SIGTERM/SIGINT handler. It runs the shutdown hooks (see `spate.streaming.stopGracefullyOnShutdown`) and removes the live contexts' scratch directories. Without a hook that stopped gracefully it exits with code 128 + the signal (143, 130), and data received and not yet processed is lost. Set to `false` in programs that handle these signals themselves.";
    "spate.checkpoint.dir", Text, "",
        "Directory for RDD checkpoints (same as `Context::set_checkpoint_dir`).";
    "spate.streaming.checkpoint.retained", Count, "10",
        "How many metadata checkpoints a streaming context keeps in its checkpoint directory (the newest; recovery falls back to an older one when the newest is torn or corrupt).";
    "spate.streaming.concurrentJobs", Count, "1",
        "How many output jobs of the streaming scheduler run at once.";
    "spate.streaming.outputFailure", Text, "stop",
        "What a batch whose output operation failed leads to: `stop` (the context stops at once, non-gracefully, after reporting the failure to `await_termination`; the batch stays pending in the checkpoint, so a recovered run runs it again), `retry` (the failed output runs again, up to `spate.streaming.outputFailure.retries` times, then as `stop`), or `skip` (the failure is reported and later batches run; the batch counts as done).";
    "spate.streaming.outputFailure.retries", Count, "3",
        "How many times `spate.streaming.outputFailure=retry` runs a failed output operation again before stopping the context.";
    "spate.streaming.blockInterval", Duration, "200ms",
        "How often a receiver cuts the data it received into a block; blocks are a batch's partitions. Set explicitly, it must lie between 1ms and the batch interval (checked at `StreamingContext::start`); the default is cut to a shorter batch interval.";
    "spate.streaming.gracefulStopTimeout", Duration, "",
        "How long a graceful stop (`stop(_, true)`) waits for the batches already generated. Unset: 10 batch intervals (as Spark). Past it the stop goes on as a non-graceful one (queued jobs dropped, running ones given 2 s more) and names the batches it abandoned (`StreamingContext::abandoned_batches`).";
    "spate.streaming.stopGracefullyOnShutdown", Bool, "false",
        "On SIGTERM or SIGINT (Unix), stop every started streaming context gracefully, as `stop(true, true)` would: receivers stop, every batch with received data is processed and its outputs written, within `spate.streaming.gracefulStopTimeout`. `await_termination` then returns `Ok`, so the program ends normally with exit code 0 (or is ended with 0 30 s later). A second signal exits at once. `false` (Spark's default): the process exits with 128 + the signal and what was received but not processed is lost.";
    "spate.streaming.receiverRestartDelay", Duration, "2s",
        "How long a receiver that asked for a restart (or failed) waits before starting again.";
    "spate.streaming.receiver.writeAheadLog.enable", Bool, "false",
        "Write every block a receiver stores to a write-ahead log in the checkpoint directory (`wal/`) before `store` returns, so a reliable receiver can acknowledge its source and a recovered run (`StreamingContext::get_or_create`) processes every block: those of the batches that were pending, and those no batch had yet. Needs `StreamingContext::checkpoint(dir)` (checked at `start`). Blocks are deleted when their batch is forgotten.";
    "spate.streaming.receiver.maxRate", Count, "0",
        "Most records per second one receiver stores; 0 means no limit.";
    "spate.streaming.backpressure.enabled", Bool, "false",
        "Backpressure: each input's rate (receivers, direct streams) follows what the job processes, estimated after every batch from its processing time and scheduling delay by Spark's PID estimator, and logged. Spark's `spark.streaming.backpressure.enabled`.";
    "spate.streaming.backpressure.initialRate", Count, "0",
        "Backpressure: records per second an input reads before the first estimate; 0 means no limit then.";
    "spate.streaming.backpressure.pid.proportional", Number, "1.0",
        "Backpressure: the PID estimator's weight of the current error (the rate read minus the rate processed).";
    "spate.streaming.backpressure.pid.integral", Number, "0.2",
        "Backpressure: the PID estimator's weight of the accumulated error (the scheduling delay, as records behind).";
    "spate.streaming.backpressure.pid.derived", Number, "0.0",
        "Backpressure: the PID estimator's weight of the error's change.";
    "spate.streaming.backpressure.pid.minRate", Number, "100",
        "Backpressure: the lowest rate (records per second) the estimator gives.";
    "spate.streaming.kafka.maxRatePerPartition", Count, "0",
        "Kafka direct streams: most records per second of batch interval one batch reads from one topic-partition; 0 means no limit.";
    "spate.streaming.kafka.consumer.poll.ms", Duration, "120s",
        "Kafka direct streams: how long a task polls for the records of its offset range before the task fails.";
    "spate.streaming.kafka.consumer.cache.enabled", Bool, "true",
        "Kafka direct streams: keep each process's consumers between batches, so a task reading the range after the one a consumer read last continues where it stopped (with the records it fetched ahead); `false`: a new consumer per task.";
    "spate.streaming.kafka.consumer.cache.maxCapacity", Count, "64",
        "Kafka direct streams: most idle consumers a process keeps (one per topic-partition read).";
    "spate.streaming.kafka.offsetOutOfRange", Text, "fail",
        "Kafka direct streams: what a batch does when its range starts before the partition's earliest offset (records aged out): `fail` the batch with an error naming the range, or `earliest`: skip to the earliest offset, with a warning and the skipped count in the log.";
    "spate.streaming.kinesis.maxRatePerShard", Count, "0",
        "Kinesis streams: most records per second of batch interval one batch reads from one shard; 0 means no limit (up to 50,000 a shard a batch: five `GetRecords` calls).";
    "spate.streaming.kinesis.poll.ms", Duration, "120s",
        "Kinesis streams: how long a task reading its range again from Kinesis (in another process than the driver, or after a restart) may take before the task fails.";
    "spate.streaming.maxLineBytes", Bytes, "64m",
        "Longest line (in bytes, before its `\\n`) that `socket_text_stream` and `text_file_stream` accept; a longer line is dropped without being buffered whole, counted (`InputFile::dropped_lines`, or the socket receiver's error event) and warned about.";
    "spate.ui.enabled", Bool, "true",
        "Whether `spate_ui::WebUi::start` serves the web UI, its REST API and `/metrics` (on the driver only); `false`: it does nothing.";
    "spate.ui.host", Text, "127.0.0.1",
        "The address the web UI binds; `0.0.0.0` serves it to other machines (it has no authentication).";
    "spate.ui.port", Count, "4040",
        "The web UI's port; when it is taken the next 16 ports are tried (as Spark does); 0 picks a free port.";
    "spate.ui.retainedBatches", Count, "1000",
        "Web UI: most completed streaming batches kept (older ones leave the tables and charts; totals keep counting them). An alias of `spate.streaming.ui.retainedBatches` (setting both to different values is an error).";
    "spate.streaming.fileStream.minRememberDuration", Duration, "60s",
        "How long a file stream remembers the files it read (so none is read twice) and how old a file's modification time may be for it to count as new; rounded up to whole batches (Spark's `spark.streaming.fileStream.minRememberDuration`).";
    "spate.streaming.unpersist", Bool, "true",
        "Whether the RDDs a stream generated are unpersisted (their cached blocks freed) once they leave its remember window (Spark's `spark.streaming.unpersist`). `false` leaves them cached, for programs that read them later themselves.";
    "spate.streaming.ui.retainedBatches", Count, "1000",
        "Most completed batches a streaming context keeps the records of (`StreamingContext::completed_batches`) and the web UI shows. Spark's `spark.streaming.ui.retainedBatches`; `spate.ui.retainedBatches` is an alias.";
    "spate.ui.retainedJobs", Count, "1000",
        "Web UI: most finished jobs kept, with their stages (a stage keeps its first 1,000 task attempts).";
    "spate.streaming.listenerBus.capacity", Count, "10000",
        "Most streaming listener events waiting for delivery; more are dropped with a warning (`StreamingContext::dropped_listener_events` counts them).";
}

/// The prefix of applications' own settings: `spate.app.<anything>` (other than the
/// documented `spate.app.name`) is kept as given, from code, files or `SPATE_APP_*`
/// variables, and read back with [`SpateConf::get_raw`] (as Spark users keep theirs in
/// `SparkConf`).
pub const APP_PREFIX: &str = "spate.app.";

/// `SPATE_*` environment variables that are not configuration: the process roles
/// (`SPATE_EXECUTOR_ID`, `SPATE_DRIVER_URL`, set by a driver for the executors it starts),
/// the test harness's (`SPATE_BLESS`, `SPATE_CASES`, `SPATE_VERBOSE`) and the test
/// services' (`SPATE_TEST_S3_ENDPOINT`, `SPATE_TEST_S3_BUCKET`, `SPATE_SERVICES_DIR`,
/// `SPATE_TEST_KAFKA_BROKERS`, `SPATE_TEST_TANSU`, `SPATE_TEST_REQUIRE_SERVICES`, set or
/// read by `scripts/test.sh`; the examples the tests run inherit them).
pub const NON_CONF_VARS: &[&str] = &[
    "SPATE_EXECUTOR_ID",
    "SPATE_DRIVER_URL",
    "SPATE_BLESS",
    "SPATE_CASES",
    "SPATE_VERBOSE",
    "SPATE_TEST_S3_ENDPOINT",
    "SPATE_TEST_S3_BUCKET",
    "SPATE_SERVICES_DIR",
    "SPATE_TEST_KAFKA_BROKERS",
    "SPATE_TEST_TANSU",
    "SPATE_TEST_KINESIS_ENDPOINT",
    "SPATE_TEST_POSTGRES",
    "SPATE_TEST_REQUIRE_SERVICES",
];

/// Whether `key` is an application's own setting (see [`APP_PREFIX`]).
pub fn is_app_key(key: &str) -> bool {
    key.len() > APP_PREFIX.len() && key.starts_with(APP_PREFIX) && key_doc(key).is_none()
}

/// The Levenshtein distance between `a` and `b` (by characters).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Looks up the documentation of `key`.
pub fn key_doc(key: &str) -> Option<&'static KeyDoc> {
    KEYS.iter().find(|k| k.key == key)
}

/// The master URL, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Master {
    /// `local`, `local[N]` or `local[*]`: N task threads in this process.
    Local {
        /// Task threads.
        threads: usize,
    },
    /// `local-cluster[N]` or `local-cluster[N,cores]`: the driver here and N executor
    /// processes of this program on this machine, each with `cores` task slots (default
    /// `spate.executor.cores`).
    LocalCluster {
        /// Executor processes.
        executors: usize,
        /// Task slots per executor, when given in the URL.
        cores: Option<usize>,
    },
    /// `spate://host:port`: the driver listens there and executors started with
    /// `SPATE_DRIVER_URL=spate://host:port` join it.
    Cluster {
        /// Where the driver listens.
        host: String,
        /// Its port.
        port: u16,
    },
}

impl Master {
    /// Whether tasks run in other processes.
    pub fn is_cluster(&self) -> bool {
        !matches!(self, Master::Local { .. })
    }
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
        if is_app_key(key) {
            // An application's own setting: kept as given, never checked.
            self.values.insert(key.to_string(), value);
            return Ok(());
        }
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

    /// Reads the `SPATE_*` environment variables over the current values (see
    /// [`Self::from_vars`]).
    ///
    /// # Errors
    /// An unknown `SPATE_*` variable (naming the closest known one) or a malformed value.
    pub fn from_env(self) -> Result<Self> {
        self.from_vars(std::env::vars_os().filter_map(|(k, v)| {
            // Variables that are not UTF-8 cannot be spate's; a SPATE_* value that is not
            // is reported as such.
            let k = k.into_string().ok()?;
            Some((
                k,
                v.into_string()
                    .unwrap_or_else(|v| v.to_string_lossy().into_owned()),
            ))
        }))
    }

    /// Reads configuration from `vars` (name, value) as [`Self::from_env`] reads the
    /// environment: a documented key from its variable ([`Self::env_var_name`]); an
    /// application's own setting from `SPATE_APP_*` (other than `SPATE_APP_NAME`) as the
    /// key `spate.app.` + the rest lower-cased with `_` turned into `.` ([`APP_PREFIX`]);
    /// the variables of [`NON_CONF_VARS`] skipped; variables not starting with `SPATE_`
    /// ignored.
    ///
    /// # Errors
    /// Any other `SPATE_*` variable: [`Error::Config`] naming it and the closest known
    /// variable, as a misspelt setting would otherwise be silently ignored.
    pub fn from_vars<K, V>(mut self, vars: impl IntoIterator<Item = (K, V)>) -> Result<Self>
    where
        K: AsRef<str>,
        V: Into<String>,
    {
        let mut vars: Vec<(String, String)> = vars
            .into_iter()
            .filter(|(k, _)| k.as_ref().starts_with("SPATE_"))
            .map(|(k, v)| (k.as_ref().to_string(), v.into()))
            .collect();
        vars.sort();
        for (var, value) in vars {
            let origin = format!("environment variable {var}");
            if NON_CONF_VARS.contains(&var.as_str()) {
                continue;
            }
            if let Some(doc) = KEYS.iter().find(|d| Self::env_var_name(d.key) == var) {
                self.insert(doc.key, value, &origin)?;
                continue;
            }
            let app_var = Self::env_var_name(APP_PREFIX);
            if let Some(rest) = var.strip_prefix(&app_var) {
                if !rest.is_empty() {
                    let key = format!("{APP_PREFIX}{}", rest.to_lowercase().replace('_', "."));
                    self.insert(&key, value, &origin)?;
                    continue;
                }
            }
            let closest = KEYS
                .iter()
                .map(|d| Self::env_var_name(d.key))
                .chain(NON_CONF_VARS.iter().map(|v| v.to_string()))
                .min_by_key(|known| edit_distance(known, &var))
                .unwrap_or_default();
            return Err(Error::Config(format!(
                "unknown environment variable {var}: did you mean {closest}? (spate reads \
                 SPATE_* variables as configuration, see docs/configuration.md; an \
                 application's own settings go under {app_var}*)"
            )));
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

    /// A non-negative decimal value (the default when unset).
    pub fn get_number(&self, key: &str) -> Result<f64> {
        let (v, _) = self.get_or_default(key)?;
        parse_number(v).map_err(|r| Error::Config(format!("key `{key}`: `{v}`: {r}")))
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
        ValueKind::Number => parse_number(v).map(|_| ()),
        ValueKind::Master => parse_master(v).map(|_| ()),
    }
}

fn parse_count(v: &str) -> std::result::Result<usize, String> {
    v.trim()
        .parse::<usize>()
        .map_err(|_| "expected a non-negative integer".to_string())
}

fn parse_number(v: &str) -> std::result::Result<f64, String> {
    match v.trim().parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 => Ok(x),
        _ => Err("expected a non-negative number (`0.2`, `100`)".into()),
    }
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
    if let Some(inner) = v
        .strip_prefix("local-cluster[")
        .and_then(|r| r.strip_suffix(']'))
    {
        let mut parts = inner.split(',').map(str::trim);
        let executors = parts.next().and_then(|n| n.parse::<usize>().ok());
        let cores = parts.next().map(|c| c.parse::<usize>());
        return match (executors, cores, parts.next()) {
            (Some(n), None, None) if (1..=64).contains(&n) => Ok(Master::LocalCluster {
                executors: n,
                cores: None,
            }),
            (Some(n), Some(Ok(c)), None) if (1..=64).contains(&n) && (1..=256).contains(&c) => {
                Ok(Master::LocalCluster {
                    executors: n,
                    cores: Some(c),
                })
            }
            _ => Err(format!(
                "`{v}`: expected `local-cluster[N]` or `local-cluster[N,cores]` with 1 to 64 \
                 executors and 1 to 256 cores each"
            )),
        };
    }
    if let Some(addr) = v.strip_prefix("spate://") {
        let (host, port) = addr
            .rsplit_once(':')
            .ok_or_else(|| format!("`{v}`: expected `spate://host:port`"))?;
        let port = port
            .parse::<u16>()
            .map_err(|_| format!("`{v}`: the port must be a number from 0 to 65535"))?;
        if host.is_empty() {
            return Err(format!("`{v}`: expected `spate://host:port`"));
        }
        return Ok(Master::Cluster {
            host: host.trim_matches(|c| c == '[' || c == ']').to_string(),
            port,
        });
    }
    Err(
        "expected `local`, `local[N]`, `local[*]`, `local-cluster[N]`, `local-cluster[N,cores]` \
         or `spate://host:port`"
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
        let c = SpateConf::new()
            .from_vars([
                ("SPATE_STAGE_MAXCONSECUTIVEATTEMPTS", "9"),
                ("PATH", "/bin"),
            ])
            .unwrap();
        assert_eq!(
            c.get_count("spate.stage.maxConsecutiveAttempts").unwrap(),
            Some(9)
        );
        assert!(parse_bool("TRUE").unwrap() && parse_bool("maybe").is_err());
    }

    #[test]
    fn unknown_spate_variables_are_errors_naming_the_closest_key() {
        // A misspelt key (one letter off).
        let e = SpateConf::new()
            .from_vars([("SPATE_TASK_MAXFAILURE", "3")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("SPATE_TASK_MAXFAILURE:")
                && e.contains("did you mean SPATE_TASK_MAXFAILURES?"),
            "{e}"
        );
        // A key from another engine's vocabulary.
        let e = SpateConf::new()
            .from_vars([("SPATE_STREAMING_BLOCK_INTERVAL", "1s")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("SPATE_STREAMING_BLOCKINTERVAL"), "{e}");
        // Process roles, the test harness's variables and non-SPATE variables are not
        // configuration; known keys still apply.
        let c = SpateConf::new()
            .from_vars([
                ("SPATE_EXECUTOR_ID", "exec-1"),
                ("SPATE_DRIVER_URL", "spate://driver:7077"),
                ("SPATE_BLESS", "1"),
                ("SPATE_TEST_S3_ENDPOINT", "http://127.0.0.1:9000"),
                ("SPARK_HOME", "/opt/spark"),
                ("SPATE_APP_NAME", "from-env"),
            ])
            .unwrap();
        assert_eq!(
            c.get_text("spate.app.name").unwrap().as_deref(),
            Some("from-env")
        );
        assert_eq!(c.iter().count(), 1);
    }

    #[test]
    fn applications_keep_their_settings_under_spate_app() {
        let c = SpateConf::new()
            .from_vars([
                ("SPATE_APP_ALERT_THRESHOLD", "20"),
                ("SPATE_APP_REGION", "eu"),
            ])
            .unwrap()
            .set("spate.app.owner", "ops team")
            .unwrap();
        assert_eq!(c.get_raw("spate.app.alert.threshold"), Some("20"));
        assert_eq!(c.get_raw("spate.app.region"), Some("eu"));
        assert_eq!(c.get_raw("spate.app.owner"), Some("ops team"));
        // The documented key under the prefix is still checked as itself, and the bare
        // prefix is not a key.
        assert!(is_app_key("spate.app.region") && !is_app_key("spate.app.name"));
        assert!(SpateConf::new().set("spate.app.", "x").is_err());
        assert!(SpateConf::new().from_vars([("SPATE_APP_", "x")]).is_err());
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
