//! Command-line flags laid over a config file: a flag always wins over the file.

use std::fmt;
use std::str::FromStr;

use crate::cluster_config::ClusterConfig;
use crate::eks::EksConfig;
use crate::error::{ConfigError, Result};
use crate::local::LocalConfig;
use crate::node_group::NodeGroup;
use crate::provider::Provider;
use crate::ssh::{SshConfig, SshHost};

/// The cluster-shaping flags of `clusterctl create`; `None` (or empty) means not given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `--provider`.
    pub provider: Option<Provider>,
    /// `--name`: cluster name.
    pub name: Option<String>,
    /// `--region`: EKS region, GKE location or AKS location.
    pub region: Option<String>,
    /// `--version`: Kubernetes version.
    pub version: Option<String>,
    /// `--nodegroup-name`: the node group the other node flags apply to (created if missing);
    /// the first node group when not given.
    pub nodegroup_name: Option<String>,
    /// `--node-type`: instance type / machine type / VM size of the node group.
    pub node_type: Option<String>,
    /// `--nodes`: desired size of the node group.
    pub nodes: Option<u32>,
    /// `--nodes-min`: minimum size of the node group.
    pub nodes_min: Option<u32>,
    /// `--nodes-max`: maximum size of the node group.
    pub nodes_max: Option<u32>,
    /// `--managed`: EKS managed node groups (true) or self-managed ones.
    pub managed: Option<bool>,
    /// `--workers`: local worker containers.
    pub workers: Option<u32>,
    /// `--hosts`: SSH hosts as `[user@]address[:port]` (see [`HostSpec`]); when not empty they
    /// replace the file's hosts, the first one becoming the server.
    pub hosts: Vec<String>,
}

/// One `--hosts` entry: `[user@]address[:port]`, IPv6 addresses in brackets when a port follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSpec {
    /// Login user, if given.
    pub user: Option<String>,
    /// IP address or DNS name.
    pub address: String,
    /// SSH port, if given.
    pub port: Option<u32>,
}

impl FromStr for HostSpec {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = |reason: &str| ConfigError::InvalidHostSpec {
            value: s.to_owned(),
            reason: reason.to_owned(),
        };
        let (user, rest) = match s.rsplit_once('@') {
            Some(("", _)) => return Err(invalid("empty user before @")),
            Some((user, rest)) => (Some(user.to_owned()), rest),
            None => (None, s),
        };
        let (address, port) = if let Some(bracketed) = rest.strip_prefix('[') {
            let (address, after) = bracketed
                .split_once(']')
                .ok_or_else(|| invalid("missing ] after ipv6 address"))?;
            match after {
                "" => (address, None),
                _ => match after.strip_prefix(':') {
                    Some(port) => (address, Some(port)),
                    None => return Err(invalid("expected :port after ]")),
                },
            }
        } else if rest.matches(':').count() > 1 {
            (rest, None) // a bare IPv6 address
        } else {
            match rest.split_once(':') {
                Some((address, port)) => (address, Some(port)),
                None => (rest, None),
            }
        };
        if address.is_empty() {
            return Err(invalid("empty address"));
        }
        let port = port
            .map(|p| {
                p.parse::<u32>()
                    .map_err(|_| invalid("port is not a number"))
            })
            .transpose()?;
        Ok(HostSpec {
            user,
            address: address.to_owned(),
            port,
        })
    }
}

impl fmt::Display for HostSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(user) = &self.user {
            write!(f, "{user}@")?;
        }
        match (self.port, self.address.contains(':')) {
            (Some(port), true) => write!(f, "[{}]:{port}", self.address),
            (Some(port), false) => write!(f, "{}:{port}", self.address),
            (None, _) => f.write_str(&self.address),
        }
    }
}

/// The config flags describe: `base` (the file, if any) with every given flag applied over it.
///
/// Without a file the config starts empty for `--provider` (local when not given).
/// Fails only on a malformed `--hosts` entry. See [`ClusterConfig::merged`].
pub fn merge(base: Option<ClusterConfig>, overrides: &Overrides) -> Result<ClusterConfig> {
    base.unwrap_or_else(|| ClusterConfig::new(overrides.provider.unwrap_or_default()))
        .merged(overrides)
}

