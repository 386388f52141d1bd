//! `clusterctl export logs`.

use clap::{Args, Subcommand};
use std::path::PathBuf;

/// `export`: what to export.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The thing to export.
    #[command(subcommand)]
    pub what: ExportWhat,
}

/// Exportable things.
#[derive(Debug, Subcommand)]
pub enum ExportWhat {
    /// Collect every node's clusterd, containerd and pod logs into DIR.
    Logs(ExportLogsArgs),
}

/// Flags of `export logs`.
#[derive(Debug, Clone, Args)]
pub struct ExportLogsArgs {
    /// Directory to write (created if missing).
    pub dir: PathBuf,
    /// Provider of the cluster.
    #[arg(long, value_enum, env = "CLUSTERCTL_PROVIDER", default_value = "local")]
    pub provider: super::ProviderArg,
    /// Cluster name.
    #[arg(short = 'n', long, default_value = "clusterctl")]
    pub name: String,
}

/// Runs `export`.
pub async fn run(_global: &super::GlobalArgs, args: ExportArgs) -> anyhow::Result<()> {
    match args.what {
        ExportWhat::Logs(logs) => {
            Err(crate::providers::unsupported(logs.provider.into(), "export logs").into())
        }
    }
}
