//! The cluster's own bridge network, `clusterctl-<cluster>`, on a subnet of its own so that
//! nodes keep their addresses across restarts (see [`crate::subnet`]).

use clusterctl_steps::{BoxFuture, Ctx, Step, StepResult};

use crate::docker::NetworkIpam;
use crate::names::{self, FIXED_ADDRESSES_LABEL};
use crate::plan::LocalCluster;
use crate::subnet::Subnet;
use crate::Result;

/// The subnet of the cluster's network when it was created for fixed node addresses.
pub(crate) async fn fixed_subnet(cluster: &LocalCluster) -> Result<Option<Subnet>> {
    let name = cluster.network();
    let found = cluster
        .docker
        .list_networks(&names::cluster_labels(&cluster.name))
        .await?;
    Ok(found
        .into_iter()
        .find(|network| {
            network.name == name
                && network
                    .labels
                    .get(FIXED_ADDRESSES_LABEL)
                    .map(String::as_str)
                    == Some("true")
        })
        .and_then(|network| network.subnet)
        .and_then(|subnet| Subnet::parse(&subnet)))
}

/// Creates the cluster network unless it exists.
#[derive(Debug, Clone)]
pub struct CreateNetwork {
    cluster: LocalCluster,
}

impl CreateNetwork {
    /// The step for `cluster`.
    pub fn new(cluster: LocalCluster) -> Self {
        Self { cluster }
    }

    /// Creates the network on a subnet Docker picks (one that collides with nothing on this
    /// machine), then makes that subnet the network's own: re-created with it, the gateway and
    /// Docker's dynamic range in the upper half, so nodes can have fixed addresses below.
    async fn create(&self) -> Result<()> {
        let docker = self.cluster.docker.as_ref();
        let name = self.cluster.network();
        let labels = names::cluster_labels(&self.cluster.name);
        docker.create_network(&name, &labels, None).await?;
        let subnet = docker
            .list_networks(&labels)
            .await?
            .into_iter()
            .find(|network| network.name == name)
            .and_then(|network| network.subnet)
            .and_then(|subnet| Subnet::parse(&subnet))
            .filter(|subnet| subnet.dynamic_range().is_some());
        let Some(subnet) = subnet else {
            tracing::warn!(network = %name, "no IPv4 subnet to fix node addresses in; nodes get new addresses when they restart");
            return Ok(());
        };
        docker.remove_network(&name).await?;
        let mut fixed = labels;
        fixed.insert(FIXED_ADDRESSES_LABEL.to_owned(), "true".to_owned());
        let ipam = NetworkIpam {
            subnet: subnet.to_string(),
            gateway: subnet.gateway().to_string(),
            ip_range: subnet.dynamic_range(),
        };
        docker.create_network(&name, &fixed, Some(&ipam)).await?;
        Ok(())
    }

    async fn exists(&self) -> Result<bool> {
        let name = self.cluster.network();
        let found = self
            .cluster
            .docker
            .list_networks(&names::cluster_labels(&self.cluster.name))
            .await?;
        Ok(found.iter().any(|network| network.name == name))
    }
}

impl Step for CreateNetwork {
    fn title(&self) -> String {
        format!("Creating network {}", self.cluster.network())
    }

    fn is_done<'a>(&'a self, _ctx: &'a Ctx) -> BoxFuture<'a, StepResult<bool>> {
        Box::pin(async move { Ok(self.exists().await?) })
    }

    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult> {
        Box::pin(async move {
            if self.exists().await? {
                return Ok(());
            }
            let name = self.cluster.network();
            ctx.wet(
                &self.cluster.host(),
                format!("create network {name}"),
                self.create(),
            )
            .await?;
            Ok(())
        })
    }

    fn cleanup<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult> {
        Box::pin(async move {
            if !self.exists().await? {
                return Ok(());
            }
            let name = self.cluster.network();
            ctx.wet(
                &self.cluster.host(),
                format!("remove network {name}"),
                self.cluster.docker.remove_network(&name),
            )
            .await?;
            Ok(())
        })
    }
}
