//! Changing the number of workers of a running local cluster (`clusterctl scale nodegroup workers`).
//!
//! The cluster's defaulted config is kept in every server (`/etc/clusterctl/cluster.yaml`, 0600):
//! scaling up runs the create steps again with more workers — every existing node is found and
//! skipped, the new ones are made and joined exactly like the first ones (image, mounts, labels,
//! taints, mirrors) — and scaling down drains the highest-numbered workers (cordon, delete their
//! pods so controllers recreate them elsewhere), deletes their Node objects and removes their
//! containers and volumes.

use std::time::Duration;

use clusterctl_config::ClusterConfig;
use clusterctl_provider_api::Node as _;
use clusterctl_steps::{wait_for, BoxFuture, Ctx, Step, StepResult};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};

use crate::admin;
use crate::docker::DockerApi;
use crate::docker_node::DockerNode;
use crate::names::{self, Role};
use crate::plan::LocalCluster;
use crate::steps::server::POLL;
use crate::{Error, Result};

/// Where the cluster's config is kept in each server node.
pub const CONFIG_FILE: &str = "/etc/clusterctl/cluster.yaml";

/// How long a drained worker's pods get to go.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(90);

/// The config `cluster` was created from, read from its first running server.
pub async fn read_config(
    docker: std::sync::Arc<dyn DockerApi>,
    cluster: &str,
) -> Result<ClusterConfig> {
    let (server, _) = admin::first_server(docker.as_ref(), cluster).await?;
    let node = DockerNode::new(docker, server.clone());
    let (code, output) = node.run_unchecked(&["cat", CONFIG_FILE]).await?;
    if code != 0 {
        return Err(Error::Invalid(format!(
            "cluster {cluster} keeps no config in {server}:{CONFIG_FILE} (it was created by an \
             older clusterctl); re-create it to scale it"
        )));
    }
    let source = format!("{server}:{CONFIG_FILE}");
    ClusterConfig::from_yaml_str(&output.stdout, &source)
        .map(ClusterConfig::defaulted)
        .map_err(|e| Error::Invalid(format!("{source}: {e}")))
}

/// The workers (agent containers) `cluster` has now, by index.
pub async fn current_workers(docker: &dyn DockerApi, cluster: &str) -> Result<Vec<usize>> {
    let prefix = format!("{cluster}-agent-");
    let mut indices: Vec<usize> = docker
        .list_containers(&names::node_labels(cluster, Role::Agent))
        .await?
        .into_iter()
        .filter(|found| names::belongs_to(&found.labels, cluster))
        .filter_map(|found| found.name.strip_prefix(&prefix)?.parse().ok())
        .collect();
    indices.sort_unstable();
    Ok(indices)
}

/// Writes the cluster's config into every server, so later `scale`s know how workers are made.
#[derive(Debug, Clone)]
pub struct RecordConfig {
    cluster: LocalCluster,
}

impl RecordConfig {
    /// The step for `cluster`.
    pub fn new(cluster: LocalCluster) -> Self {
        Self { cluster }
    }

    fn servers(&self) -> Vec<DockerNode> {
        self.cluster
            .names(Role::Server)
            .into_iter()
            .map(|name| DockerNode::new(self.cluster.docker.clone(), name))
            .collect()
    }
}

impl Step for RecordConfig {
    fn title(&self) -> String {
        format!("Recording the cluster config in {CONFIG_FILE} on the servers")
    }

    fn is_done<'a>(&'a self, _ctx: &'a Ctx) -> BoxFuture<'a, StepResult<bool>> {
        Box::pin(async move {
            let Some(yaml) = &self.cluster.config_yaml else {
                return Ok(true);
            };
            for node in self.servers() {
                if !node.is_running().await? {
                    return Ok(false);
                }
                match node.run_unchecked(&["cat", CONFIG_FILE]).await? {
                    (0, output) if output.stdout == *yaml => {}
                    _ => return Ok(false),
                }
            }
            Ok(true)
        })
    }

    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult> {
        Box::pin(async move {
            let Some(yaml) = &self.cluster.config_yaml else {
                return Ok(());
            };
            for node in self.servers() {
                let write = async {
                    node.copy(yaml.as_bytes(), CONFIG_FILE, 0o600).await?;
                    Ok::<(), Error>(())
                };
                ctx.wet(node.name(), format!("write {CONFIG_FILE}"), write)
                    .await?;
            }
            Ok(())
        })
    }
}

/// Drains and removes the workers with index `keep` and above, highest first.
#[derive(Debug, Clone)]
pub struct RemoveWorkers {
    cluster: LocalCluster,
    remove: Vec<usize>,
}

