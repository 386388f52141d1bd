//! Every example in templates/ parses, defaults, validates and round-trips.

use std::path::PathBuf;

use clusterctl_config::{ClusterConfig, Provider};

fn templates() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../templates");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .filter(|path| {
            std::fs::read_to_string(path).is_ok_and(|t| t.contains(clusterctl_config::API_VERSION))
        })
        .collect();
    found.sort();
    found
}

#[test]
fn every_template_is_a_valid_config() {
    let found = templates();
    let names: Vec<String> = found
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for expected in [
        "aks.yaml",
        "eks.yaml",
        "gke.yaml",
        "local-ha.yaml",
        "local.yaml",
        "ssh.yaml",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "templates/{expected} is missing (found {names:?})"
        );
    }
    for path in found {
        let config = ClusterConfig::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let config = config.defaulted();
        if let Err(errors) = config.validate() {
            panic!("{} is invalid:\n{errors}", path.display());
        }
        let back = ClusterConfig::from_yaml_str(&config.to_yaml().unwrap(), "dry-run").unwrap();
        assert_eq!(back, config, "{} does not round-trip", path.display());
    }
}

#[test]
fn each_provider_template_declares_its_provider() {
    for (file, provider) in [
        ("eks.yaml", Provider::Eks),
        ("gke.yaml", Provider::Gke),
        ("aks.yaml", Provider::Aks),
        ("local.yaml", Provider::Local),
        ("local-ha.yaml", Provider::Local),
        ("ssh.yaml", Provider::Ssh),
    ] {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../templates")
            .join(file);
        assert_eq!(
            ClusterConfig::load(&path).unwrap().provider,
            provider,
            "{file}"
        );
    }
    let ha = ClusterConfig::load(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../templates/local-ha.yaml"),
    )
    .unwrap();
    assert_eq!(ha.local.unwrap().servers, Some(3));
}
