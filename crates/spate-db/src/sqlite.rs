//! [`SqliteSink`]: a stream's batches as rows of a SQLite table.

use crate::error::Error;
use crate::rows::{self, quote, Row, Scalar};
use parking_lot::Mutex;
use rusqlite::types::Value;
use rusqlite::Connection;
use spate_core::{BoxIter, Data};
use spate_streaming::{BoxError, Sink, Time};
use std::path::PathBuf;
use std::time::Duration;

/// The column holding each row's batch time (ms), in append mode.
pub const BATCH_TIME_COLUMN: &str = "spate_batch_time";

/// A sink writing each record as a row of `table` in the SQLite database at `path`: a
/// struct's fields (or a map's keys) are the columns, numbers, text, booleans and nulls
/// their values. The table is created from the first rows when missing.
///
/// - **Append** ([`SqliteSink::append`]): every row gets the column `spate_batch_time`.
///   A batch is written in one transaction that first deletes the rows of its batch time:
///   a batch written again replaces its rows (exactly once per batch).
/// - **Upsert** ([`SqliteSink::upsert`]): rows with the same key columns update each
///   other (a unique index on them); a batch is one transaction.
///
/// The rows are written on the driver, when the batch is committed; a database that is
/// busy (another writer) is waited for up to 10 s. A table whose columns do not fit the
/// records, or a record that is not a flat struct, fails the batch with an error naming
/// the table and what does not fit.
pub struct SqliteSink {
    path: PathBuf,
    table: String,
    key: Option<Vec<String>>,
    conn: Mutex<Option<Connection>>,
}

impl std::fmt::Debug for SqliteSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteSink")
            .field("path", &self.path)
            .field("table", &self.table)
            .field("key", &self.key)
            .finish()
    }
}

fn sql_value(v: &Scalar) -> Value {
    match v {
        Scalar::Null => Value::Null,
        Scalar::Bool(b) => Value::Integer(i64::from(*b)),
        Scalar::Int(i) => Value::Integer(*i),
        Scalar::Real(f) => Value::Real(*f),
        Scalar::Text(t) => Value::Text(t.clone()),
    }
}

fn sql_type(v: &Value) -> &'static str {
    match v {
        Value::Integer(_) => "INTEGER",
        Value::Real(_) => "REAL",
        Value::Text(_) => "TEXT",
        _ => "",
    }
}

impl SqliteSink {
    /// Appends each batch's rows, replacing a batch written again.
    pub fn append(path: impl Into<PathBuf>, table: impl Into<String>) -> Self {
        Self::new(path.into(), table.into(), None)
    }

    /// Upserts rows by `key` columns.
    pub fn upsert<I: IntoIterator<Item = S>, S: Into<String>>(
        path: impl Into<PathBuf>,
        table: impl Into<String>,
        key: I,
    ) -> Self {
        let key = key.into_iter().map(Into::into).collect();
        Self::new(path.into(), table.into(), Some(key))
    }

    fn new(path: PathBuf, table: String, key: Option<Vec<String>>) -> Self {
        SqliteSink {
            path,
            table,
            key,
            conn: Mutex::new(None),
        }
    }

    fn db(&self) -> String {
        self.path.display().to_string()
    }

    fn err(&self, what: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> Error + '_ {
        let what = what.into();
        move |source| Error::Db {
            db: self.db(),
            what,
            source,
        }
    }

    fn schema(&self, reason: String) -> Error {
        Error::Schema {
            db: self.db(),
            table: self.table.clone(),
            reason,
        }
    }

    fn connect(&self) -> Result<Connection, Error> {
        let c = Connection::open(&self.path).map_err(self.err("opening"))?;
        c.busy_timeout(Duration::from_secs(10))
            .map_err(self.err("setting the busy timeout"))?;
        Ok(c)
    }

