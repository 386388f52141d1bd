//! The oldest and newest kubectl available (1.27 and 1.33, next to kubectl's resolved path) against
//! the same server: discovery, typed creates, Tables, apply and delete.

mod support;

use support::{header, versioned_kubectl, TestServer};

fn exercise(version: &str) {
    let Some(bin) = versioned_kubectl(version) else {
        return;
    };
    let server = TestServer::start();
    let kubectl = server.kubectl(&bin);
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
    assert_eq!(
        kubectl.ok(&["-n", "v", "delete", "pod", "p"]).trim(),
        "pod \"p\" deleted"
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
