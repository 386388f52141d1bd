use serde_json::json;

use super::*;
use crate::testing::{object, state};

fn node(ready: &str, heartbeat: &str, taints: serde_json::Value) -> serde_json::Value {
    json!({"metadata": {"name": "n1", "creationTimestamp": "2025-12-01T00:00:00Z"}, "spec": {"taints": taints},
        "status": {"conditions": [{"type": "Ready", "status": ready, "lastHeartbeatTime": heartbeat}]}})
}

fn lease(renewed: &str) -> serde_json::Value {
    json!({"metadata": {"name": "n1", "namespace": "kube-node-lease"}, "spec": {"holderIdentity": "n1", "renewTime": renewed}})
}

fn pod(name: &str, tolerations: serde_json::Value) -> serde_json::Value {
    json!({"metadata": {"name": name, "namespace": "default", "uid": name},
        "spec": {"nodeName": "n1", "containers": [{"name": "c"}], "tolerations": tolerations},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]}})
}

fn taint_patch(changes: &[Change]) -> Option<serde_json::Value> {
    changes.iter().find_map(|c| match c {
        Change::Patch { target, patch } if target.kind == "Node" => {
            Some(patch["spec"]["taints"].clone())
        }
        _ => None,
    })
}

#[test]
fn a_node_with_a_fresh_lease_is_left_alone() {
    // Ready heartbeat is old but the lease was renewed 10 s ago (now is 2026-01-01T00:00:00Z).
    let s = state(vec![
        ("Node", node("True", "2025-12-31T23:00:00Z", json!(null))),
        ("Lease", lease("2025-12-31T23:59:50Z")),
    ]);
    assert_eq!(
        reconcile(
            &object(node("True", "2025-12-31T23:00:00Z", json!(null))),
            &s,
            &ControllersConfig::default()
        ),
        vec![]
    );
}

#[test]
fn a_silent_node_becomes_unknown_and_unreachable_after_the_grace_period() {
    let n = node("True", "2025-12-31T23:59:00Z", json!(null));
    let s = state(vec![
        ("Node", n.clone()),
        ("Lease", lease("2025-12-31T23:59:15Z")),
        ("Pod", pod("web", json!(null))),
    ]);
    let changes = reconcile(&object(n), &s, &ControllersConfig::default());
    let status = changes
        .iter()
        .find_map(|c| match c {
            Change::PatchStatus { target, patch } if target.kind == "Node" => Some(patch.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(status["status"]["conditions"][0]["status"], "Unknown");
    assert_eq!(
        status["status"]["conditions"][0]["reason"],
        "NodeStatusUnknown"
    );
    let taints = taint_patch(&changes).unwrap();
    let keys: Vec<(&str, &str)> = taints
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["key"].as_str().unwrap(), t["effect"].as_str().unwrap()))
        .collect();
    assert_eq!(
        keys,
        vec![
            (UNREACHABLE_TAINT, "NoSchedule"),
            (UNREACHABLE_TAINT, "NoExecute")
        ]
    );
    assert!(changes.iter().any(|c| matches!(c, Change::PatchStatus { target, patch } if target.kind == "Pod" && patch["status"]["conditions"][0]["status"] == "False")), "pods are marked not ready");
    assert!(
        !changes.iter().any(|c| matches!(c, Change::Delete { .. })),
        "no eviction before the toleration runs out"
    );
}

#[test]
fn pods_are_evicted_when_their_toleration_runs_out() {
    let taints = json!([{"key": UNREACHABLE_TAINT, "effect": "NoSchedule"}, {"key": UNREACHABLE_TAINT, "effect": "NoExecute", "timeAdded": "2025-12-31T23:55:00Z"}]);
    let n = node("Unknown", "2025-12-31T23:50:00Z", taints);
    let tolerate = |seconds: serde_json::Value| json!([{"key": UNREACHABLE_TAINT, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": seconds}]);
    let s = state(vec![
        ("Node", n.clone()),
        ("Pod", pod("default-toleration", json!(null))),
        ("Pod", pod("short", tolerate(json!(60)))),
        ("Pod", pod("long", tolerate(json!(600)))),
        (
            "Pod",
            pod(
                "forever",
                json!([{"key": UNREACHABLE_TAINT, "operator": "Exists", "effect": "NoExecute"}]),
            ),
        ),
    ]);
    let changes = reconcile(&object(n), &s, &ControllersConfig::default());
    let mut evicted: Vec<&str> = changes
        .iter()
        .filter_map(|c| match c {
            Change::Delete { target, .. } => Some(target.name.as_str()),
            _ => None,
        })
        .collect();
    evicted.sort();
    assert_eq!(
        evicted,
        vec!["default-toleration", "short"],
        "300 s default and 60 s passed; 600 s and unlimited did not"
    );
    assert_eq!(taint_patch(&changes), None, "taints already right");
}

#[test]
fn a_recovered_node_loses_its_taints_and_keeps_others() {
    let taints = json!([{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}, {"key": NOT_READY_TAINT, "effect": "NoSchedule"}]);
    let n = node("True", "2025-12-31T23:59:59Z", taints);
    let s = state(vec![("Node", n.clone())]);
    let changes = reconcile(&object(n), &s, &ControllersConfig::default());
    assert_eq!(
        taint_patch(&changes).unwrap(),
        json!([{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}])
    );
}

#[test]
fn the_grace_period_is_configurable() {
    let n = node("True", "2025-12-31T23:59:50Z", json!(null));
    let s = state(vec![("Node", n.clone())]);
    let config = ControllersConfig {
        node_monitor_grace_period: std::time::Duration::from_secs(5),
        ..ControllersConfig::default()
    };
    assert!(taint_patch(&reconcile(&object(n), &s, &config)).is_some());
}
