//! Cluster address ranges and how the API server is reached.

use serde::{Deserialize, Serialize};

/// Pod and service address ranges and the API server endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Networking {
    /// CIDR pods get their addresses from (not used on EKS, where pods take VPC addresses;
    /// left to GKE to choose when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_subnet: Option<String>,
    /// CIDR Service cluster IPs come from (left to GKE to choose when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_subnet: Option<String>,
    /// Port the API server is published on (local and ssh only); on local, 0 picks a free port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_server_port: Option<u32>,
    /// Host address the API server port is published on (local), or advertised address (ssh).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_server_address: Option<String>,
}

impl Networking {
    /// Whether nothing is set, so the block can be left out of the YAML.
    pub fn is_empty(&self) -> bool {
        self == &Networking::default()
    }
}

/// Registry settings for the cluster's nodes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Registries {
    /// Registry (e.g. `docker.io`) -> mirror URLs (`http://` or `https://`) tried in order
    /// before it; lets a cluster run offline from a local registry. None by default.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub mirrors: std::collections::BTreeMap<String, Vec<String>>,
}

impl Registries {
    /// Whether nothing is set, so the block can be left out of the YAML.
    pub fn is_empty(&self) -> bool {
        self == &Registries::default()
    }

    /// Each mirror as `REGISTRY=URL`, the form `clusterd --registry-mirror` takes.
    pub fn mirror_specs(&self) -> Vec<String> {
        self.mirrors
            .iter()
            .flat_map(|(registry, urls)| urls.iter().map(move |url| format!("{registry}={url}")))
            .collect()
    }
}
