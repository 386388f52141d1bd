//! Labels and tags every resource clusterctl creates carries; state is rediscovered from them.

/// The cluster a resource belongs to: `clusterctl.io/cluster=<name>`.
pub const CLUSTER: &str = "clusterctl.io/cluster";
/// Marks a resource this tool created (and so may delete): `clusterctl.io/owned=true`.
pub const OWNED: &str = "clusterctl.io/owned";
/// The node's role: `server` or `agent`.
pub const ROLE: &str = "clusterctl.io/role";
/// The node group a node belongs to.
pub const NODEGROUP: &str = "clusterctl.io/nodegroup";

/// The labels a resource of `cluster` carries.
pub fn for_cluster(cluster: &str) -> Vec<(&'static str, String)> {
    vec![(CLUSTER, cluster.to_string()), (OWNED, "true".to_string())]
}
