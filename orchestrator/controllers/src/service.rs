//! Service status for the bundled load balancer: a `type: LoadBalancer` Service is reachable on
//! every ready node, so its `status.loadBalancer.ingress` lists the nodes' InternalIPs (as k3s'
//! servicelb does). ClusterIPs and NodePorts are allocated by the API server at create time.

use k8s_openapi::api::core::v1::Node;
use serde_json::json;

use crate::change::{is_terminating, Change, Target};
use crate::state::ClusterState;

/// InternalIPs of Ready nodes, sorted.
pub fn node_ips(state: &ClusterState) -> Vec<String> {
    let mut ips: Vec<String> = state
        .nodes
        .values()
        .filter(|n| node_ready(n))
        .filter_map(internal_ip)
        .collect();
    ips.sort();
    ips.dedup();
    ips
}

fn node_ready(node: &Node) -> bool {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .is_some_and(|c| c.status == "True")
}

fn internal_ip(node: &Node) -> Option<String> {
    node.status
        .as_ref()?
        .addresses
        .as_ref()?
        .iter()
        .find(|a| a.type_ == "InternalIP")
        .map(|a| a.address.clone())
}

/// Sets the ingress of LoadBalancer Services to the ready nodes' IPs; clears it on other types.
pub fn reconcile_all(state: &ClusterState) -> Vec<Change> {
    let ips = node_ips(state);
    let mut changes = Vec::new();
    for service in state
        .services
        .values()
        .filter(|s| !is_terminating(&s.metadata))
    {
        let is_lb = service.spec.as_ref().and_then(|s| s.type_.as_deref()) == Some("LoadBalancer");
        let custom_class = service
            .spec
            .as_ref()
            .and_then(|s| s.load_balancer_class.as_ref())
            .is_some();
        if custom_class {
            continue;
        }
        let current: Vec<String> = service
            .status
            .as_ref()
            .and_then(|s| s.load_balancer.as_ref())
            .and_then(|lb| lb.ingress.as_ref())
            .map(|i| i.iter().filter_map(|i| i.ip.clone()).collect())
            .unwrap_or_default();
        let want = if is_lb { ips.clone() } else { Vec::new() };
        if current != want {
            let ingress: Vec<_> = want
                .iter()
                .map(|ip| json!({"ip": ip, "ipMode": "VIP"}))
                .collect();
            changes.push(Change::PatchStatus {
                target: Target::of(service),
                patch: json!({"status": {"loadBalancer": {"ingress": ingress}}}),
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

    fn node(name: &str, ip: &str, ready: &str) -> serde_json::Value {
        json!({"metadata": {"name": name}, "status": {"addresses": [{"type": "InternalIP", "address": ip}], "conditions": [{"type": "Ready", "status": ready}]}})
    }

    #[test]
    fn load_balancer_services_get_ready_node_ips_and_others_none() {
        let s = state(vec![
            ("Node", node("b", "172.18.0.3", "True")),
            ("Node", node("a", "172.18.0.2", "True")),
            ("Node", node("c", "172.18.0.4", "False")),
            (
                "Service",
                json!({"metadata": {"name": "lb", "namespace": "default"}, "spec": {"type": "LoadBalancer"}}),
            ),
            (
                "Service",
                json!({"metadata": {"name": "plain", "namespace": "default"}, "spec": {"type": "ClusterIP"}}),
            ),
        ]);
        let changes = reconcile_all(&s);
        assert_eq!(changes.len(), 1);
        let Change::PatchStatus { target, patch } = &changes[0] else {
            panic!("expected status patch")
        };
        assert_eq!(target.name, "lb");
        assert_eq!(
            patch["status"]["loadBalancer"]["ingress"],
            json!([{"ip": "172.18.0.2", "ipMode": "VIP"}, {"ip": "172.18.0.3", "ipMode": "VIP"}])
        );
    }
}
