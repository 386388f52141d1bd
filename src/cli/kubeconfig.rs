//! `clusterctl kubeconfig update|write`.

use super::ClusterSelector;
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// `kubeconfig`: update or write.
#[derive(Debug, Args)]
pub struct KubeconfigArgs {
    /// The action.
    #[command(subcommand)]
    pub action: KubeconfigAction,
}

/// Kubeconfig actions.
#[derive(Debug, Subcommand)]
pub enum KubeconfigAction {
    /// Merge the cluster's context into your kubeconfig and make it current.
    Update(KubeconfigUpdateArgs),
    /// Write the cluster's kubeconfig on its own (stdout, or --output FILE written 0600).
    Write(KubeconfigWriteArgs),
}

/// Flags of `kubeconfig update`.
#[derive(Debug, Clone, Args)]
pub struct KubeconfigUpdateArgs {
    /// The cluster.
    #[command(flatten)]
    pub cluster: ClusterSelector,
    /// Leave current-context as it is.
    #[arg(long)]
    pub no_set_current: bool,
}

/// Flags of `kubeconfig write`.
#[derive(Debug, Clone, Args)]
pub struct KubeconfigWriteArgs {
    /// The cluster.
    #[command(flatten)]
    pub cluster: ClusterSelector,
    /// File to write (mode 0600); stdout when absent.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Runs `kubeconfig`.
pub async fn run(_global: &super::GlobalArgs, args: KubeconfigArgs) -> anyhow::Result<()> {
    let selector = match &args.action {
        KubeconfigAction::Update(a) => &a.cluster,
        KubeconfigAction::Write(a) => &a.cluster,
    };
    match crate::providers::get(selector.provider.into(), "fetch cluster credentials")? {}
}
