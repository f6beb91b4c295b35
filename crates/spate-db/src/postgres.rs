//! [`PostgresSink`]: a stream's batches as rows of a PostgreSQL table.

use crate::error::Error;
use crate::rows::{self, quote, Row, Scalar};
use crate::sqlite::BATCH_TIME_COLUMN;
use parking_lot::Mutex;
use postgres::{Client, NoTls};
use spate_core::{BoxIter, Data};
use spate_streaming::{BoxError, Sink, Time};
use std::time::Duration;

/// Connection attempts before a batch (or the start) fails on an unreachable server.
const CONNECT_ATTEMPTS: u32 = 5;

/// A sink writing each record as a row of `table` in PostgreSQL, as [`crate::SqliteSink`]
/// does in SQLite: a struct's fields are the columns (created as `BIGINT`,
/// `DOUBLE PRECISION`, `TEXT` or `BOOLEAN` when the table is missing); in append mode each
/// batch is one transaction that first deletes the rows of its batch time
/// (`spate_batch_time`), so a batch written again replaces its rows (exactly once per
/// batch); in upsert mode rows update each other by key columns.
///
/// The rows are written from the driver at the batch's commit, over one connection
/// (`postgres`, the synchronous client of `tokio-postgres`; plain TCP). A server that
/// cannot be reached is tried again 5 times, 1 s apart, then the batch fails naming it; a
/// connection lost midway is made again for the next batch. Values go as text cast to
/// each column's type, so an existing table's types are used.
pub struct PostgresSink {
    params: String,
    server: String,
    table: String,
    key: Option<Vec<String>>,
    client: Mutex<Option<Client>>,
}

impl std::fmt::Debug for PostgresSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresSink")
            .field("server", &self.server)
            .field("table", &self.table)
            .field("key", &self.key)
            .finish()
    }
}

fn type_of(v: &Scalar) -> &'static str {
    match v {
        Scalar::Int(_) => "BIGINT",
        Scalar::Real(_) => "DOUBLE PRECISION",
        Scalar::Bool(_) => "BOOLEAN",
        Scalar::Text(_) | Scalar::Null => "TEXT",
    }
}

fn text_of(v: &Scalar) -> Option<String> {
    match v {
        Scalar::Null => None,
        Scalar::Bool(b) => Some(b.to_string()),
        Scalar::Int(i) => Some(i.to_string()),
        Scalar::Real(f) => Some(f.to_string()),
        Scalar::Text(t) => Some(t.clone()),
    }
}

impl PostgresSink {
    /// Appends each batch's rows to `table` of the server described by `params`
    /// (`host=127.0.0.1 port=5432 user=spate dbname=app`, or a `postgresql://` URL),
    /// replacing a batch written again.
    pub fn append(params: impl Into<String>, table: impl Into<String>) -> Self {
        Self::new(params.into(), table.into(), None)
    }

    /// Upserts rows by `key` columns.
    pub fn upsert<I: IntoIterator<Item = S>, S: Into<String>>(
        params: impl Into<String>,
        table: impl Into<String>,
        key: I,
    ) -> Self {
        let key = key.into_iter().map(Into::into).collect();
        Self::new(params.into(), table.into(), Some(key))
    }

    fn new(params: String, table: String, key: Option<Vec<String>>) -> Self {
        // The server as errors name it: the parameters without a password.
        let server = params
            .split_whitespace()
            .filter(|kv| !kv.starts_with("password="))
            .collect::<Vec<_>>()
            .join(" ");
        PostgresSink {
            params,
            server,
            table,
            key,
            client: Mutex::new(None),
        }
    }

