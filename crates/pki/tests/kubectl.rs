//! Real kubectl talks mutual TLS with the generated certificates to a stand-in API server.

mod support;

use clusterctl_pki::{pem_base64, CertKeyPair, ClusterPki};
use std::{path::Path, process::Output, time::Duration};
use support::{
    fresh_pki,
    tls_server::{VersionServer, GIT_VERSION},
    tool,
};

const KUBECTL: &str = "/usr/bin/kubectl";

fn write_kubeconfig(path: &Path, server: &str, ca_pem: &str, client: &CertKeyPair) {
    let text = format!(
        "apiVersion: v1
kind: Config
clusters:
- name: demo
  cluster:
    server: {server}
    certificate-authority-data: {ca}
users:
- name: demo-admin
  user:
    client-certificate-data: {cert}
    client-key-data: {key}
contexts:
- name: demo
  context:
    cluster: demo
    user: demo-admin
current-context: demo
",
        ca = pem_base64(ca_pem),
        cert = client.cert_data_base64(),
        key = client.key_data_base64(),
    );
    std::fs::write(path, text).expect("write kubeconfig");
}

async fn kubectl(home: &Path, kubeconfig: &Path, args: &[&str]) -> Output {
    tokio::process::Command::new(KUBECTL)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .args(["--request-timeout", "20s"])
        .env("HOME", home)
        .env_remove("KUBECONFIG")
        .output()
        .await
        .expect("run kubectl")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

async fn admin_setup() -> Option<(tempfile::TempDir, ClusterPki, VersionServer)> {
    tool(KUBECTL)?;
    let (dir, pki) = fresh_pki();
    let server = VersionServer::start(
        pki.ca_cert_pem(),
        pki.apiserver().cert_pem(),
        pki.apiserver().key_pem(),
    )
    .await;
    Some((dir, pki, server))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_version_reaches_the_server_as_kubernetes_admin() {
    let Some((dir, pki, server)) = admin_setup().await else {
        return;
    };
    let kubeconfig = dir.path().join("admin.kubeconfig");
    write_kubeconfig(&kubeconfig, &server.url(), pki.ca_cert_pem(), pki.admin());

    let out = kubectl(dir.path(), &kubeconfig, &["version", "-o", "json"]).await;
    assert!(
        out.status.success(),
        "kubectl version failed: {}",
        stderr(&out)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("kubectl json output");
    assert_eq!(json["serverVersion"]["gitVersion"], GIT_VERSION, "{json}");

    let seen = server.seen();
    assert!(
        seen.iter().any(|s| s.path == "/version"
            && s.status == 200
            && s.cn == "kubernetes-admin"
            && s.orgs == ["system:masters"]),
        "server saw {seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_get_raw_version_returns_the_server_body() {
    let Some((dir, pki, server)) = admin_setup().await else {
        return;
    };
    let kubeconfig = dir.path().join("admin.kubeconfig");
    write_kubeconfig(&kubeconfig, &server.url(), pki.ca_cert_pem(), pki.admin());

    let out = kubectl(dir.path(), &kubeconfig, &["get", "--raw", "/version"]).await;
    assert!(
        out.status.success(),
        "kubectl get --raw failed: {}",
        stderr(&out)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("version json");
    assert_eq!(json["gitVersion"], GIT_VERSION);
    assert_eq!(json["minor"], "32");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_rejects_a_server_when_trusting_another_pkis_ca() {
    let Some((dir, pki, server)) = admin_setup().await else {
        return;
    };
    let (_other_dir, other) = fresh_pki();
    let kubeconfig = dir.path().join("wrong-ca.kubeconfig");
    write_kubeconfig(&kubeconfig, &server.url(), other.ca_cert_pem(), pki.admin());

    let out = kubectl(dir.path(), &kubeconfig, &["get", "--raw", "/version"]).await;
    assert!(
        !out.status.success(),
        "kubectl trusted a server it should not"
    );
    let err = stderr(&out);
    assert!(
        err.contains("certificate signed by unknown authority"),
        "{err}"
    );
    assert!(
        server.seen().is_empty(),
        "request reached the server: {:?}",
        server.seen()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_rejects_a_client_certificate_from_another_pki() {
    let Some((dir, pki, server)) = admin_setup().await else {
        return;
    };
    let (_other_dir, other) = fresh_pki();
    let kubeconfig = dir.path().join("foreign-client.kubeconfig");
    write_kubeconfig(&kubeconfig, &server.url(), pki.ca_cert_pem(), other.admin());

    let out = kubectl(dir.path(), &kubeconfig, &["get", "--raw", "/version"]).await;
    assert!(
        !out.status.success(),
        "a foreign client certificate was accepted"
    );
    assert!(
        server.seen().is_empty(),
        "request reached the handler: {:?}",
        server.seen()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_issued_for_another_user_is_authenticated_but_forbidden() {
    let Some((dir, pki, server)) = admin_setup().await else {
        return;
    };
    let jane = pki
        .issue_client("jane", &["developers"], Duration::from_secs(3600))
        .expect("issue client");
    let kubeconfig = dir.path().join("jane.kubeconfig");
    write_kubeconfig(&kubeconfig, &server.url(), pki.ca_cert_pem(), &jane);

    let out = kubectl(dir.path(), &kubeconfig, &["get", "--raw", "/version"]).await;
    assert!(!out.status.success(), "jane was allowed");
    let err = stderr(&out);
    assert!(err.contains("Forbidden"), "{err}");
    let seen = server.seen();
    assert!(
        seen.iter()
            .any(|s| s.cn == "jane" && s.orgs == ["developers"] && s.status == 403),
        "server saw {seen:?}"
    );
}
