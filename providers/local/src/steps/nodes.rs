//! The node containers: a containerd volume each, created and started in parallel (bounded).

use clusterctl_steps::{for_each_host, BoxFuture, Ctx, Step, StepResult};

use crate::docker::ContainerState;
use crate::names::{self, Role};
use crate::node::free_local_port;
use crate::plan::LocalCluster;
use crate::steps::network::fixed_subnet;
use crate::{Error, Result};

/// Creates and starts every node container that is missing or stopped.
#[derive(Debug, Clone)]
pub struct CreateNodes {
    cluster: LocalCluster,
}

impl CreateNodes {
    /// The step for `cluster`.
    pub fn new(cluster: LocalCluster) -> Self {
        Self { cluster }
    }

    fn node_names(&self) -> Vec<(String, Role, usize)> {
        self.cluster
            .containers()
            .into_iter()
            .map(|(role, index)| (self.cluster.node_name(role, index), role, index))
            .collect()
    }

    /// The host port for a server's API server: the configured one for the first server,
    /// else a free port on this machine, fixed at creation so it survives restarts.
    fn api_port(&self, role: Role, index: usize) -> Result<Option<u16>> {
        let publishes = match role {
            Role::Agent => false,
            Role::Server => !self.cluster.ha(),
            Role::Lb => true,
        };
        match role {
            _ if !publishes => Ok(None),
            Role::Lb | Role::Server if index == 0 && self.cluster.api_port != 0 => {
                Ok(Some(self.cluster.api_port))
            }
            _ => free_local_port().map(Some),
        }
    }

    async fn ensure_node(&self, ctx: &Ctx, name: &str, role: Role, index: usize) -> Result<()> {
        let docker = self.cluster.docker.as_ref();
        match docker.inspect_container(name).await? {
            Some(found) if !names::belongs_to(&found.labels, &self.cluster.name) => {
                Err(Error::NotOwned {
                    what: "container",
                    name: name.to_owned(),
                    cluster: self.cluster.name.clone(),
                })
            }
            Some(found) if found.state == ContainerState::Running => Ok(()),
            Some(_) => {
                ctx.wet(
                    name,
                    format!("start container {name}"),
                    docker.start_container(name),
                )
                .await?;
                Ok(())
            }
            None => {
                let node = self
                    .cluster
                    .node_spec(role, index, self.api_port(role, index)?);
                let mut spec = node.container_spec(self.cluster.host);
                let position = self
                    .cluster
                    .containers()
                    .iter()
                    .position(|n| *n == (role, index));
                let subnet = fixed_subnet(&self.cluster).await?;
                spec.ipv4_address = if role == Role::Lb {
                    subnet.and_then(|subnet| subnet.load_balancer_address())
                } else {
                    subnet
                        .zip(position)
                        .and_then(|(subnet, position)| subnet.node_address(position))
                }
                .map(|address| address.to_string());
                if !spec.volumes.is_empty() {
                    let volume = node.containerd_volume();
                    let labels = names::cluster_labels(&self.cluster.name);
                    ctx.wet(
                        name,
                        format!("create volume {volume}"),
                        docker.create_volume(&volume, &labels),
                    )
                    .await?;
                }
                let ports = spec
                    .ports
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>();
                let action = if ports.is_empty() {
                    format!("create container {name} from {}", spec.image)
                } else {
                    format!(
                        "create container {name} from {} publishing {}",
                        spec.image,
                        ports.join(", ")
                    )
                };
                ctx.wet(name, action, docker.create_container(&spec))
                    .await?;
                ctx.wet(
                    name,
                    format!("start container {name}"),
                    docker.start_container(name),
                )
                .await?;
                Ok(())
            }
        }
    }
}

impl Step for CreateNodes {
    fn title(&self) -> String {
        let (servers, agents) = (self.cluster.servers, self.cluster.agents);
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        format!(
            "Creating {} ({}, {}){}",
            plural(servers + agents, "node container"),
            plural(servers, "server"),
            plural(agents, "agent"),
            if self.cluster.ha() {
                " and a load balancer"
            } else {
                ""
            }
        )
    }

    fn is_done<'a>(&'a self, _ctx: &'a Ctx) -> BoxFuture<'a, StepResult<bool>> {
        Box::pin(async move {
            for (name, _, _) in self.node_names() {
                match self.cluster.docker.inspect_container(&name).await? {
                    Some(found)
                        if found.state == ContainerState::Running
                            && names::belongs_to(&found.labels, &self.cluster.name) => {}
                    _ => return Ok(false),
                }
            }
            Ok(true)
        })
    }

    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult> {
        Box::pin(async move {
            let nodes = self.node_names();
            let by_name = |wanted: &str| nodes.iter().find(|(name, _, _)| name == wanted).cloned();
            for_each_host(
                ctx,
                nodes.iter().map(|(name, _, _)| name.clone()),
                self.cluster.parallelism,
                |name| {
                    let node = by_name(&name);
                    async move {
                        match node {
                            Some((name, role, index)) => {
                                self.ensure_node(ctx, &name, role, index).await
                            }
                            None => Ok(()),
                        }
                    }
                },
            )
            .await?;
            Ok(())
        })
    }

    /// Removes the node containers and their volumes, only those labelled for this cluster.
    fn cleanup<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult> {
        Box::pin(async move {
            let docker = self.cluster.docker.as_ref();
            for (name, _, _) in self.node_names() {
                if let Some(found) = docker.inspect_container(&name).await? {
                    if names::belongs_to(&found.labels, &self.cluster.name) {
                        ctx.wet(
                            &name,
                            format!("remove container {name}"),
                            docker.remove_container(&name),
                        )
                        .await?;
                    }
                }
            }
            let volumes = docker
                .list_volumes(&names::cluster_labels(&self.cluster.name))
                .await?;
            for (name, _, _) in self.node_names() {
                let volume = names::containerd_volume(&name);
                if volumes.iter().any(|found| found.name == volume) {
                    ctx.wet(
                        &name,
                        format!("remove volume {volume}"),
                        docker.remove_volume(&volume),
                    )
                    .await?;
                }
            }
            Ok(())
        })
    }
}
