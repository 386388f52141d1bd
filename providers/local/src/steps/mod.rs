//! The steps of creating and deleting a local cluster, one concern per file. Each is idempotent
//! (it finds what exists by name and label first), sends every mutation through `ctx.wet`, and
//! knows how to clean up what it made. Reads (inspect, list) also happen under dry-run, so the
//! plan lists exactly what a real run would change on this Docker daemon now.
//!
//! Steps that need `clusterd server`/`agent` (start the control plane, join agents, wait Ready,
//! write the kubeconfig) join [`create_steps`] when those exist.

pub mod clusterd;
pub mod delete;
pub mod image;
pub mod network;
pub mod nodes;
pub mod preflight;

#[cfg(test)]
mod flow_tests;

use std::sync::Arc;

use clusterctl_bundle::Clusterd;
use clusterctl_steps::Step;

use crate::docker::DockerApi;
use crate::plan::LocalCluster;

pub use self::clusterd::CopyClusterd;
pub use delete::DeleteCluster;
pub use image::EnsureNodeImage;
pub use network::CreateNetwork;
pub use nodes::CreateNodes;
pub use preflight::Preflight;

/// The steps that exist so far of `clusterctl create --provider local`, in order.
pub fn create_steps(cluster: &LocalCluster, clusterd: Arc<Clusterd>) -> Vec<Box<dyn Step>> {
    vec![
        Box::new(Preflight::new(cluster.clone())),
        Box::new(EnsureNodeImage::new(cluster.clone())),
        Box::new(CreateNetwork::new(cluster.clone())),
        Box::new(CreateNodes::new(cluster.clone())),
        Box::new(CopyClusterd::new(cluster.clone(), clusterd)),
    ]
}

/// The steps of `clusterctl delete --provider local --name <cluster>`.
pub fn delete_steps(docker: Arc<dyn DockerApi>, cluster: &str) -> Vec<Box<dyn Step>> {
    vec![Box::new(DeleteCluster::new(docker, cluster))]
}
