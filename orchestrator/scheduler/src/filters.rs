//! Filters: whether a pod may run on a node, and if not, why (upstream's reason strings).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use crate::node_affinity::{first_untolerated, matches_required, tolerates_key};
use crate::pod_info::PodInfo;
use crate::snapshot::{ClusterSnapshot, NodeInfo};

/// Reason: the node is cordoned.
pub const NODE_UNSCHEDULABLE: &str = "node(s) were unschedulable";
/// Reason: the node's Ready condition is not True (and it carries no not-ready taint).
pub const NODE_NOT_READY: &str = "node(s) were not ready";
/// Reason: nodeSelector / required node affinity do not match.
pub const NODE_AFFINITY: &str = "node(s) didn't match Pod's node affinity/selector";
/// Reason: a requested host port is taken.
pub const NODE_PORTS: &str = "node(s) didn't have free ports for the requested pod ports";
/// Reason: the node is at its pod limit.
pub const TOO_MANY_PODS: &str = "Too many pods";
/// Reason: not enough allocatable cpu left.
pub const INSUFFICIENT_CPU: &str = "Insufficient cpu";
/// Reason: not enough allocatable memory left.
pub const INSUFFICIENT_MEMORY: &str = "Insufficient memory";
/// Reason: a DoNotSchedule topology spread constraint would be violated.
pub const SPREAD: &str = "node(s) didn't match pod topology spread constraints";
/// Reason: the node lacks a topology key a spread constraint needs.
pub const SPREAD_MISSING_LABEL: &str =
    "node(s) didn't match pod topology spread constraints (missing required label)";
/// Reason: required pod affinity not satisfied.
pub const POD_AFFINITY: &str = "node(s) didn't match pod affinity rules";
/// Reason: required pod anti-affinity not satisfied.
pub const POD_ANTI_AFFINITY: &str = "node(s) didn't match pod anti-affinity rules";
/// Reason: a pod already there has anti-affinity against this pod.
pub const EXISTING_ANTI_AFFINITY: &str = "node(s) didn't satisfy existing pods anti-affinity rules";

/// Why a node was rejected, in upstream's words.
pub type Reason = Cow<'static, str>;

/// Per-pod state computed once before filtering nodes (upstream PreFilter).
#[derive(Debug, Default)]
pub struct PreFilter {
    /// For each required affinity term: topology values where a matching pod runs.
    affinity_domains: Vec<HashSet<String>>,
    /// No pod matches the required affinity anywhere, but the pod matches its own terms: allowed.
    affinity_self_ok: bool,
    /// For each required anti-affinity term: topology values where a matching pod runs.
    anti_domains: Vec<HashSet<String>>,
    /// (topology key, value) pairs where an existing pod's anti-affinity excludes this pod.
    existing_anti: HashSet<(String, String)>,
    /// For each hard spread constraint: pod counts per domain and the minimum.
    spread: Vec<SpreadCounts>,
}

#[derive(Debug, Default)]
struct SpreadCounts {
    counts: HashMap<String, i64>,
    min: i64,
    self_match: i64,
}

impl PreFilter {
    /// Computes the pod's view of the cluster; walks all pods only when the pod (or an existing
    /// pod) uses inter-pod affinity or spread constraints.
    pub fn compute(pod: &PodInfo, snapshot: &ClusterSnapshot) -> PreFilter {
        let mut state = PreFilter::default();
        let needs_affinity =
            !pod.required_affinity.is_empty() || !pod.required_anti_affinity.is_empty();
        if needs_affinity {
            state.affinity_domains = vec![HashSet::new(); pod.required_affinity.len()];
            state.anti_domains = vec![HashSet::new(); pod.required_anti_affinity.len()];
            let mut any_affinity_match = false;
            for node in snapshot.nodes() {
                for other in node.pods.values() {
                    for (i, term) in pod.required_affinity.iter().enumerate() {
                        if term.matches(&other.namespace, &other.labels) {
                            any_affinity_match = true;
                            if let Some(v) = node.labels.get(&term.topology_key) {
                                state.affinity_domains[i].insert(v.clone());
                            }
                        }
                    }
                    for (i, term) in pod.required_anti_affinity.iter().enumerate() {
                        if term.matches(&other.namespace, &other.labels) {
                            if let Some(v) = node.labels.get(&term.topology_key) {
                                state.anti_domains[i].insert(v.clone());
                            }
                        }
                    }
                }
            }
            state.affinity_self_ok = !any_affinity_match
                && pod
                    .required_affinity
                    .iter()
                    .all(|t| t.matches(&pod.namespace, &pod.labels));
        }
        if snapshot.has_anti_affinity_pods() {
            for node in snapshot
                .nodes()
                .iter()
                .filter(|n| n.pods_with_required_anti_affinity > 0)
            {
                for other in node.pods.values() {
                    for term in &other.required_anti_affinity {
                        if term.matches(&pod.namespace, &pod.labels) {
                            if let Some(v) = node.labels.get(&term.topology_key) {
                                state
                                    .existing_anti
                                    .insert((term.topology_key.clone(), v.clone()));
                            }
                        }
                    }
                }
            }
        }
        for constraint in pod.spread.iter().filter(|c| c.hard) {
            let mut counts: HashMap<String, i64> = HashMap::new();
            for node in snapshot.nodes() {
                let Some(domain) = node.labels.get(&constraint.topology_key) else {
                    continue;
                };
                if !matches_required(pod, node) {
                    continue;
                }
                let matching = node
                    .pods
                    .values()
                    .filter(|p| {
                        p.namespace == pod.namespace && constraint.selector.matches(&p.labels)
                    })
                    .count() as i64;
                *counts.entry(domain.clone()).or_default() += matching;
            }
            let min = counts.values().copied().min().unwrap_or(0);
            let self_match = i64::from(constraint.selector.matches(&pod.labels));
            state.spread.push(SpreadCounts {
                counts,
                min,
                self_match,
            });
        }
        state
    }
}

