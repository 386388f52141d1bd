//! `clusterctl create [cluster]` and `clusterctl create nodegroup`.

use super::run_steps::{print_plan, run_steps, RunOptions};
use super::{OutputFormat, ProviderArg};
use crate::providers::Connect;
use clap::{Args, Subcommand};
use clusterctl_provider_api::ClusterRef;
use std::{path::PathBuf, time::Duration};

/// `create`: flags for a cluster, or a `nodegroup`/`cluster` subcommand.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct CreateArgs {
    /// What to create (default: a cluster).
    #[command(subcommand)]
    pub what: Option<CreateWhat>,
    /// Cluster flags when no subcommand is given.
    #[command(flatten)]
    pub cluster: CreateClusterArgs,
}

/// Things `create` makes.
#[derive(Debug, Subcommand)]
pub enum CreateWhat {
    /// Create a cluster (same as `clusterctl create` with flags).
    Cluster(CreateClusterArgs),
    /// Add a node group to an existing cluster.
    Nodegroup(CreateNodegroupArgs),
}

/// Flags of `create cluster`; with `-f`, flags override the file.
#[derive(Debug, Clone, Args)]
pub struct CreateClusterArgs {
    /// Provider to create the cluster on (default: the file's `provider`, else local).
    #[arg(long, value_enum, env = "CLUSTERCTL_PROVIDER")]
    pub provider: Option<ProviderArg>,
    /// Cluster name (default: `clusterctl` for local/ssh; required-by-default naming for clouds).
    #[arg(short = 'n', long)]
    pub name: Option<String>,
    /// A ClusterConfig file (apiVersion clusterctl.io/v1alpha1); `-` reads stdin.
    #[arg(short = 'f', long = "config-file", value_name = "FILE")]
    pub config_file: Option<PathBuf>,
    /// Print the fully defaulted config and the step plan; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// On failure keep what was created (for debugging) instead of cleaning up.
    #[arg(long)]
    pub retain: bool,
    /// How long to wait for the cluster to be ready (e.g. 5m, 90s).
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub wait: Option<Duration>,
    /// Region/location (eks region, gke location, aks location).
    #[arg(long)]
    pub region: Option<String>,
    /// Kubernetes version, e.g. 1.32.
    #[arg(long = "version", value_name = "VERSION")]
    pub kubernetes_version: Option<String>,
    /// Name of the initial node group.
    #[arg(long)]
    pub nodegroup_name: Option<String>,
    /// Machine type and size of the node group.
    #[command(flatten)]
    pub group: NodeGroupFlags,
    /// Worker nodes besides the server (local).
    #[arg(long)]
    pub workers: Option<u32>,
    /// Hosts to bootstrap, `user@address[:port]`, comma separated; the first is the server (ssh).
    #[arg(long, value_delimiter = ',', value_name = "HOSTS")]
    pub hosts: Vec<String>,
    /// Output format of `--dry-run`.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Yaml)]
    pub output: OutputFormat,
}

/// The eksctl-style node group flags `create cluster` and `create nodegroup` share.
#[derive(Debug, Clone, Args)]
pub struct NodeGroupFlags {
    /// Instance type / machine type / VM size of the node group.
    #[arg(long)]
    pub node_type: Option<String>,
    /// Desired number of nodes.
    #[arg(long)]
    pub nodes: Option<u32>,
    /// Minimum nodes (autoscaling floor).
    #[arg(long)]
    pub nodes_min: Option<u32>,
    /// Maximum nodes (autoscaling ceiling).
    #[arg(long)]
    pub nodes_max: Option<u32>,
    /// Use managed node groups (eks).
    #[arg(long)]
    pub managed: bool,
}

/// Flags of `create nodegroup`.
#[derive(Debug, Clone, Args)]
pub struct CreateNodegroupArgs {
    /// Provider of the cluster.
    #[arg(long, value_enum, env = "CLUSTERCTL_PROVIDER", default_value = "local")]
    pub provider: ProviderArg,
    /// Cluster to add the node group to.
    #[arg(long)]
    pub cluster: String,
    /// Node group name.
    #[arg(long = "name", short = 'n')]
    pub name: String,
    /// Region/location.
    #[arg(long)]
    pub region: Option<String>,
    /// Machine type and size of the node group.
    #[command(flatten)]
    pub group: NodeGroupFlags,
    /// Print the plan; change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Parses `90s`, `5m`, `1h30m`, `250ms` or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty duration".into());
    }
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!(
                "invalid duration {s:?}: expected a number before the unit (e.g. 5m, 90s)"
            ));
        }
        let n: u64 = rest[..digits]
            .parse()
            .map_err(|e| format!("invalid duration {s:?}: {e}"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        total += match unit {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n * 60),
            "h" => Duration::from_secs(n * 3600),
            other => {
                return Err(format!(
                    "invalid duration {s:?}: unknown unit {other:?} (use ms, s, m or h)"
                ))
            }
        };
    }
    Ok(total)
}