impl ClusterConfig {
    /// This config with every given flag applied over it: flags win.
    ///
    /// Node-group flags apply to the group named by `nodegroup_name` (appended if missing), or
    /// to the first group (created if there is none). Flags for another provider's block
    /// create that block, which validation then reports. Values set here are reported as
    /// `(from flags)` by validation. Fails only on a malformed `--hosts` entry.
    pub fn merged(mut self, o: &Overrides) -> Result<ClusterConfig> {
        let hosts = o
            .hosts
            .iter()
            .map(|h| h.parse::<HostSpec>())
            .collect::<Result<Vec<_>>>()?;
        if let Some(provider) = o.provider {
            self.provider = provider;
            self.provenance.mark_flag("provider");
        }
        set(&mut self, "metadata.name", &o.name, |c| {
            &mut c.metadata.name
        });
        set(&mut self, "metadata.region", &o.region, |c| {
            &mut c.metadata.region
        });
        set(&mut self, "kubernetesVersion", &o.version, |c| {
            &mut c.kubernetes_version
        });
        self.merge_node_group(o);

        if let Some(managed) = o.managed {
            self.block_from_flags("eks", self.eks.is_none());
            self.eks.get_or_insert_with(EksConfig::default).managed = Some(managed);
            self.provenance.mark_flag("eks.managed");
        }
        if let Some(workers) = o.workers {
            self.block_from_flags("local", self.local.is_none());
            self.local.get_or_insert_with(LocalConfig::default).workers = Some(count(workers));
            self.provenance.mark_flag("local.workers");
        }
        if !hosts.is_empty() {
            self.block_from_flags("ssh", self.ssh.is_none());
            let ssh = self.ssh.get_or_insert_with(SshConfig::default);
            ssh.hosts = hosts
                .into_iter()
                .map(|h| SshHost {
                    address: h.address,
                    user: h.user,
                    port: h.port,
                    ..SshHost::default()
                })
                .collect();
            self.provenance.mark_flag("ssh.hosts");
        }
        Ok(self)
    }

    /// Marks a whole block as flag-made when a flag had to create it.
    fn block_from_flags(&mut self, path: &str, created: bool) {
        if created {
            self.provenance.mark_flag(path);
        }
    }

    fn merge_node_group(&mut self, o: &Overrides) {
        let touched = o.nodegroup_name.is_some()
            || o.node_type.is_some()
            || o.nodes.is_some()
            || o.nodes_min.is_some()
            || o.nodes_max.is_some();
        if !touched {
            return;
        }
        let found = match &o.nodegroup_name {
            Some(name) => self
                .node_groups
                .iter()
                .position(|g| g.name.as_deref() == Some(name.as_str())),
            None => (!self.node_groups.is_empty()).then_some(0),
        };
        let index = found.unwrap_or_else(|| {
            self.node_groups.push(NodeGroup {
                name: o.nodegroup_name.clone(),
                ..NodeGroup::default()
            });
            let index = self.node_groups.len() - 1;
            self.provenance.mark_flag(format!("nodeGroups[{index}]"));
            index
        });
        let at = |field: &str| format!("nodeGroups[{index}].{field}");
        let group = &mut self.node_groups[index];
        let mut marks = Vec::new();
        if let Some(node_type) = &o.node_type {
            group.instance_type = Some(node_type.clone());
            marks.push(at("instanceType"));
        }
        for (value, slot, field) in [
            (o.nodes, &mut group.desired_capacity, "desiredCapacity"),
            (o.nodes_min, &mut group.min_size, "minSize"),
            (o.nodes_max, &mut group.max_size, "maxSize"),
        ] {
            if let Some(value) = value {
                *slot = Some(count(value));
                marks.push(at(field));
            }
        }
        for mark in marks {
            self.provenance.mark_flag(mark);
        }
    }
}

/// A flag count as a config size; absurdly large ones saturate and fail validation.
fn count(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn set(
    config: &mut ClusterConfig,
    path: &str,
    value: &Option<String>,
    slot: fn(&mut ClusterConfig) -> &mut Option<String>,
) {
    if let Some(value) = value {
        *slot(config) = Some(value.clone());
        config.provenance.mark_flag(path);
    }
}
