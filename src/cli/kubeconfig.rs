//! `clusterctl kubeconfig update|write`.

use super::ClusterSelector;
use crate::providers::Connect;
use clap::{Args, Subcommand};
use clusterctl_kubeconfig::{render_standalone, write_file, CurrentContext, Store};
use clusterctl_provider_api::ClusterRef;
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
pub async fn run(global: &super::GlobalArgs, args: KubeconfigArgs) -> anyhow::Result<()> {
    let selector = match &args.action {
        KubeconfigAction::Update(a) => &a.cluster,
        KubeconfigAction::Write(a) => &a.cluster,
    };
    let connect = Connect {
        region: selector.region.clone(),
        kubeconfig: global.kubeconfig.clone(),
        wait: None,
    };
    let p = crate::providers::get(
        selector.provider.into(),
        "fetch cluster credentials",
        &connect,
    )
    .await?;
    let cluster = ClusterRef {
        name: selector.name.clone(),
        region: selector.region.clone(),
    };
    let entry = p.kubeconfig_entry(&cluster).await?;
    match &args.action {
        KubeconfigAction::Update(a) => {
            let store = Store::open(global.kubeconfig.as_deref())?;
            let current = if a.no_set_current {
                CurrentContext::Keep
            } else {
                CurrentContext::Switch
            };
            store.upsert(&entry, current)?;
            if !global.quiet {
                eprintln!(
                    "merged context {} into {}",
                    entry.name,
                    store.location().write_target().display()
                );
            }
        }
        KubeconfigAction::Write(a) => {
            let text = render_standalone(&entry)?;
            match &a.output {
                Some(path) => write_file(path, &text)?,
                None => print!("{text}"),
            }
        }
    }
    Ok(())
}
