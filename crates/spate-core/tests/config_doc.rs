//! `docs/configuration.md` is generated from `spate_core::conf::KEYS`, the one place every
//! key is declared. Run with `SPATE_BLESS=1` to rewrite it after adding a key.

use spate_core::conf::{ValueKind, KEYS};

fn render() -> String {
    let mut out = String::from(
        "# Configuration\n\n\
         Every key spate understands. Set them in code (`SpateConf::new().set(key, value)?`), \
         from the environment (`SPATE_` + the key upper-cased with `.` turned into `_`, e.g. \
         `SPATE_TASK_MAXFAILURES=8`, read by `SpateConf::from_env`), or from a file of \
         `key value` / `key = value` lines (`SpateConf::load_file`). An unknown key or a \
         malformed value is an error naming the key, the value and where it came from; in \
         the environment, an unknown `SPATE_*` variable is an error naming it and the \
         closest known variable (a misspelt setting is never silently ignored; \
         `conf::tests::unknown_spate_variables_are_errors_naming_the_closest_key`). Not \
         configuration, and skipped: the process-role variables `SPATE_EXECUTOR_ID` and \
         `SPATE_DRIVER_URL`, the test harness's `SPATE_BLESS`, `SPATE_CASES` and \
         `SPATE_VERBOSE`, and the test services' `SPATE_TEST_S3_ENDPOINT`, \
         `SPATE_TEST_S3_BUCKET` and `SPATE_SERVICES_DIR` (`scripts/test.sh`).\n\n\
         Applications keep their own settings under `spate.app.` (any key but \
         `spate.app.name`), as Spark users keep theirs in `SparkConf`: set in code, in a \
         file, or as `SPATE_APP_<NAME>` (read as `spate.app.<name>`, lower-cased, `_` \
         turned into `.`: `SPATE_APP_ALERT_THRESHOLD=20` is `spate.app.alert.threshold`), \
         kept as given and read back with `SpateConf::get_raw` \
         (`conf::tests::applications_keep_their_settings_under_spate_app`).\n\n\
         This page is generated from `crates/spate-core/src/conf.rs` by the test \
         `config_doc` (`SPATE_BLESS=1 cargo test -p spate-core --test config_doc`).\n\n\
         | key | type | default | meaning |\n|---|---|---|---|\n",
    );
    for k in KEYS {
        let kind = match k.kind {
            ValueKind::Text => "text",
            ValueKind::Count => "count",
            ValueKind::Bytes => "bytes (`64k`, `512m`, `2g`)",
            ValueKind::Duration => "duration (`200ms`, `10s`)",
            ValueKind::Bool => "bool",
            ValueKind::Number => "number",
            ValueKind::Master => "master URL",
        };
        let default = if k.default.is_empty() {
            "(unset)".to_string()
        } else {
            format!("`{}`", k.default)
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            k.key, kind, default, k.doc
        ));
    }
    out
}

#[test]
fn configuration_page_lists_every_key() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/configuration.md");
    let want = render();
    if std::env::var("SPATE_BLESS").is_ok() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        have, want,
        "docs/configuration.md is stale: rerun with SPATE_BLESS=1"
    );
}
