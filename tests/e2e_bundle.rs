//! End to end: the clusterctl binary carries clusterd, and the carried bytes run and match the build.
//! Run by `scripts/test e2e` (which builds clusterd and embeds it); ignored by plain `cargo test`.

use std::process::Command;

#[test]
#[ignore = "end-to-end: run by scripts/test e2e, which embeds clusterd"]
fn carried_clusterd_runs_and_matches_the_built_binary() {
    let built = std::env::var("CLUSTERCTL_EMBED_CLUSTERD")
        .expect("CLUSTERCTL_EMBED_CLUSTERD names the clusterd that scripts/build embedded");
    let out = Command::new(env!("CARGO_BIN_EXE_clusterctl"))
        .args(["version", "-o", "json"])
        .env_remove("CLUSTERCTL_CLUSTERD")
        .output()
        .expect("run clusterctl version");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("version -o json is JSON");
    let clusterd = &v["clusterd"];
    assert_eq!(
        clusterd["embedded"], true,
        "clusterctl was built without clusterd: {v}"
    );
    assert_eq!(clusterd["origin"], "embedded");
    let expected = sha256_file(&built);
    assert_eq!(
        clusterd["sha256"],
        expected.as_str(),
        "carried bytes differ from {built}"
    );
    let version = clusterd["version"].as_str().unwrap_or_default();
    assert!(
        version.starts_with("clusterd 0.1.0"),
        "extracted clusterd printed {version:?}: {v}"
    );
}

fn sha256_file(path: &str) -> String {
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("run sha256sum");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}
