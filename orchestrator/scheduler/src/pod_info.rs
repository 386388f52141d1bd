//! What the scheduler needs from a Pod, extracted once: requests, ports, tolerations, affinities and
//! spread constraints, with label selectors already parsed.

use std::collections::BTreeMap;

use clusterd_apimachinery::selectors::LabelSelector;
use k8s_openapi::api::core::v1::{
    NodeSelector, Pod, PodAffinityTerm, PreferredSchedulingTerm, Toleration,
};

use crate::resources::{pod_requests, PodRequests};
use crate::{Error, Result};

/// A host port a pod binds on its node; `0.0.0.0` means every address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostPort {
    /// `TCP`, `UDP` or `SCTP`.
    pub protocol: String,
    /// The host IP, `0.0.0.0` when unset.
    pub ip: String,
    /// The port number.
    pub port: i32,
}

impl HostPort {
    /// Whether two host ports cannot both be bound on one node.
    pub fn conflicts_with(&self, other: &HostPort) -> bool {
        self.port == other.port
            && self.protocol == other.protocol
            && (self.ip == other.ip || self.ip == "0.0.0.0" || other.ip == "0.0.0.0")
    }
}

/// An inter-pod (anti-)affinity term with its selector parsed and namespaces resolved.
#[derive(Debug, Clone)]
pub struct AffinityTerm {
    /// Which pods the term is about.
    pub selector: LabelSelector,
    /// Namespaces those pods live in (the pod's own when the term names none).
    pub namespaces: Vec<String>,
    /// The node label that defines "the same place" (`kubernetes.io/hostname`, a zone label).
    pub topology_key: String,
    /// Weight for preferred terms, 0 for required ones.
    pub weight: i32,
}

impl AffinityTerm {
    /// Whether a pod (namespace, labels) is one the term is about.
    pub fn matches(&self, namespace: &str, labels: &BTreeMap<String, String>) -> bool {
        self.namespaces.iter().any(|n| n == namespace) && self.selector.matches(labels)
    }
}

/// A topology spread constraint with its selector parsed.
#[derive(Debug, Clone)]
pub struct SpreadConstraint {
    /// Largest allowed difference between the fullest and emptiest domain.
    pub max_skew: i32,
    /// The node label defining domains.
    pub topology_key: String,
    /// `DoNotSchedule` (a filter) rather than `ScheduleAnyway` (a score).
    pub hard: bool,
    /// Which pods are counted.
    pub selector: LabelSelector,
}

