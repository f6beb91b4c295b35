//! `word_count <file-or-dir> [master]`: counts the words of a text file (or every file of a
//! directory) and prints `word count` lines, most frequent first (ties by word).

use spate::{Context, SpateConf, Str};

fn main() -> std::process::ExitCode {
    spate::exit_code(run())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    spate::init_logging();
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: word_count <file-or-dir> [master]");
        std::process::exit(2);
    };
    let master = args.next().unwrap_or_else(|| "local[*]".into());
    let ctx = Context::new(
        SpateConf::new()
            .app_name("word_count")?
            .master(&master)?
            .from_env()?,
    )?;
    let counts = ctx
        .text_file_with(&path, ctx.default_parallelism())?
        .flat_map(Str::words)
        .map(|w| (w, 1u64))
        .reduce_by_key(|a, b| a + b);
    let mut all = counts.collect()?;
    all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for (w, c) in all {
        use std::io::Write;
        writeln!(out, "{w} {c}")?;
    }
    Ok(())
}
