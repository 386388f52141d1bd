//! Names and labels of everything the local provider creates for a cluster.
//!
//! Every container, network and volume carries `clusterctl.io/cluster=<name>` and
//! `clusterctl.io/owned=true`; nodes also carry `clusterctl.io/role=server|agent|lb`. Clusters are
//! rediscovered from these labels, never from a local file.

use std::fmt;

use clusterctl_provider_api::labels;

use crate::docker::Labels;
use crate::{Error, Result};

/// Marks a cluster network created on a subnet of its own, whose nodes have fixed addresses.
pub const FIXED_ADDRESSES_LABEL: &str = "clusterctl.io/fixed-addresses";

/// Longest cluster name: container names are `<cluster>-server-<n>` and must stay DNS labels.
pub const MAX_CLUSTER_NAME: usize = 40;

/// A node's role in the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Runs `clusterd server` (API server, datastore, controllers) and an agent.
    Server,
    /// Runs `clusterd agent` only.
    Agent,
    /// Runs `clusterd lb`: the one API endpoint in front of several servers (HA clusters only).
    Lb,
}

impl Role {
    /// The label value and name part: `server` or `agent`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Server => "server",
            Self::Agent => "agent",
            Self::Lb => "lb",
        }
    }

    /// Parses a label value.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "server" => Some(Self::Server),
            "agent" => Some(Self::Agent),
            "lb" => Some(Self::Lb),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Checks that `name` can name a cluster: lowercase letters, digits and `-`, starting with a
/// letter, not ending with `-`, at most [`MAX_CLUSTER_NAME`] characters.
pub fn validate_cluster_name(name: &str) -> Result<()> {
    let problem = if name.is_empty() {
        Some("it is empty".to_owned())
    } else if name.len() > MAX_CLUSTER_NAME {
        Some(format!("it is longer than {MAX_CLUSTER_NAME} characters"))
    } else if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        Some("it must start with a lowercase letter".to_owned())
    } else if name.ends_with('-') {
        Some("it must not end with '-'".to_owned())
    } else {
        name.chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
            .map(|bad| format!("{bad:?} is not allowed (use a-z, 0-9 and '-')"))
    };
    match problem {
        Some(problem) => Err(Error::Invalid(format!("cluster name {name:?}: {problem}"))),
        None => Ok(()),
    }
}

/// The cluster's Docker network: `clusterctl-<cluster>`.
pub fn network(cluster: &str) -> String {
    format!("clusterctl-{cluster}")
}

/// A node container (and its hostname): `<cluster>-server-0`, `<cluster>-agent-1`; the one
/// load balancer of an HA cluster is `<cluster>-lb`.
pub fn node(cluster: &str, role: Role, index: usize) -> String {
    match role {
        Role::Lb => format!("{cluster}-lb"),
        _ => format!("{cluster}-{role}-{index}"),
    }
}

/// The volume holding a node's `/var/lib/containerd`: `<node>-containerd`.
pub fn containerd_volume(node: &str) -> String {
    format!("{node}-containerd")
}

/// The labels every resource of `cluster` carries.
pub fn cluster_labels(cluster: &str) -> Labels {
    labels::for_cluster(cluster)
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect()
}

/// The labels of a node container of `cluster` with `role`.
pub fn node_labels(cluster: &str, role: Role) -> Labels {
    let mut node = cluster_labels(cluster);
    node.insert(labels::ROLE.to_owned(), role.as_str().to_owned());
    node
}

/// The filter that finds every resource clusterctl created for any cluster.
pub fn owned_filter() -> Labels {
    Labels::from([(labels::OWNED.to_owned(), "true".to_owned())])
}

/// Whether `found` labels mark a resource of `cluster` that clusterctl created.
pub fn belongs_to(found: &Labels, cluster: &str) -> bool {
    found.get(labels::CLUSTER).map(String::as_str) == Some(cluster)
        && found.get(labels::OWNED).map(String::as_str) == Some("true")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_cluster_name() {
        assert_eq!(network("dev"), "clusterctl-dev");
        assert_eq!(node("dev", Role::Agent, 1), "dev-agent-1");
        assert_eq!(containerd_volume("dev-server-0"), "dev-server-0-containerd");
    }

    #[test]
    fn node_labels_carry_cluster_owner_and_role() {
        let labels = node_labels("dev", Role::Server);
        assert_eq!(labels["clusterctl.io/cluster"], "dev");
        assert_eq!(labels["clusterctl.io/owned"], "true");
        assert_eq!(labels["clusterctl.io/role"], "server");
        assert!(belongs_to(&labels, "dev"));
        assert!(!belongs_to(&labels, "dev2"));
    }

    #[test]
    fn cluster_names_must_be_dns_labels() {
        assert!(validate_cluster_name("dev-2").is_ok());
        for (bad, why) in [
            ("", "empty"),
            ("Dev", "lowercase letter"),
            ("dev_2", "'_' is not allowed"),
            ("dev-", "end with"),
            ("2dev", "lowercase letter"),
        ] {
            let error = validate_cluster_name(bad).unwrap_err().to_string();
            assert!(error.contains(why), "{bad}: {error}");
        }
        let long = "a".repeat(MAX_CLUSTER_NAME + 1);
        assert!(validate_cluster_name(&long)
            .unwrap_err()
            .to_string()
            .contains("longer than"));
    }
}