impl RemoveWorkers {
    /// The step removing workers `remove` (indices) of `cluster`.
    pub fn new(cluster: LocalCluster, mut remove: Vec<usize>) -> Self {
        remove.sort_unstable_by(|a, b| b.cmp(a));
        Self { cluster, remove }
    }

    fn names(&self) -> Vec<String> {
        self.remove
            .iter()
            .map(|index| self.cluster.node_name(Role::Agent, *index))
            .collect()
    }

    /// Cordons `name`, deletes its pods (not DaemonSet pods, which belong there), waits until they
    /// are gone, and deletes its Node.
    async fn drain(
        &self,
        ctx: &Ctx,
        credentials: &admin::AdminCredentials,
        client: kube::Client,
        name: &str,
    ) -> Result<()> {
        let failed = |operation: &str, e: kube::Error| {
            credentials.api_error(operation, clusterctl_steps::error_chain(&e))
        };
        let nodes: Api<Node> = Api::all(client.clone());
        if nodes
            .get_opt(name)
            .await
            .map_err(|e| failed("get node", e))?
            .is_none()
        {
            return Ok(());
        }
        let cordon = serde_json::json!({"spec": {"unschedulable": true}});
        nodes
            .patch(name, &PatchParams::default(), &Patch::Merge(&cordon))
            .await
            .map_err(|e| failed("cordon node", e))?;
        let pods: Api<Pod> = Api::all(client.clone());
        let on_node = ListParams::default().fields(&format!("spec.nodeName={name}"));
        let evictable = |pod: &Pod| {
            !pod.metadata
                .owner_references
                .as_ref()
                .is_some_and(|owners| owners.iter().any(|o| o.kind == "DaemonSet"))
        };
        for pod in pods
            .list(&on_node)
            .await
            .map_err(|e| failed("list pods", e))?
            .items
            .into_iter()
            .filter(|pod| evictable(pod))
        {
            let (Some(namespace), Some(pod_name)) =
                (pod.metadata.namespace.clone(), pod.metadata.name.clone())
            else {
                continue;
            };
            let namespaced: Api<Pod> = Api::namespaced(client.clone(), &namespace);
            match namespaced.delete(&pod_name, &DeleteParams::default()).await {
                Ok(_) => {}
                Err(kube::Error::Api(status)) if status.code == 404 => {}
                Err(e) => return Err(failed("delete pod", e)),
            }
        }
        let drained = wait_for(
            ctx,
            format!("the pods on {name} to go"),
            DRAIN_TIMEOUT,
            POLL,
            || async {
                let left = pods
                    .list(&on_node)
                    .await
                    .map_err(|e| failed("list pods", e))?
                    .items
                    .into_iter()
                    .filter(|pod| evictable(pod))
                    .count();
                if left == 0 {
                    Ok(())
                } else {
                    Err(Error::NotReady {
                        detail: format!("{left} pods still on {name}"),
                    })
                }
            },
        )
        .await;
        if let Err(error) = drained {
            if ctx.is_cancelled() {
                return Err(Error::NotReady {
                    detail: error.to_string(),
                });
            }
            ctx.progress(format!("{error}; removing {name} anyway"));
        }
        match nodes.delete(name, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
            Err(e) => Err(failed("delete node", e)),
        }
    }
}

impl Step for RemoveWorkers {
    fn title(&self) -> String {
        format!("Draining and removing {}", self.names().join(", "))
    }

    fn is_done<'a>(&'a self, _ctx: &'a Ctx) -> BoxFuture<'a, StepResult<bool>> {
        Box::pin(async move {
            for name in self.names() {
                if self
                    .cluster
                    .docker
                    .inspect_container(&name)
                    .await?
                    .is_some()
                {
                    return Ok(false);
                }
            }
            Ok(true)
        })
    }

    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult> {
        Box::pin(async move {
            let credentials = admin::read(self.cluster.docker.clone(), &self.cluster.name).await?;
            let client = credentials.client().await?;
            for name in self.names() {
                ctx.wet(
                    &name,
                    format!("cordon {name}, delete its pods and its Node"),
                    self.drain(ctx, &credentials, client.clone(), &name),
                )
                .await?;
                let docker = self.cluster.docker.as_ref();
                ctx.wet(
                    &name,
                    format!("remove container {name}"),
                    docker.remove_container(&name),
                )
                .await?;
                let volume = names::containerd_volume(&name);
                ctx.wet(
                    &name,
                    format!("remove volume {volume}"),
                    docker.remove_volume(&volume),
                )
                .await?;
            }
            Ok(())
        })
    }
}
