//! DaemonSet: one pod per eligible node (node selector, required node affinity, taints the pod
//! tolerates), pinned with a `metadata.name` node-affinity term so the scheduler binds it there;
//! RollingUpdate replaces outdated pods at most `maxUnavailable` at a time.

use std::collections::BTreeMap;

use clusterd_scheduler::{term_matches, tolerated};
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, Pod, PodSpec, Toleration};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::json;

use crate::change::{controller_ref, is_controlled_by, is_terminating, Change, Target};
use crate::pod_template_hash::compute_hash;
use crate::pods::{is_active, is_available, is_ready, node_name, phase, pod_from_template};
use crate::state::ClusterState;

/// Label with the template revision a pod was made from.
pub const REVISION_LABEL: &str = "controller-revision-hash";

/// Tolerations every daemon pod gets (upstream `AddOrUpdateDaemonPodTolerations`).
pub fn daemon_tolerations() -> Vec<Toleration> {
    let t = |key: &str, effect: &str| Toleration {
        key: Some(key.into()),
        operator: Some("Exists".into()),
        effect: Some(effect.into()),
        ..Toleration::default()
    };
    vec![
        t("node.kubernetes.io/not-ready", "NoExecute"),
        t("node.kubernetes.io/unreachable", "NoExecute"),
        t("node.kubernetes.io/disk-pressure", "NoSchedule"),
        t("node.kubernetes.io/memory-pressure", "NoSchedule"),
        t("node.kubernetes.io/pid-pressure", "NoSchedule"),
        t("node.kubernetes.io/unschedulable", "NoSchedule"),
    ]
}

/// Whether a daemon pod with this spec should run on the node.
pub fn eligible(spec: &PodSpec, node: &Node) -> bool {
    let name = node.metadata.name.as_deref().unwrap_or_default();
    let labels = node.metadata.labels.clone().unwrap_or_default();
    if !spec
        .node_selector
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v))
    {
        return false;
    }
    let required = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|n| {
            n.required_during_scheduling_ignored_during_execution
                .as_ref()
        });
    if let Some(selector) = required {
        if !selector
            .node_selector_terms
            .iter()
            .any(|t| term_matches(t, name, &labels))
        {
            return false;
        }
    }
    let mut tolerations = spec.tolerations.clone().unwrap_or_default();
    tolerations.extend(daemon_tolerations());
    node.spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .into_iter()
        .flatten()
        .filter(|t| t.effect == "NoSchedule" || t.effect == "NoExecute")
        .all(|t| tolerated(&tolerations, t))
}

/// The node a daemon pod is for: its `nodeName`, or the node its affinity pins it to.
fn target_node(pod: &Pod) -> Option<String> {
    if let Some(node) = node_name(pod) {
        return Some(node.to_string());
    }
    let terms = &pod
        .spec
        .as_ref()?
        .affinity
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required_during_scheduling_ignored_during_execution
        .as_ref()?
        .node_selector_terms;
    terms
        .iter()
        .flat_map(|t| t.match_fields.iter().flatten())
        .find(|f| f.key == "metadata.name")
        .and_then(|f| f.values.as_ref()?.first().cloned())
}

/// Reconciles every DaemonSet.
pub fn reconcile_all(state: &ClusterState) -> Vec<Change> {
    state
        .daemon_sets
        .values()
        .flat_map(|ds| reconcile(ds, state))
        .collect()
}

