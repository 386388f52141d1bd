//! Dispatch over the providers (enum, not `dyn`): which are built, how each is connected, and the
//! clear error for those that are not yet.

use std::path::PathBuf;
use std::time::Duration;

use clusterctl_config::{ClusterConfig, NodeGroup, Provider};
use clusterctl_kubeconfig::Entry;
use clusterctl_provider_api::{
    ClusterRef, ClusterSummary, NodeGroupSummary, NodeSummary, Provider as _, ProviderError,
    Result, Scaling,
};
use clusterctl_provider_eks::{EksOptions, EksProvider};
use clusterctl_provider_local::{LocalOptions, LocalProvider};
use clusterctl_steps::Step;

/// Where each provider's work is tracked, for the "not built yet" message.
fn tracking(provider: Provider) -> &'static str {
    match provider {
        Provider::Eks => "issue #7 (EKS provider, tested against moto)",
        Provider::Gke => "the GKE provider issue (not filed yet)",
        Provider::Aks => "the AKS provider issue (not filed yet)",
        Provider::Local => "issue #6 (local provider)",
        Provider::Ssh => "the ssh provider issue (not filed yet), which needs the clusterd orchestrator (#3, #4, #5)",
    }
}

/// What a command tells the provider it connects to.
#[derive(Debug, Clone, Default)]
pub struct Connect {
    /// `--region` (or the config's `metadata.region`).
    pub region: Option<String>,
    /// `--kubeconfig`.
    pub kubeconfig: Option<PathBuf>,
    /// `--wait`: bound on each wait.
    pub wait: Option<Duration>,
}

/// The built providers; each arrives as its own crate and variant.
#[derive(Debug)]
pub enum AnyProvider {
    /// AWS EKS.
    Eks(EksProvider),
    /// Docker containers on this machine.
    Local(LocalProvider),
}

/// The provider for `kind`, connected, or the error saying it is not built yet.
pub async fn get(kind: Provider, operation: &str, connect: &Connect) -> Result<AnyProvider> {
    match kind {
        Provider::Eks => {
            let options = EksOptions {
                kubeconfig: connect.kubeconfig.clone(),
                wait: connect.wait,
                ..EksOptions::default()
            };
            let provider = EksProvider::connect(connect.region.as_deref(), options).await?;
            Ok(AnyProvider::Eks(provider))
        }
        Provider::Local => {
            let options = LocalOptions {
                kubeconfig: connect.kubeconfig.clone(),
                wait: connect.wait,
            };
            let provider = LocalProvider::connect(options)
                .await
                .map_err(ProviderError::from)?;
            Ok(AnyProvider::Local(provider))
        }
        other => Err(not_built(other, operation)),
    }
}

/// The error for an operation outside the provider trait (image load, log export) on a provider
/// other than local: not built yet for ssh, not applicable to the managed clouds.
pub fn unsupported(kind: Provider, operation: &str) -> ProviderError {
    if matches!(kind, Provider::Eks | Provider::Gke | Provider::Aks) {
        return ProviderError::NotBuilt {
            provider: kind,
            operation: operation.to_string(),
            detail: format!(
                "{kind} nodes are managed by the cloud; this works with the local provider"
            ),
        };
    }
    not_built(kind, operation)
}

fn not_built(kind: Provider, operation: &str) -> ProviderError {
    ProviderError::NotBuilt {
        provider: kind,
        operation: operation.to_string(),
        detail: format!(
            "this part of it is not built yet; it is tracked in {}. Nothing was changed. \
             `clusterctl create --dry-run` validates a config and prints it fully defaulted meanwhile",
            tracking(kind)
        ),
    }
}

impl AnyProvider {
    /// The region the provider works in, where it has one.
    pub fn region(&self) -> Option<&str> {
        match self {
            AnyProvider::Eks(p) => Some(p.region()),
            AnyProvider::Local(_) => None,
        }
    }

    /// See [`clusterctl_provider_api::Provider::create_steps`].
    pub fn create_steps(&self, config: &ClusterConfig) -> Result<Vec<Box<dyn Step>>> {
        match self {
            AnyProvider::Eks(p) => p.create_steps(config),
            AnyProvider::Local(p) => p.create_steps(config),
        }
    }

