//! `clusterctl token`: an exec credential plugin for kubectl.

use super::ProviderArg;
use clap::Args;

/// Flags of `token`.
#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    /// Provider whose token to mint (eks).
    #[arg(long, value_enum, default_value = "eks")]
    pub provider: ProviderArg,
    /// Cluster name the token is for.
    #[arg(long, alias = "name")]
    pub cluster: String,
    /// AWS region.
    #[arg(long)]
    pub region: Option<String>,
    /// Assume this IAM role before signing.
    #[arg(long)]
    pub role_arn: Option<String>,
}

/// Runs `token`.
pub async fn run(_global: &super::GlobalArgs, args: TokenArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.provider == ProviderArg::Eks,
        "clusterctl token mints credentials for eks clusters only; {:?} clusters use client certificates in their kubeconfig",
        args.provider
    );
    let exec_info = std::env::var("KUBERNETES_EXEC_INFO").ok();
    let credential = clusterctl_provider_eks::exec_credential(
        &args.cluster,
        args.region.as_deref(),
        args.role_arn.as_deref(),
        exec_info.as_deref(),
    )
    .await?;
    println!("{credential}");
    Ok(())
}
