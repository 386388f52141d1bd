//! The scheduler against a real in-process clusterd API server and the real kubectl: pods get
//! bound through `pods/binding`, a pod that fits nowhere says why in `kubectl describe`, and is
//! placed once a node that fits appears.

#[path = "../../apiserver/tests/support/mod.rs"]
mod support;

use std::time::Duration;

use clusterd_scheduler::{run, SchedulerConfig};
use serde_json::json;
use support::{kube_client, kubectl_binary, wait_for, Kubectl, TestServer};

/// How long a test waits for the scheduler.
const WAIT: Duration = Duration::from_secs(30);

fn node(name: &str, cpu: &str) -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "type": "kwok"}},
        "status": {"allocatable": {"cpu": cpu, "memory": "8Gi", "pods": "110"},
                   "capacity": {"cpu": cpu, "memory": "8Gi", "pods": "110"},
                   "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "simulated"}]}})
}

fn create(kubectl: &Kubectl, server: &TestServer, name: &str, object: serde_json::Value) {
    let path = server.path(&format!("{name}.json"));
    std::fs::write(&path, object.to_string()).expect("write manifest");
    kubectl.ok(&["create", "-f", path.to_str().expect("utf-8 path")]);
}

fn jsonpath(kubectl: &Kubectl, pod: &str, path: &str) -> String {
    kubectl.ok(&["get", "pod", pod, "-o", &format!("jsonpath={path}")])
}

#[test]
fn pods_are_bound_and_a_pod_that_fits_nowhere_says_why_until_a_node_fits() {
    let Some(binary) = kubectl_binary() else {
        return;
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter("clusterd_scheduler=info")
        .with_test_writer()
        .try_init();
    let server = TestServer::start();
    let kubectl = server.kubectl(&binary);
    create(&kubectl, &server, "node-a", node("node-a", "2"));
    create(&kubectl, &server, "node-b", node("node-b", "2"));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let kubeconfig = server.kubeconfig.clone();
    runtime.spawn(async move {
        let client = kube_client(&kubeconfig).await;
        run(client, SchedulerConfig::default()).await
    });

    kubectl.ok(&["run", "web", "--image=nginx", "--restart=Never"]);
    let bound = wait_for(WAIT, "web to be bound", || {
        Some(jsonpath(&kubectl, "web", "{.spec.nodeName}")).filter(|n| !n.is_empty())
    });
    assert!(bound == "node-a" || bound == "node-b", "bound to {bound}");

    create(
        &kubectl,
        &server,
        "big",
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "big", "namespace": "default"},
        "spec": {"containers": [{"name": "c", "image": "nginx", "resources": {"requests": {"cpu": "4"}}}]}}),
    );
    let message = wait_for(WAIT, "big to be reported unschedulable", || {
        Some(jsonpath(
            &kubectl,
            "big",
            "{.status.conditions[?(@.type==\"PodScheduled\")].message}",
        ))
        .filter(|m| !m.is_empty())
    });
    assert_eq!(
        message,
        "0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."
    );
    let described = wait_for(WAIT, "the FailedScheduling event", || {
        Some(kubectl.ok(&["describe", "pod", "big"])).filter(|d| d.contains("FailedScheduling"))
    });
    assert!(described.contains("2 Insufficient cpu"), "{described}");

    // The cluster changes: a node big enough arrives, and the pod is retried there.
    create(&kubectl, &server, "node-c", node("node-c", "8"));
    let bound = wait_for(WAIT, "big to be bound", || {
        Some(jsonpath(&kubectl, "big", "{.spec.nodeName}")).filter(|n| !n.is_empty())
    });
    assert_eq!(bound, "node-c");
    runtime.shutdown_background();
}
