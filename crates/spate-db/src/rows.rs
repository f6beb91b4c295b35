//! Records as rows: what every database sink stages in its tasks (each record as a JSON
//! object) and reads back on the driver (columns and plain values).

use crate::error::Error;
use serde::Serialize;
use spate_core::BoxIter;

/// A column value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar {
    Null,
    Bool(bool),
    Int(i64),
    Real(f64),
    Text(String),
}

/// One row: (column, value), columns in name order.
pub(crate) type Row = Vec<(String, Scalar)>;

/// Phase 1 in a task: each record as a JSON object.
pub(crate) fn stage<T: Serialize>(table: &str, records: BoxIter<T>) -> Result<Vec<String>, Error> {
    let mut rows = Vec::new();
    let mut failed = None;
    records.drive(&mut |r: T| {
        if failed.is_some() {
            return;
        }
        match serde_json::to_value(&r) {
            Ok(v @ serde_json::Value::Object(_)) => rows.push(v.to_string()),
            Ok(other) => failed = Some(format!("it serializes to {other}, not a struct or map")),
            Err(e) => failed = Some(e.to_string()),
        }
    });
    match failed {
        Some(reason) => Err(Error::NotARow {
            table: table.into(),
            reason,
        }),
        None => Ok(rows),
    }
}

/// Phase 2 on the driver: the staged rows of every partition, in order.
pub(crate) fn parse(table: &str, staged: &[Vec<String>]) -> Result<Vec<Row>, Error> {
    let not_a_row = |reason: String| Error::NotARow {
        table: table.into(),
        reason,
    };
    let mut rows = Vec::new();
    for text in staged.iter().flatten() {
        let m: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(text).map_err(|e| not_a_row(e.to_string()))?;
        let row = m
            .iter()
            .map(|(k, v)| Ok((k.clone(), scalar(v)?)))
            .collect::<Result<Row, String>>()
            .map_err(not_a_row)?;
        rows.push(row);
    }
    Ok(rows)
}

fn scalar(v: &serde_json::Value) -> Result<Scalar, String> {
    Ok(match v {
        serde_json::Value::Null => Scalar::Null,
        serde_json::Value::Bool(b) => Scalar::Bool(*b),
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Scalar::Int(i),
            (None, Some(f)) => Scalar::Real(f),
            _ => return Err(format!("the number {n} does not fit 64 bits")),
        },
        serde_json::Value::String(s) => Scalar::Text(s.clone()),
        other => return Err(format!("a nested value ({other}) is not a column value")),
    })
}

/// A table or column name, quoted for SQL.
pub(crate) fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The index a sink keeps on `table`: unique on the key columns (upsert), or on the batch
/// time (append, for its delete).
pub(crate) fn index_sql(table: &str, key: Option<&[String]>) -> String {
    let (name, cols, unique) = match key {
        Some(key) => (
            format!("{table}_spate_key"),
            key.iter().map(|k| quote(k)).collect::<Vec<_>>().join(", "),
            "UNIQUE ",
        ),
        None => (
            format!("{table}_spate_batch"),
            quote(crate::BATCH_TIME_COLUMN),
            "",
        ),
    };
    format!(
        "CREATE {unique}INDEX IF NOT EXISTS {} ON {} ({cols})",
        quote(&name),
        quote(table)
    )
}

/// The statement writing one row: its quoted column names and their value placeholders;
/// with a key, an upsert (the other columns updated from the new row).
pub(crate) fn insert_sql(
    table: &str,
    names: &[String],
    marks: &[String],
    row: &Row,
    key: Option<&[String]>,
) -> String {
    let mut sql = format!(
        "INSERT INTO {} ({}) VALUES ({})",
        quote(table),
        names.join(", "),
        marks.join(", ")
    );
    if let Some(key) = key {
        let updates: Vec<String> = row
            .iter()
            .filter(|(k, _)| !key.contains(k))
            .map(|(k, _)| format!("{0} = excluded.{0}", quote(k)))
            .collect();
        let keys: Vec<String> = key.iter().map(|k| quote(k)).collect();
        sql.push_str(&format!(" ON CONFLICT ({}) DO ", keys.join(", ")));
        if updates.is_empty() {
            sql.push_str("NOTHING");
        } else {
            sql.push_str(&format!("UPDATE SET {}", updates.join(", ")));
        }
    }
    sql
}

/// The first upsert key column an existing table lacks (`has` says whether it has a
/// column); `None` for a table not created yet or when all are there.
pub(crate) fn missing_key(
    key: Option<&[String]>,
    table_exists: bool,
    has: impl Fn(&str) -> bool,
) -> Option<&String> {
    key.filter(|_| table_exists)?.iter().find(|k| !has(k))
}
