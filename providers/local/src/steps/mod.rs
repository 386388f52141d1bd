//! The steps of creating and deleting a local cluster, one concern per file. Each is idempotent
//! (it finds what exists by name and label first), sends every mutation through `ctx.wet`, and
//! knows how to clean up what it made. Reads (inspect, list) also happen under dry-run, so the
//! plan lists exactly what a real run would change on this Docker daemon now.
//!
//! [`provision_steps`] make the node containers and put clusterd in them; [`start_steps`] start
//! clusterd server, join the agents, wait for every node to be Ready and merge the kubeconfig.

pub mod clusterd;
pub mod delete;
pub mod ha;
pub mod image;
pub mod join;
pub mod kubeconfig;
pub mod network;
pub mod nodes;
pub mod preflight;
pub mod ready;
pub mod scale;
pub mod server;

#[cfg(test)]
mod flow_tests;
#[cfg(test)]
mod start_tests;

use std::path::PathBuf;
use std::sync::Arc;

use clusterctl_bundle::Clusterd;
use clusterctl_steps::Step;

use crate::docker::DockerApi;
use crate::plan::LocalCluster;

pub use self::clusterd::CopyClusterd;
pub use delete::DeleteCluster;
pub use image::EnsureNodeImage;
pub use join::JoinAgents;
pub use kubeconfig::{RemoveKubeconfig, WriteKubeconfig};
pub use network::CreateNetwork;
pub use nodes::CreateNodes;
pub use preflight::Preflight;
pub use ready::WaitNodesReady;
pub use server::{StartServer, WaitApiServer};

/// Every step of `clusterctl create --provider local`, in order; `kubeconfig` is the file the
/// context is merged into (`--kubeconfig`, else `$KUBECONFIG`, else `~/.kube/config`).
pub fn create_steps(
    cluster: &LocalCluster,
    clusterd: Arc<Clusterd>,
    kubeconfig: Option<PathBuf>,
) -> Vec<Box<dyn Step>> {
    let mut steps = provision_steps(cluster, clusterd);
    steps.extend(start_steps(cluster, kubeconfig));
    steps
}

/// The first half of `create`: node image, network, node containers, clusterd in every node.
pub fn provision_steps(cluster: &LocalCluster, clusterd: Arc<Clusterd>) -> Vec<Box<dyn Step>> {
    vec![
        Box::new(Preflight::new(cluster.clone())),
        Box::new(EnsureNodeImage::new(cluster.clone())),
        Box::new(CreateNetwork::new(cluster.clone())),
        Box::new(CreateNodes::new(cluster.clone())),
        Box::new(CopyClusterd::new(cluster.clone(), clusterd)),
    ]
}

/// The second half of `create`: start clusterd server, wait for its API server, join the
/// agents, wait until every node is Ready, merge the kubeconfig context `local-<cluster>`.
pub fn start_steps(cluster: &LocalCluster, kubeconfig: Option<PathBuf>) -> Vec<Box<dyn Step>> {
    let mut steps: Vec<Box<dyn Step>> = Vec::new();
    if cluster.ha() {
        steps.push(Box::new(ha::StartEtcd::new(cluster.clone())));
        steps.push(Box::new(ha::StartLoadBalancer::new(cluster.clone())));
    }
    steps.push(Box::new(StartServer::new(cluster.clone())));
    steps.push(Box::new(WaitApiServer::new(cluster.clone())));
    if cluster.ha() {
        steps.push(Box::new(ha::JoinServers::new(cluster.clone())));
    }
    if cluster.agents > 0 {
        steps.push(Box::new(JoinAgents::new(cluster.clone())));
    }
    steps.push(Box::new(WaitNodesReady::new(cluster.clone())));
    steps.push(Box::new(scale::RecordConfig::new(cluster.clone())));
    steps.push(Box::new(WriteKubeconfig::new(cluster.clone(), kubeconfig)));
    steps
}

/// The steps of `clusterctl delete --provider local --name <cluster>`: its containers, volumes
/// and network, then its kubeconfig context.
pub fn delete_steps(
    docker: Arc<dyn DockerApi>,
    cluster: &str,
    kubeconfig: Option<PathBuf>,
) -> Vec<Box<dyn Step>> {
    vec![
        Box::new(DeleteCluster::new(docker, cluster)),
        Box::new(RemoveKubeconfig::new(cluster, kubeconfig)),
    ]
}
