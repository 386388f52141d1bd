//! The command line surface: argument types (clap derive) and dispatch to one module per verb.

pub mod completion;
pub mod create;
pub mod delete;
pub mod export;
pub mod get;
pub mod image;
pub mod kubeconfig;
pub mod run_steps;
pub mod scale;
pub mod token;
pub mod upgrade;
pub mod version;

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

const AFTER_HELP: &str = "\
Exit codes: 0 success, 1 failure, 2 usage error, 130 interrupted (Ctrl-C; re-run the same command to resume).
Docs: docs/ in the source tree; `clusterctl <command> --help` for each command.";

/// clusterctl: create, inspect, scale, upgrade and delete Kubernetes clusters on EKS, GKE, AKS,
/// local Docker containers and existing Linux hosts over SSH.
#[derive(Debug, Parser)]
#[command(name = "clusterctl", version = crate::version::short(), after_help = AFTER_HELP)]
pub struct Cli {
    /// Global options.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command accepts.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// More log output (-v info, -vv debug, -vvv trace); logs go to stderr.
    #[arg(short, long, action = clap::ArgAction::Count, global = true, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Only errors and requested output; no progress lines.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Kubeconfig file to read and update (default: $KUBECONFIG, else ~/.kube/config).
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        env = "CLUSTERCTL_KUBECONFIG"
    )]
    pub kubeconfig: Option<PathBuf>,
}

/// The verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a cluster (or, with `create nodegroup`, a node group of an existing cluster).
    Create(Box<create::CreateArgs>),
    /// List clusters, node groups or nodes.
    Get(get::GetArgs),
    /// Delete a cluster (or, with `delete nodegroup`, one node group).
    Delete(delete::DeleteArgs),
    /// Change the size of a node group.
    Scale(scale::ScaleArgs),
    /// Upgrade a cluster's Kubernetes version.
    Upgrade(upgrade::UpgradeArgs),
    /// Merge a cluster's context into your kubeconfig, or write it to its own file.
    Kubeconfig(kubeconfig::KubeconfigArgs),
    /// Print an ExecCredential for kubectl (an exec credential plugin; EKS).
    Token(token::TokenArgs),
    /// Load container images from the host's Docker into a cluster's nodes.
    Image(image::ImageArgs),
    /// Export logs from a cluster's nodes.
    Export(export::ExportArgs),
    /// Build artefacts clusterctl uses (the local provider's node image).
    Build(image::BuildArgs),
    /// Print version information, including the bundled clusterd.
    Version(version::VersionArgs),
    /// Print a shell completion script.
    Completion(completion::CompletionArgs),
}

/// The providers, as the command line names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProviderArg {
    /// AWS EKS (managed control plane and node groups).
    Eks,
    /// Google GKE (managed control plane and node pools).
    Gke,
    /// Azure AKS (managed control plane and agent pools).
    Aks,
    /// clusterd nodes as Docker containers on this machine (kind-style).
    Local,
    /// clusterd on existing Linux hosts reached over SSH (kubeadm/k3sup-style).
    Ssh,
}

impl From<ProviderArg> for clusterctl_config::Provider {
    fn from(p: ProviderArg) -> Self {
        match p {
            ProviderArg::Eks => Self::Eks,
            ProviderArg::Gke => Self::Gke,
            ProviderArg::Aks => Self::Aks,
            ProviderArg::Local => Self::Local,
            ProviderArg::Ssh => Self::Ssh,
        }
    }
}

/// Output formats for commands that print data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum OutputFormat {
    /// Aligned columns for people.
    #[default]
    Table,
    /// JSON for programs.
    Json,
    /// YAML for programs and people.
    Yaml,
}

/// `-o/--output` for commands that print data.
#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

/// Which cluster a day-2 command is about.
#[derive(Debug, Clone, Args)]
pub struct ClusterSelector {
    /// Provider of the cluster.
    #[arg(long, value_enum, env = "CLUSTERCTL_PROVIDER", default_value = "local")]
    pub provider: ProviderArg,
    /// Cluster name.
    #[arg(short = 'n', long, default_value = "clusterctl")]
    pub name: String,
    /// Region/location (eks, gke, aks).
    #[arg(long)]
    pub region: Option<String>,
}

/// The user pressed Ctrl-C; the message says how to resume.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Interrupted(pub String);

/// Runs the parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let global = cli.global;
    match cli.command {
        Command::Create(args) => create::run(&global, *args).await,
        Command::Get(args) => get::run(&global, args).await,
        Command::Delete(args) => delete::run(&global, args).await,
        Command::Scale(args) => scale::run(&global, args).await,
        Command::Upgrade(args) => upgrade::run(&global, args).await,
        Command::Kubeconfig(args) => kubeconfig::run(&global, args).await,
        Command::Token(args) => token::run(&global, args).await,
        Command::Image(args) => image::run_image(&global, args).await,
        Command::Build(args) => image::run_build(&global, args).await,
        Command::Export(args) => export::run(&global, args).await,
        Command::Version(args) => version::run(&global, args),
        Command::Completion(args) => completion::run(args),
    }
}