/// A pod as the scheduler sees it.
#[derive(Debug, Clone, Default)]
pub struct PodInfo {
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.uid`.
    pub uid: String,
    /// `metadata.labels`.
    pub labels: BTreeMap<String, String>,
    /// `spec.nodeName`, set once bound (or assumed).
    pub node_name: Option<String>,
    /// `spec.schedulerName` (`default-scheduler` when unset).
    pub scheduler_name: String,
    /// `spec.priority`.
    pub priority: i32,
    /// cpu/memory/pods the pod asks for.
    pub requests: PodRequests,
    /// Host ports it binds.
    pub host_ports: Vec<HostPort>,
    /// UID of the controlling owner (a ReplicaSet, ...), for spreading.
    pub controller_uid: Option<String>,
    /// `spec.tolerations`.
    pub tolerations: Vec<Toleration>,
    /// `spec.nodeSelector`.
    pub node_selector: BTreeMap<String, String>,
    /// Required node affinity.
    pub required_node_affinity: Option<NodeSelector>,
    /// Preferred node affinity.
    pub preferred_node_affinity: Vec<PreferredSchedulingTerm>,
    /// Required pod affinity terms.
    pub required_affinity: Vec<AffinityTerm>,
    /// Required pod anti-affinity terms.
    pub required_anti_affinity: Vec<AffinityTerm>,
    /// Preferred pod affinity terms.
    pub preferred_affinity: Vec<AffinityTerm>,
    /// Preferred pod anti-affinity terms.
    pub preferred_anti_affinity: Vec<AffinityTerm>,
    /// Topology spread constraints.
    pub spread: Vec<SpreadConstraint>,
}

impl PodInfo {
    /// `namespace/name`, the key the scheduler uses for a pod.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// Extracts what the scheduler needs from a pod; fails on malformed quantities or selectors.
    pub fn from_pod(pod: &Pod) -> Result<PodInfo> {
        let meta = &pod.metadata;
        let namespace = meta.namespace.clone().unwrap_or_else(|| "default".into());
        let name = meta.name.clone().unwrap_or_default();
        let requests = pod_requests(pod).map_err(|e| Error::InvalidPod {
            pod: format!("{namespace}/{name}"),
            reason: e.to_string(),
        })?;
        let mut info = PodInfo {
            namespace: namespace.clone(),
            name,
            uid: meta.uid.clone().unwrap_or_default(),
            labels: meta.labels.clone().unwrap_or_default(),
            requests,
            controller_uid: meta
                .owner_references
                .iter()
                .flatten()
                .find(|o| o.controller == Some(true))
                .map(|o| o.uid.clone()),
            scheduler_name: "default-scheduler".into(),
            ..PodInfo::default()
        };
        let Some(spec) = &pod.spec else {
            return Ok(info);
        };
        info.node_name = spec.node_name.clone().filter(|n| !n.is_empty());
        if let Some(s) = &spec.scheduler_name {
            info.scheduler_name = s.clone();
        }
        info.priority = spec.priority.unwrap_or(0);
        info.tolerations = spec.tolerations.clone().unwrap_or_default();
        info.node_selector = spec.node_selector.clone().unwrap_or_default();
        for container in &spec.containers {
            for port in container.ports.iter().flatten() {
                if let Some(host_port) = port.host_port.filter(|p| *p > 0) {
                    info.host_ports.push(HostPort {
                        protocol: port.protocol.clone().unwrap_or_else(|| "TCP".into()),
                        ip: port
                            .host_ip
                            .clone()
                            .filter(|ip| !ip.is_empty())
                            .unwrap_or_else(|| "0.0.0.0".into()),
                        port: host_port,
                    });
                }
            }
        }
        let bad = |reason: String| Error::InvalidPod {
            pod: info_key(&namespace, meta.name.as_deref()),
            reason,
        };
        let term = |t: &PodAffinityTerm, weight: i32| -> Result<AffinityTerm> {
            let selector = match &t.label_selector {
                Some(s) => LabelSelector::from_label_selector(s).map_err(|e| bad(e.to_string()))?,
                // A term without a selector matches no pods.
                None => LabelSelector::parse("!clusterd.io/none,clusterd.io/none")
                    .map_err(|e| bad(e.to_string()))?,
            };
            let namespaces = match &t.namespaces {
                Some(list) if !list.is_empty() => list.clone(),
                _ => vec![namespace.clone()],
            };
            Ok(AffinityTerm {
                selector,
                namespaces,
                topology_key: t.topology_key.clone(),
                weight,
            })
        };
        if let Some(affinity) = &spec.affinity {
            if let Some(node) = &affinity.node_affinity {
                info.required_node_affinity = node
                    .required_during_scheduling_ignored_during_execution
                    .clone();
                info.preferred_node_affinity = node
                    .preferred_during_scheduling_ignored_during_execution
                    .clone()
                    .unwrap_or_default();
            }
            if let Some(pa) = &affinity.pod_affinity {
                for t in pa
                    .required_during_scheduling_ignored_during_execution
                    .iter()
                    .flatten()
                {
                    info.required_affinity.push(term(t, 0)?);
                }
                for w in pa
                    .preferred_during_scheduling_ignored_during_execution
                    .iter()
                    .flatten()
                {
                    info.preferred_affinity
                        .push(term(&w.pod_affinity_term, w.weight)?);
                }
            }
            if let Some(pa) = &affinity.pod_anti_affinity {
                for t in pa
                    .required_during_scheduling_ignored_during_execution
                    .iter()
                    .flatten()
                {
                    info.required_anti_affinity.push(term(t, 0)?);
                }
                for w in pa
                    .preferred_during_scheduling_ignored_during_execution
                    .iter()
                    .flatten()
                {
                    info.preferred_anti_affinity
                        .push(term(&w.pod_affinity_term, w.weight)?);
                }
            }
        }
        for c in spec.topology_spread_constraints.iter().flatten() {
            let selector = match &c.label_selector {
                Some(s) => LabelSelector::from_label_selector(s).map_err(|e| bad(e.to_string()))?,
                None => LabelSelector::parse("!clusterd.io/none,clusterd.io/none")
                    .map_err(|e| bad(e.to_string()))?,
            };
            info.spread.push(SpreadConstraint {
                max_skew: c.max_skew.max(1),
                topology_key: c.topology_key.clone(),
                hard: c.when_unsatisfiable != "ScheduleAnyway",
                selector,
            });
        }
        Ok(info)
    }
}

fn info_key(namespace: &str, name: Option<&str>) -> String {
    format!("{namespace}/{}", name.unwrap_or_default())
}
