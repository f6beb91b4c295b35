//! The SQLite sink across `kill -9` of the driver: a program writes the lines of files
//! moved into a directory as rows (one row per line id) through `SqliteSink::append`,
//! its context from `get_or_create`. It is killed with SIGKILL while files arrive, then
//! started again: the batches it had planned are recomputed and written again, each
//! replacing its own rows. Every line id is in the table exactly once.

use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use spate_core::{Context, SpateConf, Str};
use spate_db::SqliteSink;
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

fn program(dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let ctx = Context::new(
        SpateConf::new()
            .master("local[2]")?
            .app_name("sqlite-kill")?,
    )?;
    let checkpoint = dir.join("checkpoint");
    let (c, watched, db) = (ctx.clone(), dir.join("watched"), dir.join("rows.db"));
    let ssc = StreamingContext::get_or_create(checkpoint.clone(), move || {
        let ssc = StreamingContext::with_context(c, Duration::from_millis(300))?;
        ssc.checkpoint(&checkpoint)?;
        ssc.text_file_stream(&watched)?
            .flat_map(|l: Str| l.trim().parse::<i64>().ok().map(|id| Row { id }))
            .write_to(SqliteSink::append(db, "rows"));
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

fn spawn(dir: &Path) -> Child {
    Command::new(std::env::current_exe().expect("exe"))
        .env("SQLITE_KILL_DIR", dir)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn the program")
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(90);
    while !f() {
        assert!(Instant::now() < until, "sqlite_kill: {what} never happened");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// (rows, distinct ids) in the table.
fn counts(db: &Path) -> (i64, i64) {
    Connection::open(db)
        .and_then(|c| {
            c.query_row("SELECT COUNT(*), COUNT(DISTINCT id) FROM rows", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
        })
        .unwrap_or((0, 0))
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

fn main() {
    if let Ok(dir) = std::env::var("SQLITE_KILL_DIR") {
        if let Err(e) = program(Path::new(&dir)) {
            eprintln!("sqlite_kill program: {e}");
            std::process::exit(1);
        }
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    std::fs::create_dir_all(d.join("watched")).expect("dir");
    std::fs::create_dir_all(d.join("staging")).expect("dir");
    let db = d.join("rows.db");
    let mut child = spawn(d);
    wait_until("the first start", || d.join("started").exists());
    for k in 0..FILES / 2 {
        move_in(d, k);
        std::thread::sleep(Duration::from_millis(60));
    }
    // Killed without a word, with batches planned and possibly half written.
    let _ = child.kill();
    let _ = child.wait();
    let before = counts(&db);
    std::fs::remove_file(d.join("started")).expect("marker");
    let mut child = spawn(d);
    wait_until("the recovered start", || d.join("started").exists());
    for k in FILES / 2..FILES {
        move_in(d, k);
        std::thread::sleep(Duration::from_millis(60));
    }
    let want = (FILES * LINES) as i64;
    wait_until("every row written", || counts(&db).1 >= want);
    std::thread::sleep(Duration::from_millis(900));
    std::fs::write(d.join("stop"), b"").expect("stop");
    let status = child.wait().expect("the recovered program");
    let (rows, distinct) = counts(&db);
    assert_eq!(
        (rows, distinct),
        (want, want),
        "rows and distinct ids (killed at {before:?})"
    );
    assert!(
        status.success(),
        "the recovered program ended with {status:?}"
    );
    println!("sqlite_kill: ok ({want} rows, each once, across a kill -9 at {before:?})");
}