    /// See [`clusterctl_provider_api::Provider::delete_steps`].
    pub fn delete_steps(&self, cluster: &ClusterRef) -> Result<Vec<Box<dyn Step>>> {
        match self {
            AnyProvider::Eks(p) => p.delete_steps(cluster),
            AnyProvider::Local(p) => p.delete_steps(cluster),
        }
    }

    /// See [`clusterctl_provider_api::Provider::create_nodegroup_steps`].
    pub fn create_nodegroup_steps(
        &self,
        cluster: &ClusterRef,
        group: &NodeGroup,
    ) -> Result<Vec<Box<dyn Step>>> {
        match self {
            AnyProvider::Eks(p) => p.create_nodegroup_steps(cluster, group),
            AnyProvider::Local(p) => p.create_nodegroup_steps(cluster, group),
        }
    }

    /// See [`clusterctl_provider_api::Provider::delete_nodegroup_steps`].
    pub fn delete_nodegroup_steps(
        &self,
        cluster: &ClusterRef,
        nodegroup: &str,
    ) -> Result<Vec<Box<dyn Step>>> {
        match self {
            AnyProvider::Eks(p) => p.delete_nodegroup_steps(cluster, nodegroup),
            AnyProvider::Local(p) => p.delete_nodegroup_steps(cluster, nodegroup),
        }
    }

    /// See [`clusterctl_provider_api::Provider::upgrade_steps`].
    pub fn upgrade_steps(&self, cluster: &ClusterRef, version: &str) -> Result<Vec<Box<dyn Step>>> {
        match self {
            AnyProvider::Eks(p) => p.upgrade_steps(cluster, version),
            AnyProvider::Local(p) => p.upgrade_steps(cluster, version),
        }
    }

    /// See [`clusterctl_provider_api::Provider::list_clusters`].
    pub async fn list_clusters(&self, region: Option<&str>) -> Result<Vec<ClusterSummary>> {
        match self {
            AnyProvider::Eks(p) => p.list_clusters(region).await,
            AnyProvider::Local(p) => p.list_clusters(region).await,
        }
    }

    /// See [`clusterctl_provider_api::Provider::list_nodegroups`].
    pub async fn list_nodegroups(&self, cluster: &ClusterRef) -> Result<Vec<NodeGroupSummary>> {
        match self {
            AnyProvider::Eks(p) => p.list_nodegroups(cluster).await,
            AnyProvider::Local(p) => p.list_nodegroups(cluster).await,
        }
    }

    /// See [`clusterctl_provider_api::Provider::list_nodes`].
    pub async fn list_nodes(&self, cluster: &ClusterRef) -> Result<Vec<NodeSummary>> {
        match self {
            AnyProvider::Eks(p) => p.list_nodes(cluster).await,
            AnyProvider::Local(p) => p.list_nodes(cluster).await,
        }
    }

    /// See [`clusterctl_provider_api::Provider::scale_nodegroup`].
    pub async fn scale_nodegroup(
        &self,
        cluster: &ClusterRef,
        nodegroup: &str,
        scaling: Scaling,
    ) -> Result<()> {
        match self {
            AnyProvider::Eks(p) => p.scale_nodegroup(cluster, nodegroup, scaling).await,
            AnyProvider::Local(p) => p.scale_nodegroup(cluster, nodegroup, scaling).await,
        }
    }

    /// See [`clusterctl_provider_api::Provider::scale_steps`].
    pub async fn scale_steps(
        &self,
        cluster: &ClusterRef,
        nodegroup: &str,
        scaling: Scaling,
    ) -> Result<Option<Vec<Box<dyn Step>>>> {
        match self {
            AnyProvider::Eks(p) => p.scale_steps(cluster, nodegroup, scaling).await,
            AnyProvider::Local(p) => p.scale_steps(cluster, nodegroup, scaling).await,
        }
    }

    /// See [`clusterctl_provider_api::Provider::kubeconfig_entry`].
    pub async fn kubeconfig_entry(&self, cluster: &ClusterRef) -> Result<Entry> {
        match self {
            AnyProvider::Eks(p) => p.kubeconfig_entry(cluster).await,
            AnyProvider::Local(p) => p.kubeconfig_entry(cluster).await,
        }
    }
}
