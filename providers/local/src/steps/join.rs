//! Joining the agent nodes: a bootstrap token and the CA pin from the server, then each agent's
//! args file, which makes its entrypoint exec `clusterd agent`.

use clusterctl_steps::{for_each_host, BoxFuture, Ctx, Step, StepResult};

use crate::admin::DATA_DIR;
use crate::args_file::{self, agent_args, JoinCredentials};
use crate::clusterd::CLUSTERD_PATH;
use clusterctl_provider_api::Node as _;

use crate::docker_node::DockerNode;
use crate::names::Role;
use crate::plan::LocalCluster;
use crate::steps::server::node_address;
use crate::Result;

/// Creates a join token on the first server (once, only when an agent still needs it) and writes
/// every agent's args file.
#[derive(Debug, Clone)]
pub struct JoinAgents {
    cluster: LocalCluster,
}

/// Asks clusterd on `server` for a new bootstrap token and the CA pin.
pub async fn create_join_credentials(server: &DockerNode) -> Result<JoinCredentials> {
    let token = server
        .run(&[CLUSTERD_PATH, "token", "create", "--data-dir", DATA_DIR])
        .await?;
    let hash = server
        .run(&[CLUSTERD_PATH, "token", "ca-hash", "--data-dir", DATA_DIR])
        .await?;
    Ok(JoinCredentials {
        token: token.stdout.trim().to_owned(),
        ca_hash: hash.stdout.trim().to_owned(),
    })
}

impl JoinAgents {
    /// The step for `cluster`.
    pub fn new(cluster: LocalCluster) -> Self {
        Self { cluster }
    }

    fn agents(&self) -> Vec<String> {
        self.cluster.names(Role::Agent)
    }

    async fn is_joined(&self, name: &str) -> Result<bool> {
        args_file::is_started(&DockerNode::new(self.cluster.docker.clone(), name)).await
    }
}

impl Step for JoinAgents {
    fn title(&self) -> String {
        let count = self.cluster.agents;
        format!(
            "Joining {count} agent{} to the cluster",
            if count == 1 { "" } else { "s" }
        )
    }

    fn is_done<'a>(&'a self, _ctx: &'a Ctx) -> BoxFuture<'a, StepResult<bool>> {
        Box::pin(async move {
            for name in self.agents() {
                if !self.is_joined(&name).await? {
                    return Ok(false);
                }
            }
            Ok(true)
        })
    }

    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult> {
        Box::pin(async move {
            let server_name = self.cluster.node_name(Role::Server, 0);
            let server = DockerNode::new(self.cluster.docker.clone(), server_name.clone());
            // Agents of an HA cluster join through its load balancer, so any server serves them.
            let endpoint = if self.cluster.ha() {
                self.cluster.node_name(Role::Lb, 0)
            } else {
                server_name.clone()
            };
            let server_address = node_address(ctx, &self.cluster, &endpoint).await?;
            let pending: Vec<String> = {
                let mut pending = Vec::new();
                for name in self.agents() {
                    if !self.is_joined(&name).await? {
                        pending.push(name);
                    }
                }
                pending
            };
            if pending.is_empty() {
                return Ok(());
            }
            // One token for the agents joining in this run.
            let join = ctx
                .wet(
                    &server_name,
                    "create a bootstrap token (`clusterd token create`) and read the CA pin",
                    create_join_credentials(&server),
                )
                .await?
                .unwrap_or_else(|| JoinCredentials {
                    token: "<token>".to_owned(),
                    ca_hash: "<ca hash>".to_owned(),
                });
            for_each_host(ctx, pending, self.cluster.parallelism, |name| {
                let join = join.clone();
                let server_address = server_address.clone();
                async move {
                    let node = DockerNode::new(self.cluster.docker.clone(), name.clone());
                    let address = node_address(ctx, &self.cluster, &name).await?;
                    let mut args = agent_args(&server_address, &join, &name, &address);
                    args.extend(self.cluster.worker_registration.args());
                    args.extend(args_file::mirror_args(&self.cluster.registry_mirrors));
                    args_file::start(ctx, &node, &args).await?;
                    Ok::<(), crate::Error>(())
                }
            })
            .await?;
            Ok(())
        })
    }
}
