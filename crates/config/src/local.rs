//! Settings only local (Docker) clusters use.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::node_group::Taint;

/// The `local:` block: how many node containers to run and what to expose from them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LocalConfig {
    /// Control-plane node containers; defaults to 1 (use 3 for HA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub servers: Option<i32>,
    /// Worker node containers; defaults to 0 (servers also run pods).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers: Option<i32>,
    /// Node image; defaults to `clusterctl/node:v<kubernetesVersion>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Ports of the first server container published on the host.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub port_mappings: Vec<PortMapping>,
    /// Host directories mounted into every node container.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mounts: Vec<Mount>,
    /// Extra labels of the server nodes' Node objects.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub server_labels: BTreeMap<String, String>,
    /// Taints the server nodes register with (e.g. NoSchedule to keep workloads on workers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub server_taints: Vec<Taint>,
    /// Extra labels of the worker nodes' Node objects.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub worker_labels: BTreeMap<String, String>,
    /// Taints the worker nodes register with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub worker_taints: Vec<Taint>,
}

/// A container port published on the host, like `docker run -p`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PortMapping {
    /// Port inside the node container (often a NodePort such as 30080).
    pub container_port: u32,
    /// Port on the host; 0 picks a free one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_port: Option<u32>,
    /// Host address to listen on; defaults to 127.0.0.1 (only this machine).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen_address: Option<String>,
    /// Transport protocol; defaults to TCP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
}

/// Transport protocol of a [`PortMapping`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        })
    }
}

/// A host directory mounted into the node containers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Mount {
    /// Absolute path on the host.
    pub host_path: String,
    /// Absolute path inside the node container.
    pub container_path: String,
    /// Mount read-only; defaults to false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}
