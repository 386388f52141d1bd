//! Node IPAM: every Node gets its own pod range, `spec.podCIDR` (and `spec.podCIDRs`), a /24 of
//! the cluster CIDR 10.244.0.0/16 by default (upstream's range allocator). Ranges in use are read
//! from the nodes themselves on every pass, so a deleted node's range is free again and nothing is
//! kept that could drift; the lowest free range goes to each node without one, in name order.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use k8s_openapi::api::core::v1::Node;
use serde_json::json;

use crate::change::{is_terminating, Change, Target};
use crate::state::{ClusterState, ControllersConfig};
use crate::{Error, Result};

/// The cluster CIDR and the size of each node's range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CidrPlan {
    network: u32,
    prefix: u8,
    node_prefix: u8,
}

impl CidrPlan {
    /// Node ranges of `/node_prefix` carved from `cluster_cidr` (`10.244.0.0/16`, 24).
    pub fn new(cluster_cidr: &str, node_prefix: u8) -> Result<CidrPlan> {
        let invalid = |reason: &str| Error::Config {
            field: "cluster CIDR",
            value: format!("{cluster_cidr} with /{node_prefix} per node"),
            reason: reason.into(),
        };
        let (ip, bits) = cluster_cidr
            .split_once('/')
            .ok_or_else(|| invalid("not an IPv4 CIDR"))?;
        let ip: Ipv4Addr = ip.parse().map_err(|_| invalid("not an IPv4 address"))?;
        let prefix: u8 = bits
            .parse()
            .ok()
            .filter(|b| *b <= 32)
            .ok_or_else(|| invalid("bad prefix length"))?;
        if node_prefix < prefix || node_prefix > 30 || node_prefix - prefix > 20 {
            return Err(invalid(
                "the node prefix must be at most 30 and split the cluster CIDR into at most 2^20 ranges",
            ));
        }
        Ok(CidrPlan {
            network: u32::from(ip) & mask(prefix),
            prefix,
            node_prefix,
        })
    }

    /// How many node ranges there are.
    pub fn capacity(&self) -> u32 {
        1 << (self.node_prefix - self.prefix)
    }

    /// The `index`-th node range as text.
    pub fn range(&self, index: u32) -> String {
        let network = self.network + (index << (32 - self.node_prefix));
        format!("{}/{}", Ipv4Addr::from(network), self.node_prefix)
    }

    /// The index of a node range of this plan, `None` for anything else.
    pub fn index_of(&self, cidr: &str) -> Option<u32> {
        let (ip, bits) = cidr.split_once('/')?;
        let ip: u32 = ip.parse::<Ipv4Addr>().ok()?.into();
        let bits: u8 = bits.parse().ok()?;
        if bits != self.node_prefix || ip & mask(self.prefix) != self.network {
            return None;
        }
        Some((ip - self.network) >> (32 - self.node_prefix))
    }
}

fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    }
}

fn pod_cidrs(node: &Node) -> Vec<String> {
    let Some(spec) = node.spec.as_ref() else {
        return Vec::new();
    };
    let mut cidrs: Vec<String> = spec.pod_cidrs.clone().unwrap_or_default();
    cidrs.extend(spec.pod_cidr.clone());
    cidrs.retain(|c| !c.is_empty());
    cidrs
}

/// Assigns a free range to every node that has none (skipping nodes being deleted).
pub fn reconcile_all(state: &ClusterState, config: &ControllersConfig) -> Vec<Change> {
    let plan = match CidrPlan::new(&config.cluster_cidr, config.node_cidr_mask_size) {
        Ok(plan) => plan,
        Err(error) => {
            tracing::warn!(%error, "node IPAM disabled");
            return Vec::new();
        }
    };
    let used: BTreeSet<u32> = state
        .nodes
        .values()
        .flat_map(pod_cidrs)
        .filter_map(|c| plan.index_of(&c))
        .collect();
    let mut free = (0..plan.capacity()).filter(|i| !used.contains(i));
    let mut changes = Vec::new();
    for node in state
        .nodes
        .values()
        .filter(|n| pod_cidrs(n).is_empty() && !is_terminating(&n.metadata))
    {
        match free.next() {
            Some(index) => {
                let cidr = plan.range(index);
                changes.push(Change::Patch {
                    target: Target::of(node),
                    patch: json!({"spec": {"podCIDR": cidr, "podCIDRs": [cidr]}}),
                });
            }
            None => changes.push(Change::warning(
                node,
                "CIDRNotAvailable",
                format!(
                    "Node {} status is now: CIDRNotAvailable (cluster CIDR {} is full)",
                    node.metadata.name.as_deref().unwrap_or_default(),
                    config.cluster_cidr
                ),
            )),
        }
    }
    changes
}

#[cfg(test)]
#[path = "node_ipam_tests.rs"]
mod tests;
