//! The clusterd service proxy: ClusterIP, NodePort and LoadBalancer over iptables, and routes between nodes.
//!
//! [`run`] watches Services, EndpointSlices and Nodes and keeps the node's `CLUSTERD-*` iptables
//! chains (see [`rules`]) and its routes to the other nodes' pod CIDRs (see [`routes`]) in line
//! with them, deleting UDP flows that endpoint changes made stale (see [`conntrack`]);
//! [`render`] is the pure function from objects to `iptables-restore` input;
//! [`cleanup`] removes everything the proxy installed.

mod cidr;
pub mod conntrack;
mod error;
pub mod exec;
pub mod model;
pub mod netfilter;
mod proxier;
pub mod routes;
pub mod rules;
pub mod sysctl;

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

pub use cidr::Ipv4Cidr;
pub use error::{Error, Result};
pub use proxier::{run, run_with};
pub use rules::{render, NodeContext, Ruleset};

/// How the proxy runs on one node.
#[derive(Debug, Clone, PartialEq)]
pub struct ProxyConfig {
    /// This node's name (endpoints on it are local; its own Node gets no route).
    pub node_name: String,
    /// This node's IPs (never routed to, whatever Node claims them).
    pub node_ips: Vec<Ipv4Addr>,
    /// The cluster's pod CIDR (10.244.0.0/16).
    pub cluster_cidr: Ipv4Cidr,
    /// Put before every command, e.g. `["ip", "netns", "exec", "ns1"]`; empty in production.
    pub command_prefix: Vec<String>,
    /// Full resync period (rules rewritten and jumps checked even without changes).
    pub sync_period: Duration,
    /// Least time between two syncs, so a burst of changes becomes one sync.
    pub min_sync_interval: Duration,
    /// Whether to keep routes to the other nodes' pod CIDRs.
    pub manage_routes: bool,
}

impl ProxyConfig {
    /// The defaults for node `node_name`: cluster CIDR 10.244.0.0/16, full resync every 30 s,
    /// at most one sync per 100 ms, routes managed, commands run directly.
    pub fn new(node_name: impl Into<String>) -> Self {
        Self {
            node_name: node_name.into(),
            node_ips: Vec::new(),
            cluster_cidr: Ipv4Cidr::new(Ipv4Addr::new(10, 244, 0, 0), 16)
                .unwrap_or_else(|| unreachable!("16 is a valid prefix")),
            command_prefix: Vec::new(),
            sync_period: Duration::from_secs(30),
            min_sync_interval: Duration::from_millis(100),
            manage_routes: true,
        }
    }
}

/// Removes every `CLUSTERD-*` chain and the jumps into them (both tables) and every route the
/// proxy installed, running commands behind `command_prefix`.
pub async fn cleanup(command_prefix: Vec<String>) -> Result<()> {
    let runner: Arc<dyn exec::Runner> = Arc::new(exec::CommandRunner::new(command_prefix));
    tokio::task::spawn_blocking(move || {
        let rules = netfilter::cleanup(runner.as_ref());
        let routes = routes::cleanup(runner.as_ref());
        rules.and(routes)
    })
    .await
    .map_err(|error| Error::Command {
        command: "proxy cleanup".into(),
        output: error.to_string(),
    })?
}
