//! Node lifecycle: a node whose heartbeat (its `kube-node-lease` Lease, or the Ready condition's
//! heartbeat) is older than the grace period gets Ready=Unknown; NotReady/Unknown nodes get the
//! `node.kubernetes.io/not-ready|unreachable` NoSchedule and NoExecute taints; pods on them are
//! marked not ready and evicted once their toleration of the NoExecute taint runs out.

use k8s_openapi::api::core::v1::{Node, NodeCondition, Pod, Taint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use serde_json::json;

use crate::change::{is_terminating, Change, Target};
use crate::pods::node_name;
use crate::state::{ClusterState, ControllersConfig};

/// Taint of a node whose Ready condition is False.
pub const NOT_READY_TAINT: &str = "node.kubernetes.io/not-ready";
/// Taint of a node whose Ready condition is Unknown.
pub const UNREACHABLE_TAINT: &str = "node.kubernetes.io/unreachable";
const NODE_LEASE_NAMESPACE: &str = "kube-node-lease";

/// The last sign of life of a node: its lease renewal or the Ready heartbeat, whichever is later.
pub fn last_heartbeat(node: &Node, state: &ClusterState) -> Option<Timestamp> {
    let name = node.metadata.name.as_deref().unwrap_or_default();
    let lease = state
        .leases
        .get(&format!("{NODE_LEASE_NAMESPACE}/{name}"))
        .and_then(|l| l.spec.as_ref())
        .and_then(|s| s.renew_time.as_ref())
        .map(|t| t.0);
    let ready = ready_condition(node)
        .and_then(|c| c.last_heartbeat_time.as_ref())
        .map(|t| t.0);
    lease.max(ready)
}

fn ready_condition(node: &Node) -> Option<&NodeCondition> {
    node.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")
}

/// Reconciles every node: conditions, taints, and evictions of its pods.
pub fn reconcile_all(state: &ClusterState, config: &ControllersConfig) -> Vec<Change> {
    let mut changes = Vec::new();
    for node in state.nodes.values() {
        changes.extend(reconcile(node, state, config));
    }
    changes
}

/// What one node needs.
pub fn reconcile(node: &Node, state: &ClusterState, config: &ControllersConfig) -> Vec<Change> {
    let mut changes = Vec::new();
    let now = state.now;
    let grace = config.node_monitor_grace_period.as_secs() as i64;
    let mut ready_status = ready_condition(node)
        .map(|c| c.status.clone())
        .unwrap_or_else(|| "Unknown".into());
    // Never heard from at all counts from creation.
    let heartbeat = last_heartbeat(node, state)
        .or_else(|| node.metadata.creation_timestamp.as_ref().map(|t| t.0));
    let stale = heartbeat.is_some_and(|t| t.as_second() + grace < now.as_second());
    if stale && ready_status != "Unknown" {
        changes.push(Change::PatchStatus {
            target: Target::of(node),
            patch: json!({"status": {"conditions": unknown_conditions(node, now)}}),
        });
        ready_status = "Unknown".into();
    }
    let wanted = match ready_status.as_str() {
        "True" => None,
        "False" => Some(NOT_READY_TAINT),
        _ => Some(UNREACHABLE_TAINT),
    };
    let taints = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.clone())
        .unwrap_or_default();
    let mut next: Vec<Taint> = taints
        .iter()
        .filter(|t| {
            t.key != NOT_READY_TAINT && t.key != UNREACHABLE_TAINT || Some(t.key.as_str()) == wanted
        })
        .cloned()
        .collect();
    if let Some(key) = wanted {
        for effect in ["NoSchedule", "NoExecute"] {
            if !next.iter().any(|t| t.key == key && t.effect == effect) {
                let time_added = (effect == "NoExecute").then_some(Time(now));
                next.push(Taint {
                    key: key.into(),
                    effect: effect.into(),
                    time_added,
                    value: None,
                });
            }
        }
    }
    if next != taints {
        changes.push(Change::Patch {
            target: Target::of(node),
            patch: json!({"spec": {"taints": next}}),
        });
    }
    let name = node.metadata.name.as_deref().unwrap_or_default();
    if let Some(key) = wanted {
        let since = next
            .iter()
            .find(|t| t.key == key && t.effect == "NoExecute")
            .and_then(|t| t.time_added.as_ref())
            .map(|t| t.0)
            .unwrap_or(now);
        let taint = Taint {
            key: key.into(),
            effect: "NoExecute".into(),
            ..Taint::default()
        };
        for pod in state
            .pods
            .values()
            .filter(|p| node_name(p) == Some(name) && !is_terminating(&p.metadata))
        {
            if ready_status == "Unknown" {
                changes.extend(mark_not_ready(pod, now));
            }
            if let Some(deadline) = eviction_deadline(pod, &taint, since, config) {
                if now >= deadline {
                    changes.push(Change::Delete {
                        target: Target::of(pod),
                        propagation: None,
                        uid: pod.metadata.uid.clone(),
                    });
                    changes.push(Change::normal(
                        pod,
                        "TaintManagerEviction",
                        format!(
                            "Marking for deletion Pod {}",
                            Target::of(pod).to_string().trim_start_matches("Pod ")
                        ),
                    ));
                }
            }
        }
    }
    changes
}

