//! `clusterctl upgrade`.

use super::ClusterSelector;
use clap::Args;

/// Flags of `upgrade`.
#[derive(Debug, Clone, Args)]
pub struct UpgradeArgs {
    /// The cluster.
    #[command(flatten)]
    pub cluster: ClusterSelector,
    /// Target Kubernetes version, e.g. 1.33.
    #[arg(long = "version", value_name = "VERSION")]
    pub kubernetes_version: String,
    /// Also upgrade node groups after the control plane.
    #[arg(long, default_value_t = true)]
    pub nodegroups: bool,
    /// Print the plan; change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Runs `upgrade`.
pub async fn run(_global: &super::GlobalArgs, args: UpgradeArgs) -> anyhow::Result<()> {
    clusterctl_config::validate_version(&args.kubernetes_version)
        .map_err(|e| anyhow::anyhow!("--version {}: {e}", args.kubernetes_version))?;
    match crate::providers::get(args.cluster.provider.into(), "upgrade clusters")? {}
}
