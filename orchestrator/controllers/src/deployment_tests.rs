use serde_json::{json, Value};

use super::*;
use crate::testing::state;

fn deployment(image: &str, extra: Value) -> Value {
    let mut d = json!({"metadata": {"name": "web", "namespace": "default", "uid": "d-uid", "generation": 1},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": image}]}}}});
    crate::testing::merge(&mut d, extra);
    d
}

/// Applies a pass's changes to the state the way the API server and a ReplicaSet controller whose
/// pods become available at once would; returns the ReplicaSet sizes oldest first.
fn apply(s: &mut ClusterState, changes: &[Change], tick: &mut i64) {
    for change in changes {
        match change {
            Change::Create { object, .. } => {
                let mut rs = object.clone();
                *tick += 1;
                rs["metadata"]["uid"] = json!(format!("rs-{tick}"));
                rs["metadata"]["creationTimestamp"] =
                    json!(format!("2026-01-01T00:00:{:02}Z", *tick));
                let n = rs["spec"]["replicas"].clone();
                rs["status"] = json!({"replicas": n, "readyReplicas": n, "availableReplicas": n});
                s.upsert("ReplicaSet", rs);
            }
            Change::Patch { target, patch } | Change::PatchStatus { target, patch } => {
                let key = format!(
                    "{}/{}",
                    target.namespace.as_deref().unwrap_or_default(),
                    target.name
                );
                let mut object = match target.kind.as_str() {
                    "ReplicaSet" => serde_json::to_value(&s.replica_sets[&key]).unwrap(),
                    _ => serde_json::to_value(&s.deployments[&key]).unwrap(),
                };
                json_patch::merge(&mut object, patch);
                if target.kind == "ReplicaSet" {
                    let n = object["spec"]["replicas"].clone();
                    object["status"] =
                        json!({"replicas": n, "readyReplicas": n, "availableReplicas": n});
                }
                s.upsert(&target.kind, object);
            }
            Change::Delete { target, .. } => {
                s.remove(
                    &target.kind,
                    &format!(
                        "{}/{}",
                        target.namespace.as_deref().unwrap_or_default(),
                        target.name
                    ),
                );
            }
            _ => {}
        }
    }
}

fn sizes(s: &ClusterState) -> Vec<(String, i32)> {
    let mut rss: Vec<_> = s.replica_sets.values().collect();
    rss.sort_by_key(|rs| rs.metadata.creation_timestamp.as_ref().map(|t| t.0));
    rss.iter()
        .map(|rs| {
            (
                rs.spec
                    .as_ref()
                    .unwrap()
                    .template
                    .as_ref()
                    .unwrap()
                    .spec
                    .as_ref()
                    .unwrap()
                    .containers[0]
                    .image
                    .clone()
                    .unwrap(),
                rs.spec.as_ref().unwrap().replicas.unwrap(),
            )
        })
        .collect()
}

fn converge(s: &mut ClusterState, tick: &mut i64) -> Vec<Vec<(String, i32)>> {
    let mut steps = Vec::new();
    for _ in 0..30 {
        let d = s.deployments["default/web"].clone();
        let changes = reconcile(&d, s).unwrap();
        let before = sizes(s);
        apply(s, &changes, tick);
        if changes.is_empty() {
            break;
        }
        if before != sizes(s) {
            steps.push(sizes(s));
        }
    }
    steps
}

fn pairs(steps: &[Vec<(String, i32)>]) -> Vec<Vec<i32>> {
    steps
        .iter()
        .map(|s| s.iter().map(|(_, n)| *n).collect())
        .collect()
}

#[test]
fn rolling_update_from_v1_to_v2_with_surge_one_steps_through_expected_sizes() {
    let mut s = state(vec![("Deployment", deployment("nginx:1", json!({})))]);
    let mut tick = 0;
    let created = converge(&mut s, &mut tick);
    assert_eq!(pairs(&created), vec![vec![3]]);
    s.upsert(
        "Deployment",
        deployment("nginx:2", json!({"metadata": {"generation": 2}})),
    );
    let steps = converge(&mut s, &mut tick);
    // [old, new] after each pass: surge one new, drop one old, ...
    assert_eq!(
        pairs(&steps),
        vec![
            vec![3, 1],
            vec![2, 1],
            vec![2, 2],
            vec![1, 2],
            vec![1, 3],
            vec![0, 3]
        ]
    );
    let d = &s.deployments["default/web"];
    let status = d.status.as_ref().unwrap();
    assert_eq!(
        (
            status.replicas,
            status.updated_replicas,
            status.available_replicas,
            status.observed_generation
        ),
        (Some(3), Some(3), Some(3), Some(2))
    );
    let progressing = status
        .conditions
        .as_ref()
        .unwrap()
        .iter()
        .find(|c| c.type_ == "Progressing")
        .unwrap();
    assert_eq!(
        progressing.reason.as_deref(),
        Some("NewReplicaSetAvailable")
    );
    assert!(progressing
        .message
        .as_deref()
        .unwrap()
        .ends_with("has successfully progressed."));
    assert_eq!(
        d.metadata.annotations.as_ref().unwrap()[REVISION_ANNOTATION],
        "2"
    );
}

#[test]
fn recreate_scales_old_to_zero_before_starting_new() {
    let recreate = json!({"spec": {"strategy": {"type": "Recreate", "rollingUpdate": null}}});
    let mut s = state(vec![(
        "Deployment",
        deployment("nginx:1", recreate.clone()),
    )]);
    let mut tick = 0;
    converge(&mut s, &mut tick);
    let mut v2 = deployment("nginx:2", recreate);
    v2["metadata"]["generation"] = json!(2);
    s.upsert("Deployment", v2);
    let steps = converge(&mut s, &mut tick);
    assert_eq!(pairs(&steps), vec![vec![0], vec![0, 3]]);
}

#[test]
fn rollback_to_an_old_template_reuses_its_replica_set_with_a_new_revision() {
    let mut s = state(vec![("Deployment", deployment("nginx:1", json!({})))]);
    let mut tick = 0;
    converge(&mut s, &mut tick);
    s.upsert("Deployment", deployment("nginx:2", json!({})));
    converge(&mut s, &mut tick);
    // `kubectl rollout undo` writes the old template back.
    s.upsert(
        "Deployment",
        deployment(
            "nginx:1",
            json!({"metadata": {"annotations": {REVISION_ANNOTATION: "2"}}}),
        ),
    );
    converge(&mut s, &mut tick);
    assert_eq!(s.replica_sets.len(), 2, "no third ReplicaSet");
    let v1 = s
        .replica_sets
        .values()
        .find(|rs| sizes_of(rs).0 == "nginx:1")
        .unwrap();
    assert_eq!(
        v1.metadata.annotations.as_ref().unwrap()[REVISION_ANNOTATION],
        "3"
    );
    assert_eq!(sizes_of(v1).1, 3);
    assert_eq!(
        s.deployments["default/web"]
            .metadata
            .annotations
            .as_ref()
            .unwrap()[REVISION_ANNOTATION],
        "3"
    );
}

fn sizes_of(rs: &ReplicaSet) -> (String, i32) {
    let spec = rs.spec.as_ref().unwrap();
    (
        spec.template
            .as_ref()
            .unwrap()
            .spec
            .as_ref()
            .unwrap()
            .containers[0]
            .image
            .clone()
            .unwrap(),
        spec.replicas.unwrap(),
    )
}

#[test]
fn a_paused_deployment_does_not_roll_and_says_so() {
    let mut s = state(vec![("Deployment", deployment("nginx:1", json!({})))]);
    let mut tick = 0;
    converge(&mut s, &mut tick);
    s.upsert(
        "Deployment",
        deployment("nginx:2", json!({"spec": {"paused": true}})),
    );
    converge(&mut s, &mut tick);
    assert_eq!(s.replica_sets.len(), 1);
    let status = s.deployments["default/web"].status.clone().unwrap();
    let progressing = status
        .conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_ == "Progressing")
        .unwrap();
    assert_eq!(
        (progressing.status.as_str(), progressing.reason.as_deref()),
        ("Unknown", Some("DeploymentPaused"))
    );
}

#[test]
fn history_beyond_the_limit_is_deleted_oldest_revision_first() {
    let mut s = state(vec![(
        "Deployment",
        deployment("v0", json!({"spec": {"revisionHistoryLimit": 1}})),
    )]);
    let mut tick = 0;
    converge(&mut s, &mut tick);
    for v in ["v1", "v2", "v3"] {
        s.upsert(
            "Deployment",
            deployment(v, json!({"spec": {"revisionHistoryLimit": 1}})),
        );
        converge(&mut s, &mut tick);
    }
    let mut images: Vec<String> = s.replica_sets.values().map(|rs| sizes_of(rs).0).collect();
    images.sort();
    assert_eq!(images, vec!["v2", "v3"]);
}

#[test]
fn scaling_a_deployment_resizes_its_replica_set() {
    let mut s = state(vec![("Deployment", deployment("nginx:1", json!({})))]);
    let mut tick = 0;
    converge(&mut s, &mut tick);
    s.upsert(
        "Deployment",
        deployment("nginx:1", json!({"spec": {"replicas": 5}})),
    );
    converge(&mut s, &mut tick);
    assert_eq!(sizes(&s), vec![("nginx:1".to_string(), 5)]);
    s.upsert(
        "Deployment",
        deployment("nginx:1", json!({"spec": {"replicas": 2}})),
    );
    converge(&mut s, &mut tick);
    assert_eq!(sizes(&s), vec![("nginx:1".to_string(), 2)]);
}
