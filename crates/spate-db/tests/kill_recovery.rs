//! The database sinks across `kill -9` of the driver, SQLite and PostgreSQL (when the test
//! command started one): a program writes the lines of files moved into a directory as
//! rows (one row per line id) through the sink's append mode, its context from
//! `get_or_create`. It is killed with SIGKILL while files arrive, then started again: the
//! batches it had planned are recomputed and written again, each replacing its own rows.
//! Every line id is in the table exactly once.

use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use spate_core::{Context, SpateConf, Str};
use spate_db::{PostgresSink, SqliteSink};
use spate_streaming::StreamingContext;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const FILES: usize = 40;
const LINES: usize = 5;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Row {
    id: i64,
}

/// Where the rows go: a SQLite file in the test's directory, or a PostgreSQL table.
#[derive(Clone)]
enum Db {
    Sqlite(std::path::PathBuf),
    Postgres { params: String, table: String },
}

impl Db {
    fn from_env(dir: &Path) -> Db {
        match std::env::var("KILL_DB_TABLE") {
            Ok(table) => Db::Postgres {
                params: std::env::var("SPATE_TEST_POSTGRES").unwrap_or_default(),
                table,
            },
            Err(_) => Db::Sqlite(dir.join("rows.db")),
        }
    }

    /// (rows, distinct ids) in the table.
    fn counts(&self) -> (i64, i64) {
        const SQL: &str = "SELECT COUNT(*), COUNT(DISTINCT id) FROM";
        match self {
            Db::Sqlite(db) => Connection::open(db)
                .and_then(|c| {
                    c.query_row(&format!("{SQL} rows"), [], |r| Ok((r.get(0)?, r.get(1)?)))
                })
                .unwrap_or((0, 0)),
            Db::Postgres { params, table } => postgres::Client::connect(params, postgres::NoTls)
                .and_then(|mut c| c.query_one(&format!("{SQL} {table}"), &[]))
                .map(|r| (r.get(0), r.get(1)))
                .unwrap_or((0, 0)),
        }
    }
}

fn program(dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let ctx = Context::new(SpateConf::new().master("local[2]")?.app_name("db-kill")?)?;
    let checkpoint = dir.join("checkpoint");
    let (c, watched, db) = (ctx.clone(), dir.join("watched"), Db::from_env(dir));
    let ssc = StreamingContext::get_or_create(checkpoint.clone(), move || {
        let ssc = StreamingContext::with_context(c, Duration::from_millis(300))?;
        ssc.checkpoint(&checkpoint)?;
        let rows = ssc
            .text_file_stream(&watched)?
            .flat_map(|l: Str| l.trim().parse::<i64>().ok().map(|id| Row { id }));
        match db {
            Db::Sqlite(path) => rows.write_to(SqliteSink::append(path, "rows")),
            Db::Postgres { params, table } => rows.write_to(PostgresSink::append(params, table)),
        }
        Ok(ssc)
    })?;
    ssc.start()?;
    std::fs::write(dir.join("started"), b"")?;
    while !dir.join("stop").exists() {
        std::thread::sleep(Duration::from_millis(50));
    }
    ssc.stop(false, true);
    ctx.stop();
    Ok(())
}

fn spawn(dir: &Path, table: Option<&str>) -> Child {
    let mut c = Command::new(std::env::current_exe().expect("exe"));
    if let Some(t) = table {
        c.env("KILL_DB_TABLE", t);
    }
    c.env("KILL_DB_DIR", dir)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn the program")
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(90);
    while !f() {
        assert!(
            Instant::now() < until,
            "kill_recovery: {what} never happened"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Moves file `k` (lines `k*LINES ..`) into the watched directory.
fn move_in(dir: &Path, k: usize) {
    let text: String = (k * LINES..(k + 1) * LINES)
        .map(|i| format!("{i}\n"))
        .collect();
    let tmp = dir.join("staging").join(format!("f{k:03}"));
    std::fs::write(&tmp, text).expect("write");
    std::fs::rename(&tmp, dir.join("watched").join(format!("f{k:03}"))).expect("move in");
}

/// Runs the program, kills it, runs it again; checks the table.
fn kill_and_recover(what: &str, table: Option<&str>) {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    std::fs::create_dir_all(d.join("watched")).expect("dir");
    std::fs::create_dir_all(d.join("staging")).expect("dir");
    if let Some(t) = table {
        std::env::set_var("KILL_DB_TABLE", t);
    }
    let db = Db::from_env(d);
    std::env::remove_var("KILL_DB_TABLE");
    let mut child = spawn(d, table);
    wait_until("the first start", || d.join("started").exists());
    for k in 0..FILES / 2 {
        move_in(d, k);
        std::thread::sleep(Duration::from_millis(60));
    }
    // Killed without a word, with batches planned and possibly half written.
    let _ = child.kill();
    let _ = child.wait();
    let before = db.counts();
    std::fs::remove_file(d.join("started")).expect("marker");
    let mut child = spawn(d, table);
    wait_until("the recovered start", || d.join("started").exists());
    for k in FILES / 2..FILES {
        move_in(d, k);
        std::thread::sleep(Duration::from_millis(60));
    }
    let want = (FILES * LINES) as i64;
    wait_until("every row written", || db.counts().1 >= want);
    std::thread::sleep(Duration::from_millis(900));
    std::fs::write(d.join("stop"), b"").expect("stop");
    let status = child.wait().expect("the recovered program");
    let (rows, distinct) = db.counts();
    assert_eq!(
        (rows, distinct),
        (want, want),
        "{what}: rows and distinct ids (killed at {before:?})"
    );
    assert!(
        status.success(),
        "{what}: the recovered program ended with {status:?}"
    );
    println!("kill_recovery {what}: ok ({want} rows, each once, across a kill -9 at {before:?})");
}

fn main() {
    if let Ok(dir) = std::env::var("KILL_DB_DIR") {
        if let Err(e) = program(Path::new(&dir)) {
            eprintln!("kill_recovery program: {e}");
            std::process::exit(1);
        }
        return;
    }
    kill_and_recover("SQLite", None);
    match std::env::var("SPATE_TEST_POSTGRES") {
        Ok(_) => kill_and_recover(
            "PostgreSQL",
            Some(&format!("kill_rows_{}", std::process::id())),
        ),
        Err(_) if std::env::var("SPATE_TEST_REQUIRE_SERVICES").is_ok() => {
            panic!("kill_recovery: no PostgreSQL server (SPATE_TEST_POSTGRES)")
        }
        Err(_) => println!("kill_recovery PostgreSQL: SKIPPED (no SPATE_TEST_POSTGRES)"),
    }
}
