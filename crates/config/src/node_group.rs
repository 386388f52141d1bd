//! Groups of identical worker nodes on the managed clouds (EKS node groups, GKE node pools,
//! AKS agent pools).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A set of identical nodes that scales between `minSize` and `maxSize`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NodeGroup {
    /// Name, unique in the cluster; defaults to `ng-1`, `ng-2`, ... (`ng1`, ... on AKS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// EKS instance type, GKE machine type or AKS VM size (`t3.medium`, `e2-medium`,
    /// `Standard_DS2_v2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<String>,
    /// Number of nodes to start with; defaults to 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_capacity: Option<i32>,
    /// Fewest nodes the group scales down to; defaults to `desiredCapacity`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_size: Option<i32>,
    /// Most nodes the group scales up to; defaults to `desiredCapacity`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size: Option<i32>,
    /// Kubernetes labels put on every node of the group.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Kubernetes taints put on every node of the group.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub taints: Vec<Taint>,
    /// Root volume size in GiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_size: Option<i32>,
}

/// A Kubernetes node taint: keeps pods off a node unless they tolerate it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Taint {
    /// Taint key, a Kubernetes qualified name (`dedicated`, `example.com/gpu`).
    pub key: String,
    /// Optional taint value, a Kubernetes label value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// What happens to pods that do not tolerate the taint.
    pub effect: TaintEffect,
}

/// The effect of a [`Taint`], spelled as in Kubernetes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TaintEffect {
    /// New pods are not scheduled on the node.
    NoSchedule,
    /// The scheduler avoids the node when it can.
    PreferNoSchedule,
    /// Running pods are evicted as well.
    NoExecute,
}

impl TaintEffect {
    /// The Kubernetes spelling (`NoSchedule`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            TaintEffect::NoSchedule => "NoSchedule",
            TaintEffect::PreferNoSchedule => "PreferNoSchedule",
            TaintEffect::NoExecute => "NoExecute",
        }
    }
}

impl fmt::Display for TaintEffect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
