//! Helpers shared by the facade's test files.

use std::path::PathBuf;
use std::process::Command;

/// The built example `name`, built first (a no-op when it is fresh) in this test's target
/// directory.
pub fn example(name: &str) -> PathBuf {
    // .../<target>/debug/deps/examples-<hash>
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
    let target_dir = profile_dir.parent().unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let st = Command::new(cargo)
        .args([
            "build",
            "-q",
            "-p",
            "spate",
            "--example",
            name,
            "--target-dir",
        ])
        .arg(target_dir)
        .status()
        .unwrap();
    assert!(st.success(), "building example {name}");
    profile_dir.join("examples").join(name)
}
