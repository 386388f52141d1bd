//! `clusterctl scale nodegroup`.

use super::ProviderArg;
use crate::providers::Connect;
use clap::{Args, Subcommand};
use clusterctl_provider_api::{ClusterRef, Scaling};

/// `scale`: what to scale.
#[derive(Debug, Args)]
pub struct ScaleArgs {
    /// The kind of thing to scale.
    #[command(subcommand)]
    pub what: ScaleWhat,
}

/// Scalable things.
#[derive(Debug, Subcommand)]
pub enum ScaleWhat {
    /// Set a node group's desired size (and optionally its bounds).
    #[command(alias = "ng")]
    Nodegroup(ScaleNodegroupArgs),
}

/// Flags of `scale nodegroup`.
#[derive(Debug, Clone, Args)]
pub struct ScaleNodegroupArgs {
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
    /// Desired number of nodes.
    #[arg(long)]
    pub nodes: u32,
    /// New minimum.
    #[arg(long)]
    pub nodes_min: Option<u32>,
    /// New maximum.
    #[arg(long)]
    pub nodes_max: Option<u32>,
    /// Wait until the node group has the new size.
    #[arg(long)]
    pub wait: bool,
}

impl ScaleNodegroupArgs {
    /// Checks min <= desired <= max among the given values, before any provider call.
    pub fn check_bounds(&self) -> Result<(), String> {
        if let (Some(min), Some(max)) = (self.nodes_min, self.nodes_max) {
            if min > max {
                return Err(format!(
                    "--nodes-min ({min}) must be <= --nodes-max ({max})"
                ));
            }
        }
        if let Some(min) = self.nodes_min {
            if self.nodes < min {
                return Err(format!(
                    "--nodes ({}) must be >= --nodes-min ({min})",
                    self.nodes
                ));
            }
        }
        if let Some(max) = self.nodes_max {
            if self.nodes > max {
                return Err(format!(
                    "--nodes ({}) must be <= --nodes-max ({max})",
                    self.nodes
                ));
            }
        }
        Ok(())
    }
}

/// Runs `scale`.
pub async fn run(global: &super::GlobalArgs, args: ScaleArgs) -> anyhow::Result<()> {
    match args.what {
        ScaleWhat::Nodegroup(ng) => {
            ng.check_bounds()
                .map_err(|e| anyhow::anyhow!("scale nodegroup {}: {e}", ng.nodegroup))?;
            let connect = Connect {
                region: ng.region.clone(),
                kubeconfig: global.kubeconfig.clone(),
                wait: None,
            };
            let p =
                crate::providers::get(ng.provider.into(), "scale node groups", &connect).await?;
            let cluster = ClusterRef {
                name: ng.cluster.clone(),
                region: ng.region.clone(),
            };
            let scaling = Scaling {
                desired: ng.nodes,
                min: ng.nodes_min,
                max: ng.nodes_max,
            };
            let steps = p
                .scale_steps(&cluster, &ng.nodegroup, scaling)
                .await
                .map_err(|e| anyhow::anyhow!("scale nodegroup {}: {e}", ng.nodegroup))?;
            if let Some(steps) = steps {
                let options = super::run_steps::RunOptions {
                    dry_run: false,
                    retain: true,
                    cleanup_hint: Some(format!(
                        "re-run `clusterctl scale nodegroup {} --provider {} --cluster {} --nodes {}` to finish",
                        ng.nodegroup,
                        clusterctl_config::Provider::from(ng.provider),
                        ng.cluster,
                        ng.nodes
                    )),
                };
                super::run_steps::run_steps(global, steps, options).await?;
                if !global.quiet {
                    eprintln!(
                        "node group {} of {} has {} nodes",
                        ng.nodegroup, ng.cluster, ng.nodes
                    );
                }
                return Ok(());
            }
            p.scale_nodegroup(&cluster, &ng.nodegroup, scaling)
                .await
                .map_err(|e| anyhow::anyhow!("scale nodegroup {}: {e}", ng.nodegroup))?;
            if !global.quiet {
                eprintln!(
                    "node group {} of {} scaling to {} nodes",
                    ng.nodegroup, ng.cluster, ng.nodes
                );
            }
            Ok(())
        }
    }
}
