//! What every provider implements and what the CLI calls: the [`Provider`] trait, the summaries
//! `get` prints, the labels every created resource carries, node handles and the provider error.
//!
//! Providers live in their own crates (`providers/<name>`) so that `cargo test -p scheduler` never
//! compiles a cloud SDK; the CLI dispatches over them with an enum, not `dyn`.

pub mod error;
pub mod labels;
pub mod node;
pub mod summary;

pub use error::{ProviderError, Result, RunError};
pub use node::Node;
pub use summary::{ClusterSummary, NodeGroupSummary, NodeSummary};

use clusterctl_config::{ClusterConfig, NodeGroup, Provider as ProviderKind};
use clusterctl_steps::Step;

/// A cluster as a day-2 command names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterRef {
    /// Cluster name.
    pub name: String,
    /// Region/location, for the managed clouds.
    pub region: Option<String>,
}

/// A requested node-group size; `min <= desired <= max` is checked before any provider call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scaling {
    /// Desired nodes.
    pub desired: u32,
    /// New minimum, if changing.
    pub min: Option<u32>,
    /// New maximum, if changing.
    pub max: Option<u32>,
}

/// The operations every provider offers. Long operations return their steps, so the CLI runs them
/// through the one step runner (progress, dry-run plan, cleanup, Ctrl-C) whichever provider it is.
#[allow(async_fn_in_trait)]
pub trait Provider {
    /// Which provider this is.
    fn kind(&self) -> ProviderKind;
    /// The ordered steps that create the cluster described by a validated, defaulted config.
    fn create_steps(&self, config: &ClusterConfig) -> Result<Vec<Box<dyn Step>>>;
    /// The ordered steps that delete a cluster and everything this tool created for it.
    fn delete_steps(&self, cluster: &ClusterRef) -> Result<Vec<Box<dyn Step>>>;
    /// Clusters this tool created, rediscovered from labels/tags.
    async fn list_clusters(&self, region: Option<&str>) -> Result<Vec<ClusterSummary>>;
    /// Node groups of one cluster.
    async fn list_nodegroups(&self, cluster: &ClusterRef) -> Result<Vec<NodeGroupSummary>>;
    /// Nodes of one cluster.
    async fn list_nodes(&self, cluster: &ClusterRef) -> Result<Vec<NodeSummary>>;
    /// Changes a node group's size.
    async fn scale_nodegroup(
        &self,
        cluster: &ClusterRef,
        nodegroup: &str,
        scaling: Scaling,
    ) -> Result<()>;
    /// The steps that change a node group's size, for providers whose scaling is a multi-step
    /// change on this machine (the CLI runs them with progress, Ctrl-C and resume); `None` when
    /// the provider scales with [`Self::scale_nodegroup`] (one cloud call).
    async fn scale_steps(
        &self,
        cluster: &ClusterRef,
        nodegroup: &str,
        scaling: Scaling,
    ) -> Result<Option<Vec<Box<dyn Step>>>> {
        let _ = (cluster, nodegroup, scaling);
        Ok(None)
    }
    /// The steps that add one node group (defaulted) to an existing cluster.
    fn create_nodegroup_steps(
        &self,
        cluster: &ClusterRef,
        nodegroup: &NodeGroup,
    ) -> Result<Vec<Box<dyn Step>>> {
        let _ = (cluster, nodegroup);
        Err(not_built(self.kind(), "create node groups"))
    }
    /// The steps that delete one node group.
    fn delete_nodegroup_steps(
        &self,
        cluster: &ClusterRef,
        nodegroup: &str,
    ) -> Result<Vec<Box<dyn Step>>> {
        let _ = (cluster, nodegroup);
        Err(not_built(self.kind(), "delete node groups"))
    }
    /// The steps that upgrade the control plane and then the nodes to `version`.
    fn upgrade_steps(&self, cluster: &ClusterRef, version: &str) -> Result<Vec<Box<dyn Step>>> {
        let _ = (cluster, version);
        Err(not_built(self.kind(), "upgrade clusters"))
    }
    /// The kubeconfig entry (cluster, user, context) for an existing cluster.
    async fn kubeconfig_entry(&self, cluster: &ClusterRef) -> Result<clusterctl_kubeconfig::Entry> {
        let _ = cluster;
        Err(not_built(self.kind(), "fetch cluster credentials"))
    }
}

/// The error for an operation a provider does not offer (yet).
pub fn not_built(provider: ProviderKind, operation: &str) -> ProviderError {
    ProviderError::NotBuilt {
        provider,
        operation: operation.to_owned(),
        detail: format!("the {provider} provider does not implement it; nothing was changed"),
    }
}

/// Checks `min <= desired <= max` for a scaling request against the node group's current bounds.
pub fn check_scaling(scaling: Scaling, current_min: u32, current_max: u32) -> Result<()> {
    let min = scaling.min.unwrap_or(current_min);
    let max = scaling.max.unwrap_or(current_max);
    let problem = if min > max {
        Some(format!("minimum {min} is above maximum {max}"))
    } else if scaling.desired < min {
        Some(format!(
            "desired {} is below minimum {min}",
            scaling.desired
        ))
    } else if scaling.desired > max {
        Some(format!(
            "desired {} is above maximum {max}",
            scaling.desired
        ))
    } else {
        None
    };
    match problem {
        Some(message) => Err(ProviderError::InvalidRequest { message }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_uses_current_bounds_when_not_changing_them() {
        let s = Scaling {
            desired: 4,
            min: None,
            max: None,
        };
        let err = check_scaling(s, 1, 3).unwrap_err().to_string();
        assert!(err.contains("desired 4 is above maximum 3"), "{err}");
        assert!(check_scaling(
            Scaling {
                desired: 4,
                min: None,
                max: Some(5)
            },
            1,
            3
        )
        .is_ok());
    }

    #[test]
    fn scaling_rejects_min_above_max() {
        let err = check_scaling(
            Scaling {
                desired: 2,
                min: Some(3),
                max: Some(2),
            },
            1,
            3,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("minimum 3 is above maximum 2"),
            "{err}"
        );
    }
}
