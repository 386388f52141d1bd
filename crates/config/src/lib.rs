//! The ClusterConfig file (`apiVersion: clusterctl.io/v1alpha1`, `kind: Cluster`): parse,
//! default, merge with command-line flags, validate, and print back as YAML.
//!
//! ```no_run
//! use clusterctl_config::{ClusterConfig, Overrides};
//!
//! # fn main() -> Result<(), clusterctl_config::ConfigError> {
//! let flags = Overrides { nodes: Some(3), ..Overrides::default() };
//! let config = ClusterConfig::load("cluster.yaml")?.resolve(&flags)?;
//! print!("{}", config.to_yaml()?);
//! # Ok(())
//! # }
//! ```
//!
//! This is a types crate: no network and no processes, only reading the file it is given.

mod aks;
mod cluster_config;
mod defaults;
mod eks;
mod error;
mod gke;
mod local;
mod networking;
mod node_group;
mod overrides;
mod provenance;
mod provider;
mod ssh;
mod validate;
mod yaml;

pub use aks::AksConfig;
pub use cluster_config::{ClusterConfig, Metadata};
pub use eks::{EksConfig, Iam, Subnets, Vpc};
pub use error::{ConfigError, Result};
pub use gke::GkeConfig;
pub use local::{LocalConfig, Mount, PortMapping, Protocol};
pub use networking::{Networking, Registries};
pub use node_group::{NodeGroup, Taint, TaintEffect};
pub use overrides::{merge, HostSpec, Overrides};
pub use provenance::Origin;
pub use provider::Provider;
pub use ssh::{Bastion, SshConfig, SshHost, SshRole};
pub use validate::version::{validate_version, NEWEST_MINOR, OLDEST_MINOR};
pub use validate::{ValidationError, ValidationErrors};

/// The `apiVersion` a ClusterConfig document declares.
pub const API_VERSION: &str = "clusterctl.io/v1alpha1";
/// The `kind` a ClusterConfig document declares.
pub const KIND: &str = "Cluster";