/// When a pod on a node with this NoExecute taint (added at `since`) must go: after the shortest
/// matching `tolerationSeconds`; never if tolerated without a limit; after the configured default
/// when it has no matching toleration (what upstream's DefaultTolerationSeconds admission gives).
pub fn eviction_deadline(
    pod: &Pod,
    taint: &Taint,
    since: Timestamp,
    config: &ControllersConfig,
) -> Option<Timestamp> {
    let tolerations = pod
        .spec
        .as_ref()
        .and_then(|s| s.tolerations.clone())
        .unwrap_or_default();
    let matching: Vec<_> = tolerations.iter().filter(|t| tolerates(t, taint)).collect();
    let seconds = if matching.is_empty() {
        config.pod_eviction_timeout.as_secs() as i64
    } else if matching.iter().any(|t| t.toleration_seconds.is_none()) {
        return None;
    } else {
        matching
            .iter()
            .filter_map(|t| t.toleration_seconds)
            .min()
            .unwrap_or(0)
            .max(0)
    };
    Timestamp::from_second(since.as_second() + seconds).ok()
}

fn tolerates(toleration: &k8s_openapi::api::core::v1::Toleration, taint: &Taint) -> bool {
    if toleration
        .effect
        .as_deref()
        .is_some_and(|e| !e.is_empty() && e != taint.effect)
    {
        return false;
    }
    let key = toleration.key.as_deref().unwrap_or_default();
    if !key.is_empty() && key != taint.key {
        return false;
    }
    match toleration.operator.as_deref().unwrap_or("Equal") {
        "Exists" => true,
        _ => {
            toleration.value.as_deref().unwrap_or_default()
                == taint.value.as_deref().unwrap_or_default()
        }
    }
}

fn unknown_conditions(node: &Node, now: Timestamp) -> Vec<NodeCondition> {
    let mut conditions = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    for type_ in ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"] {
        let index = match conditions.iter().position(|c| c.type_ == type_) {
            Some(i) => i,
            None => {
                conditions.push(NodeCondition {
                    type_: type_.into(),
                    ..NodeCondition::default()
                });
                conditions.len() - 1
            }
        };
        let c = &mut conditions[index];
        if c.status != "Unknown" {
            c.last_transition_time = Some(Time(now));
        }
        c.status = "Unknown".into();
        c.reason = Some("NodeStatusUnknown".into());
        c.message = Some("Kubelet stopped posting node status.".into());
    }
    conditions
}

fn mark_not_ready(pod: &Pod, now: Timestamp) -> Option<Change> {
    let mut conditions = pod.status.as_ref()?.conditions.clone()?;
    let ready = conditions
        .iter_mut()
        .find(|c| c.type_ == "Ready" && c.status == "True")?;
    ready.status = "False".into();
    ready.last_transition_time = Some(Time(now));
    Some(Change::PatchStatus {
        target: Target::of(pod),
        patch: json!({"status": {"conditions": conditions}}),
    })
}

#[cfg(test)]
#[path = "node_lifecycle_tests.rs"]
mod tests;
