//! [`LocalProvider`]: the provider-neutral operations the CLI calls, for clusters of Docker
//! containers on this machine.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clusterctl_bundle::Clusterd;
use clusterctl_config::{ClusterConfig, Provider as ProviderKind};
use clusterctl_provider_api::{
    ClusterRef, ClusterSummary, NodeGroupSummary, NodeSummary, Provider, ProviderError, Result,
    Scaling,
};
use clusterctl_steps::Step;
use k8s_openapi::api::core::v1::Node;

use crate::cluster::{list_clusters, list_nodes, NodeStatus};
use crate::docker::{ContainerState, DockerApi, Engine};
use crate::plan::LocalCluster;
use crate::steps::ready::Readiness;
use crate::{admin, steps};

/// How long `get nodes` waits for the API server before showing container states only.
const STATUS_TIMEOUT: Duration = Duration::from_secs(5);

/// How the CLI wants the provider to behave.
#[derive(Debug, Clone, Default)]
pub struct LocalOptions {
    /// `--kubeconfig`: the file to merge contexts into (else `$KUBECONFIG`, else `~/.kube/config`).
    pub kubeconfig: Option<PathBuf>,
    /// `--wait`: the bound on each wait (default [`crate::plan::DEFAULT_WAIT`]).
    pub wait: Option<Duration>,
}

/// The local provider: clusters whose nodes are containers on this machine's Docker daemon.
#[derive(Debug, Clone)]
pub struct LocalProvider {
    docker: Arc<dyn DockerApi>,
    options: LocalOptions,
}

impl LocalProvider {
    /// The provider on the Docker daemon of `DOCKER_HOST`, else the local socket.
    pub async fn connect(options: LocalOptions) -> crate::Result<Self> {
        let engine = Engine::connect().await?;
        Ok(Self::with_docker(Arc::new(engine), options))
    }

    /// The provider over a given Docker (the fake in tests).
    pub fn with_docker(docker: Arc<dyn DockerApi>, options: LocalOptions) -> Self {
        Self { docker, options }
    }

    /// The Docker daemon it works on.
    pub fn docker(&self) -> Arc<dyn DockerApi> {
        self.docker.clone()
    }

    /// The cluster a config describes, with this provider's wait.
    pub fn cluster(&self, config: &ClusterConfig) -> crate::Result<LocalCluster> {
        let mut cluster = LocalCluster::from_config(self.docker.clone(), config)?;
        if let Some(wait) = self.options.wait {
            cluster.wait = wait;
        }
        Ok(cluster)
    }

    /// The API server's version (`v1.32.0+clusterd`), when it answers soon.
    async fn server_version(&self, cluster: &str) -> Option<String> {
        let probe = async {
            let credentials = admin::read(self.docker.clone(), cluster).await.ok()?;
            let client = credentials.client().await.ok()?;
            let info = client.apiserver_version().await.ok()?;
            Some(info.git_version)
        };
        tokio::time::timeout(STATUS_TIMEOUT, probe)
            .await
            .ok()
            .flatten()
    }

    /// The Kubernetes view of the nodes (Ready or not), when the API server answers soon.
    async fn node_readiness(&self, cluster: &str, names: &[String]) -> Option<Readiness> {
        let probe = async {
            let credentials = admin::read(self.docker.clone(), cluster).await.ok()?;
            let client = credentials.client().await.ok()?;
            let nodes = kube::Api::<Node>::all(client)
                .list(&kube::api::ListParams::default())
                .await
                .ok()?;
            Some(Readiness::of(names, &nodes.items))
        };
        tokio::time::timeout(STATUS_TIMEOUT, probe)
            .await
            .ok()
            .flatten()
    }
}

/// A node's row: the container state, and Kubernetes' Ready state when the container runs.
fn node_summary(node: &NodeStatus, readiness: Option<&Readiness>) -> NodeSummary {
    let mut summary = node.summary();
    if node.state == ContainerState::Running {
        if let Some(readiness) = readiness {
            summary.status = if readiness.ready.contains(&node.name) {
                "Ready".to_owned()
            } else {
                readiness
                    .not_ready
                    .iter()
                    .find(|(name, _)| name == &node.name)
                    .map(|(_, why)| {
                        if why.starts_with("not registered") {
                            "NotRegistered".to_owned()
                        } else {
                            "NotReady".to_owned()
                        }
                    })
                    .unwrap_or(summary.status)
            };
        }
    }
    summary
}

