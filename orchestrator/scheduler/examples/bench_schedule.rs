//! Scheduler throughput on the pure path: 1,000 simulated nodes, 10,000 pods (snapshot + schedule +
//! assume), three runs, median pods/s. `cargo run --release -p clusterd-scheduler --example bench_schedule`

use std::time::Instant;

use clusterd_scheduler::{ClusterSnapshot, PodInfo, Scheduler};
use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::json;

const NODES: usize = 1_000;
const PODS: usize = 10_000;

fn nodes() -> Vec<Node> {
    (0..NODES)
        .map(|i| {
            serde_json::from_value(json!({
                "metadata": {"name": format!("node-{i}"), "labels": {
                    "kubernetes.io/hostname": format!("node-{i}"),
                    "topology.kubernetes.io/zone": format!("zone-{}", i % 3),
                    "type": "kwok"}},
                "spec": {},
                "status": {"allocatable": {"cpu": "32", "memory": "256Gi", "pods": "110"},
                           "conditions": [{"type": "Ready", "status": "True"}]}
            }))
            .expect("node json")
        })
        .collect()
}

/// Pods like scheduler_perf's SchedulingBasic: requests, owned by one of 100 ReplicaSets.
fn pods() -> Vec<Pod> {
    (0..PODS)
        .map(|i| {
            serde_json::from_value(json!({
                "metadata": {"name": format!("pod-{i}"), "namespace": "bench", "uid": format!("uid-{i}"),
                    "labels": {"app": format!("app-{}", i % 100)},
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": format!("rs-{}", i % 100),
                        "uid": format!("rs-{}", i % 100), "controller": true}]},
                "spec": {"containers": [{"name": "c", "image": "pause",
                    "resources": {"requests": {"cpu": "100m", "memory": "500Mi"}}}]}
            }))
            .expect("pod json")
        })
        .collect()
}

fn run(nodes: &[Node], pods: &[Pod]) -> f64 {
    let started = Instant::now();
    let mut snapshot = ClusterSnapshot::new();
    for node in nodes {
        snapshot.upsert_node(node).expect("node");
    }
    let mut scheduler = Scheduler::new();
    let mut scheduled = 0;
    for pod in pods {
        let info = PodInfo::from_pod(pod).expect("pod");
        if let Ok(node) = scheduler.schedule(&info, &snapshot) {
            snapshot.add_pod(info, &node);
            scheduled += 1;
        }
    }
    assert_eq!(scheduled, PODS, "every pod fits");
    PODS as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let (nodes, pods) = (nodes(), pods());
    let mut rates: Vec<f64> = (0..3).map(|_| run(&nodes, &pods)).collect();
    rates.sort_by(f64::total_cmp);
    eprintln!(
        "{NODES} nodes, {PODS} pods: runs {:.0} / {:.0} / {:.0} pods/s, median {:.0} pods/s",
        rates[0], rates[1], rates[2], rates[1]
    );
}
