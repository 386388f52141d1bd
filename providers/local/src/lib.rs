//! The local provider: kind-style clusters whose nodes are Docker containers running clusterd
//! over containerd ([`LocalProvider`] is what the CLI calls):
//!
//! - [`docker`]: the narrow [`DockerApi`] seam, its bollard implementation [`Engine`] and the
//!   recording [`FakeDocker`];
//! - [`node_image`]: the node image recipe (`templates/node-image/`) and [`NodeImage::build`];
//! - [`node`]: how a node container runs unprivileged, and [`docker_node`]: a node as a
//!   [`clusterctl_provider_api::Node`] (exec, file copy);
//! - [`clusterd`]: uploading the bundled clusterd and verifying it inside a node;
//! - [`cluster`]: rediscovering clusters from labels and deleting exactly what they own;
//! - [`steps`]: the create and delete steps, over a [`LocalCluster`] built from a config;
//! - [`args_file`]: how clusterd is started in a node; [`admin`]: the cluster's admin credentials;
//!   [`subnet`]: the fixed node addresses that let a cluster survive restarts;
//! - [`image_load`] and [`export_logs`]: `clusterctl image load` and `clusterctl export logs`.

pub mod admin;
pub mod args_file;
pub mod cluster;
pub mod clusterd;
pub mod docker;
pub mod docker_node;
pub mod error;
pub mod export_logs;
pub mod image_load;
pub mod names;
pub mod node;
pub mod node_image;
pub mod plan;
pub mod provider;
pub mod steps;
pub mod subnet;

pub use docker::{DockerApi, Engine, FakeDocker};
pub use docker_node::DockerNode;
pub use error::{Error, Result};
pub use names::Role;
pub use node_image::{NodeImage, NodeImageSpec};
pub use plan::LocalCluster;
pub use provider::{LocalOptions, LocalProvider};
