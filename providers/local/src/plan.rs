//! What a local cluster is made of, from a validated and defaulted `ClusterConfig`: the nodes,
//! their image, ports and mounts. Every create step works on one [`LocalCluster`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use clusterctl_config::{ClusterConfig, Protocol, Taint};

use crate::docker::{DockerApi, PortMapping};
use crate::names::{self, Role};
use crate::node::{HostFacts, NodeSpec};
use crate::node_image::{NodeImageSpec, DEFAULT_REFERENCE};
use crate::{Error, Result};

/// How long each wait (API server up, nodes Ready) lasts by default.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(180);

/// How many node containers are created or worked on at once.
pub const DEFAULT_PARALLELISM: usize = 4;

/// A local cluster to create: its Docker, name, nodes and image.
#[derive(Debug, Clone)]
pub struct LocalCluster {
    /// The Docker daemon the nodes run on.
    pub docker: Arc<dyn DockerApi>,
    /// Cluster name.
    pub name: String,
    /// Number of server nodes (at least 1).
    pub servers: usize,
    /// Number of agent (worker) nodes.
    pub agents: usize,
    /// The node image (built when missing, if it is a `clusterctl/node` image).
    pub image: NodeImageSpec,
    /// Host address of the API server port.
    pub api_address: String,
    /// Host port of the first server's API server; 0 picks a free port.
    pub api_port: u16,
    /// Ports published from the first server.
    pub port_mappings: Vec<PortMapping>,
    /// Host directories mounted into every node, `host:container[:ro]`.
    pub mounts: Vec<String>,
    /// What the host offers (`/lib/modules`).
    pub host: HostFacts,
    /// Bound on per-node parallelism.
    pub parallelism: usize,
    /// Bound on each wait (`--wait`): the API server answering, every node Ready.
    pub wait: Duration,
    /// Registry mirrors every node's containerd uses, `REGISTRY=URL` (`registries.mirrors`).
    pub registry_mirrors: Vec<String>,
    /// The defaulted config the cluster was made from, as YAML; kept in the servers so `scale`
    /// makes new workers exactly like the first ones.
    pub config_yaml: Option<String>,
    /// Labels and taints the server nodes register with (`local.serverLabels`, `serverTaints`).
    pub server_registration: Registration,
    /// Labels and taints the worker nodes register with (`local.workerLabels`, `workerTaints`).
    pub worker_registration: Registration,
}

/// What a node registers its Node object with, as clusterd's flags spell it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Registration {
    /// `k=v,k2=v2` (`--node-labels`).
    pub labels: String,
    /// `k=v:Effect,k2:Effect` (`--register-with-taints`).
    pub taints: String,
}

impl Registration {
    /// From a config's labels and taints.
    pub fn new(labels: &BTreeMap<String, String>, taints: &[Taint]) -> Self {
        let labels = labels
            .iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect::<Vec<_>>()
            .join(",");
        let taints = taints
            .iter()
            .map(|taint| match &taint.value {
                Some(value) => format!("{}={value}:{}", taint.key, taint.effect),
                None => format!("{}:{}", taint.key, taint.effect),
            })
            .collect::<Vec<_>>()
            .join(",");
        Self { labels, taints }
    }

    /// The clusterd flags that register them; empty when there is nothing to add.
    pub fn args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if !self.labels.is_empty() {
            args.extend(["--node-labels".to_owned(), self.labels.clone()]);
        }
        if !self.taints.is_empty() {
            args.extend(["--register-with-taints".to_owned(), self.taints.clone()]);
        }
        args
    }
}

impl LocalCluster {
    /// A cluster `name` with one server, no agents and the default image.
    pub fn new(docker: Arc<dyn DockerApi>, name: impl Into<String>) -> Result<Self> {
        let name = name.into();
        names::validate_cluster_name(&name)?;
        Ok(Self {
            docker,
            name,
            servers: 1,
            agents: 0,
            image: NodeImageSpec::for_reference(DEFAULT_REFERENCE),
            api_address: "127.0.0.1".into(),
            api_port: 0,
            port_mappings: Vec::new(),
            mounts: Vec::new(),
            host: HostFacts::detect(),
            parallelism: DEFAULT_PARALLELISM,
            wait: DEFAULT_WAIT,
            registry_mirrors: Vec::new(),
            config_yaml: None,
            server_registration: Registration::default(),
            worker_registration: Registration::default(),
        })
    }

