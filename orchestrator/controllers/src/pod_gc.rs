//! Pod garbage collection the API server does not do itself: pods bound to nodes that no longer
//! exist, and terminating pods past their grace period on nodes that are not Ready (no kubelet
//! will ever confirm them gone) are force-deleted.

use k8s_openapi::api::core::v1::Node;

use crate::change::{Change, Target};
use crate::pods::node_name;
use crate::state::ClusterState;

fn ready(node: &Node) -> bool {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .is_some_and(|c| c.status == "True")
}

/// Pods to force-delete.
pub fn reconcile_all(state: &ClusterState) -> Vec<Change> {
    let mut changes = Vec::new();
    for pod in state.pods.values() {
        let Some(node) = node_name(pod) else { continue };
        let orphaned = !state.nodes.contains_key(node);
        let lost = state.nodes.get(node).is_some_and(|n| !ready(n))
            && pod
                .metadata
                .deletion_timestamp
                .as_ref()
                .is_some_and(|t| t.0 <= state.now);
        if orphaned || lost {
            changes.push(Change::ForceDelete {
                target: Target::of(pod),
                uid: pod.metadata.uid.clone(),
            });
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::state;
    use serde_json::json;

    fn pod(name: &str, node: &str, deleting_at: Option<&str>) -> serde_json::Value {
        json!({"metadata": {"name": name, "namespace": "default", "deletionTimestamp": deleting_at}, "spec": {"nodeName": node, "containers": []}})
    }

    #[test]
    fn pods_on_missing_nodes_and_overdue_terminating_pods_on_lost_nodes_are_force_deleted() {
        let s = state(vec![
            (
                "Node",
                json!({"metadata": {"name": "up"}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
            ),
            (
                "Node",
                json!({"metadata": {"name": "lost"}, "status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}}),
            ),
            ("Pod", pod("on-deleted-node", "gone", None)),
            ("Pod", pod("overdue", "lost", Some("2025-12-31T23:59:00Z"))),
            (
                "Pod",
                pod("still-in-grace", "lost", Some("2026-01-01T00:00:30Z")),
            ),
            (
                "Pod",
                pod("terminating-on-healthy", "up", Some("2025-12-31T23:59:00Z")),
            ),
            ("Pod", pod("running-on-lost", "lost", None)),
        ]);
        let forced: Vec<String> = reconcile_all(&s)
            .iter()
            .map(|c| c.target().name.clone())
            .collect();
        assert_eq!(forced, vec!["on-deleted-node", "overdue"]);
    }
}