/// What one DaemonSet needs.
pub fn reconcile(ds: &DaemonSet, state: &ClusterState) -> Vec<Change> {
    let meta = &ds.metadata;
    if is_terminating(meta) {
        return Vec::new();
    }
    let namespace = meta.namespace.as_deref().unwrap_or("default");
    let name = meta.name.as_deref().unwrap_or_default();
    let uid = meta.uid.as_deref().unwrap_or_default();
    let spec = ds.spec.clone().unwrap_or_default();
    let template_spec = spec.template.spec.clone().unwrap_or_default();
    let revision = compute_hash(
        &spec.template,
        ds.status.as_ref().and_then(|s| s.collision_count),
    );
    let min_ready = spec.min_ready_seconds.unwrap_or(0);
    let mut by_node: BTreeMap<String, Vec<&Pod>> = BTreeMap::new();
    let mut changes = Vec::new();
    for pod in state
        .pods_in(namespace)
        .filter(|p| is_controlled_by(&p.metadata, uid))
    {
        if phase(pod) == "Failed" && !is_terminating(&pod.metadata) {
            changes.push(Change::Delete {
                target: Target::of(pod),
                propagation: None,
                uid: pod.metadata.uid.clone(),
            });
            continue;
        }
        if is_active(pod) {
            if let Some(node) = target_node(pod) {
                by_node.entry(node).or_default().push(pod);
            }
        }
    }
    let (mut desired, mut scheduled, mut misscheduled, mut ready, mut available, mut updated) =
        (0, 0, 0, 0, 0, 0);
    let mut outdated: Vec<&Pod> = Vec::new();
    let mut unavailable = 0;
    for node in state.nodes.values() {
        let node_name = node.metadata.name.clone().unwrap_or_default();
        let pods = by_node.remove(&node_name).unwrap_or_default();
        if eligible(&template_spec, node) {
            desired += 1;
            if pods.is_empty() {
                changes.push(create_pod(ds, namespace, name, &node_name, &revision));
                unavailable += 1;
                continue;
            }
            scheduled += 1;
            let mut pods = pods;
            pods.sort_by_key(|p| p.metadata.creation_timestamp.as_ref().map(|t| t.0));
            for extra in &pods[1..] {
                changes.push(Change::Delete {
                    target: Target::of(*extra),
                    propagation: None,
                    uid: extra.metadata.uid.clone(),
                });
            }
            let pod = pods[0];
            ready += i32::from(is_ready(pod));
            let is_avail = is_available(pod, min_ready, state.now);
            available += i32::from(is_avail);
            unavailable += i32::from(!is_avail);
            if pod
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(REVISION_LABEL))
                == Some(&revision)
            {
                updated += 1;
            } else {
                outdated.push(pod);
            }
        } else if !pods.is_empty() {
            misscheduled += 1;
            for pod in pods {
                changes.push(Change::Delete {
                    target: Target::of(pod),
                    propagation: None,
                    uid: pod.metadata.uid.clone(),
                });
            }
        }
    }
    // Pods pinned to nodes that no longer exist.
    for pods in by_node.values() {
        for pod in pods {
            changes.push(Change::Delete {
                target: Target::of(*pod),
                propagation: None,
                uid: pod.metadata.uid.clone(),
            });
        }
    }
    let strategy = spec.update_strategy.clone().unwrap_or_default();
    if strategy.type_.as_deref().unwrap_or("RollingUpdate") == "RollingUpdate" {
        let max_unavailable = match strategy.rolling_update.and_then(|r| r.max_unavailable) {
            Some(IntOrString::Int(n)) => n,
            Some(IntOrString::String(p)) => {
                (p.trim_end_matches('%').parse::<i32>().unwrap_or(0) * desired) / 100
            }
            None => 1,
        }
        .max(1);
        // Unavailable outdated pods go first; they cost nothing.
        outdated.sort_by_key(|p| is_available(p, min_ready, state.now));
        let mut budget = max_unavailable - unavailable;
        for pod in outdated {
            let costs = is_available(pod, min_ready, state.now);
            if costs && budget <= 0 {
                break;
            }
            changes.push(Change::Delete {
                target: Target::of(pod),
                propagation: None,
                uid: pod.metadata.uid.clone(),
            });
            if costs {
                budget -= 1;
            }
        }
    }
    let status = ds.status.clone().unwrap_or_default();
    let new_status = json!({"desiredNumberScheduled": desired, "currentNumberScheduled": scheduled, "numberMisscheduled": misscheduled,
        "numberReady": ready, "numberAvailable": available, "numberUnavailable": desired - available, "updatedNumberScheduled": updated,
        "observedGeneration": meta.generation});
    let old_status = json!({"desiredNumberScheduled": status.desired_number_scheduled, "currentNumberScheduled": status.current_number_scheduled,
        "numberMisscheduled": status.number_misscheduled, "numberReady": status.number_ready, "numberAvailable": status.number_available.unwrap_or(0),
        "numberUnavailable": status.number_unavailable.unwrap_or(0), "updatedNumberScheduled": status.updated_number_scheduled.unwrap_or(0),
        "observedGeneration": status.observed_generation});
    if new_status != old_status {
        changes.push(Change::PatchStatus {
            target: Target::of(ds),
            patch: json!({"status": new_status}),
        });
    }
    changes
}

