//! Filling in everything a config leaves out, per provider.

use crate::aks::AksConfig;
use crate::cluster_config::ClusterConfig;
use crate::eks::{EksConfig, Vpc};
use crate::gke::GkeConfig;
use crate::local::{LocalConfig, Protocol};
use crate::node_group::NodeGroup;
use crate::provider::Provider;
use crate::ssh::{SshConfig, SshRole};

/// Cluster name when none is given (kind uses `kind`).
pub(crate) const CLUSTER_NAME: &str = "clusterctl";
/// Kubernetes version when none is given, on every provider.
pub(crate) const KUBERNETES_VERSION: &str = "1.32";
/// Nodes in a node group when no size is given (as eksctl).
const NODE_GROUP_SIZE: i32 = 2;
/// CIDR of a new EKS VPC (as eksctl).
const EKS_VPC_CIDR: &str = "192.168.0.0/16";

/// What a provider uses when the config says nothing.
struct ProviderDefaults {
    region: Option<&'static str>,
    instance_type: &'static str,
    /// Node group names are `<prefix>1`, `<prefix>2`, ...
    node_group_prefix: &'static str,
    volume_size: i32,
    pod_subnet: Option<&'static str>,
    service_subnet: Option<&'static str>,
    api_server_port: Option<u32>,
    api_server_address: Option<&'static str>,
}

fn defaults_for(provider: Provider) -> ProviderDefaults {
    let clusterd = ProviderDefaults {
        region: None,
        instance_type: "",
        node_group_prefix: "ng-",
        volume_size: 0,
        pod_subnet: Some("10.244.0.0/16"),
        service_subnet: Some("10.96.0.0/12"),
        api_server_port: Some(6443),
        api_server_address: None,
    };
    match provider {
        Provider::Eks => ProviderDefaults {
            region: Some("us-west-2"),
            instance_type: "t3.medium",
            volume_size: 80,
            // Pods take VPC addresses (VPC CNI); only the service range is chosen.
            pod_subnet: None,
            service_subnet: Some("10.100.0.0/16"),
            api_server_port: None,
            ..clusterd
        },
        Provider::Gke => ProviderDefaults {
            region: Some("us-central1"),
            instance_type: "e2-medium",
            volume_size: 100,
            // GKE picks free secondary ranges in the VPC when none are given.
            pod_subnet: None,
            service_subnet: None,
            api_server_port: None,
            ..clusterd
        },
        Provider::Aks => ProviderDefaults {
            region: Some("eastus"),
            instance_type: "Standard_DS2_v2",
            // AKS pool names are lowercase letters and digits only, so no dash.
            node_group_prefix: "ng",
            volume_size: 128,
            pod_subnet: Some("10.244.0.0/16"),
            service_subnet: Some("10.0.0.0/16"),
            api_server_port: None,
            ..clusterd
        },
        Provider::Local => ProviderDefaults {
            // 0: Docker publishes the API server on a free port, so clusters do not collide.
            api_server_port: Some(0),
            api_server_address: Some("127.0.0.1"),
            ..clusterd
        },
        Provider::Ssh => clusterd,
    }
}

impl ClusterConfig {
    /// The config with every unset value filled in for its provider.
    ///
    /// Merge command-line flags first ([`merged`](Self::merged)), so that sizes derived from
    /// `desiredCapacity` follow `--nodes`.
    pub fn defaulted(mut self) -> Self {
        self.apply_defaults();
        self
    }

