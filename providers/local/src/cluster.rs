//! Clusters as Docker shows them: rediscovered from labels, and deleted by label — exactly the
//! containers, volumes and network clusterctl created for that cluster, nothing else.

use std::collections::BTreeMap;

use clusterctl_provider_api::{labels, ClusterSummary, NodeSummary};

use crate::docker::{ContainerInfo, ContainerState, DockerApi};
use crate::names::{self, Role};
use crate::node::API_PORT;
use crate::Result;

/// One node container of a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeStatus {
    /// Container name.
    pub name: String,
    /// Server or agent; `None` if the role label is missing or unknown.
    pub role: Option<Role>,
    /// Whether the container runs.
    pub state: ContainerState,
    /// Its address on the cluster network.
    pub address: Option<String>,
    /// Host port on 127.0.0.1 of the API server (servers).
    pub api_port: Option<u16>,
    /// Image it runs.
    pub image: String,
}

impl NodeStatus {
    fn from_container(cluster: &str, container: ContainerInfo) -> Self {
        let role = container
            .labels
            .get(labels::ROLE)
            .and_then(|r| Role::parse(r));
        let api_port = container
            .ports
            .iter()
            .find(|port| port.container_port == API_PORT && port.host_port != 0)
            .map(|port| port.host_port);
        Self {
            address: container.addresses.get(&names::network(cluster)).cloned(),
            name: container.name,
            role,
            state: container.state,
            api_port,
            image: container.image,
        }
    }

    /// The row `clusterctl get nodes` prints.
    pub fn summary(&self) -> NodeSummary {
        NodeSummary {
            name: self.name.clone(),
            role: self
                .role
                .map(|r| r.as_str().to_owned())
                .unwrap_or_else(|| "unknown".into()),
            status: self.state.to_string(),
            address: self.address.clone(),
        }
    }
}

/// One cluster, as its labelled resources show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterStatus {
    /// Cluster name.
    pub name: String,
    /// Its nodes, servers first, by name.
    pub nodes: Vec<NodeStatus>,
    /// Whether its network exists.
    pub has_network: bool,
}

impl ClusterStatus {
    /// `Running` when every node runs, `Stopped` when none does, else `Degraded (r/n running)`.
    pub fn status(&self) -> String {
        let running = self
            .nodes
            .iter()
            .filter(|n| n.state == ContainerState::Running)
            .count();
        match (running, self.nodes.len()) {
            (_, 0) => "NoNodes".to_owned(),
            (r, n) if r == n => "Running".to_owned(),
            (0, _) => "Stopped".to_owned(),
            (r, n) => format!("Degraded ({r}/{n} running)"),
        }
    }

    /// `https://127.0.0.1:<port>` of the first server that publishes the API port.
    pub fn endpoint(&self) -> Option<String> {
        self.nodes
            .iter()
            .filter(|node| node.role == Some(Role::Server))
            .find_map(|node| node.api_port)
            .map(|port| format!("https://127.0.0.1:{port}"))
    }

    /// The row `clusterctl get clusters` prints. The Kubernetes version is that of clusterd,
    /// known once the server runs; until then it reads `unknown`.
    pub fn summary(&self) -> ClusterSummary {
        ClusterSummary {
            name: self.name.clone(),
            provider: "local".to_owned(),
            region: None,
            version: "unknown".to_owned(),
            status: self.status(),
            endpoint: self.endpoint(),
        }
    }
}

fn sort_nodes(nodes: &mut [NodeStatus]) {
    nodes.sort_by(|a, b| (a.role, &a.name).cmp(&(b.role, &b.name)));
}

/// Every cluster clusterctl created on this Docker daemon, by name.
pub async fn list_clusters(docker: &dyn DockerApi) -> Result<Vec<ClusterStatus>> {
    let owned = names::owned_filter();
    let mut clusters: BTreeMap<String, ClusterStatus> = BTreeMap::new();
    fn entry<'m>(
        clusters: &'m mut BTreeMap<String, ClusterStatus>,
        name: &str,
    ) -> &'m mut ClusterStatus {
        clusters
            .entry(name.to_owned())
            .or_insert_with(|| ClusterStatus {
                name: name.to_owned(),
                nodes: Vec::new(),
                has_network: false,
            })
    }
    for container in docker.list_containers(&owned).await? {
        if let Some(cluster) = container.labels.get(labels::CLUSTER).cloned() {
            let node = NodeStatus::from_container(&cluster, container);
            entry(&mut clusters, &cluster).nodes.push(node);
        }
    }
    for network in docker.list_networks(&owned).await? {
        if let Some(cluster) = network.labels.get(labels::CLUSTER) {
            entry(&mut clusters, cluster).has_network = true;
        }
    }
    let mut clusters: Vec<ClusterStatus> = clusters.into_values().collect();
    for cluster in &mut clusters {
        sort_nodes(&mut cluster.nodes);
    }
    Ok(clusters)
}

