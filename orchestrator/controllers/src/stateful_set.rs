//! StatefulSet: pods with stable names `<name>-<ordinal>`, created in order (each after its
//! predecessors are Running and Ready, unless `podManagementPolicy: Parallel`), removed from the
//! highest ordinal down, and rolled from the highest ordinal down to `partition`.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use serde_json::json;

use crate::change::{controller_ref, is_controlled_by, is_terminating, Change, Target};
use crate::pod_template_hash::compute_hash;
use crate::pods::{is_available, is_ready, phase, pod_from_template};
use crate::state::ClusterState;

/// Label with the template revision a pod was made from.
pub const REVISION_LABEL: &str = "controller-revision-hash";
/// Label with the pod's own name.
pub const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";
/// Label with the pod's ordinal.
pub const POD_INDEX_LABEL: &str = "apps.kubernetes.io/pod-index";

/// Reconciles every StatefulSet.
pub fn reconcile_all(state: &ClusterState) -> Vec<Change> {
    state
        .stateful_sets
        .values()
        .flat_map(|s| reconcile(s, state))
        .collect()
}

fn ordinal(set_name: &str, pod: &Pod) -> Option<i32> {
    pod.metadata
        .name
        .as_deref()?
        .strip_prefix(set_name)?
        .strip_prefix('-')?
        .parse()
        .ok()
}

fn healthy(pod: &Pod) -> bool {
    phase(pod) == "Running" && is_ready(pod) && !is_terminating(&pod.metadata)
}

fn revision_of(pod: &Pod) -> Option<&str> {
    pod.metadata
        .labels
        .as_ref()?
        .get(REVISION_LABEL)
        .map(String::as_str)
}

/// What one StatefulSet needs.
pub fn reconcile(set: &StatefulSet, state: &ClusterState) -> Vec<Change> {
    let meta = &set.metadata;
    if is_terminating(meta) {
        return Vec::new();
    }
    let namespace = meta.namespace.as_deref().unwrap_or("default");
    let name = meta.name.as_deref().unwrap_or_default();
    let uid = meta.uid.as_deref().unwrap_or_default();
    let spec = set.spec.clone().unwrap_or_default();
    let replicas = spec.replicas.unwrap_or(1).max(0);
    let parallel = spec.pod_management_policy.as_deref() == Some("Parallel");
    let revision = format!(
        "{name}-{}",
        compute_hash(
            &spec.template,
            set.status.as_ref().and_then(|s| s.collision_count)
        )
    );
    let pods: BTreeMap<i32, &Pod> = state
        .pods_in(namespace)
        .filter(|p| is_controlled_by(&p.metadata, uid))
        .filter_map(|p| ordinal(name, p).map(|o| (o, p)))
        .collect();
    let mut changes = Vec::new();

    // Failed pods are replaced.
    for pod in pods
        .values()
        .filter(|p| phase(p) == "Failed" && !is_terminating(&p.metadata))
    {
        changes.push(Change::Delete {
            target: Target::of(*pod),
            propagation: None,
            uid: pod.metadata.uid.clone(),
        });
    }
    // Create missing ordinals, in order.
    for i in 0..replicas {
        if pods.contains_key(&i) {
            if !parallel && !pods.get(&i).is_some_and(|p| healthy(p)) {
                break;
            }
            continue;
        }
        changes.push(create_pod(
            set,
            &spec.template,
            namespace,
            name,
            i,
            &revision,
        ));
        if !parallel {
            break;
        }
    }
    // Scale down from the highest ordinal, one at a time unless Parallel.
    let all_healthy_below = |limit: i32| {
        pods.iter()
            .filter(|(o, _)| **o < limit)
            .all(|(_, p)| healthy(p))
    };
    let excess: Vec<&&Pod> = pods
        .iter()
        .rev()
        .filter(|(o, _)| **o >= replicas)
        .map(|(_, p)| p)
        .collect();
    for pod in &excess {
        if is_terminating(&pod.metadata) {
            if !parallel {
                break;
            }
            continue;
        }
        if !parallel && !all_healthy_below(replicas) {
            break;
        }
        changes.push(Change::Delete {
            target: Target::of(**pod),
            propagation: None,
            uid: pod.metadata.uid.clone(),
        });
        if !parallel {
            break;
        }
    }
    // Rolling update: replace the highest outdated ordinal at or above the partition once all are healthy.
    let rolling = spec
        .update_strategy
        .as_ref()
        .and_then(|u| u.type_.as_deref())
        .unwrap_or("RollingUpdate")
        == "RollingUpdate";
    let partition = spec
        .update_strategy
        .as_ref()
        .and_then(|u| u.rolling_update.as_ref())
        .and_then(|r| r.partition)
        .unwrap_or(0);
    if rolling
        && excess.is_empty()
        && pods.len() as i32 == replicas
        && pods.values().all(|p| healthy(p))
    {
        if let Some((_, pod)) = pods
            .iter()
            .rev()
            .find(|(o, p)| **o >= partition && revision_of(p) != Some(revision.as_str()))
        {
            changes.push(Change::Delete {
                target: Target::of(*pod),
                propagation: None,
                uid: pod.metadata.uid.clone(),
            });
        }
    }
    // Status.
    let min_ready = spec.min_ready_seconds.unwrap_or(0);
    let current: Vec<&&Pod> = pods
        .values()
        .filter(|p| !is_terminating(&p.metadata))
        .collect();
    let ready = current.iter().filter(|p| is_ready(p)).count() as i32;
    let available = current
        .iter()
        .filter(|p| is_available(p, min_ready, state.now))
        .count() as i32;
    let updated = current
        .iter()
        .filter(|p| revision_of(p) == Some(revision.as_str()))
        .count() as i32;
    let status = set.status.clone().unwrap_or_default();
    let new_status = json!({"observedGeneration": meta.generation, "replicas": current.len() as i32, "readyReplicas": ready,
        "availableReplicas": available, "currentReplicas": updated, "updatedReplicas": updated,
        "currentRevision": revision, "updateRevision": revision});
    let old_status = json!({"observedGeneration": status.observed_generation, "replicas": status.replicas, "readyReplicas": status.ready_replicas.unwrap_or(0),
        "availableReplicas": status.available_replicas.unwrap_or(0), "currentReplicas": status.current_replicas.unwrap_or(0), "updatedReplicas": status.updated_replicas.unwrap_or(0),
        "currentRevision": status.current_revision, "updateRevision": status.update_revision});
    if new_status != old_status {
        changes.push(Change::PatchStatus {
            target: Target::of(set),
            patch: json!({"status": new_status}),
        });
    }
    changes
}

