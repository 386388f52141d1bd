//! The command line as a user meets it: help, usage errors, exit codes, clear "not built yet" errors.

use std::process::{Command, Output};

fn clusterctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_clusterctl"))
        .args(args)
        .env_remove("CLUSTERCTL_PROVIDER")
        .env(
            "HOME",
            std::env::temp_dir().join("clusterctl-cli-test-home"),
        )
        .output()
        .expect("run clusterctl")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn help_lists_every_verb_and_the_exit_codes() {
    let out = clusterctl(&["--help"]);
    assert!(out.status.success());
    let text = stdout(&out);
    for verb in [
        "create",
        "get",
        "delete",
        "scale",
        "upgrade",
        "kubeconfig",
        "token",
        "image",
        "export",
        "build",
        "version",
        "completion",
    ] {
        assert!(text.contains(verb), "--help lacks {verb}:\n{text}");
    }
    assert!(text.contains("2 usage error"), "{text}");
}

#[test]
fn create_help_has_the_eksctl_flags() {
    let text = stdout(&clusterctl(&["create", "--help"]));
    for flag in [
        "--provider",
        "--name",
        "--config-file",
        "--dry-run",
        "--retain",
        "--wait",
        "--region",
        "--version",
        "--nodegroup-name",
        "--node-type",
        "--nodes",
        "--nodes-min",
        "--nodes-max",
        "--managed",
        "--workers",
        "--hosts",
    ] {
        assert!(text.contains(flag), "create --help lacks {flag}:\n{text}");
    }
    for provider in ["eks", "gke", "aks", "local", "ssh"] {
        assert!(
            text.contains(provider),
            "create --help lacks provider {provider}"
        );
    }
}

#[test]
fn every_subcommand_has_help() {
    for args in [
        &["create", "nodegroup", "--help"][..],
        &["get", "clusters", "--help"],
        &["get", "nodegroups", "--help"],
        &["get", "nodes", "--help"],
        &["delete", "--help"],
        &["delete", "nodegroup", "--help"],
        &["scale", "nodegroup", "--help"],
        &["kubeconfig", "update", "--help"],
        &["kubeconfig", "write", "--help"],
        &["token", "--help"],
        &["image", "load", "--help"],
        &["export", "logs", "--help"],
        &["build", "node-image", "--help"],
        &["upgrade", "--help"],
    ] {
        let out = clusterctl(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert!(stdout(&out).contains("Usage: clusterctl"), "{args:?}");
    }
}

#[test]
fn unknown_flag_is_a_usage_error_with_exit_code_2() {
    let out = clusterctl(&["create", "--provider", "local", "--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--no-such-flag"), "{}", stderr(&out));
}

#[test]
fn unknown_provider_names_the_choices() {
    let out = clusterctl(&["create", "--provider", "digitalocean"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("digitalocean") && err.contains("eks") && err.contains("local"),
        "{err}"
    );
}

#[test]
fn create_without_a_built_provider_fails_clearly_and_changes_nothing() {
    let out = clusterctl(&[
        "create",
        "--provider",
        "aks",
        "--name",
        "prod",
        "--region",
        "westeurope",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("the aks provider cannot create clusters yet"),
        "{err}"
    );
    assert!(err.contains("Nothing was changed"), "{err}");
}

#[test]
fn dry_run_prints_the_fully_defaulted_config() {
    let out = clusterctl(&[
        "create",
        "--provider",
        "local",
        "--name",
        "dev",
        "--workers",
        "2",
        "--dry-run",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let yaml = stdout(&out);
    assert!(
        yaml.contains("apiVersion: clusterctl.io/v1alpha1"),
        "{yaml}"
    );
    assert!(yaml.contains("kind: Cluster"), "{yaml}");
    assert!(yaml.contains("name: dev"), "{yaml}");
    assert!(yaml.contains("workers: 2"), "{yaml}");
    assert!(yaml.contains("podSubnet"), "defaults missing:\n{yaml}");
}

#[test]
fn invalid_flags_are_reported_before_anything_happens() {
    let out = clusterctl(&[
        "create",
        "--provider",
        "eks",
        "--name",
        "my-cluster",
        "--nodes",
        "2",
        "--nodes-min",
        "3",
        "--nodes-max",
        "1",
        "--dry-run",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("minSize"), "{err}");
    assert!(err.contains("(from flags)"), "{err}");
}

#[test]
fn scale_checks_bounds_before_any_call() {
    let out = clusterctl(&[
        "scale",
        "nodegroup",
        "ng-1",
        "--provider",
        "eks",
        "--cluster",
        "c",
        "--nodes",
        "5",
        "--nodes-max",
        "3",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("--nodes (5) must be <= --nodes-max (3)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn completion_scripts_are_generated_for_bash_and_zsh() {
    let bash = clusterctl(&["completion", "bash"]);
    assert!(bash.status.success());
    assert!(
        stdout(&bash).contains("_clusterctl"),
        "bash completion lacks its function"
    );
    let zsh = clusterctl(&["completion", "zsh"]);
    assert!(stdout(&zsh).contains("#compdef clusterctl"));
}

#[test]
fn version_short_prints_versions_without_touching_clusterd() {
    let out = clusterctl(&["version", "--short", "-o", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["clusterctl"], env!("CARGO_PKG_VERSION"));
    assert!(v.get("clusterd").is_none());
}