/// Runs `create`.
pub async fn run(global: &super::GlobalArgs, args: CreateArgs) -> anyhow::Result<()> {
    match args.what {
        None => run_cluster(global, args.cluster).await,
        Some(CreateWhat::Cluster(cluster)) => run_cluster(global, cluster).await,
        Some(CreateWhat::Nodegroup(ng)) => run_nodegroup(global, ng).await,
    }
}

/// Flags as config overrides (flags win over the file).
fn overrides(args: &CreateClusterArgs) -> clusterctl_config::Overrides {
    clusterctl_config::Overrides {
        provider: args.provider.map(Into::into),
        name: args.name.clone(),
        region: args.region.clone(),
        version: args.kubernetes_version.clone(),
        nodegroup_name: args.nodegroup_name.clone(),
        node_type: args.group.node_type.clone(),
        nodes: args.group.nodes,
        nodes_min: args.group.nodes_min,
        nodes_max: args.group.nodes_max,
        managed: args.group.managed.then_some(true),
        workers: args.workers,
        hosts: args.hosts.clone(),
    }
}

/// Reads, merges, defaults and validates the config `create` acts on.
pub fn resolve_config(
    args: &CreateClusterArgs,
) -> anyhow::Result<clusterctl_config::ClusterConfig> {
    use anyhow::Context as _;
    use clusterctl_config::ClusterConfig;
    let base = match &args.config_file {
        Some(path) if path.as_os_str() == "-" => {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                .context("read config from stdin")?;
            Some(ClusterConfig::from_yaml_str(&text, "<stdin>")?)
        }
        Some(path) => Some(ClusterConfig::load(path)?),
        None => None,
    };
    let config = clusterctl_config::merge(base, &overrides(args))?.defaulted();
    config.validate()?;
    Ok(config)
}

async fn run_cluster(global: &super::GlobalArgs, args: CreateClusterArgs) -> anyhow::Result<()> {
    let config = resolve_config(&args)?;
    let provider = config.provider;
    if args.dry_run {
        match args.output {
            OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&config)?),
            OutputFormat::Yaml | OutputFormat::Table => print!("{}", config.to_yaml()?),
        }
    }
    let connect = Connect {
        region: config.metadata.region.clone(),
        kubeconfig: global.kubeconfig.clone(),
        wait: args.wait,
    };
    // The plan comes from the provider's own steps, run under the dry-run recorder.
    let p = match crate::providers::get(provider, "create clusters", &connect).await {
        Ok(p) => p,
        Err(e) if args.dry_run => {
            eprintln!("# step plan: unavailable — {e}");
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    let region = p
        .region()
        .map(|r| format!(" --region {r}"))
        .unwrap_or_default();
    let options = RunOptions {
        dry_run: args.dry_run,
        retain: args.retain,
        cleanup_hint: Some(format!(
            "re-run the same command to resume, or remove everything with `clusterctl delete --provider {provider} --name {}{region}`",
            config.name()
        )),
    };
    let plan = run_steps(global, p.create_steps(&config)?, options).await?;
    if args.dry_run {
        print_plan(&plan, args.output == OutputFormat::Json);
    } else if !global.quiet {
        eprintln!(
            "cluster {} is ready; kubectl now uses context {}",
            config.name(),
            clusterctl_kubeconfig::context_name(provider.as_str(), config.name())
        );
    }
    Ok(())
}

async fn run_nodegroup(
    global: &super::GlobalArgs,
    args: CreateNodegroupArgs,
) -> anyhow::Result<()> {
    if let (Some(min), Some(max)) = (args.group.nodes_min, args.group.nodes_max) {
        anyhow::ensure!(
            min <= max,
            "--nodes-min ({min}) must be <= --nodes-max ({max})"
        );
    }
    let connect = Connect {
        region: args.region.clone(),
        kubeconfig: global.kubeconfig.clone(),
        wait: None,
    };
    let p = crate::providers::get(args.provider.into(), "create node groups", &connect).await?;
    let count = |n: Option<u32>| n.map(i32::try_from).transpose();
    let group = clusterctl_config::NodeGroup {
        name: Some(args.name.clone()),
        instance_type: args.group.node_type.clone(),
        desired_capacity: count(args.group.nodes)?,
        min_size: count(args.group.nodes_min)?,
        max_size: count(args.group.nodes_max)?,
        ..clusterctl_config::NodeGroup::default()
    };
    let cluster = ClusterRef {
        name: args.cluster.clone(),
        region: args.region.clone(),
    };
    let steps = p.create_nodegroup_steps(&cluster, &group)?;
    let options = RunOptions {
        dry_run: args.dry_run,
        retain: false,
        cleanup_hint: None,
    };
    let plan = run_steps(global, steps, options).await?;
    if args.dry_run {
        print_plan(&plan, false);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_like_kubectl_timeouts() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("42").unwrap(), Duration::from_secs(42));
    }

    #[test]
    fn bad_durations_say_what_is_wrong() {
        assert!(parse_duration("5x").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("m")
            .unwrap_err()
            .contains("expected a number"));
        assert!(parse_duration("").is_err());
    }
}
