//! Several hosts: network namespaces made with `ip netns` (a driver host and three
//! executor hosts on a bridge, addresses only inside them), this program run on each —
//! the driver with `spate://10.231.0.1:<port>`, the executors with `SPATE_DRIVER_URL` —
//! and a word count with a shuffle across them. Then, between two jobs reading that
//! shuffle's output, one executor is killed with SIGKILL and another host's link goes
//! down for a while: the later jobs are still right.
//!
//! Needs root and iproute2 (CI has both); elsewhere it says SKIPPED and passes.

use spate_core::{Context, SpateConf};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const NS: [&str; 5] = ["spate-br", "spate-h0", "spate-h1", "spate-h2", "spate-h3"];
const PORT: u16 = 7077;

fn ip(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn teardown() {
    for ns in NS {
        ip(&["netns", "del", ns]);
    }
}

/// A bridge in `spate-br`, and host `spate-h<i>` on it at 10.231.0.<1 + 10 i>.
fn setup() -> bool {
    teardown();
    let mut ok = ip(&["netns", "add", NS[0]])
        && ip(&["-n", NS[0], "link", "add", "br0", "type", "bridge"])
        && ip(&["-n", NS[0], "link", "set", "br0", "up"]);
    for i in 0..4 {
        let ns = NS[i + 1];
        let (host_end, br_end) = (format!("v{i}"), format!("b{i}"));
        let addr = format!("10.231.0.{}/24", 1 + 10 * i);
        ok = ok
            && ip(&["netns", "add", ns])
            && ip(&[
                "link", "add", &host_end, "type", "veth", "peer", "name", &br_end,
            ])
            && ip(&["link", "set", &host_end, "netns", ns])
            && ip(&["link", "set", &br_end, "netns", NS[0]])
            && ip(&["-n", NS[0], "link", "set", &br_end, "master", "br0"])
            && ip(&["-n", NS[0], "link", "set", &br_end, "up"])
            && ip(&["-n", ns, "addr", "add", &addr, "dev", &host_end])
            && ip(&["-n", ns, "link", "set", &host_end, "up"])
            && ip(&["-n", ns, "link", "set", "lo", "up"]);
    }
    ok
}

/// The program every host runs.
fn program(go_file: &Path) -> spate_core::Result<()> {
    spate_cluster::register();
    let me = std::env::var("SPATE_EXECUTOR_ID").unwrap_or_default();
    let ctx = Context::new(
        SpateConf::new()
            .master(&format!("spate://10.231.0.1:{PORT}"))?
            .app_name("multi-host")?
            .set("spate.authenticate.secret", "netns-secret")?
            .set("spate.cluster.minExecutors", "3")?
            .set("spate.executor.cores", "1")?
            .set("spate.task.maxFailures", "12")?,
    )?;
    let text: Vec<String> = (0..20_000)
        .map(|i| format!("w{} w{} w{}", i % 101, i % 7, i % 13))
        .collect();
    let counts = ctx
        .parallelize(text.clone(), 9)
        .flat_map(|l: String| l.split(' ').map(str::to_string).collect::<Vec<_>>())
        .map(|w| (w, 1u64))
        .reduce_by_key_with(|a, b| a + b, 6);
    let first = counts.count()?;
    if me.is_empty() {
        println!("phase1 {first}");
        // The test kills an executor and cuts a link now.
        let until = Instant::now() + Duration::from_secs(60);
        while !go_file.exists() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let mut got = counts.collect()?;
    got.sort();
    let total = ctx
        .parallelize((0..50_000u64).collect::<Vec<_>>(), 12)
        .map(|x| x * 2)
        .reduce(|a, b| a + b)?;
    if me.is_empty() {
        let mut want = std::collections::BTreeMap::new();
        for l in &text {
            for w in l.split(' ') {
                *want.entry(w.to_string()).or_insert(0u64) += 1;
            }
        }
        let want: Vec<(String, u64)> = want.into_iter().collect();
        assert_eq!(got, want, "word counts across hosts");
        assert_eq!(total, 49_999 * 50_000);
        println!("multi_host: ok ({} words)", got.len());
        ctx.stop();
    }
    Ok(())
}

fn spawn(ns: &str, exe: &Path, env: &[(&str, String)], go: &Path, out: Stdio) -> Child {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", ns])
        .arg(exe)
        .env("MULTI_HOST_GO", go);
    for (k, v) in env {
        c.env(k, v);
    }
    c.stdout(out)
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn")
}

fn main() {
    if let Ok(go) = std::env::var("MULTI_HOST_GO") {
        // A host of the test.
        if let Err(e) = program(Path::new(&go)) {
            eprintln!(
                "multi_host {}: {e}",
                std::env::var("SPATE_EXECUTOR_ID").unwrap_or_default()
            );
            std::process::exit(1);
        }
        return;
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    if !root || !setup() {
        teardown();
        println!("multi_host: SKIPPED (needs root and ip netns)");
        return;
    }
    let exe = std::env::current_exe().expect("exe");
    let dir = std::env::temp_dir().join(format!("spate-multi-host-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let go: PathBuf = dir.join("go");
    let mut driver = spawn(NS[1], &exe, &[], &go, Stdio::piped());
    let mut executors: Vec<Child> = (1..4)
        .map(|i| {
            spawn(
                NS[i + 1],
                &exe,
                &[
                    ("SPATE_EXECUTOR_ID", format!("h{i}")),
                    ("SPATE_DRIVER_URL", format!("spate://10.231.0.1:{PORT}")),
                ],
                &go,
                Stdio::null(),
            )
        })
        .collect();
    let result = (|| -> Result<(), String> {
        use std::io::BufRead;
        let stdout = driver.stdout.take().ok_or("no stdout")?;
        let mut lines = std::io::BufReader::new(stdout).lines();
        let first = lines
            .next()
            .ok_or("the driver printed nothing")?
            .map_err(|e| e.to_string())?;
        if !first.starts_with("phase1") {
            return Err(format!("unexpected: {first}"));
        }
        // Executor h2 dies; host h3's link goes down for 6 s while the next job runs.
        let _ = executors[1].kill();
        ip(&["-n", NS[0], "link", "set", "b3", "down"]);
        std::fs::write(&go, b"go").map_err(|e| e.to_string())?;
        std::thread::sleep(Duration::from_secs(6));
        ip(&["-n", NS[0], "link", "set", "b3", "up"]);
        let mut rest = Vec::new();
        for l in lines {
            rest.push(l.map_err(|e| e.to_string())?);
        }
        let deadline = Instant::now() + Duration::from_secs(120);
        let status = loop {
            if let Some(s) = driver.try_wait().map_err(|e| e.to_string())? {
                break s;
            }
            if Instant::now() > deadline {
                return Err("the driver did not finish".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        if !status.success() || !rest.iter().any(|l| l.starts_with("multi_host: ok")) {
            return Err(format!("driver {status:?}: {rest:?}"));
        }
        println!("{}", rest.join("\n"));
        Ok(())
    })();
    let _ = driver.kill();
    for mut e in executors {
        let _ = e.kill();
        let _ = e.wait();
    }
    let _ = driver.wait();
    teardown();
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = result {
        panic!("multi_host: {e}");
    }
}
