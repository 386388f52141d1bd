//! The ClusterConfig document: what `clusterctl create -f cluster.yaml` reads.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::aks::AksConfig;
use crate::eks::EksConfig;
use crate::error::{ConfigError, Result};
use crate::gke::GkeConfig;
use crate::local::LocalConfig;
use crate::networking::{Networking, Registries};
use crate::node_group::NodeGroup;
use crate::provenance::{Origin, Provenance};
use crate::provider::Provider;
use crate::ssh::SshConfig;
use crate::yaml::{self, Position};
use crate::{API_VERSION, KIND};

/// A cluster to create: where, which Kubernetes version, which nodes, which network.
///
/// Read it with [`ClusterConfig::load`] or [`ClusterConfig::from_yaml_str`], or start from
/// [`ClusterConfig::new`] when there is no file; then [`merged`](ClusterConfig::merged) with the
/// command-line flags, [`defaulted`](ClusterConfig::defaulted), and
/// [`validate`](ClusterConfig::validate)d — or all three at once with
/// [`resolve`](ClusterConfig::resolve).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClusterConfig {
    /// Always [`API_VERSION`].
    pub api_version: String,
    /// Always [`KIND`].
    pub kind: String,
    /// Name, region and tags.
    #[serde(default)]
    pub metadata: Metadata,
    /// Where the cluster runs; inferred from the one provider block present, else `local`.
    #[serde(default)]
    pub provider: Provider,
    /// `1.32` or `1.32.4`; defaults to 1.32.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_version: Option<String>,
    /// Worker node groups (eks, gke, aks).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub node_groups: Vec<NodeGroup>,
    /// Address ranges and API server endpoint.
    #[serde(default, skip_serializing_if = "Networking::is_empty")]
    pub networking: Networking,
    /// Registry mirrors for the nodes' container runtime.
    #[serde(default, skip_serializing_if = "Registries::is_empty")]
    pub registries: Registries,
    /// EKS settings; only with `provider: eks`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eks: Option<EksConfig>,
    /// GKE settings; only with `provider: gke`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gke: Option<GkeConfig>,
    /// AKS settings; only with `provider: aks`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aks: Option<AksConfig>,
    /// Local Docker settings; only with `provider: local`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<LocalConfig>,
    /// SSH hosts; only with `provider: ssh`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh: Option<SshConfig>,
    #[serde(skip)]
    pub(crate) provenance: Provenance,
}

/// Identity of the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Metadata {
    /// Cluster name; defaults to `clusterctl`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// EKS region, GKE location (region or zone) or AKS location; not used by local and ssh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Tags (AWS, Azure) or labels (GCP) put on every cloud resource created.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

impl ClusterConfig {
    /// An empty config for `provider`, for when the cluster is described by flags alone.
    pub fn new(provider: Provider) -> Self {
        ClusterConfig {
            api_version: API_VERSION.to_owned(),
            kind: KIND.to_owned(),
            metadata: Metadata::default(),
            provider,
            kubernetes_version: None,
            node_groups: Vec::new(),
            networking: Networking::default(),
            registries: Registries::default(),
            eks: None,
            gke: None,
            aks: None,
            local: None,
            ssh: None,
            provenance: Provenance::default(),
        }
    }

    /// Reads and parses the config file at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_yaml_str(&text, &path.display().to_string())
    }

    /// Parses one ClusterConfig document; `source_name` (usually the file name) prefixes errors.
    ///
    /// Only the shape is checked here (YAML syntax, apiVersion and kind, known fields, value
    /// types); the rules are checked by [`validate`](Self::validate).
    pub fn from_yaml_str(text: &str, source_name: &str) -> Result<Self> {
        let root = yaml::load_single_document(text, source_name)?;
        check_schema(&root, source_name)?;
        let mut config: ClusterConfig = yaml::de::from_node(&root, source_name)?;
        config.provenance = Provenance::from_file(source_name, yaml::positions(&root));
        if !config.provenance.in_file("provider") {
            if let [only] = config.provider_blocks().as_slice() {
                config.provider = *only;
            }
        }
        Ok(config)
    }

    /// The config as YAML, as `--dry-run` prints it; parses back to an equal config.
    pub fn to_yaml(&self) -> Result<String> {
        Ok(serde_yaml::to_string(self)?)
    }

    /// The file name the config was read from, if it was read from one.
    pub fn source_name(&self) -> Option<&str> {
        self.provenance.source_name()
    }

    /// Where the value at a field path (`nodeGroups[0].minSize`) came from.
    pub fn origin_of(&self, path: &str) -> Origin {
        self.provenance.origin_of(path)
    }

    /// The cluster name, or the default one when unset.
    pub fn name(&self) -> &str {
        self.metadata
            .name
            .as_deref()
            .unwrap_or(crate::defaults::CLUSTER_NAME)
    }

    /// The Kubernetes version, or the default one when unset.
    pub fn kubernetes_version(&self) -> &str {
        self.kubernetes_version
            .as_deref()
            .unwrap_or(crate::defaults::KUBERNETES_VERSION)
    }

    /// The providers whose settings block is present.
    pub fn provider_blocks(&self) -> Vec<Provider> {
        let present = [
            (Provider::Eks, self.eks.is_some()),
            (Provider::Gke, self.gke.is_some()),
            (Provider::Aks, self.aks.is_some()),
            (Provider::Local, self.local.is_some()),
            (Provider::Ssh, self.ssh.is_some()),
        ];
        present
            .into_iter()
            .filter(|(_, on)| *on)
            .map(|(p, _)| p)
            .collect()
    }
}

/// Rejects documents that are not a clusterctl Cluster before looking at their fields, so a kind
/// or eksctl config gets "wrong apiVersion" rather than a list of unknown fields.
fn check_schema(root: &saphyr::MarkedYaml<'_>, source_name: &str) -> Result<()> {
    if !matches!(root.data, saphyr::YamlData::Mapping(_)) {
        let at = Position::of(root);
        return Err(ConfigError::Field {
            source_name: source_name.to_owned(),
            line: at.line,
            column: at.column,
            path: "(document)".into(),
            message: format!("expected a mapping starting with apiVersion: {API_VERSION}"),
        });
    }
    for (field, expected) in [("apiVersion", API_VERSION), ("kind", KIND)] {
        let (line, found) = match yaml::entry(root, field) {
            None => (Position::of(root).line, "missing".to_owned()),
            Some((key, value)) => match yaml::scalar_text(value) {
                Some(text) if text == expected => continue,
                Some(text) => (
                    Position::of(key).line,
                    format!("unsupported value {text:?}"),
                ),
                None => (Position::of(key).line, "not a string".to_owned()),
            },
        };
        return Err(ConfigError::UnsupportedSchema {
            source_name: source_name.to_owned(),
            line,
            field,
            found,
            expected,
        });
    }
    Ok(())
}
