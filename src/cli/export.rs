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
pub async fn run(global: &super::GlobalArgs, args: ExportArgs) -> anyhow::Result<()> {
    use clusterctl_provider_local::export_logs::export_logs;
    use clusterctl_provider_local::Engine;
    match args.what {
        ExportWhat::Logs(logs) => {
            let kind: clusterctl_config::Provider = logs.provider.into();
            if kind != clusterctl_config::Provider::Local {
                return Err(crate::providers::unsupported(kind, "export logs").into());
            }
            let docker = std::sync::Arc::new(Engine::connect().await?);
            let files = export_logs(docker, &logs.name, &logs.dir).await?;
            if !global.quiet {
                eprintln!(
                    "✓ Exported {} files of cluster {} to {}",
                    files.len(),
                    logs.name,
                    logs.dir.display()
                );
            }
            Ok(())
        }
    }
}
