//! `clusterctl get clusters|nodegroups|nodes`.

use super::{OutputArgs, ProviderArg};
use clap::{Args, Subcommand};

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
pub async fn run(_global: &super::GlobalArgs, args: GetArgs) -> anyhow::Result<()> {
    let (filter, operation) = match &args.what {
        GetWhat::Clusters(f) => (f, "list clusters"),
        GetWhat::Nodegroups(f) => (f, "list node groups"),
        GetWhat::Nodes(f) => (f, "list nodes"),
    };
    match crate::providers::get(filter.provider.into(), operation)? {}
}