/// The nodes of `cluster`, servers first; empty when the cluster does not exist.
pub async fn list_nodes(docker: &dyn DockerApi, cluster: &str) -> Result<Vec<NodeStatus>> {
    let mut nodes: Vec<NodeStatus> = docker
        .list_containers(&names::cluster_labels(cluster))
        .await?
        .into_iter()
        .filter(|container| names::belongs_to(&container.labels, cluster))
        .map(|container| NodeStatus::from_container(cluster, container))
        .collect();
    sort_nodes(&mut nodes);
    Ok(nodes)
}

/// What belongs to a cluster and would be (or was) deleted with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterResources {
    /// Container names.
    pub containers: Vec<String>,
    /// Volume names.
    pub volumes: Vec<String>,
    /// Network names.
    pub networks: Vec<String>,
}

impl ClusterResources {
    /// Whether nothing is left.
    pub fn is_empty(&self) -> bool {
        self.containers.is_empty() && self.volumes.is_empty() && self.networks.is_empty()
    }
}

/// Finds every container, volume and network labelled as created by clusterctl for `cluster`.
pub async fn resources(docker: &dyn DockerApi, cluster: &str) -> Result<ClusterResources> {
    let filter = names::cluster_labels(cluster);
    let mut found = ClusterResources {
        containers: docker
            .list_containers(&filter)
            .await?
            .into_iter()
            .filter(|c| names::belongs_to(&c.labels, cluster))
            .map(|c| c.name)
            .collect(),
        volumes: docker
            .list_volumes(&filter)
            .await?
            .into_iter()
            .filter(|v| names::belongs_to(&v.labels, cluster))
            .map(|v| v.name)
            .collect(),
        networks: docker
            .list_networks(&filter)
            .await?
            .into_iter()
            .filter(|n| names::belongs_to(&n.labels, cluster))
            .map(|n| n.name)
            .collect(),
    };
    found.containers.sort();
    found.volumes.sort();
    found.networks.sort();
    Ok(found)
}

/// Removes `found` (from [`resources`]): containers first (they hold the volumes and the
/// network), then volumes, then networks. Things already gone are not errors.
pub async fn remove(docker: &dyn DockerApi, found: &ClusterResources) -> Result<()> {
    for container in &found.containers {
        docker.remove_container(container).await?;
    }
    for volume in &found.volumes {
        docker.remove_volume(volume).await?;
    }
    for network in &found.networks {
        docker.remove_network(network).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::{FakeDocker, Labels};

    fn add_node(
        docker: &FakeDocker,
        cluster: &str,
        role: Role,
        index: usize,
        state: ContainerState,
    ) {
        docker.add_container(
            &names::node(cluster, role, index),
            names::node_labels(cluster, role),
            state,
        );
    }

    #[tokio::test]
    async fn clusters_are_rediscovered_from_labels_with_their_nodes() {
        let docker = FakeDocker::new();
        add_node(&docker, "dev", Role::Agent, 0, ContainerState::Running);
        add_node(&docker, "dev", Role::Server, 0, ContainerState::Running);
        add_node(&docker, "qa", Role::Server, 0, ContainerState::Exited);
        docker.add_container("unrelated", Labels::new(), ContainerState::Running);

        let clusters = list_clusters(&docker).await.unwrap();
        let names: Vec<&str> = clusters.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["dev", "qa"]);
        let dev = &clusters[0];
        assert_eq!(dev.nodes[0].name, "dev-server-0", "servers come first");
        assert_eq!(dev.nodes[1].role, Some(Role::Agent));
        assert_eq!(dev.summary().status, "Running");
        assert_eq!(clusters[1].summary().status, "Stopped");
    }

    #[tokio::test]
    async fn a_cluster_with_some_nodes_down_is_degraded() {
        let docker = FakeDocker::new();
        add_node(&docker, "dev", Role::Server, 0, ContainerState::Running);
        add_node(&docker, "dev", Role::Agent, 0, ContainerState::Exited);
        let clusters = list_clusters(&docker).await.unwrap();
        assert_eq!(clusters[0].status(), "Degraded (1/2 running)");
    }

    #[tokio::test]
    async fn delete_removes_exactly_the_clusters_resources() {
        let docker = FakeDocker::new();
        add_node(&docker, "dev", Role::Server, 0, ContainerState::Running);
        add_node(&docker, "devx", Role::Server, 0, ContainerState::Running);
        docker.add_container(
            "dev-server-9",
            Labels::from([("clusterctl.io/cluster".into(), "dev".into())]),
            ContainerState::Running,
        );
        docker
            .create_volume("dev-server-0-containerd", &names::cluster_labels("dev"))
            .await
            .unwrap();
        docker
            .create_network("clusterctl-dev", &names::cluster_labels("dev"), None)
            .await
            .unwrap();
        docker
            .create_network("clusterctl-devx", &names::cluster_labels("devx"), None)
            .await
            .unwrap();

        let found = resources(&docker, "dev").await.unwrap();
        assert_eq!(
            found.containers,
            ["dev-server-0"],
            "a container without the owned label is not ours"
        );
        remove(&docker, &found).await.unwrap();

        assert_eq!(docker.container_names(), ["dev-server-9", "devx-server-0"]);
        assert_eq!(docker.network_names(), ["clusterctl-devx"]);
        assert!(docker.volume_names().is_empty());
        assert!(resources(&docker, "dev").await.unwrap().is_empty());
    }
}
