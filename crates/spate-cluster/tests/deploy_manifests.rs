//! `deploy/kubernetes/` stays in step with the code: every `SPATE_*` variable the
//! manifests set is one the code reads (a configuration key, a role variable, or a setting
//! the example reads), with a value it accepts; the driver's port is the same in its
//! master, its container, its Service, the executors' driver URL and the image; the image
//! builds an example that exists; the kustomization lists every manifest.

use spate_core::conf::{Master, SpateConf};
use std::path::{Path, PathBuf};

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/kubernetes")
}

fn read(name: &str) -> String {
    let p = deploy_dir().join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

/// The `env:` entries of a manifest: (name, literal value if given as `value:`).
fn env_vars(yaml: &str) -> Vec<(String, Option<String>)> {
    let lines: Vec<&str> = yaml.lines().map(str::trim).collect();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let Some(name) = l.strip_prefix("- name: ") else {
            continue;
        };
        if !name.starts_with("SPATE_") && name != "RUST_LOG" {
            continue;
        }
        let value = lines
            .get(i + 1)
            .and_then(|n| n.strip_prefix("value: "))
            .map(|v| v.trim_matches('"').to_string());
        out.push((name.to_string(), value));
    }
    out
}

/// The number after `key: ` on the lines that have it.
fn numbers(yaml: &str, key: &str) -> Vec<u16> {
    yaml.lines()
        .filter_map(|l| l.trim().trim_start_matches("- ").strip_prefix(key))
        .filter_map(|v| v.trim().parse().ok())
        .collect()
}

fn value_of<'a>(vars: &'a [(String, Option<String>)], name: &str) -> &'a str {
    vars.iter()
        .find(|(n, _)| n == name)
        .and_then(|(_, v)| v.as_deref())
        .unwrap_or_else(|| panic!("{name} is not set to a value"))
}

#[test]
fn every_variable_is_one_the_code_reads_with_a_value_it_accepts() {
    let example = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/cluster_word_count.rs"),
    )
    .expect("the example");
    for file in ["driver.yaml", "executors.yaml"] {
        let vars = env_vars(&read(file));
        assert!(vars.len() >= 4, "{file}: {vars:?}");
        for (name, value) in &vars {
            if name == "RUST_LOG" {
                continue;
            }
            let role = [
                spate_core::cluster::DRIVER_URL_VAR,
                spate_core::env::EXECUTOR_ID_VAR,
            ];
            if role.contains(&name.as_str()) {
                continue;
            }
            // A configuration key (or an application setting): parsed as the code parses
            // the environment, so a misspelt or unknown variable fails here.
            let v = value.clone().unwrap_or_else(|| "from-a-secret".into());
            let conf = SpateConf::new()
                .from_vars([(name.as_str(), v.as_str())])
                .unwrap_or_else(|e| panic!("{file}: {name}: {e}"));
            if let Some(app_key) = name.strip_prefix("SPATE_APP_") {
                let key = format!("spate.app.{}", app_key.to_lowercase().replace('_', "."));
                assert!(
                    example.contains(&format!("\"{key}\"")),
                    "{file}: {name} sets {key}, which the example does not read"
                );
            }
            if name == "SPATE_MASTER" {
                conf.get_master()
                    .unwrap_or_else(|e| panic!("{file}: {name}: {e}"));
            }
        }
    }
    let executors = env_vars(&read("executors.yaml"));
    for role in [
        spate_core::cluster::DRIVER_URL_VAR,
        spate_core::env::EXECUTOR_ID_VAR,
    ] {
        assert!(
            executors.iter().any(|(n, _)| n == role),
            "executors.yaml does not set {role}"
        );
    }
}

#[test]
fn the_driver_port_is_the_same_everywhere() {
    let driver = read("driver.yaml");
    let vars = env_vars(&driver);
    let master = SpateConf::new()
        .master(value_of(&vars, "SPATE_MASTER"))
        .and_then(|c| c.get_master())
        .expect("the driver's master");
    let Master::Cluster { port, .. } = master else {
        panic!("the driver's master is not spate://host:port: {master:?}");
    };
    let container = numbers(&driver, "containerPort:");
    let service = numbers(&driver, "port:");
    assert_eq!(container, vec![port], "containerPort");
    assert_eq!(service, vec![port], "the Service's port");
    let url = value_of(&env_vars(&read("executors.yaml")), "SPATE_DRIVER_URL").to_string();
    assert_eq!(
        url,
        format!("spate://spate-driver:{port}"),
        "the executors' driver URL"
    );
    assert!(driver.contains("name: spate-driver"), "the Service's name");
    let docker = read("Dockerfile");
    assert_eq!(
        numbers(&docker, "EXPOSE "),
        vec![port],
        "the image's EXPOSE"
    );
}

#[test]
fn the_image_builds_an_example_that_exists_and_kustomize_lists_every_manifest() {
    let docker = read("Dockerfile");
    assert!(docker.contains("--example cluster_word_count"));
    assert!(docker.contains("ENTRYPOINT [\"/usr/local/bin/cluster_word_count\"]"));
    assert!(Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/cluster_word_count.rs")
        .exists());
    let kustomization = read("kustomization.yaml");
    let mut manifests: Vec<String> = std::fs::read_dir(deploy_dir())
        .expect("deploy/kubernetes")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".yaml") && n != "kustomization.yaml")
        .collect();
    manifests.sort();
    assert!(manifests.len() >= 4, "{manifests:?}");
    for m in &manifests {
        assert!(
            kustomization.contains(&format!("- {m}")),
            "kustomization.yaml does not list {m}"
        );
    }
    for file in ["driver.yaml", "executors.yaml"] {
        let text = read(file);
        assert!(
            text.contains("image: spate-cluster-word-count:latest"),
            "{file} runs another image than the Dockerfile's tag in its comment"
        );
        assert!(
            text.contains("claimName: spate-data"),
            "{file}: the shared volume"
        );
    }
}
