//! `clusterctl image load` and `clusterctl build node-image`.

use clap::{Args, Subcommand};

/// `image`: image actions.
#[derive(Debug, Args)]
pub struct ImageArgs {
    /// The action.
    #[command(subcommand)]
    pub action: ImageAction,
}

/// Image actions.
#[derive(Debug, Subcommand)]
pub enum ImageAction {
    /// Copy images from the host's Docker into every node of a local cluster.
    Load(ImageLoadArgs),
}

/// Flags of `image load`.
#[derive(Debug, Clone, Args)]
pub struct ImageLoadArgs {
    /// Images, e.g. nginx:latest.
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<String>,
    /// Cluster name.
    #[arg(short = 'n', long, default_value = "clusterctl")]
    pub name: String,
    /// Only these nodes (comma separated).
    #[arg(long, value_delimiter = ',')]
    pub nodes: Vec<String>,
}

/// `build`: what to build.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The artefact.
    #[command(subcommand)]
    pub what: BuildWhat,
}

/// Buildable artefacts.
#[derive(Debug, Subcommand)]
pub enum BuildWhat {
    /// Build the local provider's node image without any public registry.
    NodeImage(BuildNodeImageArgs),
}

/// Flags of `build node-image`.
#[derive(Debug, Clone, Args)]
pub struct BuildNodeImageArgs {
    /// Image name and tag to produce.
    #[arg(long, default_value = "clusterctl/node:v1.32")]
    pub image: String,
}

/// Runs `image`.
pub async fn run_image(_global: &super::GlobalArgs, args: ImageArgs) -> anyhow::Result<()> {
    match args.action {
        ImageAction::Load(_) => Err(crate::providers::unsupported(
            clusterctl_config::Provider::Local,
            "load images",
        )
        .into()),
    }
}

/// Runs `build`.
pub async fn run_build(global: &super::GlobalArgs, args: BuildArgs) -> anyhow::Result<()> {
    use clusterctl_provider_local::{Engine, NodeImage, NodeImageSpec};
    match args.what {
        BuildWhat::NodeImage(build) => {
            let spec = NodeImageSpec::for_reference(build.image.clone());
            anyhow::ensure!(
                spec.is_buildable(),
                "--image {}: clusterctl builds only clusterctl/node:<tag> images; bring other images \
                 with `docker build` or `docker pull` and name them in local.image",
                build.image
            );
            let docker = Engine::connect().await?;
            let quiet = global.quiet;
            let progress = move |message: String| {
                if !quiet {
                    eprintln!("  {message}");
                }
            };
            if !quiet {
                eprintln!("• Building node image {}", spec.reference);
            }
            let report = NodeImage::build(&docker, &spec, &progress).await?;
            println!(
                "✓ Built node image {} ({}) in {}{}",
                report.reference,
                report.id,
                crate::progress::human(report.elapsed),
                if report.rootfs_cached {
                    ", root filesystem from the cache"
                } else {
                    ""
                }
            );
            Ok(())
        }
    }
}
