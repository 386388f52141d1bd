//! Every kind of file this crate writes is accepted by the real kubectl.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use clusterctl_kubeconfig::{render_standalone, write_file, CurrentContext, Location, Store};
use common::{cert_entry, exec_entry, kubectl_ok, kubectl_path, HAND_EDITED};

/// Checks `config view`, `get-contexts`, `use-context` and `current-context` on `file`.
fn assert_kubectl_accepts(kubectl: &Path, file: &Path, expected_contexts: &[&str]) {
    kubectl_ok(kubectl, file, &["config", "view"]);
    let listed = kubectl_ok(kubectl, file, &["config", "get-contexts", "-o", "name"]);
    let mut listed: Vec<&str> = listed.lines().collect();
    listed.sort_unstable();
    let mut expected = expected_contexts.to_vec();
    expected.sort_unstable();
    assert_eq!(listed, expected, "contexts of {}", file.display());
    for ctx in expected_contexts {
        kubectl_ok(kubectl, file, &["config", "use-context", ctx]);
        let current = kubectl_ok(kubectl, file, &["config", "current-context"]);
        assert_eq!(current.trim(), *ctx);
    }
}

fn jsonpath(kubectl: &Path, file: &Path, path: &str) -> String {
    kubectl_ok(
        kubectl,
        file,
        &["config", "view", "--raw", "-o", &format!("jsonpath={path}")],
    )
}

fn store(path: &Path) -> Store {
    Store::new(Location::file(path))
}

fn copy_of(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, text).unwrap();
    path
}

#[test]
fn kubectl_accepts_a_file_created_from_nothing() {
    let Some(kubectl) = kubectl_path() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new").join("config");
    store(&path)
        .upsert(&cert_entry("dev"), CurrentContext::Switch)
        .unwrap();
    assert_eq!(
        kubectl_ok(&kubectl, &path, &["config", "current-context"]).trim(),
        "local-dev"
    );
    assert_kubectl_accepts(&kubectl, &path, &["local-dev"]);
}

#[test]
fn kubectl_accepts_merges_into_empty_and_hand_edited_files() {
    let Some(kubectl) = kubectl_path() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let empty = copy_of(dir.path(), "empty", "");
    store(&empty)
        .upsert(&cert_entry("dev"), CurrentContext::Keep)
        .unwrap();
    assert_kubectl_accepts(&kubectl, &empty, &["local-dev"]);

    let edited = copy_of(dir.path(), "edited", HAND_EDITED);
    store(&edited)
        .upsert(&cert_entry("dev"), CurrentContext::Switch)
        .unwrap();
    store(&edited)
        .upsert(&exec_entry("prod"), CurrentContext::Keep)
        .unwrap();
    assert_kubectl_accepts(
        &kubectl,
        &edited,
        &["prod", "staging", "local-dev", "eks-prod"],
    );
}

#[test]
fn kubectl_reads_the_exec_user_as_written() {
    let Some(kubectl) = kubectl_path() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = copy_of(dir.path(), "config", HAND_EDITED);
    store(&path)
        .upsert(&exec_entry("prod"), CurrentContext::Switch)
        .unwrap();

    let exec = r#"{.users[?(@.name=="eks-prod")].user.exec"#;
    assert_eq!(
        jsonpath(&kubectl, &path, &format!("{exec}.command}}")),
        "aws"
    );
    assert_eq!(
        jsonpath(&kubectl, &path, &format!("{exec}.apiVersion}}")),
        "client.authentication.k8s.io/v1beta1"
    );
    assert_eq!(
        jsonpath(&kubectl, &path, &format!("{exec}.interactiveMode}}")),
        "Never"
    );
    assert_eq!(
        jsonpath(&kubectl, &path, &format!("{exec}.env[0].value}}")),
        "dev"
    );
    assert_eq!(
        jsonpath(
            &kubectl,
            &path,
            r#"{.contexts[?(@.name=="eks-prod")].context.namespace}"#
        ),
        "kube-system"
    );
    assert_eq!(
        jsonpath(
            &kubectl,
            &path,
            r#"{.clusters[?(@.name=="eks-prod")].cluster.tls-server-name}"#
        ),
        "abc.eks"
    );
    assert_kubectl_accepts(&kubectl, &path, &["prod", "staging", "eks-prod"]);
}

#[test]
fn kubectl_accepts_files_after_remove_and_flow_rewrites() {
    let Some(kubectl) = kubectl_path() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    store(&path)
        .upsert(&cert_entry("dev"), CurrentContext::Switch)
        .unwrap();
    store(&path).remove("local-dev").unwrap();
    assert_kubectl_accepts(&kubectl, &path, &[]);
    assert_eq!(
        kubectl_ok(
            &kubectl,
            &path,
            &["config", "view", "-o", "jsonpath={.current-context}"]
        ),
        ""
    );

    let flow = copy_of(
        dir.path(),
        "flow",
        "apiVersion: v1\nkind: Config\nclusters: [{name: a, cluster: {server: 'https://a'}}]\ncontexts: [{name: a, context: {cluster: a, user: a}}]\nusers: [{name: a, user: {token: x}}]\n",
    );
    store(&flow)
        .upsert(&cert_entry("dev"), CurrentContext::Keep)
        .unwrap();
    assert_kubectl_accepts(&kubectl, &flow, &["a", "local-dev"]);
}

#[test]
fn kubectl_accepts_standalone_files_and_clusterctl_reads_kubectl_rewrites() {
    let Some(kubectl) = kubectl_path() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let alone = dir.path().join("alone.yaml");
    write_file(&alone, &render_standalone(&exec_entry("prod")).unwrap()).unwrap();
    assert_eq!(
        kubectl_ok(&kubectl, &alone, &["config", "current-context"]).trim(),
        "eks-prod"
    );
    assert_kubectl_accepts(&kubectl, &alone, &["eks-prod"]);

    let path = copy_of(dir.path(), "config", HAND_EDITED);
    store(&path)
        .upsert(&cert_entry("dev"), CurrentContext::Keep)
        .unwrap();
    let extracted = dir.path().join("extracted.yaml");
    write_file(
        &extracted,
        &store(&path).render_standalone("staging").unwrap(),
    )
    .unwrap();
    assert_kubectl_accepts(&kubectl, &extracted, &["staging"]);
    assert_eq!(
        jsonpath(&kubectl, &extracted, "{.clusters[0].cluster.proxy-url}"),
        "http://proxy.internal:3128"
    );

    // kubectl rewrites the whole file on use-context; clusterctl must keep working on it.
    kubectl_ok(&kubectl, &path, &["config", "use-context", "local-dev"]);
    let s = store(&path);
    assert_eq!(s.current_context().unwrap().as_deref(), Some("local-dev"));
    assert!(s.remove("local-dev").unwrap());
    assert_kubectl_accepts(&kubectl, &path, &["prod", "staging"]);
}