/// Runs the filters in upstream's order; on failure returns the reasons of the first failing filter.
pub fn filter(pod: &PodInfo, node: &NodeInfo, state: &PreFilter) -> Result<(), Vec<Reason>> {
    if node.unschedulable && !tolerates_key(pod, "node.kubernetes.io/unschedulable", "NoSchedule") {
        return Err(vec![NODE_UNSCHEDULABLE.into()]);
    }
    if let Some(taint) = first_untolerated(pod, node) {
        return Err(vec![taint_reason(
            &taint.key,
            taint.value.as_deref().unwrap_or_default(),
        )]);
    }
    if !node.ready && !tolerates_key(pod, "node.kubernetes.io/not-ready", "NoSchedule") {
        return Err(vec![NODE_NOT_READY.into()]);
    }
    if !matches_required(pod, node) {
        return Err(vec![NODE_AFFINITY.into()]);
    }
    if pod
        .host_ports
        .iter()
        .any(|p| node.used_ports.iter().any(|u| u.conflicts_with(p)))
    {
        return Err(vec![NODE_PORTS.into()]);
    }
    let mut insufficient = Vec::new();
    let (want, used, alloc) = (&pod.requests.exact, &node.requested, &node.allocatable);
    if used.pods + 1 > alloc.pods {
        insufficient.push(TOO_MANY_PODS.into());
    }
    if want.milli_cpu > 0 && want.milli_cpu > alloc.milli_cpu - used.milli_cpu {
        insufficient.push(INSUFFICIENT_CPU.into());
    }
    if want.memory > 0 && want.memory > alloc.memory - used.memory {
        insufficient.push(INSUFFICIENT_MEMORY.into());
    }
    if !insufficient.is_empty() {
        return Err(insufficient);
    }
    for (constraint, counts) in pod.spread.iter().filter(|c| c.hard).zip(&state.spread) {
        let Some(domain) = node.labels.get(&constraint.topology_key) else {
            return Err(vec![SPREAD_MISSING_LABEL.into()]);
        };
        let here = counts.counts.get(domain).copied().unwrap_or(0);
        if here + counts.self_match - counts.min > i64::from(constraint.max_skew) {
            return Err(vec![SPREAD.into()]);
        }
    }
    if !state.existing_anti.is_empty()
        && node
            .labels
            .iter()
            .any(|(k, v)| state.existing_anti.contains(&(k.clone(), v.clone())))
    {
        return Err(vec![EXISTING_ANTI_AFFINITY.into()]);
    }
    if !state.affinity_self_ok {
        for (term, domains) in pod.required_affinity.iter().zip(&state.affinity_domains) {
            if !node
                .labels
                .get(&term.topology_key)
                .is_some_and(|v| domains.contains(v))
            {
                return Err(vec![POD_AFFINITY.into()]);
            }
        }
    } else if pod
        .required_affinity
        .iter()
        .any(|t| !node.labels.contains_key(&t.topology_key))
    {
        return Err(vec![POD_AFFINITY.into()]);
    }
    for (term, domains) in pod.required_anti_affinity.iter().zip(&state.anti_domains) {
        if node
            .labels
            .get(&term.topology_key)
            .is_some_and(|v| domains.contains(v))
        {
            return Err(vec![POD_ANTI_AFFINITY.into()]);
        }
    }
    Ok(())
}

/// Upstream's taint reason: `node(s) had untolerated taint {key: value}`.
fn taint_reason(key: &str, value: &str) -> Reason {
    Reason::Owned(format!("node(s) had untolerated taint {{{key}: {value}}}"))
}
