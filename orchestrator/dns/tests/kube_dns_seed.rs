//! The `kube-system/kube-dns` Service the API server seeds, seen by the real kubectl, and its
//! address kept out of dynamic ClusterIP allocation.

#[path = "../../apiserver/tests/support/mod.rs"]
mod support;

use serde_json::Value;
use support::{kubectl_binary, TestServer};

#[test]
fn kube_dns_is_seeded_selectorless_at_the_cluster_dns_address() {
    let Some(binary) = kubectl_binary() else {
        return;
    };
    let server = TestServer::start();
    let kubectl = server.kubectl(&binary);
    let service: Value = serde_json::from_str(&kubectl.ok(&[
        "-n",
        "kube-system",
        "get",
        "service",
        "kube-dns",
        "-o",
        "json",
    ]))
    .expect("service json");
    assert_eq!(service["spec"]["clusterIP"], "10.96.0.10");
    assert_eq!(service["spec"]["clusterIPs"][0], "10.96.0.10");
    assert!(service["spec"].get("selector").is_none(), "{service}");
    assert_eq!(
        service["metadata"]["annotations"]["clusterd.io/node-local"],
        "true"
    );
    assert_eq!(service["metadata"]["labels"]["k8s-app"], "kube-dns");
    assert_eq!(
        service["metadata"]["labels"]["kubernetes.io/name"],
        "clusterd-dns"
    );
    let ports: Vec<(String, i64, String)> = service["spec"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["port"].as_i64().unwrap(),
                p["protocol"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        ports,
        vec![
            ("dns".into(), 53, "UDP".into()),
            ("dns-tcp".into(), 53, "TCP".into())
        ]
    );
    let wide = kubectl.ok(&["get", "services", "-A"]);
    assert!(
        wide.lines().any(|l| l.starts_with("kube-system")
            && l.contains("kube-dns")
            && l.contains("10.96.0.10")),
        "{wide}"
    );
}

#[test]
fn the_cluster_dns_address_is_never_allocated_to_another_service() {
    let Some(binary) = kubectl_binary() else {
        return;
    };
    let server = TestServer::start();
    let kubectl = server.kubectl(&binary);
    // Even with kube-dns gone, new Services never get 10.96.0.10.
    kubectl.ok(&["-n", "kube-system", "delete", "service", "kube-dns"]);
    for i in 0..3 {
        let name = format!("svc{i}");
        kubectl.ok(&["create", "service", "clusterip", &name, "--tcp=80:80"]);
        let ip = kubectl.ok(&["get", "service", &name, "-o", "jsonpath={.spec.clusterIP}"]);
        assert_ne!(ip, "10.96.0.10", "{name} got the cluster DNS address");
        assert!(ip.starts_with("10.96."), "{name} got {ip}");
    }
    // Asking for it explicitly (recreating kube-dns by hand) still works.
    let manifest = server.path("kube-dns.json");
    std::fs::write(
        &manifest,
        r#"{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "kube-dns", "namespace": "kube-system"},
            "spec": {"clusterIP": "10.96.0.10", "ports": [{"name": "dns", "port": 53, "protocol": "UDP"}]}}"#,
    )
    .unwrap();
    kubectl.ok(&["create", "-f", manifest.to_str().unwrap()]);
    let ip = kubectl.ok(&[
        "-n",
        "kube-system",
        "get",
        "service",
        "kube-dns",
        "-o",
        "jsonpath={.spec.clusterIP}",
    ]);
    assert_eq!(ip, "10.96.0.10");
}
