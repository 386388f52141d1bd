//! The scheduler's view of the cluster: nodes with the pods assigned (or assumed) on them, kept up
//! to date incrementally from watch events.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Taint};

use crate::pod_info::{HostPort, PodInfo};
use crate::resources::Resources;
use crate::{Error, Result};

/// One node and what is placed on it.
#[derive(Debug, Clone, Default)]
pub struct NodeInfo {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.labels`.
    pub labels: BTreeMap<String, String>,
    /// `spec.taints`.
    pub taints: Vec<Taint>,
    /// `spec.unschedulable` (cordoned).
    pub unschedulable: bool,
    /// Whether the Ready condition is True.
    pub ready: bool,
    /// `status.allocatable`.
    pub allocatable: Resources,
    /// Exact requests of the pods placed here.
    pub requested: Resources,
    /// Requests with scoring defaults of the pods placed here.
    pub non_zero_requested: Resources,
    /// Pods placed here, by key.
    pub pods: BTreeMap<String, Arc<PodInfo>>,
    /// Host ports in use.
    pub used_ports: Vec<HostPort>,
    /// Pods per controlling owner UID, for spreading a ReplicaSet's pods.
    pub owner_counts: HashMap<String, u32>,
    /// Pods here that carry required anti-affinity terms.
    pub pods_with_required_anti_affinity: u32,
}

impl NodeInfo {
    /// Builds the node part (no pods) from a Node object.
    pub fn from_node(node: &Node) -> Result<NodeInfo> {
        let name = node.metadata.name.clone().unwrap_or_default();
        let spec = node.spec.as_ref();
        let status = node.status.as_ref();
        let allocatable = status
            .and_then(|s| s.allocatable.as_ref().or(s.capacity.as_ref()))
            .map(Resources::from_list)
            .transpose()
            .map_err(|e| Error::InvalidNode {
                node: name.clone(),
                reason: e.to_string(),
            })?
            .unwrap_or_default();
        let ready = status
            .and_then(|s| s.conditions.as_ref())
            .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
            .is_some_and(|c| c.status == "True");
        Ok(NodeInfo {
            labels: node.metadata.labels.clone().unwrap_or_default(),
            taints: spec.and_then(|s| s.taints.clone()).unwrap_or_default(),
            unschedulable: spec.and_then(|s| s.unschedulable).unwrap_or(false),
            ready,
            allocatable,
            name,
            ..NodeInfo::default()
        })
    }

    fn add_pod(&mut self, pod: Arc<PodInfo>) {
        self.requested.add(&pod.requests.exact);
        self.non_zero_requested.add(&pod.requests.non_zero);
        self.used_ports.extend(pod.host_ports.iter().cloned());
        if let Some(uid) = &pod.controller_uid {
            *self.owner_counts.entry(uid.clone()).or_default() += 1;
        }
        if !pod.required_anti_affinity.is_empty() {
            self.pods_with_required_anti_affinity += 1;
        }
        self.pods.insert(pod.key(), pod);
    }

    fn remove_pod(&mut self, key: &str) -> Option<Arc<PodInfo>> {
        let pod = self.pods.remove(key)?;
        self.requested.sub(&pod.requests.exact);
        self.non_zero_requested.sub(&pod.requests.non_zero);
        for port in &pod.host_ports {
            if let Some(i) = self.used_ports.iter().position(|p| p == port) {
                self.used_ports.swap_remove(i);
            }
        }
        if let Some(uid) = &pod.controller_uid {
            if let Some(n) = self.owner_counts.get_mut(uid) {
                *n -= 1;
                if *n == 0 {
                    self.owner_counts.remove(uid);
                }
            }
        }
        if !pod.required_anti_affinity.is_empty() {
            self.pods_with_required_anti_affinity -= 1;
        }
        Some(pod)
    }
}

/// All nodes and their pods; updated in place as events arrive, read by [`crate::schedule`].
#[derive(Debug, Clone, Default)]
pub struct ClusterSnapshot {
    nodes: Vec<NodeInfo>,
    index: HashMap<String, usize>,
    /// Where each placed pod is, by pod key.
    locations: HashMap<String, String>,
    /// Pods bound to nodes the snapshot has not seen yet, by node name.
    waiting: HashMap<String, Vec<Arc<PodInfo>>>,
    /// Number of placed pods with required anti-affinity terms, across nodes.
    anti_affinity_pods: u32,
}

impl ClusterSnapshot {
    /// An empty snapshot.
    pub fn new() -> Self {
        Self::default()
    }

    /// Nodes in a stable order (the order they were first seen).
    pub fn nodes(&self) -> &[NodeInfo] {
        &self.nodes
    }

    /// A node by name.
    pub fn node(&self, name: &str) -> Option<&NodeInfo> {
        self.index.get(name).map(|&i| &self.nodes[i])
    }

    /// The node a pod is placed on, if any.
    pub fn pod_node(&self, pod_key: &str) -> Option<&str> {
        self.locations.get(pod_key).map(String::as_str)
    }

    /// Whether any placed pod carries required anti-affinity (so every candidate must be checked).
    pub fn has_anti_affinity_pods(&self) -> bool {
        self.anti_affinity_pods > 0
    }

    /// Adds a node or refreshes its labels, taints, conditions and allocatable, keeping its pods.
    pub fn upsert_node(&mut self, node: &Node) -> Result<()> {
        let fresh = NodeInfo::from_node(node)?;
        match self.index.get(&fresh.name) {
            Some(&i) => {
                let existing = &mut self.nodes[i];
                existing.labels = fresh.labels;
                existing.taints = fresh.taints;
                existing.unschedulable = fresh.unschedulable;
                existing.ready = fresh.ready;
                existing.allocatable = fresh.allocatable;
            }
            None => {
                let name = fresh.name.clone();
                self.index.insert(name.clone(), self.nodes.len());
                self.nodes.push(fresh);
                for pod in self.waiting.remove(&name).unwrap_or_default() {
                    self.place(pod, &name);
                }
            }
        }
        Ok(())
    }

    /// Forgets a node; its pods are remembered until the node returns or they are removed.
    pub fn remove_node(&mut self, name: &str) {
        let Some(i) = self.index.remove(name) else {
            return;
        };
        let node = self.nodes.swap_remove(i);
        if i < self.nodes.len() {
            self.index.insert(self.nodes[i].name.clone(), i);
        }
        for (key, pod) in node.pods {
            self.locations.remove(&key);
            if !pod.required_anti_affinity.is_empty() {
                self.anti_affinity_pods -= 1;
            }
            self.waiting.entry(name.to_string()).or_default().push(pod);
        }
    }

    /// Records a pod on `node` (bound, or assumed right after scheduling). Replaces an earlier entry.
    pub fn add_pod(&mut self, mut pod: PodInfo, node: &str) {
        self.remove_pod(&pod.key());
        pod.node_name = Some(node.to_string());
        self.place(Arc::new(pod), node);
    }

    fn place(&mut self, pod: Arc<PodInfo>, node: &str) {
        let Some(&i) = self.index.get(node) else {
            self.waiting.entry(node.to_string()).or_default().push(pod);
            return;
        };
        if !pod.required_anti_affinity.is_empty() {
            self.anti_affinity_pods += 1;
        }
        self.locations.insert(pod.key(), node.to_string());
        self.nodes[i].add_pod(pod);
    }

    /// Removes a pod (deleted, finished, or an assumption that failed to bind).
    pub fn remove_pod(&mut self, key: &str) -> Option<Arc<PodInfo>> {
        let Some(node) = self.locations.remove(key) else {
            for pods in self.waiting.values_mut() {
                if let Some(i) = pods.iter().position(|p| p.key() == key) {
                    return Some(pods.swap_remove(i));
                }
            }
            return None;
        };
        let i = *self.index.get(&node)?;
        let pod = self.nodes[i].remove_pod(key)?;
        if !pod.required_anti_affinity.is_empty() {
            self.anti_affinity_pods -= 1;
        }
        Some(pod)
    }

    /// Checks a node name refers to a known node.
    pub fn require_node(&self, name: &str) -> Result<&NodeInfo> {
        self.node(name).ok_or_else(|| Error::UnknownNode {
            node: name.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(name: &str) -> Node {
        serde_json::from_value(json!({"metadata": {"name": name},
            "status": {"allocatable": {"cpu": "2", "memory": "4Gi", "pods": "110"},
                       "conditions": [{"type": "Ready", "status": "True"}]}}))
        .unwrap()
    }

    fn pod(name: &str, cpu: &str) -> PodInfo {
        let pod =
            serde_json::from_value(json!({"metadata": {"name": name, "namespace": "default"},
            "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": cpu}}}]}}))
            .unwrap();
        PodInfo::from_pod(&pod).unwrap()
    }

    #[test]
    fn adding_and_removing_pods_keeps_requested_totals() {
        let mut snapshot = ClusterSnapshot::new();
        snapshot.upsert_node(&node("n1")).unwrap();
        snapshot.add_pod(pod("a", "500m"), "n1");
        snapshot.add_pod(pod("b", "250m"), "n1");
        assert_eq!(snapshot.node("n1").unwrap().requested.milli_cpu, 750);
        snapshot.remove_pod("default/a");
        let n1 = snapshot.node("n1").unwrap();
        assert_eq!((n1.requested.milli_cpu, n1.requested.pods), (250, 1));
        assert_eq!(snapshot.pod_node("default/b"), Some("n1"));
    }

    #[test]
    fn pods_bound_before_their_node_appears_are_counted_once_it_does() {
        let mut snapshot = ClusterSnapshot::new();
        snapshot.add_pod(pod("early", "1"), "n2");
        snapshot.upsert_node(&node("n2")).unwrap();
        assert_eq!(snapshot.node("n2").unwrap().requested.milli_cpu, 1000);
        snapshot.remove_node("n2");
        assert!(snapshot.node("n2").is_none());
        snapshot.upsert_node(&node("n2")).unwrap();
        assert_eq!(snapshot.node("n2").unwrap().pods.len(), 1);
    }

    #[test]
    fn updating_a_node_keeps_its_pods() {
        let mut snapshot = ClusterSnapshot::new();
        snapshot.upsert_node(&node("n1")).unwrap();
        snapshot.add_pod(pod("a", "1"), "n1");
        let mut cordoned = node("n1");
        cordoned.spec = Some(k8s_openapi::api::core::v1::NodeSpec {
            unschedulable: Some(true),
            ..Default::default()
        });
        snapshot.upsert_node(&cordoned).unwrap();
        let n1 = snapshot.node("n1").unwrap();
        assert!(n1.unschedulable);
        assert_eq!(n1.pods.len(), 1);
    }
}