    /// The table's columns, empty when it does not exist.
    fn columns(&self, c: &Connection) -> Result<Vec<String>, Error> {
        let mut st = c
            .prepare(&format!("PRAGMA table_info({})", quote(&self.table)))
            .map_err(self.err("reading the table's columns"))?;
        let cols = st
            .query_map([], |r| r.get::<_, String>(1))
            .map_err(self.err("reading the table's columns"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(self.err("reading the table's columns"))?;
        Ok(cols)
    }

    /// Creates the table for rows shaped like `first` (with its unique key index).
    fn create(&self, c: &Connection, first: &Row) -> Result<(), Error> {
        let mut cols: Vec<String> = first
            .iter()
            .map(|(k, v)| format!("{} {}", quote(k), sql_type(&sql_value(v))))
            .collect();
        if self.key.is_none() {
            cols.push(format!("{} INTEGER NOT NULL", quote(BATCH_TIME_COLUMN)));
        }
        let sql = format!("CREATE TABLE {} ({})", quote(&self.table), cols.join(", "));
        c.execute(&sql, [])
            .map_err(self.err("creating the table"))?;
        self.index(c)
    }

    fn index(&self, c: &Connection) -> Result<(), Error> {
        c.execute(&rows::index_sql(&self.table, self.key.as_deref()), [])
            .map_err(self.err("indexing the table"))?;
        Ok(())
    }

    /// Writes batch `time`'s rows in one transaction.
    fn write_batch(&self, time: Time, rows: Vec<Row>) -> Result<(), Error> {
        let mut guard = self.conn.lock();
        if guard.is_none() {
            *guard = Some(self.connect()?);
        }
        let Some(c) = guard.as_mut() else {
            return Ok(());
        };
        let tx = c
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(self.err("starting a transaction"))?;
        let mut have = self.columns(&tx)?;
        if have.is_empty() {
            let Some(first) = rows.first() else {
                return Ok(());
            };
            self.create(&tx, first)?;
            have = self.columns(&tx)?;
        } else {
            self.index(&tx)?;
        }
        if self.key.is_none() && !have.iter().any(|c| c == BATCH_TIME_COLUMN) {
            return Err(self.schema(format!(
                "append mode needs the column `{BATCH_TIME_COLUMN}`"
            )));
        }
        if self.key.is_none() {
            tx.execute(
                &format!(
                    "DELETE FROM {} WHERE {} = ?1",
                    quote(&self.table),
                    quote(BATCH_TIME_COLUMN)
                ),
                [time.0],
            )
            .map_err(self.err("replacing the batch's earlier rows"))?;
        }
        for row in &rows {
            if let Some((missing, _)) = row.iter().find(|(k, _)| !have.contains(k)) {
                return Err(self.schema(format!("it has no column `{missing}`")));
            }
            let mut names: Vec<String> = row.iter().map(|(k, _)| quote(k)).collect();
            let mut values: Vec<Value> = row.iter().map(|(_, v)| sql_value(v)).collect();
            if self.key.is_none() {
                names.push(quote(BATCH_TIME_COLUMN));
                values.push(Value::Integer(time.0));
            }
            let marks: Vec<String> = (1..=values.len()).map(|i| format!("?{i}")).collect();
            let sql = rows::insert_sql(&self.table, &names, &marks, row, self.key.as_deref());
            tx.prepare_cached(&sql)
                .and_then(|mut st| st.execute(rusqlite::params_from_iter(values)))
                .map_err(self.err(format!("writing a row of batch {}", time.0)))?;
        }
        tx.commit().map_err(self.err("committing the batch"))?;
        tracing::debug!(db = %self.db(), table = %self.table, batch = time.0, rows = rows.len(), "batch written");
        Ok(())
    }
}

impl<T: Data> Sink<T> for SqliteSink {
    /// The partition's rows, each a JSON object.
    type Staged = Vec<String>;

    fn name(&self) -> String {
        format!("SQLite {} table {}", self.db(), self.table)
    }

    fn open(&self) -> Result<(), BoxError> {
        let c = self.connect()?;
        let have = self.columns(&c)?;
        let has = |c: &str| have.iter().any(|h| h == c);
        if let Some(k) = rows::missing_key(self.key.as_deref(), !have.is_empty(), has) {
            return Err(Box::new(
                self.schema(format!("the key column `{k}` is missing")),
            ));
        }
        *self.conn.lock() = Some(c);
        Ok(())
    }

    fn write(
        &self,
        _time: Time,
        _partition: usize,
        _attempt: u64,
        records: BoxIter<T>,
    ) -> Result<Vec<String>, BoxError> {
        Ok(rows::stage(&self.table, records)?)
    }

    fn commit(&self, time: Time, staged: Vec<Vec<String>>) -> Result<(), BoxError> {
        let rows = rows::parse(&self.table, &staged)?;
        Ok(self.write_batch(time, rows)?)
    }

    fn close(&self) {
        self.conn.lock().take();
    }
}