    fn err(&self, what: impl Into<String>) -> impl FnOnce(postgres::Error) -> Error + '_ {
        let what = what.into();
        move |source| Error::Postgres {
            server: self.server.clone(),
            what,
            source,
        }
    }

    fn schema(&self, reason: String) -> Error {
        Error::Schema {
            db: self.server.clone(),
            table: self.table.clone(),
            reason,
        }
    }

    fn connect(&self) -> Result<Client, Error> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match Client::connect(&self.params, NoTls) {
                Ok(c) => return Ok(c),
                Err(e) if attempt < CONNECT_ATTEMPTS => {
                    tracing::warn!(server = %self.server, attempt, "PostgreSQL: connecting failed, trying again in 1 s: {e}");
                    std::thread::sleep(Duration::from_secs(1));
                }
                Err(e) => {
                    return Err(self.err(format!("connecting ({attempt} attempts)"))(e));
                }
            }
        }
    }

    /// The table's columns and their types, empty when it does not exist.
    fn columns(
        &self,
        c: &mut impl postgres::GenericClient,
    ) -> Result<Vec<(String, String)>, Error> {
        let rows = c
            .query(
                "SELECT column_name::text, data_type::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
                &[&self.table],
            )
            .map_err(self.err("reading the table's columns"))?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn write_batch(&self, time: Time, rows: Vec<Row>) -> Result<(), Error> {
        let mut guard = self.client.lock();
        if guard.as_ref().is_none_or(Client::is_closed) {
            *guard = Some(self.connect()?);
        }
        let Some(client) = guard.as_mut() else {
            return Ok(());
        };
        let mut tx = client
            .transaction()
            .map_err(self.err("starting a transaction"))?;
        let mut have = self.columns(&mut tx)?;
        if have.is_empty() {
            let Some(first) = rows.first() else {
                return Ok(());
            };
            let mut cols: Vec<String> = first
                .iter()
                .map(|(k, v)| format!("{} {}", quote(k), type_of(v)))
                .collect();
            if self.key.is_none() {
                cols.push(format!("{} BIGINT NOT NULL", quote(BATCH_TIME_COLUMN)));
            }
            tx.batch_execute(&format!(
                "CREATE TABLE {} ({})",
                quote(&self.table),
                cols.join(", ")
            ))
            .map_err(self.err("creating the table"))?;
            tx.batch_execute(&rows::index_sql(&self.table, self.key.as_deref()))
                .map_err(self.err("indexing the table"))?;
            have = self.columns(&mut tx)?;
        }
        let type_of_column =
            |name: &str| have.iter().find(|(c, _)| c == name).map(|(_, t)| t.clone());
        if self.key.is_none() {
            if type_of_column(BATCH_TIME_COLUMN).is_none() {
                return Err(self.schema(format!(
                    "append mode needs the column `{BATCH_TIME_COLUMN}`"
                )));
            }
            tx.execute(
                &format!(
                    "DELETE FROM {} WHERE {} = $1",
                    quote(&self.table),
                    quote(BATCH_TIME_COLUMN)
                ),
                &[&time.0],
            )
            .map_err(self.err("replacing the batch's earlier rows"))?;
        }
        // Rows with the same columns share one prepared statement (one parse per batch).
        let mut prepared: std::collections::HashMap<String, postgres::Statement> =
            std::collections::HashMap::new();
        for row in &rows {
            let mut names = Vec::with_capacity(row.len() + 1);
            let mut marks = Vec::with_capacity(row.len() + 1);
            let mut values: Vec<Option<String>> = Vec::with_capacity(row.len() + 1);
            for (k, v) in row {
                let Some(t) = type_of_column(k) else {
                    return Err(self.schema(format!("it has no column `{k}`")));
                };
                names.push(quote(k));
                values.push(text_of(v));
                marks.push(format!("${}::text::{t}", values.len()));
            }
            if self.key.is_none() {
                names.push(quote(BATCH_TIME_COLUMN));
                values.push(Some(time.0.to_string()));
                marks.push(format!("${}::text::bigint", values.len()));
            }
            let sql = rows::insert_sql(&self.table, &names, &marks, row, self.key.as_deref());
            let params: Vec<&(dyn postgres::types::ToSql + Sync)> = values
                .iter()
                .map(|v| v as &(dyn postgres::types::ToSql + Sync))
                .collect();
            let statement = match prepared.get(&sql) {
                Some(st) => st.clone(),
                None => {
                    let st = tx
                        .prepare(&sql)
                        .map_err(self.err(format!("preparing the insert of batch {}", time.0)))?;
                    prepared.insert(sql, st.clone());
                    st
                }
            };
            tx.execute(&statement, &params)
                .map_err(self.err(format!("writing a row of batch {}", time.0)))?;
        }
        tx.commit().map_err(self.err("committing the batch"))?;
        tracing::debug!(server = %self.server, table = %self.table, batch = time.0, rows = rows.len(), "batch written");
        Ok(())
    }
}

impl<T: Data> Sink<T> for PostgresSink {
    /// The partition's rows, each a JSON object.
    type Staged = Vec<String>;

    fn name(&self) -> String {
        format!("PostgreSQL {} table {}", self.server, self.table)
    }

    fn open(&self) -> Result<(), BoxError> {
        let mut c = self.connect()?;
        let have = self.columns(&mut c)?;
        let has = |c: &str| have.iter().any(|(h, _)| h == c);
        if let Some(k) = rows::missing_key(self.key.as_deref(), !have.is_empty(), has) {
            return Err(Box::new(
                self.schema(format!("the key column `{k}` is missing")),
            ));
        }
        *self.client.lock() = Some(c);
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
        let written = self.write_batch(time, rows);
        if written.is_err() {
            // A broken connection is made again for the next batch.
            let mut c = self.client.lock();
            if c.as_ref().is_some_and(Client::is_closed) {
                c.take();
            }
        }
        Ok(written?)
    }

    fn close(&self) {
        self.client.lock().take();
    }
}
