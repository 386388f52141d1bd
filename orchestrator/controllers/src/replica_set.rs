//! ReplicaSet: keep `spec.replicas` active pods matching the selector, adopting orphans and
//! releasing pods that no longer match; delete the least valuable pods first, as upstream.

use std::cmp::Ordering;
use std::collections::HashMap;

use clusterd_apimachinery::selectors::LabelSelector;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use serde_json::json;

use crate::change::{
    controller_of, controller_ref, is_controlled_by, is_terminating, Change, Target,
};
use crate::pods::{
    is_active, is_available, is_ready, node_name, phase, pod_from_template, ready_since, restarts,
};
use crate::state::ClusterState;
use crate::{Error, Result};

/// Most pods created or deleted in one pass (upstream `BurstReplicas`).
pub const BURST_REPLICAS: usize = 500;

/// Reconciles every ReplicaSet.
pub fn reconcile_all(state: &ClusterState) -> Vec<Change> {
    let mut changes = Vec::new();
    for rs in state.replica_sets.values() {
        match reconcile(rs, state) {
            Ok(mut c) => changes.append(&mut c),
            Err(error) => tracing::warn!(%error, "skipping replicaset"),
        }
    }
    changes
}

/// What one ReplicaSet needs: adopt/release patches, pod creates or deletes, and a status patch.
pub fn reconcile(rs: &ReplicaSet, state: &ClusterState) -> Result<Vec<Change>> {
    let meta = &rs.metadata;
    let namespace = meta.namespace.as_deref().unwrap_or("default");
    let name = meta.name.as_deref().unwrap_or_default();
    let uid = meta.uid.as_deref().unwrap_or_default();
    let spec = rs
        .spec
        .as_ref()
        .ok_or_else(|| Error::invalid("ReplicaSet", namespace, name, "missing spec"))?;
    let selector = LabelSelector::from_label_selector(&spec.selector)
        .map_err(|e| Error::invalid("ReplicaSet", namespace, name, &e.to_string()))?;
    let mut changes = Vec::new();
    let mut owned: Vec<&Pod> = Vec::new();
    for pod in state.pods_in(namespace) {
        let labels = pod.metadata.labels.clone().unwrap_or_default();
        let matches = !selector.is_empty() && selector.matches(&labels);
        if is_controlled_by(&pod.metadata, uid) {
            if matches {
                owned.push(pod);
            } else if !is_terminating(meta) {
                changes.push(release(pod, uid));
            }
        } else if matches
            && controller_of(&pod.metadata).is_none()
            && !is_terminating(&pod.metadata)
            && !is_terminating(meta)
        {
            changes.push(adopt(pod, rs));
            owned.push(pod);
        }
    }
    let active: Vec<&Pod> = owned.iter().copied().filter(|p| is_active(p)).collect();
    if !is_terminating(meta) {
        let want = spec.replicas.unwrap_or(1).max(0) as usize;
        if active.len() < want {
            let template = spec.template.clone().unwrap_or_default();
            for _ in 0..(want - active.len()).min(BURST_REPLICAS) {
                let pod = pod_from_template(
                    &template,
                    namespace,
                    &format!("{name}-"),
                    true,
                    controller_ref(rs),
                );
                changes.push(Change::Create {
                    target: Target::new::<Pod>(Some(namespace), &format!("{name}-")),
                    object: pod,
                });
            }
        } else if active.len() > want {
            for pod in pods_to_delete(&active, active.len() - want) {
                changes.push(Change::Delete {
                    target: Target::of(pod),
                    propagation: None,
                    uid: pod.metadata.uid.clone(),
                });
            }
        }
    }
    changes.extend(status_patch(rs, &owned, &active, state));
    Ok(changes)
}

fn adopt(pod: &Pod, rs: &ReplicaSet) -> Change {
    let mut refs = pod.metadata.owner_references.clone().unwrap_or_default();
    refs.push(controller_ref(rs));
    Change::Patch {
        target: Target::of(pod),
        patch: json!({"metadata": {"ownerReferences": crate::garbage_collector::list_or_null(&refs), "uid": pod.metadata.uid}}),
    }
}

fn release(pod: &Pod, owner_uid: &str) -> Change {
    let refs: Vec<_> = pod
        .metadata
        .owner_references
        .iter()
        .flatten()
        .filter(|o| o.uid != owner_uid)
        .cloned()
        .collect();
    Change::Patch {
        target: Target::of(pod),
        patch: json!({"metadata": {"ownerReferences": crate::garbage_collector::list_or_null(&refs), "uid": pod.metadata.uid}}),
    }
}

