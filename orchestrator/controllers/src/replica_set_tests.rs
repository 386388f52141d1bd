use serde_json::json;

use super::*;
use crate::testing::{object, state};

fn rs(replicas: i32) -> serde_json::Value {
    json!({"metadata": {"name": "web", "namespace": "default", "uid": "rs-uid", "generation": 2},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
}

fn pod(name: &str, node: Option<&str>, phase: &str, ready: bool, owned: bool) -> serde_json::Value {
    let owners = if owned {
        json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": "rs-uid", "controller": true}])
    } else {
        json!(null)
    };
    json!({"metadata": {"name": name, "namespace": "default", "uid": format!("{name}-uid"), "labels": {"app": "web"},
            "ownerReferences": owners, "creationTimestamp": "2025-12-31T00:00:00Z"},
        "spec": {"nodeName": node, "containers": [{"name": "c", "image": "nginx"}]},
        "status": {"phase": phase, "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}, "lastTransitionTime": "2025-12-31T12:00:00Z"}]}})
}

fn creates(changes: &[Change]) -> usize {
    changes
        .iter()
        .filter(|c| matches!(c, Change::Create { .. }))
        .count()
}

fn deleted(changes: &[Change]) -> Vec<String> {
    changes
        .iter()
        .filter_map(|c| match c {
            Change::Delete { target, .. } => Some(target.name.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn missing_pods_are_created_from_the_template_with_an_owner_reference() {
    let s = state(vec![
        ("ReplicaSet", rs(3)),
        ("Pod", pod("web-a", Some("n1"), "Running", true, true)),
    ]);
    let changes = reconcile(&object(rs(3)), &s).unwrap();
    assert_eq!(creates(&changes), 2);
    let Change::Create {
        object: created, ..
    } = changes
        .iter()
        .find(|c| matches!(c, Change::Create { .. }))
        .unwrap()
    else {
        unreachable!()
    };
    assert_eq!(created["metadata"]["generateName"], "web-");
    assert_eq!(created["metadata"]["labels"]["app"], "web");
    assert_eq!(created["metadata"]["ownerReferences"][0]["uid"], "rs-uid");
    assert_eq!(
        created["metadata"]["ownerReferences"][0]["controller"],
        true
    );
}

#[test]
fn orphans_matching_the_selector_are_adopted_instead_of_creating_more() {
    let s = state(vec![(
        "Pod",
        pod("stray", Some("n1"), "Running", true, false),
    )]);
    let changes = reconcile(&object(rs(1)), &s).unwrap();
    assert_eq!(creates(&changes), 0);
    assert!(changes.iter().any(|c| matches!(c, Change::Patch { target, patch } if target.name == "stray" && patch["metadata"]["ownerReferences"][0]["uid"] == "rs-uid")));
}

#[test]
fn owned_pods_that_stop_matching_are_released() {
    let mut relabelled = pod("moved", Some("n1"), "Running", true, true);
    relabelled["metadata"]["labels"] = json!({"app": "debug"});
    let s = state(vec![("Pod", relabelled)]);
    let changes = reconcile(&object(rs(0)), &s).unwrap();
    assert!(changes.iter().any(|c| matches!(c, Change::Patch { target, patch } if target.name == "moved" && patch["metadata"]["ownerReferences"].is_null())));
}

#[test]
fn scale_down_deletes_unscheduled_then_pending_then_unready_pods_first() {
    let s = state(vec![
        (
            "Pod",
            pod("running-ready", Some("n1"), "Running", true, true),
        ),
        (
            "Pod",
            pod("running-unready", Some("n2"), "Running", false, true),
        ),
        ("Pod", pod("pending", Some("n3"), "Pending", false, true)),
        ("Pod", pod("unscheduled", None, "Pending", false, true)),
    ]);
    let cases = [
        (3, vec!["unscheduled"]),
        (2, vec!["unscheduled", "pending"]),
        (1, vec!["unscheduled", "pending", "running-unready"]),
    ];
    for (replicas, want) in cases {
        assert_eq!(
            deleted(&reconcile(&object(rs(replicas)), &s).unwrap()),
            want,
            "replicas {replicas}"
        );
    }
}

#[test]
fn doubled_up_pods_go_before_lone_ones() {
    let s = state(vec![
        ("Pod", pod("alone", Some("n1"), "Running", true, true)),
        ("Pod", pod("pair-a", Some("n2"), "Running", true, true)),
        ("Pod", pod("pair-b", Some("n2"), "Running", true, true)),
    ]);
    let gone = deleted(&reconcile(&object(rs(2)), &s).unwrap());
    assert_eq!(gone.len(), 1);
    assert!(gone[0].starts_with("pair"), "{gone:?}");
}

#[test]
fn status_counts_replicas_ready_and_available() {
    let s = state(vec![
        ("Pod", pod("a", Some("n1"), "Running", true, true)),
        ("Pod", pod("b", Some("n1"), "Running", false, true)),
    ]);
    let changes = reconcile(&object(rs(2)), &s).unwrap();
    let status = changes
        .iter()
        .find_map(|c| match c {
            Change::PatchStatus { patch, .. } => Some(patch["status"].clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        (
            status["replicas"].as_i64(),
            status["readyReplicas"].as_i64(),
            status["availableReplicas"].as_i64()
        ),
        (Some(2), Some(1), Some(1))
    );
    assert_eq!(status["observedGeneration"], 2);
}

#[test]
fn slow_start_doubles_batch_sizes() {
    assert_eq!(slow_start_batches(10), vec![1, 2, 4, 3]);
    assert_eq!(slow_start_batches(1), vec![1]);
    assert!(slow_start_batches(0).is_empty());
}
