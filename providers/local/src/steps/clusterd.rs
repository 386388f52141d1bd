//! Copies the bundled clusterd into every node and verifies it there.

use std::sync::Arc;

use clusterctl_bundle::Clusterd;
use clusterctl_steps::{for_each_host, BoxFuture, Ctx, Step, StepResult};

use crate::clusterd::{install, is_installed, CLUSTERD_PATH};
use crate::docker_node::DockerNode;
use crate::plan::LocalCluster;

/// Uploads clusterd to `/usr/local/bin/clusterd` in each node (skipping nodes that have the same
/// bytes), checks its sha256 inside the node and runs `clusterd --version`.
#[derive(Debug, Clone)]
pub struct CopyClusterd {
    cluster: LocalCluster,
    clusterd: Arc<Clusterd>,
}

impl CopyClusterd {
    /// The step for `cluster`, copying `clusterd`.
    pub fn new(cluster: LocalCluster, clusterd: Arc<Clusterd>) -> Self {
        Self { cluster, clusterd }
    }

    fn node_names(&self) -> Vec<String> {
        self.cluster
            .containers()
            .into_iter()
            .map(|(role, index)| self.cluster.node_name(role, index))
            .collect()
    }
}

impl Step for CopyClusterd {
    fn title(&self) -> String {
        let count = self.cluster.servers + self.cluster.agents;
        format!(
            "Copying clusterd to {count} node{}{}",
            if count == 1 { "" } else { "s" },
            if self.cluster.ha() {
                " and the load balancer"
            } else {
                ""
            }
        )
    }

    fn is_done<'a>(&'a self, _ctx: &'a Ctx) -> BoxFuture<'a, StepResult<bool>> {
        Box::pin(async move {
            for name in self.node_names() {
                let node = DockerNode::new(self.cluster.docker.clone(), name);
                if !node.is_running().await? || !is_installed(&node, &self.clusterd).await? {
                    return Ok(false);
                }
            }
            Ok(true)
        })
    }

    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult> {
        Box::pin(async move {
            let digest = &self.clusterd.sha256()[..12];
            for_each_host(ctx, self.node_names(), self.cluster.parallelism, |name| async move {
                let node = DockerNode::new(self.cluster.docker.clone(), name.clone());
                let action = format!("copy clusterd (sha256 {digest}…) to {CLUSTERD_PATH} and verify it");
                let installed = ctx.wet(&name, action, install(&node, &self.clusterd)).await?;
                if let Some(installed) = installed {
                    tracing::info!(node = %name, version = %installed.version, uploaded = installed.uploaded, "clusterd in place");
                }
                Ok::<(), crate::Error>(())
            })
            .await?;
            Ok(())
        })
    }
}
