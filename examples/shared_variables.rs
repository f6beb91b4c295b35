//! `shared_variables [master]`: accumulators and broadcast variables together.
//!
//! Check-ins (`city<TAB>message`) are spread over partitions. Every task maps its city to a
//! ZIP code through a broadcast table (shipped once to each executor, not once per task or
//! record) and counts the `#tag` mentions it sees in an accumulator; the driver prints the
//! enriched records, the mention count merged from all tasks, and the tags by frequency.

use spate::{Context, SpateConf};

const CHECKINS: &[&str] = &[
    "Paris\tcroissants by the river #breakfast #paris",
    "Lyon\tbouchon lunch #food",
    "Marseille\tboat to the calanques #sea #sun #marseille",
    "Paris\tmuseum queue again #art",
    "Lille\tcold but happy",
    "Nice\tpromenade run #sun #run",
    "Lyon\tlights festival #lyon #lights",
    "Bordeaux\twine tasting #wine",
    "Toulouse\tpink city walk #toulouse",
    "Atlantis\tnot on any map #lost",
];

fn main() -> std::process::ExitCode {
    spate::exit_code(run())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let master = std::env::args().nth(1).unwrap_or_else(|| "local[2]".into());
    let ctx = Context::new(
        SpateConf::new()
            .app_name("shared_variables")?
            .master(&master)?,
    )?;

    // Loaded on the driver alone; executors receive the driver's value.
    let zips = ctx.broadcast_with(|| {
        [
            ("Paris", "75001"),
            ("Lyon", "69001"),
            ("Marseille", "13001"),
            ("Lille", "59000"),
            ("Nice", "06000"),
            ("Bordeaux", "33000"),
            ("Toulouse", "31000"),
        ]
        .into_iter()
        .map(|(c, z)| (c.to_string(), z.to_string()))
        .collect::<std::collections::HashMap<String, String>>()
    })?;
    let mentions = ctx.long_accumulator("tag mentions");

    let lines: Vec<String> = CHECKINS.iter().map(|s| s.to_string()).collect();
    let checkins = ctx.parallelize_with(lines, 4);

    let (table, counter) = (zips.clone(), mentions.clone());
    let enriched = checkins.map(move |line| {
        let (city, msg) = line.split_once('\t').unwrap_or((line.as_str(), ""));
        let tags = msg
            .split_whitespace()
            .filter(|w| w.starts_with('#'))
            .count();
        counter.add(tags as i64);
        let zip = table
            .value()
            .get(city)
            .cloned()
            .unwrap_or_else(|| "?????".into());
        (city.to_string(), zip, tags)
    });
    for (city, zip, tags) in enriched.collect()? {
        println!("{zip} {city} ({tags} tags)");
    }
    println!(
        "tag mentions counted by the accumulator: {}",
        mentions.value()
    );

    let top = checkins
        .flat_map(|line| {
            line.split_whitespace()
                .filter(|w| w.starts_with('#'))
                .map(|w| (w.to_string(), 1u32))
                .collect::<Vec<_>>()
        })
        .reduce_by_key(|a, b| a + b)
        .sort_by(|(t, n)| (std::cmp::Reverse(*n), t.clone()), true, 1)?
        .take(3)?;
    println!("top tags: {top:?}");
    zips.destroy();
    Ok(())
}
