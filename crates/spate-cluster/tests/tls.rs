//! `local-cluster[2]` with `spate.ssl.enabled`: the driver and two executor processes talk
//! TLS only (each presenting a certificate the test's authority signed), and a job with a
//! shuffle between the executors gives the same result as `local[2]`.

#[path = "common/certs.rs"]
mod certs;

use spate_core::{Context, SpateConf};

fn word_counts(master: &str, ssl: &[(&str, String)]) -> spate_core::Result<Vec<(String, u64)>> {
    let mut conf = SpateConf::new().master(master)?.app_name("tls-test")?;
    for (k, v) in ssl {
        conf = conf.set(k, v)?;
    }
    let ctx = Context::new(conf)?;
    let mut counts = ctx
        .parallelize_with(
            (0..3_000)
                .map(|i| format!("w{}", i % 17))
                .collect::<Vec<_>>(),
            6,
        )
        .map(|w| (w, 1u64))
        .reduce_by_key_with(|a, b| a + b, 3)
        .collect()?;
    counts.sort();
    ctx.stop();
    Ok(counts)
}

fn main() {
    spate_cluster::register();
    // The driver makes the certificates; its executor processes inherit the directory.
    const VAR: &str = "TLS_TEST_DIR";
    let (dir, _temp) = match std::env::var(VAR) {
        Ok(d) => (std::path::PathBuf::from(d), None),
        Err(_) => {
            let t = tempfile::tempdir().expect("temporary directory");
            let d = t.path().to_path_buf();
            certs::write_certs(&d);
            std::env::set_var(VAR, &d);
            (d, Some(t))
        }
    };
    let ssl = certs::ssl_settings(&dir);
    let cluster = match word_counts("local-cluster[2]", &ssl) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("local-cluster[2] with TLS failed: {e}");
            std::process::exit(1);
        }
    };
    if std::env::var("SPATE_EXECUTOR_ID").is_ok() {
        return;
    }
    let local = word_counts("local[2]", &[]).expect("local[2]");
    assert_eq!(cluster, local, "TLS cluster and local results differ");
    assert_eq!(cluster.len(), 17);
    println!("tls: ok ({} words over TLS)", cluster.len());
}
