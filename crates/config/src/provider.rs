//! Where a cluster runs.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

/// The five places clusterctl can create a cluster.
///
/// Spelled in lowercase in YAML and on the command line (`provider: eks`, `--provider eks`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// Amazon EKS.
    Eks,
    /// Google GKE.
    Gke,
    /// Azure AKS.
    Aks,
    /// clusterd nodes in local Docker containers (kind-style); the default.
    #[default]
    Local,
    /// clusterd on existing Linux hosts reached over SSH.
    Ssh,
}

impl Provider {
    /// Every provider, in the order they are documented.
    pub const ALL: [Provider; 5] = [
        Provider::Eks,
        Provider::Gke,
        Provider::Aks,
        Provider::Local,
        Provider::Ssh,
    ];

    /// Every provider name, for command-line completion and `possible_values`.
    pub const NAMES: [&'static str; 5] = ["eks", "gke", "aks", "local", "ssh"];

    /// The lowercase name used in YAML and flags.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Eks => "eks",
            Provider::Gke => "gke",
            Provider::Aks => "aks",
            Provider::Local => "local",
            Provider::Ssh => "ssh",
        }
    }

    /// Whether the control plane and nodes are run by a cloud (eks, gke, aks) rather than clusterd.
    pub fn is_managed_cloud(self) -> bool {
        matches!(self, Provider::Eks | Provider::Gke | Provider::Aks)
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Provider {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Provider::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| ConfigError::UnknownProvider {
                value: s.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_provider_name_parses_back_to_itself() {
        for provider in Provider::ALL {
            assert_eq!(provider.to_string().parse::<Provider>().unwrap(), provider);
        }
        assert_eq!(
            Provider::NAMES.map(|n| n.parse::<Provider>().unwrap()),
            Provider::ALL
        );
    }

    #[test]
    fn unknown_provider_lists_the_known_ones() {
        let err = "kind".parse::<Provider>().unwrap_err().to_string();
        assert_eq!(
            err,
            "unknown provider \"kind\", expected one of eks, gke, aks, local, ssh"
        );
    }
}
