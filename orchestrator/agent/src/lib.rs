//! The clusterd node agent: node registration, pods over CRI, volumes, probes, streaming.
//!
//! [`Agent::run`] registers the Node (capacity, addresses, node info, honest conditions), renews
//! its Lease, writes the CNI config for the node's pod CIDR, and runs every pod bound to the node
//! through the state machine described in [`pods`], against any [`clusterd_cri::Runtime`]
//! (containerd in production, [`clusterd_cri::FakeRuntime`] in unit tests).

mod agent;
/// Joining a cluster: the node's credentials from a bootstrap token and the CA pin.
pub mod bootstrap;
mod config;
mod credentials;
mod error;
pub mod node;
mod pause_image;
pub mod pods;
/// Registry mirrors: containerd `hosts.toml` files from `--registry-mirror REGISTRY=URL`.
pub mod registry_mirrors;
/// The agent's HTTPS API (kubelet port): logs, exec, attach, port-forward, stats, for the API server.
pub mod server;

pub use agent::Agent;
pub use config::{
    parse_duration, parse_labels, parse_taints, AgentConfig, CLUSTER_DNS, CLUSTER_DOMAIN,
    KUBELET_PORT, KUBELET_VERSION,
};
pub use credentials::node_client;
pub use error::{Error, Result};
pub use pause_image::ensure_pause_image;
