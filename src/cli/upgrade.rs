//! `clusterctl upgrade`.

use super::run_steps::{print_plan, run_steps, RunOptions};
use super::ClusterSelector;
use crate::providers::Connect;
use clap::Args;
use clusterctl_provider_api::ClusterRef;

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
pub async fn run(global: &super::GlobalArgs, args: UpgradeArgs) -> anyhow::Result<()> {
    clusterctl_config::validate_version(&args.kubernetes_version)
        .map_err(|e| anyhow::anyhow!("--version {}: {e}", args.kubernetes_version))?;
    let connect = Connect {
        region: args.cluster.region.clone(),
        kubeconfig: global.kubeconfig.clone(),
        wait: None,
    };
    let p =
        crate::providers::get(args.cluster.provider.into(), "upgrade clusters", &connect).await?;
    let cluster = ClusterRef {
        name: args.cluster.name.clone(),
        region: args.cluster.region.clone(),
    };
    let mut steps = p.upgrade_steps(&cluster, &args.kubernetes_version)?;
    if !args.nodegroups {
        // The control plane comes first; the node steps follow it.
        steps.truncate(1);
    }
    let options = RunOptions {
        dry_run: args.dry_run,
        retain: true,
        cleanup_hint: Some("re-run the same command to resume the upgrade".to_owned()),
    };
    let plan = run_steps(global, steps, options).await?;
    if args.dry_run {
        print_plan(&plan, false);
    }
    Ok(())
}
