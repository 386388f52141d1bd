//! The clusterd binary as the providers run it.

use std::process::Command;

#[test]
fn version_names_the_kubernetes_version_it_serves() {
    let out = Command::new(env!("CARGO_BIN_EXE_clusterd"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("clusterd 0.1.0"), "{text}");
    assert!(text.contains("kubernetes v1."), "{text}");
}

#[test]
fn no_subcommand_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_clusterd"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn leader_election_timings_that_do_not_nest_are_refused_before_starting() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_clusterd"))
        .args(["server", "--bind", "127.0.0.1", "--port", "0", "--data-dir"])
        .arg(dir.path())
        .args([
            "--leader-elect-lease-duration=2s",
            "--leader-elect-renew-deadline=3s",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("leader-elect-renew-deadline"), "{text}");
    assert!(
        !dir.path().join("pki").exists(),
        "nothing is created before the flags are checked"
    );
}