fn create_pod(
    set: &StatefulSet,
    template: &k8s_openapi::api::core::v1::PodTemplateSpec,
    namespace: &str,
    name: &str,
    ordinal: i32,
    revision: &str,
) -> Change {
    let pod_name = format!("{name}-{ordinal}");
    let mut pod = pod_from_template(template, namespace, &pod_name, false, controller_ref(set));
    let labels = &mut pod["metadata"]["labels"];
    if labels.is_null() {
        *labels = json!({});
    }
    labels[POD_NAME_LABEL] = json!(pod_name);
    labels[POD_INDEX_LABEL] = json!(ordinal.to_string());
    labels[REVISION_LABEL] = json!(revision);
    pod["spec"]["hostname"] = json!(pod_name);
    if let Some(service) = set
        .spec
        .as_ref()
        .and_then(|s| s.service_name.as_ref())
        .filter(|s| !s.is_empty())
    {
        pod["spec"]["subdomain"] = json!(service);
    }
    Change::Create {
        target: Target::new::<Pod>(Some(namespace), &pod_name),
        object: pod,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{object, state};

    fn set(replicas: i32, extra: serde_json::Value) -> serde_json::Value {
        let mut s = json!({"metadata": {"name": "db", "namespace": "default", "uid": "ss-uid", "generation": 1},
            "spec": {"replicas": replicas, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "c", "image": "postgres"}]}}}});
        crate::testing::merge(&mut s, extra);
        s
    }

    fn pod(ordinal: i32, healthy: bool, revision: &str) -> serde_json::Value {
        json!({"metadata": {"name": format!("db-{ordinal}"), "namespace": "default", "uid": format!("p{ordinal}"), "labels": {"app": "db", REVISION_LABEL: revision},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db", "uid": "ss-uid", "controller": true}]},
            "spec": {"containers": []},
            "status": {"phase": if healthy {"Running"} else {"Pending"}, "conditions": [{"type": "Ready", "status": if healthy {"True"} else {"False"}}]}})
    }

    fn current_revision() -> String {
        let s: StatefulSet = object(set(3, json!({})));
        format!("db-{}", compute_hash(&s.spec.unwrap().template, None))
    }

    fn summary(changes: &[Change]) -> Vec<String> {
        changes
            .iter()
            .filter_map(|c| match c {
                Change::Create { target, .. } => Some(format!("create {}", target.name)),
                Change::Delete { target, .. } => Some(format!("delete {}", target.name)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn ordered_creation_waits_for_each_predecessor() {
        let rev = current_revision();
        let cases = [
            (vec![], vec!["create db-0"]),
            (vec![pod(0, false, &rev)], vec![]),
            (vec![pod(0, true, &rev)], vec!["create db-1"]),
            (
                vec![pod(0, true, &rev), pod(1, true, &rev)],
                vec!["create db-2"],
            ),
        ];
        for (pods, want) in cases {
            let s = state(pods.into_iter().map(|p| ("Pod", p)).collect());
            assert_eq!(summary(&reconcile(&object(set(3, json!({}))), &s)), want);
        }
    }

    #[test]
    fn parallel_policy_creates_all_at_once() {
        let changes = reconcile(
            &object(set(3, json!({"spec": {"podManagementPolicy": "Parallel"}}))),
            &state(vec![]),
        );
        assert_eq!(
            summary(&changes),
            vec!["create db-0", "create db-1", "create db-2"]
        );
        let Change::Create { object: p, .. } = &changes[0] else {
            unreachable!()
        };
        assert_eq!(
            (
                p["spec"]["hostname"].as_str(),
                p["spec"]["subdomain"].as_str()
            ),
            (Some("db-0"), Some("db"))
        );
    }

    #[test]
    fn scale_down_removes_the_highest_ordinal_first() {
        let rev = current_revision();
        let s = state((0..3).map(|i| ("Pod", pod(i, true, &rev))).collect());
        assert_eq!(
            summary(&reconcile(&object(set(1, json!({}))), &s)),
            vec!["delete db-2"]
        );
    }

    #[test]
    fn rolling_update_replaces_the_highest_outdated_pod_above_the_partition() {
        let s = state((0..3).map(|i| ("Pod", pod(i, true, "db-old"))).collect());
        assert_eq!(
            summary(&reconcile(&object(set(3, json!({}))), &s)),
            vec!["delete db-2"]
        );
        let partitioned = set(
            3,
            json!({"spec": {"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 3}}}}),
        );
        assert!(summary(&reconcile(&object(partitioned), &s)).is_empty());
    }
}
