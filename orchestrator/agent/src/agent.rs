//! The agent: registers the node, keeps its status and Lease, sets up the pod network and runs
//! the node's pods.

use std::future::Future;
use std::sync::Arc;

use clusterd_cri::Runtime;

use crate::node::{self, HostInfo};
use crate::{pods, AgentConfig, Result};

/// A node agent over the container runtime `R`.
#[derive(Debug)]
pub struct Agent<R> {
    config: Arc<AgentConfig>,
    runtime: Arc<R>,
}

impl<R: Runtime + 'static> Agent<R> {
    /// An agent with `config` driving `runtime`.
    pub fn new(config: AgentConfig, runtime: R) -> Self {
        Agent {
            config: Arc::new(config),
            runtime: Arc::new(runtime),
        }
    }

    /// An agent sharing `runtime` with its caller (e.g. a test that inspects it).
    pub fn with_shared_runtime(config: AgentConfig, runtime: Arc<R>) -> Self {
        Agent {
            config: Arc::new(config),
            runtime,
        }
    }

    /// The agent's settings.
    pub fn config(&self) -> &AgentConfig {
        &self.config
    }

    /// Registers the node and runs until `shutdown` completes. Stopping leaves the pods running;
    /// the next agent on this node re-adopts them.
    pub async fn run(self, client: kube::Client, shutdown: impl Future<Output = ()>) -> Result<()> {
        let config = self.config.clone();
        let host = HostInfo::probe(&config.data_dir);
        let node_resources = (host.cpus, host.memory_bytes);
        node::register(&client, &config).await?;
        let loops =
            node::run_node_loops(client.clone(), config.clone(), self.runtime.clone(), host);
        let work = async {
            let cidr = node::wait_for_pod_cidr(&client, &config).await?;
            let path = node::write_cni_config(&config, cidr)?;
            tracing::info!(node = %config.node_name, pod_cidr = %cidr, conflist = %path.display(), "pod network configured");
            pods::run_pods(
                client.clone(),
                config.clone(),
                self.runtime.clone(),
                node_resources,
            )
            .await
        };
        tokio::select! {
            _ = loops => Ok(()),
            result = work => result,
            _ = shutdown => {
                tracing::info!(node = %config.node_name, "agent stopping; pods keep running");
                Ok(())
            }
        }
    }
}
