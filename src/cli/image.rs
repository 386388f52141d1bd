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
    /// Provider of the cluster (only local clusters take images from this machine's Docker).
    #[arg(long, value_enum, env = "CLUSTERCTL_PROVIDER", default_value = "local")]
    pub provider: super::ProviderArg,
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
pub async fn run_image(global: &super::GlobalArgs, args: ImageArgs) -> anyhow::Result<()> {
    use clusterctl_provider_local::image_load::load_images;
    use clusterctl_provider_local::Engine;
    match args.action {
        ImageAction::Load(load) => {
            let kind: clusterctl_config::Provider = load.provider.into();
            if kind != clusterctl_config::Provider::Local {
                return Err(crate::providers::unsupported(kind, "load images").into());
            }
            let docker = std::sync::Arc::new(Engine::connect().await?);
            let quiet = global.quiet;
            let progress = move |line: String| {
                if !quiet {
                    eprintln!("  {line}");
                }
            };
            let loaded =
                load_images(docker, &load.name, &load.images, &load.nodes, &progress).await?;
            let imported = loaded.iter().filter(|l| l.imported).count();
            if !quiet {
                eprintln!(
                    "✓ Loaded {} image{} into cluster {}: {imported} import{}, {} already present",
                    load.images.len(),
                    if load.images.len() == 1 { "" } else { "s" },
                    load.name,
                    if imported == 1 { "" } else { "s" },
                    loaded.len() - imported
                );
            }
            Ok(())
        }
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
