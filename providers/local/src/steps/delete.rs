//! Deletes a cluster: every container, volume and network labelled for it, and nothing else.

use std::sync::Arc;

use clusterctl_steps::{BoxFuture, Ctx, Step, StepResult};

use crate::cluster::resources;
use crate::docker::DockerApi;

/// Removes what `clusterctl.io/cluster=<name>` + `clusterctl.io/owned=true` mark.
#[derive(Debug, Clone)]
pub struct DeleteCluster {
    docker: Arc<dyn DockerApi>,
    cluster: String,
}

impl DeleteCluster {
    /// The step that deletes `cluster`.
    pub fn new(docker: Arc<dyn DockerApi>, cluster: impl Into<String>) -> Self {
        Self {
            docker,
            cluster: cluster.into(),
        }
    }
}

impl Step for DeleteCluster {
    fn title(&self) -> String {
        format!(
            "Deleting the containers, volumes and network of cluster {}",
            self.cluster
        )
    }

    fn is_done<'a>(&'a self, _ctx: &'a Ctx) -> BoxFuture<'a, StepResult<bool>> {
        Box::pin(async move {
            Ok(resources(self.docker.as_ref(), &self.cluster)
                .await?
                .is_empty())
        })
    }

    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult> {
        Box::pin(async move {
            let found = resources(self.docker.as_ref(), &self.cluster).await?;
            let docker = self.docker.as_ref();
            // Containers first: they hold the volumes and the network.
            for name in &found.containers {
                ctx.wet(
                    name,
                    format!("remove container {name}"),
                    docker.remove_container(name),
                )
                .await?;
            }
            let host = format!("docker/{}", self.cluster);
            for name in &found.volumes {
                ctx.wet(
                    &host,
                    format!("remove volume {name}"),
                    docker.remove_volume(name),
                )
                .await?;
            }
            for name in &found.networks {
                ctx.wet(
                    &host,
                    format!("remove network {name}"),
                    docker.remove_network(name),
                )
                .await?;
            }
            Ok(())
        })
    }
}