    /// The cluster a validated, defaulted config describes.
    pub fn from_config(docker: Arc<dyn DockerApi>, config: &ClusterConfig) -> Result<Self> {
        let mut cluster = Self::new(docker, config.name())?;
        let local = config.local.clone().unwrap_or_default();
        cluster.registry_mirrors = config.registries.mirror_specs();
        cluster.config_yaml = config.to_yaml().ok();
        cluster.server_registration = Registration::new(&local.server_labels, &local.server_taints);
        cluster.worker_registration = Registration::new(&local.worker_labels, &local.worker_taints);
        cluster.servers = count("local.servers", local.servers.unwrap_or(1))?.max(1);
        cluster.agents = count("local.workers", local.workers.unwrap_or(0))?;
        if let Some(image) = local.image {
            cluster.image = NodeImageSpec::for_reference(image);
        }
        if let Some(address) = &config.networking.api_server_address {
            cluster.api_address.clone_from(address);
        }
        cluster.api_port = port(
            "networking.apiServerPort",
            config.networking.api_server_port.unwrap_or(0),
        )?;
        for mapping in &local.port_mappings {
            cluster.port_mappings.push(PortMapping {
                host_ip: mapping
                    .listen_address
                    .clone()
                    .unwrap_or_else(|| "127.0.0.1".into()),
                host_port: port(
                    "local.portMappings.hostPort",
                    mapping.host_port.unwrap_or(0),
                )?,
                container_port: port("local.portMappings.containerPort", mapping.container_port)?,
                protocol: match mapping.protocol.unwrap_or(Protocol::Tcp) {
                    Protocol::Tcp => "tcp",
                    Protocol::Udp => "udp",
                    Protocol::Sctp => "sctp",
                }
                .to_owned(),
            });
        }
        for mount in &local.mounts {
            let mode = if mount.read_only.unwrap_or(false) {
                ":ro"
            } else {
                ""
            };
            cluster.mounts.push(format!(
                "{}:{}{mode}",
                mount.host_path, mount.container_path
            ));
        }
        Ok(cluster)
    }

    /// Where actions happen, for the dry-run plan: `docker/<cluster>`.
    pub fn host(&self) -> String {
        format!("docker/{}", self.name)
    }

    /// The cluster's network name.
    pub fn network(&self) -> String {
        names::network(&self.name)
    }

    /// The node containers, servers first. API ports are not chosen yet (see [`Self::node_spec`]).
    pub fn nodes(&self) -> Vec<(Role, usize)> {
        (0..self.servers)
            .map(|i| (Role::Server, i))
            .chain((0..self.agents).map(|i| (Role::Agent, i)))
            .collect()
    }

    /// Whether the cluster has several servers, and so an etcd datastore and a load balancer.
    pub fn ha(&self) -> bool {
        self.servers > 1
    }

    /// Every container of the cluster: the nodes, then the load balancer of an HA cluster.
    pub fn containers(&self) -> Vec<(Role, usize)> {
        let mut containers = self.nodes();
        if self.ha() {
            containers.push((Role::Lb, 0));
        }
        containers
    }

    /// The container names of every node with `role`, by index.
    pub fn names(&self, role: Role) -> Vec<String> {
        let count = match role {
            Role::Server => self.servers,
            Role::Agent => self.agents,
            Role::Lb => usize::from(self.ha()),
        };
        (0..count)
            .map(|index| self.node_name(role, index))
            .collect()
    }

    /// The container name of a node.
    pub fn node_name(&self, role: Role, index: usize) -> String {
        names::node(&self.name, role, index)
    }

    /// The full spec of one node; `api_port` is the host port for a server's API server.
    pub fn node_spec(&self, role: Role, index: usize, api_port: Option<u16>) -> NodeSpec {
        let first_server = role == Role::Server && index == 0;
        // An HA cluster's API endpoint is its load balancer; one server's is that server.
        let publishes_api = match role {
            Role::Lb => true,
            Role::Server => !self.ha(),
            Role::Agent => false,
        };
        NodeSpec {
            cluster: self.name.clone(),
            role,
            index,
            image: self.image.reference.clone(),
            api_host_port: if publishes_api { api_port } else { None },
            api_host_ip: self.api_address.clone(),
            extra_ports: if first_server {
                self.port_mappings.clone()
            } else {
                Vec::new()
            },
            mounts: self.mounts.clone(),
        }
    }
}

