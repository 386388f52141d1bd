//! Scores: among nodes that fit, which is best. Each plugin yields 0..=100 per node, weighted and
//! summed like upstream's default profile.

use std::collections::HashMap;

use crate::node_affinity::{preferred_weight, tolerated};
use crate::pod_info::PodInfo;
use crate::snapshot::{ClusterSnapshot, NodeInfo};

/// Highest score one plugin gives a node.
pub const MAX_NODE_SCORE: i64 = 100;
const ZONE_LABEL: &str = "topology.kubernetes.io/zone";

/// Weighted total score for each candidate (same order as `nodes`).
pub fn score(pod: &PodInfo, nodes: &[&NodeInfo], snapshot: &ClusterSnapshot) -> Vec<i64> {
    let mut totals: Vec<i64> = nodes
        .iter()
        .map(|n| least_allocated(pod, n) + balanced_allocation(pod, n))
        .collect();
    add_weighted(
        &mut totals,
        3,
        &reverse_normalize(
            &nodes
                .iter()
                .map(|n| prefer_no_schedule_taints(pod, n))
                .collect::<Vec<_>>(),
        ),
    );
    if !pod.preferred_node_affinity.is_empty() {
        let raw: Vec<i64> = nodes.iter().map(|n| preferred_weight(pod, n)).collect();
        add_weighted(&mut totals, 2, &normalize(&raw));
    }
    if !pod.preferred_affinity.is_empty() || !pod.preferred_anti_affinity.is_empty() {
        add_weighted(&mut totals, 2, &inter_pod_preferences(pod, nodes, snapshot));
    }
    if let Some(owner) = &pod.controller_uid {
        add_weighted(&mut totals, 2, &selector_spread(owner, nodes));
    }
    totals
}

fn add_weighted(totals: &mut [i64], weight: i64, scores: &[i64]) {
    for (total, s) in totals.iter_mut().zip(scores) {
        *total += weight * s;
    }
}

/// Prefers nodes with the most free cpu and memory after placing the pod (upstream `LeastAllocated`).
pub fn least_allocated(pod: &PodInfo, node: &NodeInfo) -> i64 {
    let free = |requested: i64, capacity: i64| -> i64 {
        if capacity <= 0 || requested > capacity {
            return 0;
        }
        (capacity - requested) * MAX_NODE_SCORE / capacity
    };
    let (req, alloc, want) = (
        &node.non_zero_requested,
        &node.allocatable,
        &pod.requests.non_zero,
    );
    (free(req.milli_cpu + want.milli_cpu, alloc.milli_cpu)
        + free(req.memory + want.memory, alloc.memory))
        / 2
}

/// Prefers nodes whose cpu and memory would be used in the same proportion (upstream `BalancedAllocation`).
pub fn balanced_allocation(pod: &PodInfo, node: &NodeInfo) -> i64 {
    let fraction = |requested: i64, capacity: i64| -> f64 {
        if capacity <= 0 {
            return 1.0;
        }
        (requested as f64 / capacity as f64).min(1.0)
    };
    let (req, alloc, want) = (
        &node.non_zero_requested,
        &node.allocatable,
        &pod.requests.non_zero,
    );
    let cpu = fraction(req.milli_cpu + want.milli_cpu, alloc.milli_cpu);
    let memory = fraction(req.memory + want.memory, alloc.memory);
    let std = (cpu - memory).abs() / 2.0;
    ((1.0 - std) * MAX_NODE_SCORE as f64) as i64
}

fn prefer_no_schedule_taints(pod: &PodInfo, node: &NodeInfo) -> i64 {
    node.taints
        .iter()
        .filter(|t| t.effect == "PreferNoSchedule" && !tolerated(&pod.tolerations, t))
        .count() as i64
}

/// Scales raw scores so the highest becomes 100.
fn normalize(raw: &[i64]) -> Vec<i64> {
    let max = raw.iter().copied().max().unwrap_or(0);
    raw.iter()
        .map(|&s| if max > 0 { s * MAX_NODE_SCORE / max } else { 0 })
        .collect()
}

/// Scales raw "badness" counts so the lowest becomes 100.
fn reverse_normalize(raw: &[i64]) -> Vec<i64> {
    let max = raw.iter().copied().max().unwrap_or(0);
    raw.iter()
        .map(|&s| {
            if max > 0 {
                MAX_NODE_SCORE - s * MAX_NODE_SCORE / max
            } else {
                MAX_NODE_SCORE
            }
        })
        .collect()
}

/// Preferred pod (anti-)affinity: + weight per matching pod in the node's domain for affinity,
/// − for anti-affinity; min-max normalized.
fn inter_pod_preferences(
    pod: &PodInfo,
    nodes: &[&NodeInfo],
    snapshot: &ClusterSnapshot,
) -> Vec<i64> {
    let mut by_domain: HashMap<(String, String), i64> = HashMap::new();
    for node in snapshot.nodes() {
        for other in node.pods.values() {
            for (terms, sign) in [
                (&pod.preferred_affinity, 1),
                (&pod.preferred_anti_affinity, -1),
            ] {
                for term in terms.iter() {
                    if term.matches(&other.namespace, &other.labels) {
                        if let Some(v) = node.labels.get(&term.topology_key) {
                            *by_domain
                                .entry((term.topology_key.clone(), v.clone()))
                                .or_default() += sign * i64::from(term.weight);
                        }
                    }
                }
            }
        }
    }
    let raw: Vec<i64> = nodes
        .iter()
        .map(|n| {
            n.labels
                .iter()
                .map(|(k, v)| by_domain.get(&(k.clone(), v.clone())).copied().unwrap_or(0))
                .sum()
        })
        .collect();
    let (min, max) = (
        raw.iter().copied().min().unwrap_or(0),
        raw.iter().copied().max().unwrap_or(0),
    );
    raw.iter()
        .map(|&s| {
            if max > min {
                (s - min) * MAX_NODE_SCORE / (max - min)
            } else {
                0
            }
        })
        .collect()
}

/// Spreads a controller's pods: fewer siblings on the node (and in its zone) scores higher
/// (upstream `SelectorSpread`: zone counts weigh 2/3 when nodes carry zones).
fn selector_spread(owner: &str, nodes: &[&NodeInfo]) -> Vec<i64> {
    let counts: Vec<i64> = nodes
        .iter()
        .map(|n| i64::from(n.owner_counts.get(owner).copied().unwrap_or(0)))
        .collect();
    let max_node = counts.iter().copied().max().unwrap_or(0);
    let mut zones: HashMap<&str, i64> = HashMap::new();
    for (node, count) in nodes.iter().zip(&counts) {
        if let Some(zone) = node.labels.get(ZONE_LABEL) {
            *zones.entry(zone).or_default() += count;
        }
    }
    let max_zone = zones.values().copied().max().unwrap_or(0);
    nodes
        .iter()
        .zip(&counts)
        .map(|(node, &count)| {
            let node_score = if max_node > 0 {
                (max_node - count) * MAX_NODE_SCORE / max_node
            } else {
                MAX_NODE_SCORE
            };
            match node.labels.get(ZONE_LABEL) {
                Some(zone) if !zones.is_empty() => {
                    let zone_count = zones.get(zone.as_str()).copied().unwrap_or(0);
                    let zone_score = if max_zone > 0 {
                        (max_zone - zone_count) * MAX_NODE_SCORE / max_zone
                    } else {
                        MAX_NODE_SCORE
                    };
                    (node_score + 2 * zone_score) / 3
                }
                _ => node_score,
            }
        })
        .collect()
}
