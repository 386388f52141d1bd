//! Deletes a cluster: every container, volume and network labelled for it, and nothing else.

use std::sync::Arc;

use clusterctl_steps::{BoxFuture, Ctx, Step, StepResult};

use crate::cluster::resources;
use crate::docker::DockerApi;

/// Removes a network; Docker may still count the endpoints of containers removed a moment ago,
/// so "active endpoints" is retried for a few seconds before it is reported.
async fn remove_network(docker: &dyn DockerApi, name: &str) -> crate::Result<()> {
    let mut attempts = 0;
    loop {
        match docker.remove_network(name).await {
            Err(error) if attempts < 20 && error.to_string().contains("active endpoints") => {
                attempts += 1;
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
            Err(crate::Error::Docker { detail, .. }) if detail.contains("active endpoints") => {
                return Err(crate::Error::docker(
                    "remove network",
                    name,
                    format!("{detail}; containers that are not the cluster's are still attached: `docker network inspect {name}` lists them"),
                ))
            }
            Err(error) => return Err(error),
            Ok(()) => return Ok(()),
        }
    }
}

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
                    remove_network(docker, name),
                )
                .await?;
            }
            Ok(())
        })
    }
}
