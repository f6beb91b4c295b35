//! The one error type of `spate-db`.

/// What can go wrong writing to a database.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database refused or failed a statement.
    #[error("database {db}: {what}: {source}")]
    Db {
        /// The database (file or URL).
        db: String,
        /// What was being done.
        what: String,
        /// The driver's error.
        #[source]
        source: rusqlite::Error,
    },
    /// PostgreSQL refused or failed a statement, or could not be reached.
    #[error("PostgreSQL {server}: {what}: {source}")]
    Postgres {
        /// The server (host and port, database).
        server: String,
        /// What was being done.
        what: String,
        /// The driver's error.
        #[source]
        source: postgres::Error,
    },
    /// A record cannot be a row: it does not serialize to a struct (or map) of plain
    /// values.
    #[error("a record of table `{table}` is not a row: {reason}")]
    NotARow {
        /// The table.
        table: String,
        /// Why.
        reason: String,
    },
    /// The table exists and does not fit the records.
    #[error("table `{table}` in {db} does not fit the records: {reason}")]
    Schema {
        /// The database.
        db: String,
        /// The table.
        table: String,
        /// What does not fit.
        reason: String,
    },
}