    /// Fills every unset value in place; see [`defaulted`](Self::defaulted).
    pub fn apply_defaults(&mut self) {
        let provider = self.provider;
        let d = defaults_for(provider);
        let version = self.kubernetes_version().to_owned();
        let name = self.name().to_owned();
        self.kubernetes_version = Some(version.clone());
        self.metadata.name = Some(name.clone());
        if self.metadata.region.is_none() {
            self.metadata.region = d.region.map(str::to_owned);
        }

        if provider.is_managed_cloud() {
            if self.node_groups.is_empty() {
                self.node_groups.push(NodeGroup::default());
            }
            for (index, group) in self.node_groups.iter_mut().enumerate() {
                default_node_group(group, index, &d);
            }
        }

        let net = &mut self.networking;
        fill(&mut net.pod_subnet, d.pod_subnet);
        fill(&mut net.service_subnet, d.service_subnet);
        net.api_server_port = net.api_server_port.or(d.api_server_port);
        fill(&mut net.api_server_address, d.api_server_address);

        match provider {
            Provider::Eks => default_eks(self.eks.get_or_insert_with(EksConfig::default)),
            Provider::Gke => {
                let gke = self.gke.get_or_insert_with(GkeConfig::default);
                fill(&mut gke.network, Some("default"));
            }
            Provider::Aks => {
                let aks = self.aks.get_or_insert_with(AksConfig::default);
                aks.resource_group
                    .get_or_insert_with(|| format!("{name}-rg"));
            }
            Provider::Local => {
                default_local(
                    self.local.get_or_insert_with(LocalConfig::default),
                    &version,
                );
            }
            Provider::Ssh => default_ssh(self.ssh.get_or_insert_with(SshConfig::default)),
        }
    }
}

fn fill(slot: &mut Option<String>, default: Option<&str>) {
    if slot.is_none() {
        *slot = default.map(str::to_owned);
    }
}

/// eksctl's rule: desired defaults to 2 (kept within any min/max given), min and max to desired.
fn default_node_group(group: &mut NodeGroup, index: usize, d: &ProviderDefaults) {
    group
        .name
        .get_or_insert_with(|| format!("{}{}", d.node_group_prefix, index + 1));
    fill(&mut group.instance_type, Some(d.instance_type));
    let desired = *group.desired_capacity.get_or_insert_with(|| {
        let mut desired = NODE_GROUP_SIZE;
        if let Some(min) = group.min_size {
            desired = desired.max(min);
        }
        if let Some(max) = group.max_size {
            desired = desired.min(max);
        }
        desired
    });
    group
        .min_size
        .get_or_insert(desired.min(group.max_size.unwrap_or(desired)));
    let min = group.min_size.unwrap_or(desired);
    group.max_size.get_or_insert(desired.max(min));
    group.volume_size.get_or_insert(d.volume_size);
}

fn default_eks(eks: &mut EksConfig) {
    eks.managed.get_or_insert(true);
    let vpc = eks.vpc.get_or_insert_with(Vpc::default);
    if vpc.id.is_none() {
        fill(&mut vpc.cidr, Some(EKS_VPC_CIDR));
    }
}

fn default_local(local: &mut LocalConfig, version: &str) {
    local.servers.get_or_insert(1);
    local.workers.get_or_insert(0);
    local
        .image
        .get_or_insert_with(|| format!("clusterctl/node:v{version}"));
    for mapping in &mut local.port_mappings {
        mapping.host_port.get_or_insert(0);
        fill(&mut mapping.listen_address, Some("127.0.0.1"));
        mapping.protocol.get_or_insert(Protocol::Tcp);
    }
    for mount in &mut local.mounts {
        mount.read_only.get_or_insert(false);
    }
}

fn default_ssh(ssh: &mut SshConfig) {
    fill(&mut ssh.known_hosts, Some("~/.ssh/known_hosts"));
    let mut need_server = !ssh.hosts.iter().any(|h| h.role == Some(SshRole::Server));
    for host in &mut ssh.hosts {
        fill(&mut host.user, Some("root"));
        host.port.get_or_insert(22);
        host.role.get_or_insert_with(|| {
            let role = if need_server {
                SshRole::Server
            } else {
                SshRole::Agent
            };
            need_server = false;
            role
        });
        if let Some(bastion) = &mut host.bastion {
            fill(&mut bastion.user, Some("root"));
            bastion.port.get_or_insert(22);
        }
    }
}
