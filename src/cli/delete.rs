//! `clusterctl delete [cluster]` and `clusterctl delete nodegroup`.

use super::ProviderArg;
use clap::{Args, Subcommand};

/// `delete`: a cluster by flags, or a `cluster`/`nodegroup` subcommand.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct DeleteArgs {
    /// What to delete (default: a cluster).
    #[command(subcommand)]
    pub what: Option<DeleteWhat>,
    /// Cluster flags when no subcommand is given.
    #[command(flatten)]
    pub cluster: DeleteClusterArgs,
}

/// Things `delete` removes.
#[derive(Debug, Subcommand)]
pub enum DeleteWhat {
    /// Delete a cluster and everything clusterctl created for it.
    Cluster(DeleteClusterArgs),
    /// Delete one node group.
    Nodegroup(DeleteNodegroupArgs),
}

/// Flags of `delete cluster`.
#[derive(Debug, Clone, Args)]
pub struct DeleteClusterArgs {
    /// Provider of the cluster.
    #[arg(long, value_enum, env = "CLUSTERCTL_PROVIDER", default_value = "local")]
    pub provider: ProviderArg,
    /// Cluster name.
    #[arg(short = 'n', long, default_value = "clusterctl")]
    pub name: String,
    /// Region/location (eks, gke, aks).
    #[arg(long)]
    pub region: Option<String>,
    /// Wait until every resource is gone before returning.
    #[arg(long)]
    pub wait: bool,
    /// Print what would be deleted; change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Flags of `delete nodegroup`.
#[derive(Debug, Clone, Args)]
pub struct DeleteNodegroupArgs {
    /// Node group name.
    pub nodegroup: String,
    /// Provider of the cluster.
    #[arg(long, value_enum, env = "CLUSTERCTL_PROVIDER", default_value = "local")]
    pub provider: ProviderArg,
    /// Cluster the node group belongs to.
    #[arg(long)]
    pub cluster: String,
    /// Region/location.
    #[arg(long)]
    pub region: Option<String>,
    /// Wait until the node group is gone.
    #[arg(long)]
    pub wait: bool,
    /// Print what would be deleted; change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Runs `delete`.
pub async fn run(_global: &super::GlobalArgs, args: DeleteArgs) -> anyhow::Result<()> {
    match args.what {
        None | Some(DeleteWhat::Cluster(_)) => {
            let c = match args.what {
                Some(DeleteWhat::Cluster(c)) => c,
                _ => args.cluster,
            };
            match crate::providers::get(c.provider.into(), "delete clusters")? {}
        }
        Some(DeleteWhat::Nodegroup(ng)) => {
            match crate::providers::get(ng.provider.into(), "delete node groups")? {}
        }
    }
}
