//! `clusterctl delete [cluster]` and `clusterctl delete nodegroup`.

use super::run_steps::{print_plan, run_steps, RunOptions};
use super::ProviderArg;
use crate::providers::Connect;
use clap::{Args, Subcommand};
use clusterctl_provider_api::ClusterRef;

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
    /// Wait until every resource is gone before returning (eks always waits: the VPC can only
    /// go once the cluster has).
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
pub async fn run(global: &super::GlobalArgs, args: DeleteArgs) -> anyhow::Result<()> {
    match args.what {
        None | Some(DeleteWhat::Cluster(_)) => {
            let c = match args.what {
                Some(DeleteWhat::Cluster(c)) => c,
                _ => args.cluster,
            };
            let connect = Connect {
                region: c.region.clone(),
                kubeconfig: global.kubeconfig.clone(),
                wait: None,
            };
            let p = crate::providers::get(c.provider.into(), "delete clusters", &connect).await?;
            let cluster = ClusterRef {
                name: c.name.clone(),
                region: c.region.clone(),
            };
            let options = RunOptions {
                dry_run: c.dry_run,
                retain: true,
                cleanup_hint: Some("re-run the same command to continue deleting".to_owned()),
            };
            let plan = run_steps(global, p.delete_steps(&cluster)?, options).await?;
            if c.dry_run {
                print_plan(&plan, false);
            } else if !global.quiet {
                eprintln!("cluster {} deleted", c.name);
            }
            Ok(())
        }
        Some(DeleteWhat::Nodegroup(ng)) => {
            let connect = Connect {
                region: ng.region.clone(),
                kubeconfig: global.kubeconfig.clone(),
                wait: None,
            };
            let p =
                crate::providers::get(ng.provider.into(), "delete node groups", &connect).await?;
            let cluster = ClusterRef {
                name: ng.cluster.clone(),
                region: ng.region.clone(),
            };
            let options = RunOptions {
                dry_run: ng.dry_run,
                retain: true,
                cleanup_hint: None,
            };
            let plan = run_steps(
                global,
                p.delete_nodegroup_steps(&cluster, &ng.nodegroup)?,
                options,
            )
            .await?;
            if ng.dry_run {
                print_plan(&plan, false);
            }
            Ok(())
        }
    }
}