fn count(field: &str, value: i32) -> Result<usize> {
    usize::try_from(value)
        .map_err(|_| Error::Invalid(format!("{field} must not be negative, got {value}")))
}

fn port(field: &str, value: u32) -> Result<u16> {
    u16::try_from(value)
        .map_err(|_| Error::Invalid(format!("{field} {value} is not a port (0-65535)")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::FakeDocker;

    fn config(yaml: &str) -> ClusterConfig {
        ClusterConfig::from_yaml_str(yaml, "test.yaml")
            .unwrap()
            .defaulted()
    }

    #[test]
    fn the_example_config_becomes_nodes_ports_and_mounts() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../templates/local.yaml"
        ))
        .unwrap();
        let cluster =
            LocalCluster::from_config(Arc::new(FakeDocker::new()), &config(&text)).unwrap();
        assert_eq!(cluster.name, "dev");
        assert_eq!(cluster.nodes(), vec![(Role::Server, 0)]);
        assert_eq!(cluster.image.reference, "clusterctl/node:v1.32");
        assert_eq!(cluster.api_address, "127.0.0.1");
        let server = cluster.node_spec(Role::Server, 0, Some(40000));
        assert_eq!(
            server.extra_ports[0].to_string(),
            "127.0.0.1:8080->30080/tcp"
        );
        assert_eq!(server.mounts, vec!["/tmp/clusterctl-dev:/data"]);
    }

    #[test]
    fn registry_mirrors_come_from_the_registries_block() {
        let cluster = LocalCluster::from_config(
            Arc::new(FakeDocker::new()),
            &config("apiVersion: clusterctl.io/v1alpha1\nkind: Cluster\nmetadata: {name: m}\nprovider: local\nregistries:\n  mirrors:\n    docker.io: [\"http://10.0.0.5:5000\"]\n"),
        )
        .unwrap();
        assert_eq!(cluster.registry_mirrors, ["docker.io=http://10.0.0.5:5000"]);
        assert_eq!(
            crate::args_file::mirror_args(&cluster.registry_mirrors),
            ["--registry-mirror", "docker.io=http://10.0.0.5:5000"]
        );
    }

    #[test]
    fn workers_are_agents_and_only_the_first_server_gets_port_mappings() {
        let cluster = LocalCluster::from_config(
            Arc::new(FakeDocker::new()),
            &config("apiVersion: clusterctl.io/v1alpha1\nkind: Cluster\nmetadata: {name: ha}\nprovider: local\nlocal:\n  servers: 2\n  workers: 1\n  portMappings: [{containerPort: 80}]\n"),
        )
        .unwrap();
        assert_eq!(
            cluster.nodes(),
            vec![(Role::Server, 0), (Role::Server, 1), (Role::Agent, 0)]
        );
        assert_eq!(
            cluster.node_spec(Role::Server, 0, None).extra_ports.len(),
            1
        );
        assert!(cluster
            .node_spec(Role::Server, 1, None)
            .extra_ports
            .is_empty());
        assert_eq!(
            cluster.node_spec(Role::Agent, 0, Some(1)).api_host_port,
            None
        );
    }

    #[test]
    fn node_labels_and_taints_become_registration_flags_per_role() {
        let cluster = LocalCluster::from_config(
            Arc::new(FakeDocker::new()),
            &config("apiVersion: clusterctl.io/v1alpha1\nkind: Cluster\nmetadata: {name: t}\nprovider: local\nlocal:\n  workers: 1\n  serverTaints: [{key: dedicated, value: control, effect: NoSchedule}, {key: quiet, effect: PreferNoSchedule}]\n  workerLabels: {tier: web, example.com/disk: ssd}\n"),
        )
        .unwrap();
        assert_eq!(
            cluster.server_registration.args(),
            [
                "--register-with-taints",
                "dedicated=control:NoSchedule,quiet:PreferNoSchedule"
            ]
        );
        assert_eq!(
            cluster.worker_registration.args(),
            ["--node-labels", "example.com/disk=ssd,tier=web"]
        );
        assert!(Registration::default().args().is_empty());
    }

    #[test]
    fn a_bad_cluster_name_is_refused_before_anything_is_done() {
        let error = LocalCluster::new(Arc::new(FakeDocker::new()), "Dev_1").unwrap_err();
        assert!(
            error.to_string().contains("cluster name \"Dev_1\""),
            "{error}"
        );
    }
}