/// Picks `count` pods to delete, least valuable first (upstream `getPodsToDelete` with ranks:
/// unscheduled, pending, not ready, doubled-up on a node, recently ready, restarting, newest).
pub fn pods_to_delete<'a>(pods: &[&'a Pod], count: usize) -> Vec<&'a Pod> {
    let mut per_node: HashMap<&str, usize> = HashMap::new();
    for pod in pods {
        if let Some(node) = node_name(pod) {
            *per_node.entry(node).or_default() += 1;
        }
    }
    let rank = |p: &Pod| {
        node_name(p)
            .map(|n| per_node.get(n).copied().unwrap_or(0))
            .unwrap_or(0)
    };
    let mut sorted: Vec<&Pod> = pods.to_vec();
    sorted.sort_by(|a, b| deletion_order(a, b, rank(a), rank(b)));
    sorted.truncate(count);
    sorted
}

fn deletion_order(a: &Pod, b: &Pod, rank_a: usize, rank_b: usize) -> Ordering {
    let phase_rank = |p: &Pod| match phase(p) {
        "Pending" => 0,
        "Unknown" => 1,
        "Running" => 2,
        _ => 3,
    };
    node_name(a)
        .is_some()
        .cmp(&node_name(b).is_some())
        .then(phase_rank(a).cmp(&phase_rank(b)))
        .then(is_ready(a).cmp(&is_ready(b)))
        .then(rank_b.cmp(&rank_a))
        .then_with(|| match (ready_since(a), ready_since(b)) {
            (Some(x), Some(y)) => y.cmp(&x),
            _ => Ordering::Equal,
        })
        .then(restarts(b).cmp(&restarts(a)))
        .then_with(|| {
            let created = |p: &Pod| p.metadata.creation_timestamp.as_ref().map(|t| t.0);
            created(b).cmp(&created(a))
        })
}

fn status_patch(
    rs: &ReplicaSet,
    owned: &[&Pod],
    active: &[&Pod],
    state: &ClusterState,
) -> Option<Change> {
    let spec = rs.spec.as_ref()?;
    let min_ready = spec.min_ready_seconds.unwrap_or(0);
    let template_labels = spec
        .template
        .as_ref()
        .and_then(|t| t.metadata.as_ref())
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    let fully_labeled = active
        .iter()
        .filter(|p| {
            let labels = p.metadata.labels.clone().unwrap_or_default();
            template_labels
                .iter()
                .all(|(k, v)| labels.get(k) == Some(v))
        })
        .count() as i32;
    let ready = active.iter().filter(|p| is_ready(p)).count() as i32;
    let available = active
        .iter()
        .filter(|p| is_available(p, min_ready, state.now))
        .count() as i32;
    let terminating = owned.iter().filter(|p| is_terminating(&p.metadata)).count() as i32;
    let replicas = active.len() as i32;
    let current = rs.status.clone().unwrap_or_default();
    let generation = rs.metadata.generation;
    if current.replicas == replicas
        && current.fully_labeled_replicas.unwrap_or(0) == fully_labeled
        && current.ready_replicas.unwrap_or(0) == ready
        && current.available_replicas.unwrap_or(0) == available
        && current.terminating_replicas.unwrap_or(0) == terminating
        && current.observed_generation == generation
    {
        return None;
    }
    Some(Change::PatchStatus {
        target: Target::of(rs),
        patch: json!({"status": {
            "replicas": replicas, "fullyLabeledReplicas": fully_labeled, "readyReplicas": ready,
            "availableReplicas": available, "terminatingReplicas": terminating, "observedGeneration": generation,
        }}),
    })
}

/// Sizes of successive create batches for `count` pods: 1, 2, 4, ... (upstream `slowStartBatch`);
/// the runtime stops at the first batch with a failure.
pub fn slow_start_batches(count: usize) -> Vec<usize> {
    let mut batches = Vec::new();
    let (mut remaining, mut size) = (count, 1);
    while remaining > 0 {
        let batch = size.min(remaining);
        batches.push(batch);
        remaining -= batch;
        size *= 2;
    }
    batches
}

#[cfg(test)]
#[path = "replica_set_tests.rs"]
mod tests;
