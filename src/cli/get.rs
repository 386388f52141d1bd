//! `clusterctl get clusters|nodegroups|nodes`.

use super::{OutputArgs, ProviderArg};
use crate::output::print_list;
use crate::providers::Connect;
use clap::{Args, Subcommand};
use clusterctl_provider_api::ClusterRef;

/// `get`: what to list.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// The kind of thing to list.
    #[command(subcommand)]
    pub what: GetWhat,
}

/// Listable things.
#[derive(Debug, Subcommand)]
pub enum GetWhat {
    /// Clusters clusterctl created (rediscovered from provider labels/tags).
    #[command(alias = "cluster")]
    Clusters(GetFilter),
    /// Node groups of a cluster.
    #[command(alias = "nodegroup", alias = "ng")]
    Nodegroups(GetFilter),
    /// Nodes of a cluster.
    #[command(alias = "node")]
    Nodes(GetFilter),
}

/// Filters shared by the `get` subcommands.
#[derive(Debug, Clone, Args)]
pub struct GetFilter {
    /// Provider to look at.
    #[arg(long, value_enum, env = "CLUSTERCTL_PROVIDER", default_value = "local")]
    pub provider: ProviderArg,
    /// Only this cluster (required for nodegroups and nodes; default `clusterctl`).
    #[arg(short = 'n', long, alias = "cluster")]
    pub name: Option<String>,
    /// Region/location (eks, gke, aks).
    #[arg(long)]
    pub region: Option<String>,
    /// Output format.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Runs `get`.
pub async fn run(global: &super::GlobalArgs, args: GetArgs) -> anyhow::Result<()> {
    let (filter, operation) = match &args.what {
        GetWhat::Clusters(f) => (f, "list clusters"),
        GetWhat::Nodegroups(f) => (f, "list node groups"),
        GetWhat::Nodes(f) => (f, "list nodes"),
    };
    let connect = Connect {
        region: filter.region.clone(),
        kubeconfig: global.kubeconfig.clone(),
        wait: None,
    };
    let p = crate::providers::get(filter.provider.into(), operation, &connect).await?;
    let cluster = ClusterRef {
        name: filter
            .name
            .clone()
            .unwrap_or_else(|| "clusterctl".to_owned()),
        region: filter.region.clone(),
    };
    let format = filter.output.output;
    match &args.what {
        GetWhat::Clusters(_) => {
            let mut clusters = p.list_clusters(filter.region.as_deref()).await?;
            if let Some(name) = &filter.name {
                clusters.retain(|c| &c.name == name);
            }
            print_list(&clusters, format, "No clusters found.")
        }
        GetWhat::Nodegroups(_) => print_list(
            &p.list_nodegroups(&cluster).await?,
            format,
            &format!("No node groups found in cluster {}.", cluster.name),
        ),
        GetWhat::Nodes(_) => print_list(
            &p.list_nodes(&cluster).await?,
            format,
            &format!("No nodes found in cluster {}.", cluster.name),
        ),
    }
}
