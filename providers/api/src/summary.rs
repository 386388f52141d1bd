//! What `clusterctl get` prints, the same shape for every provider.

use serde::Serialize;

/// One cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterSummary {
    /// Cluster name.
    pub name: String,
    /// Provider name.
    pub provider: String,
    /// Region/location, where the provider has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Kubernetes version.
    pub version: String,
    /// Provider-reported status, e.g. ACTIVE, Running.
    pub status: String,
    /// API server URL, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
}

/// One node group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeGroupSummary {
    /// Cluster it belongs to.
    pub cluster: String,
    /// Node group name.
    pub name: String,
    /// Instance type / machine type / VM size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<String>,
    /// Desired size.
    pub desired: u32,
    /// Minimum size.
    pub min: u32,
    /// Maximum size.
    pub max: u32,
    /// Provider-reported status.
    pub status: String,
}

/// One node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeSummary {
    /// Node name.
    pub name: String,
    /// `server` or `agent` (local/ssh) or the node group name (clouds).
    pub role: String,
    /// Ready, NotReady, Running...
    pub status: String,
    /// Address clusterctl reaches it at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}
