//! The cluster's own bridge network, `clusterctl-<cluster>`.

use clusterctl_steps::{BoxFuture, Ctx, Step, StepResult};

use crate::names;
use crate::plan::LocalCluster;
use crate::Result;

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
            let labels = names::cluster_labels(&self.cluster.name);
            ctx.wet(
                &self.cluster.host(),
                format!("create network {name}"),
                self.cluster.docker.create_network(&name, &labels),
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