fn create_pod(ds: &DaemonSet, namespace: &str, name: &str, node: &str, revision: &str) -> Change {
    let template = ds
        .spec
        .as_ref()
        .map(|s| s.template.clone())
        .unwrap_or_default();
    let mut pod = pod_from_template(
        &template,
        namespace,
        &format!("{name}-"),
        true,
        controller_ref(ds),
    );
    if pod["metadata"]["labels"].is_null() {
        pod["metadata"]["labels"] = json!({});
    }
    pod["metadata"]["labels"][REVISION_LABEL] = json!(revision);
    let mut tolerations = template
        .spec
        .as_ref()
        .and_then(|s| s.tolerations.clone())
        .unwrap_or_default();
    for t in daemon_tolerations() {
        if !tolerations
            .iter()
            .any(|x| x.key == t.key && x.effect == t.effect)
        {
            tolerations.push(t);
        }
    }
    pod["spec"]["tolerations"] = json!(tolerations);
    // Pin to the node: the scheduler's node-affinity filter does the rest (upstream since 1.12).
    pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] = json!({"nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]});
    Change::Create {
        target: Target::new::<Pod>(Some(namespace), &format!("{name}-")),
        object: pod,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{object, state};

    fn ds(extra: serde_json::Value) -> serde_json::Value {
        let mut d = json!({"metadata": {"name": "agent", "namespace": "kube-system", "uid": "ds-uid", "generation": 1},
            "spec": {"selector": {"matchLabels": {"app": "agent"}},
                "template": {"metadata": {"labels": {"app": "agent"}}, "spec": {"containers": [{"name": "c", "image": "agent:1"}]}}}});
        crate::testing::merge(&mut d, extra);
        d
    }

    fn node(name: &str, extra: serde_json::Value) -> serde_json::Value {
        let mut n = json!({"metadata": {"name": name, "labels": {"kubernetes.io/os": "linux"}}, "spec": {}});
        crate::testing::merge(&mut n, extra);
        n
    }

    fn pod(name: &str, node: &str, revision: &str) -> serde_json::Value {
        json!({"metadata": {"name": name, "namespace": "kube-system", "uid": name, "labels": {"app": "agent", REVISION_LABEL: revision},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent", "uid": "ds-uid", "controller": true}]},
            "spec": {"nodeName": node, "containers": []},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}})
    }

    fn pinned_nodes(changes: &[Change]) -> Vec<String> {
        changes
            .iter()
            .filter_map(|c| match c {
                Change::Create { object, .. } => object["spec"]["affinity"]["nodeAffinity"]
                    ["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]
                    ["matchFields"][0]["values"][0]
                    .as_str()
                    .map(str::to_string),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn one_pod_per_eligible_node_pinned_by_affinity() {
        let s = state(vec![
            ("Node", node("a", json!({}))),
            ("Node", node("b", json!({"spec": {"unschedulable": true}}))),
            (
                "Node",
                node(
                    "cp",
                    json!({"spec": {"taints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]}}),
                ),
            ),
            (
                "Node",
                node(
                    "win",
                    json!({"metadata": {"labels": {"kubernetes.io/os": "windows"}}}),
                ),
            ),
        ]);
        let changes = reconcile(
            &object(ds(
                json!({"spec": {"template": {"spec": {"nodeSelector": {"kubernetes.io/os": "linux"}}}}}),
            )),
            &s,
        );
        assert_eq!(
            pinned_nodes(&changes),
            vec!["a", "b"],
            "cordoned is fine, untolerated taint and selector are not"
        );
    }

    #[test]
    fn pods_on_nodes_that_became_ineligible_are_removed() {
        let s = state(vec![
            (
                "Node",
                node(
                    "a",
                    json!({"metadata": {"labels": {"kubernetes.io/os": "windows"}}}),
                ),
            ),
            ("Pod", pod("agent-x", "a", "r")),
        ]);
        let changes = reconcile(
            &object(ds(
                json!({"spec": {"template": {"spec": {"nodeSelector": {"kubernetes.io/os": "linux"}}}}}),
            )),
            &s,
        );
        assert!(changes
            .iter()
            .any(|c| matches!(c, Change::Delete { target, .. } if target.name == "agent-x")));
    }

    #[test]
    fn rolling_update_replaces_one_outdated_pod_at_a_time() {
        let s = state(vec![
            ("Node", node("a", json!({}))),
            ("Node", node("b", json!({}))),
            ("Pod", pod("agent-a", "a", "old")),
            ("Pod", pod("agent-b", "b", "old")),
        ]);
        let deletes = reconcile(&object(ds(json!({}))), &s)
            .iter()
            .filter(|c| matches!(c, Change::Delete { .. }))
            .count();
        assert_eq!(deletes, 1);
    }
}
