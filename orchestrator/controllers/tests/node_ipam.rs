//! Node IPAM against a real in-process API server, seen by the real kubectl: nodes get distinct
//! pod CIDRs, and a deleted node's range goes to the next new node.

#[path = "../../apiserver/tests/support/mod.rs"]
mod support;

use std::time::Duration;

use clusterd_controllers::{run_all, ControllersConfig};
use serde_json::json;
use support::{kube_client, kubectl_binary, wait_for, Kubectl, TestServer};

const WAIT: Duration = Duration::from_secs(60);

fn create_node(kubectl: &Kubectl, server: &TestServer, name: &str) {
    let node = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}});
    let path = server.path(&format!("{name}.json"));
    std::fs::write(&path, node.to_string()).expect("write node");
    kubectl.ok(&["create", "-f", path.to_str().expect("utf-8 path")]);
}

fn pod_cidr(kubectl: &Kubectl, name: &str) -> Option<String> {
    let out = kubectl.run(&[
        "get",
        "node",
        name,
        "-o",
        "jsonpath={.spec.podCIDR} {.spec.podCIDRs[0]}",
    ]);
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let (single, list) = text.split_once(' ')?;
    (single == list && !single.is_empty()).then(|| single.to_owned())
}

#[test]
fn nodes_get_distinct_pod_cidrs_and_a_deleted_nodes_range_is_reused() {
    let Some(binary) = kubectl_binary() else {
        return;
    };
    let server = TestServer::start();
    let kubectl = server.kubectl(&binary);
    create_node(&kubectl, &server, "node-a");
    create_node(&kubectl, &server, "node-b");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let kubeconfig = server.kubeconfig.clone();
    runtime.spawn(async move {
        let client = kube_client(&kubeconfig).await;
        run_all(client, ControllersConfig::default()).await
    });

    let a = wait_for(WAIT, "node-a's pod CIDR", || pod_cidr(&kubectl, "node-a"));
    let b = wait_for(WAIT, "node-b's pod CIDR", || pod_cidr(&kubectl, "node-b"));
    let mut both = [a.clone(), b.clone()];
    both.sort();
    assert_eq!(both, ["10.244.0.0/24", "10.244.1.0/24"]);

    kubectl.ok(&["delete", "node", "node-a"]);
    create_node(&kubectl, &server, "node-c");
    let c = wait_for(WAIT, "node-c's pod CIDR", || pod_cidr(&kubectl, "node-c"));
    assert_eq!(c, a, "node-c reuses the range node-a released");
    // Assignments are stable: node-b still has its range.
    assert_eq!(pod_cidr(&kubectl, "node-b"), Some(b));
    runtime.shutdown_timeout(Duration::from_secs(1));
}