impl Provider for LocalProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Local
    }

    fn create_steps(&self, config: &ClusterConfig) -> Result<Vec<Box<dyn Step>>> {
        let cluster = self.cluster(config)?;
        let clusterd = Clusterd::locate().map_err(crate::Error::from)?;
        Ok(steps::create_steps(
            &cluster,
            Arc::new(clusterd),
            self.options.kubeconfig.clone(),
        ))
    }

    fn delete_steps(&self, cluster: &ClusterRef) -> Result<Vec<Box<dyn Step>>> {
        crate::names::validate_cluster_name(&cluster.name)?;
        Ok(steps::delete_steps(
            self.docker.clone(),
            &cluster.name,
            self.options.kubeconfig.clone(),
        ))
    }

    async fn list_clusters(&self, _region: Option<&str>) -> Result<Vec<ClusterSummary>> {
        let clusters = list_clusters(self.docker.as_ref()).await?;
        let mut summaries = Vec::with_capacity(clusters.len());
        for cluster in &clusters {
            let mut summary = cluster.summary();
            if let Some(version) = self.server_version(&cluster.name).await {
                summary.version = version;
            }
            summaries.push(summary);
        }
        Ok(summaries)
    }

    async fn list_nodegroups(&self, cluster: &ClusterRef) -> Result<Vec<NodeGroupSummary>> {
        crate::names::validate_cluster_name(&cluster.name)?;
        let nodes = list_nodes(self.docker.as_ref(), &cluster.name).await?;
        if nodes.is_empty() {
            return Err(crate::Error::ClusterNotFound {
                cluster: cluster.name.clone(),
                detail: "has no node containers".to_owned(),
            }
            .into());
        }
        // One group: the workers (agent nodes), which `scale nodegroup workers` resizes.
        let workers: Vec<_> = nodes
            .iter()
            .filter(|node| node.role == Some(crate::names::Role::Agent))
            .collect();
        let running = workers
            .iter()
            .filter(|node| node.state == ContainerState::Running)
            .count();
        let count = u32::try_from(workers.len()).unwrap_or(u32::MAX);
        Ok(vec![NodeGroupSummary {
            cluster: cluster.name.clone(),
            name: "workers".to_owned(),
            instance_type: Some("docker".to_owned()),
            desired: count,
            min: 0,
            max: count,
            status: format!("{running}/{} running", workers.len()),
        }])
    }

    async fn list_nodes(&self, cluster: &ClusterRef) -> Result<Vec<NodeSummary>> {
        let nodes = list_nodes(self.docker.as_ref(), &cluster.name).await?;
        if nodes.is_empty() {
            return Ok(Vec::new());
        }
        let names: Vec<String> = nodes.iter().map(|n| n.name.clone()).collect();
        let readiness = self.node_readiness(&cluster.name, &names).await;
        Ok(nodes
            .iter()
            .map(|node| node_summary(node, readiness.as_ref()))
            .collect())
    }

    async fn scale_nodegroup(
        &self,
        cluster: &ClusterRef,
        nodegroup: &str,
        _scaling: Scaling,
    ) -> Result<()> {
        Err(ProviderError::InvalidRequest {
            message: format!(
                "local clusters scale through steps: `clusterctl scale nodegroup {nodegroup} --provider local --cluster {} --nodes N`",
                cluster.name
            ),
        })
    }

    async fn scale_steps(
        &self,
        cluster: &ClusterRef,
        nodegroup: &str,
        scaling: Scaling,
    ) -> Result<Option<Vec<Box<dyn Step>>>> {
        crate::names::validate_cluster_name(&cluster.name)?;
        if !matches!(nodegroup, "workers" | "agents") {
            return Err(ProviderError::InvalidRequest {
                message: format!(
                    "local cluster {} has one node group, `workers` (its agent nodes), not {nodegroup:?}; \
                     its servers are fixed when it is created",
                    cluster.name
                ),
            });
        }
        if scaling.min.is_some() || scaling.max.is_some() {
            return Err(ProviderError::InvalidRequest {
                message: "local workers have no minimum or maximum; give only --nodes".to_owned(),
            });
        }
        let desired = usize::try_from(scaling.desired).unwrap_or(usize::MAX);
        let mut config = steps::scale::read_config(self.docker.clone(), &cluster.name).await?;
        config.local.get_or_insert_with(Default::default).workers = Some(
            i32::try_from(desired).map_err(|_| ProviderError::InvalidRequest {
                message: format!("{desired} workers is too many"),
            })?,
        );
        let local = self.cluster(&config)?;
        let current = steps::scale::current_workers(self.docker.as_ref(), &cluster.name).await?;
        let mut plan: Vec<Box<dyn Step>> = Vec::new();
        let remove: Vec<usize> = current.iter().copied().filter(|i| *i >= desired).collect();
        if !remove.is_empty() {
            plan.push(Box::new(steps::scale::RemoveWorkers::new(
                local.clone(),
                remove,
            )));
        }
        let missing = (0..desired).any(|index| !current.contains(&index));
        if missing {
            let clusterd = Clusterd::locate().map_err(crate::Error::from)?;
            plan.extend(steps::provision_steps(&local, Arc::new(clusterd)));
            plan.push(Box::new(steps::JoinAgents::new(local.clone())));
            plan.push(Box::new(steps::WaitNodesReady::new(local.clone())));
        }
        plan.push(Box::new(steps::scale::RecordConfig::new(local)));
        Ok(Some(plan))
    }

    async fn kubeconfig_entry(&self, cluster: &ClusterRef) -> Result<clusterctl_kubeconfig::Entry> {
        let credentials = admin::read(self.docker.clone(), &cluster.name).await?;
        Ok(credentials.entry())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::{ExecOutput, FakeDocker};
    use crate::names::{self, Role};

    fn provider(docker: &FakeDocker) -> LocalProvider {
        LocalProvider::with_docker(Arc::new(docker.clone()), LocalOptions::default())
    }

    #[test]
    fn several_servers_start_etcd_and_a_load_balancer_before_the_other_servers_and_agents() {
        let config = ClusterConfig::from_yaml_str(
            "apiVersion: clusterctl.io/v1alpha1\nkind: Cluster\nmetadata: {name: ha}\nprovider: local\nlocal: {servers: 3, workers: 1}\n",
            "test.yaml",
        )
        .unwrap()
        .defaulted();
        let cluster =
            crate::plan::LocalCluster::from_config(Arc::new(FakeDocker::new()), &config).unwrap();
        let titles: Vec<String> = crate::steps::start_steps(&cluster, None)
            .iter()
            .map(|step| step.title())
            .collect();
        assert_eq!(
            titles,
            [
                "Starting etcd on 3 servers",
                "Starting the load balancer ha-lb in front of 3 servers",
                "Starting clusterd server on ha-server-0",
                "Waiting for the API server on ha-server-0",
                "Starting clusterd server on 2 more servers",
                "Joining 1 agent to the cluster",
                "Waiting for 4 nodes to be Ready",
                "Recording the cluster config in /etc/clusterctl/cluster.yaml on the servers",
                "Writing kubeconfig context local-ha",
            ]
        );
        assert_eq!(cluster.containers().last(), Some(&(Role::Lb, 0)));
        assert_eq!(
            cluster.node_spec(Role::Lb, 0, Some(40000)).api_host_port,
            Some(40000)
        );
        assert_eq!(
            cluster
                .node_spec(Role::Server, 0, Some(40000))
                .api_host_port,
            None,
            "in HA only the load balancer publishes the API"
        );
    }

    #[tokio::test]
    async fn kubeconfig_entry_comes_from_the_servers_admin_kubeconfig_on_the_host_port() {
        let docker = FakeDocker::new();
        docker.add_container(
            "dev-server-0",
            names::node_labels("dev", Role::Server),
            ContainerState::Running,
        );
        docker.on_exec(|_, argv| ExecOutput {
            exit_code: 0,
            stdout: if argv.last().map(String::as_str) == Some(admin::ADMIN_KUBECONFIG) {
                crate::admin::tests::ADMIN.to_owned()
            } else {
                String::new()
            },
            stderr: String::new(),
        });
        // The fake's containers publish no ports: the API port is missing.
        let cluster = ClusterRef {
            name: "dev".into(),
            region: None,
        };
        let error = provider(&docker)
            .kubeconfig_entry(&cluster)
            .await
            .unwrap_err();
        assert!(
            error.to_string().contains("publishes no API port"),
            "{error}"
        );
        let missing = provider(&docker)
            .kubeconfig_entry(&ClusterRef {
                name: "nope".into(),
                region: None,
            })
            .await
            .unwrap_err();
        assert!(
            matches!(missing, ProviderError::NotFound { .. }),
            "{missing}"
        );
    }

    #[test]
    fn a_running_node_shows_its_kubernetes_readiness() {
        let node = NodeStatus {
            name: "dev-agent-0".into(),
            role: Some(Role::Agent),
            state: ContainerState::Running,
            address: None,
            api_port: None,
            image: String::new(),
        };
        let readiness = Readiness {
            ready: Vec::new(),
            not_ready: vec![("dev-agent-0".into(), "not registered yet".into())],
        };
        assert_eq!(
            node_summary(&node, Some(&readiness)).status,
            "NotRegistered"
        );
        assert_eq!(node_summary(&node, None).status, "Running");
    }
}
