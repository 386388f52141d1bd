//! The scheduling decision: filter every (or enough) nodes, score the feasible ones, pick the best;
//! or explain, as upstream does, why the pod fits nowhere.

use std::collections::BTreeMap;
use std::fmt;

use crate::filters::{filter, PreFilter, Reason};
use crate::pod_info::PodInfo;
use crate::scores::score;
use crate::snapshot::{ClusterSnapshot, NodeInfo};

/// The name of the node a pod should be bound to.
pub type NodeName = String;

/// Why a pod fits on no node: the reasons each node was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unschedulable {
    /// Number of nodes considered.
    pub num_nodes: usize,
    /// Rejection reasons per node name.
    pub reasons: BTreeMap<String, Vec<Reason>>,
}

impl Unschedulable {
    /// `reason → number of nodes` sorted as upstream prints them.
    fn histogram(&self) -> Vec<String> {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for reasons in self.reasons.values() {
            for r in reasons {
                *counts.entry(r.as_ref()).or_default() += 1;
            }
        }
        let mut lines: Vec<String> = counts.iter().map(|(r, n)| format!("{n} {r}")).collect();
        lines.sort();
        lines
    }
}

impl fmt::Display for Unschedulable {
    /// Upstream's FailedScheduling message, e.g. `0/3 nodes are available: 1 node(s) had untolerated
    /// taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu. preemption: 0/3 nodes
    /// are available: 3 Preemption is not helpful for scheduling.`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.num_nodes == 0 {
            return write!(f, "no nodes available to schedule pods");
        }
        write!(
            f,
            "0/{} nodes are available: {}.",
            self.num_nodes,
            self.histogram().join(", ")
        )?;
        write!(
            f,
            " preemption: 0/{n} nodes are available: {n} Preemption is not helpful for scheduling.",
            n = self.num_nodes
        )
    }
}

impl std::error::Error for Unschedulable {}

/// Places pods one at a time; remembers where the last search stopped so successive pods start on
/// different nodes (upstream `nextStartNodeIndex`).
#[derive(Debug, Clone, Default)]
pub struct Scheduler {
    /// Percentage of nodes to find feasible before scoring; `None` = upstream's adaptive default,
    /// `Some(100)` = all nodes.
    pub percentage_of_nodes_to_score: Option<u32>,
    next_start: usize,
}

impl Scheduler {
    /// A scheduler with upstream's adaptive sampling.
    pub fn new() -> Self {
        Self::default()
    }

    /// A scheduler that finds `percentage` % of nodes feasible before scoring (`None` = adaptive).
    pub fn with_percentage(percentage: Option<u32>) -> Self {
        Self {
            percentage_of_nodes_to_score: percentage,
            next_start: 0,
        }
    }

    /// Chooses a node for `pod`, or explains why none fits.
    pub fn schedule(
        &mut self,
        pod: &PodInfo,
        snapshot: &ClusterSnapshot,
    ) -> Result<NodeName, Unschedulable> {
        let nodes = snapshot.nodes();
        let total = nodes.len();
        if total == 0 {
            return Err(Unschedulable {
                num_nodes: 0,
                reasons: BTreeMap::new(),
            });
        }
        let want = feasible_nodes_to_find(total, self.percentage_of_nodes_to_score);
        let state = PreFilter::compute(pod, snapshot);
        let mut feasible: Vec<&NodeInfo> = Vec::with_capacity(want.min(total));
        let mut reasons = BTreeMap::new();
        let start = self.next_start % total;
        let mut processed = 0;
        for offset in 0..total {
            let node = &nodes[(start + offset) % total];
            processed += 1;
            match filter(pod, node, &state) {
                Ok(()) => {
                    feasible.push(node);
                    if feasible.len() >= want {
                        break;
                    }
                }
                Err(why) => {
                    reasons.insert(node.name.clone(), why);
                }
            }
        }
        self.next_start = (start + processed) % total;
        if feasible.is_empty() {
            return Err(Unschedulable {
                num_nodes: total,
                reasons,
            });
        }
        if feasible.len() == 1 {
            return Ok(feasible[0].name.clone());
        }
        let scores = score(pod, &feasible, snapshot);
        // Highest score wins; ties go to the first evaluated (the search start rotates).
        let mut best = 0;
        for (i, s) in scores.iter().enumerate() {
            if *s > scores[best] {
                best = i;
            }
        }
        Ok(feasible[best].name.clone())
    }
}

/// Chooses a node for `pod` considering every node (no sampling): the pure core of scheduling.
pub fn schedule(pod: &PodInfo, snapshot: &ClusterSnapshot) -> Result<NodeName, Unschedulable> {
    Scheduler {
        percentage_of_nodes_to_score: Some(100),
        next_start: 0,
    }
    .schedule(pod, snapshot)
}

/// How many feasible nodes to find before scoring (upstream `numFeasibleNodesToFind`).
pub fn feasible_nodes_to_find(total: usize, percentage: Option<u32>) -> usize {
    const MIN_FEASIBLE: usize = 100;
    if total < MIN_FEASIBLE {
        return total;
    }
    let percentage = match percentage {
        Some(p) if p > 0 => p as usize,
        _ => 50usize.saturating_sub(total / 125).max(5),
    };
    if percentage >= 100 {
        return total;
    }
    (total * percentage / 100).max(MIN_FEASIBLE)
}
