//! `clusterd`: the orchestrator clusterctl uploads to `local` and `ssh` nodes.
//!
//! `server` runs the control plane: the API server over the datastore (#3), and the scheduler and
//! controllers (#4) as kube-rs clients of it; `agent` is the node agent
//! the orchestrator issues grow into, and says so instead of pretending to run.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use clusterd_apiserver::{ApiServer, ServerConfig};

mod lb;
mod node;

#[derive(Debug, Parser)]
#[command(name = "clusterd", version = version_string(), about = "The clusterctl node orchestrator")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the control plane: API server and datastore.
    Server(ServerArgs),
    /// Run the node agent: pods over containerd, service proxy and DNS.
    Agent(AgentArgs),
    /// The pause process of pod sandboxes (the entrypoint of the locally built pause image).
    #[command(hide = true)]
    Pause,
    /// Bootstrap tokens nodes join with, and the CA pin they check.
    #[command(subcommand)]
    Token(TokenCommand),
    /// A TCP load balancer passing TLS through to several API servers (an HA cluster's endpoint).
    Lb(lb::LbArgs),
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a bootstrap token (a kube-system Secret, written with the server's admin
    /// kubeconfig) and print it.
    Create {
        /// How long the token is accepted: 24h, 30m, 90s; 0 never expires.
        #[arg(long, default_value = "24h")]
        ttl: String,
        /// The server's data directory (admin.kubeconfig, pki/).
        #[arg(long, default_value = "/var/lib/clusterd")]
        data_dir: PathBuf,
    },
    /// Print the CA pin (sha256:<hex>) that `clusterd agent --ca-cert-hash` takes.
    CaHash {
        /// The server's data directory (admin.kubeconfig, pki/).
        #[arg(long, default_value = "/var/lib/clusterd")]
        data_dir: PathBuf,
    },
}

#[derive(Debug, Args)]
struct AgentArgs {
    /// The API server, https://HOST:6443 (needed to join; taken from --kubeconfig otherwise).
    #[arg(long)]
    server: Option<String>,
    /// Bootstrap token <id>.<secret>, used once to get the node's own certificate.
    #[arg(long)]
    token: Option<String>,
    /// sha256:<hex> pin of the cluster CA's public key (as kubeadm prints it).
    #[arg(long)]
    ca_cert_hash: Option<String>,
    /// Use this kubeconfig instead of joining (e.g. one issued by the server's PKI).
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// The Node's name (default: the host name, lowercased).
    #[arg(long)]
    node_name: Option<String>,
    /// The agent's kubeconfig, certificates and pod directories.
    #[arg(long, default_value = "/var/lib/clusterd/agent")]
    data_dir: PathBuf,
    /// The node's InternalIP (default: the address of the interface with the default route).
    #[arg(long)]
    node_ip: Option<IpAddr>,
    /// containerd's socket; when nothing answers there the agent starts containerd itself.
    #[arg(long, default_value = "/run/containerd/containerd.sock")]
    containerd_socket: PathBuf,
    /// Extra Node labels, k=v,k2=v2.
    #[arg(long, default_value = "")]
    node_labels: String,
    /// Taints to register with, k=v:Effect,...
    #[arg(long, default_value = "")]
    register_with_taints: String,
    /// The agent's HTTPS port (kubelet port).
    #[arg(long, default_value_t = clusterd_agent::KUBELET_PORT)]
    port: u16,
    /// Set this pod CIDR on the Node when the server assigned none.
    #[arg(long)]
    pod_cidr: Option<String>,
    /// Directory containerd reads CNI configs from.
    #[arg(long, default_value = "/etc/cni/net.d")]
    cni_conf_dir: PathBuf,
    /// Do not run the service proxy (iptables rules for Services) on this node.
    #[arg(long)]
    disable_proxy: bool,
    /// Do not serve the cluster DNS (10.96.0.10) on this node.
    #[arg(long)]
    disable_dns: bool,
    /// Pull REGISTRY's images through URL first, e.g. docker.io=http://192.168.1.10:5000
    /// (repeatable; written as containerd hosts.toml files under --registry-config-dir).
    #[arg(long = "registry-mirror", value_parser = parse_registry_mirror)]
    registry_mirror: Vec<clusterd_agent::registry_mirrors::RegistryMirror>,
    /// The directory containerd reads <registry>/hosts.toml from (its CRI registry config_path).
    #[arg(long, default_value = clusterd_agent::registry_mirrors::DEFAULT_REGISTRY_CONFIG_DIR)]
    registry_config_dir: PathBuf,
}

#[derive(Debug, Args)]
struct ServerArgs {
    /// Directory for the PKI (pki/), the SQLite database (db/state.db) and admin.kubeconfig.
    #[arg(long, default_value = "/var/lib/clusterd")]
    data_dir: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0")]
    bind: IpAddr,
    /// Port to listen on.
    #[arg(long, default_value_t = 6443)]
    port: u16,
    /// Datastore URL: sqlite:///path/state.db (default under --data-dir), etcd://host:2379 or
    /// etcd+https://host:2379?ca=FILE&cert=FILE&key=FILE.
    #[arg(long)]
    datastore: Option<String>,
    /// Address clients reach the server at (kubeconfig server and certificate SAN).
    #[arg(long)]
    advertise_address: Option<IpAddr>,
    /// Extra DNS name or IP for the serving certificate (repeatable).
    #[arg(long = "tls-san")]
    tls_san: Vec<String>,
    /// Static token file: lines of token,user,uid,"group1,group2".
    #[arg(long)]
    token_auth_file: Option<PathBuf>,
    /// Cluster name, used for the CA and the kubeconfig context.
    #[arg(long, default_value = "clusterd")]
    cluster_name: String,
    /// Encrypt Secrets at rest (AES-GCM, key in <data-dir>/encryption/aesgcm.key, created if missing).
    #[arg(long)]
    encrypt_secrets: bool,
    /// Do not run the scheduler in this server.
    #[arg(long)]
    disable_scheduler: bool,
    /// Do not run the controllers in this server (with several servers, one leads via a Lease anyway).
    #[arg(long)]
    disable_controllers: bool,
    /// Do not run a node agent for this server's own node (it then runs no pods).
    #[arg(long)]
    disable_agent: bool,
    /// This server's Node name (default: the host name, lowercased).
    #[arg(long)]
    node_name: Option<String>,
    /// This server's Node InternalIP (default: --advertise-address, else the default route's).
    #[arg(long)]
    node_ip: Option<IpAddr>,
    /// Extra labels of this server's Node, k=v,k2=v2.
    #[arg(long, default_value = "")]
    node_labels: String,
    /// Taints this server's Node registers with, k=v:Effect,...
    #[arg(long, default_value = "")]
    register_with_taints: String,
    /// containerd's socket for this server's agent.
    #[arg(long, default_value = "/run/containerd/containerd.sock")]
    containerd_socket: PathBuf,
    /// Pull REGISTRY's images through URL first, e.g. docker.io=http://192.168.1.10:5000
    /// (repeatable; written as containerd hosts.toml files under --registry-config-dir).
    #[arg(long = "registry-mirror", value_parser = parse_registry_mirror)]
    registry_mirror: Vec<clusterd_agent::registry_mirrors::RegistryMirror>,
    /// The directory containerd reads <registry>/hosts.toml from (its CRI registry config_path).
    #[arg(long, default_value = clusterd_agent::registry_mirrors::DEFAULT_REGISTRY_CONFIG_DIR)]
    registry_config_dir: PathBuf,
    /// How long a scheduler or controllers leader Lease is valid after its last renewal
    /// (with several servers, the longest a dead leader's work stays undone).
    #[arg(long, default_value = "15s", value_parser = parse_duration)]
    leader_elect_lease_duration: Duration,
    /// How long the leader keeps trying to renew before it stops leading.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    leader_elect_renew_deadline: Duration,
    /// The pause between attempts to acquire or renew leadership.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    leader_elect_retry_period: Duration,
    /// How long this server stays in the `kubernetes` Service's endpoints without renewing its
    /// kube-system/apiserver-<address>-<port> Lease (renewed every third of it).
    #[arg(long, default_value = "15s", value_parser = parse_duration)]
    endpoint_lease_duration: Duration,
}

/// A duration flag: `15s`, `500ms`, `1.5s`, `2m`, `1h` (Go's spelling, as upstream's flags).
fn parse_duration(text: &str) -> Result<Duration, String> {
    clusterd_agent::parse_duration(text)
}

/// `--registry-mirror REGISTRY=URL`, validated.
fn parse_registry_mirror(
    spec: &str,
) -> Result<clusterd_agent::registry_mirrors::RegistryMirror, String> {
    clusterd_agent::registry_mirrors::RegistryMirror::parse(spec).map_err(|e| e.to_string())
}

fn version_string() -> &'static str {
    concat!(env!("CARGO_PKG_VERSION"), " (kubernetes v1.32.0)")
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => {
            eprintln!(
                "clusterd {}: give a subcommand (server, agent) or --help",
                version_string()
            );
            ExitCode::from(2)
        }
        Some(Command::Server(args)) => run_server(args),
        Some(Command::Agent(args)) => run_agent(args),
        Some(Command::Pause) => run_pause(),
        Some(Command::Token(command)) => run_token(command),
        Some(Command::Lb(args)) => {
            init_logging();
            lb::run(args)
        }
    }
}

/// `clusterd token create|ca-hash`: prints the token or the pin on stdout.
fn run_token(command: TokenCommand) -> ExitCode {
    use clusterd_agent::bootstrap::token;
    let result = match command {
        TokenCommand::CaHash { data_dir } => token::ca_hash(&data_dir).map_err(|e| e.to_string()),
        TokenCommand::Create { ttl, data_dir } => {
            match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime
                    .block_on(async {
                        let ttl = token::parse_ttl(&ttl)?;
                        token::create_token(&data_dir, ttl)
                            .await
                            .map(|t| t.secret_str())
                    })
                    .map_err(|e| e.to_string()),
                Err(e) => Err(format!("start the async runtime: {e}")),
            }
        }
    };
    match result {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("clusterd token: {e}");
            ExitCode::from(1)
        }
    }
}

/// The cluster CA as the signer of approved CertificateSigningRequests (`None`, with a warning,
/// when its files cannot be read: nodes then cannot join with a token).
fn csr_signer(
    data_dir: &std::path::Path,
) -> Option<std::sync::Arc<clusterd_controllers::csr::CsrSigner>> {
    let pki = data_dir.join("pki");
    let read = |name: &str| std::fs::read_to_string(pki.join(name));
    let signer = match (read("ca.crt"), read("ca.key")) {
        (Ok(cert), Ok(key)) => {
            clusterd_controllers::csr::CsrSigner::from_pem(&cert, &key).map_err(|e| e.to_string())
        }
        (Err(e), _) | (_, Err(e)) => Err(e.to_string()),
    };
    match signer {
        Ok(signer) => Some(std::sync::Arc::new(signer)),
        Err(error) => {
            tracing::warn!(dir = %pki.display(), %error, "no certificate signer: node certificate requests stay unsigned");
            None
        }
    }
}

fn init_logging() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
}

fn run_pause() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("clusterd pause: start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(clusterd_cri::pause::pause_until_signalled()) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("clusterd pause: {e}");
            ExitCode::from(1)
        }
    }
}

fn run_agent(args: AgentArgs) -> ExitCode {
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("clusterd agent: start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(agent(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("clusterd agent: {e}");
            ExitCode::from(1)
        }
    }
}

async fn agent(args: AgentArgs) -> Result<(), String> {
    let node_name = match args.node_name {
        Some(name) => name,
        None => node::host_name()?,
    };
    let node_ip = node::node_ip(args.node_ip)?;
    let mut config = clusterd_agent::AgentConfig::new(&node_name, node_ip, &args.data_dir);
    config.labels = clusterd_agent::parse_labels(&args.node_labels).map_err(|e| e.to_string())?;
    config.taints =
        clusterd_agent::parse_taints(&args.register_with_taints).map_err(|e| e.to_string())?;
    config.port = args.port;
    config.pod_cidr = args.pod_cidr;
    config.cni_conf_dir = args.cni_conf_dir;
    let credentials = match args.kubeconfig {
        Some(path) => node::NodeCredentials::Kubeconfig(path),
        None => {
            let server = args
                .server
                .ok_or("give --server (with --token and --ca-cert-hash to join) or --kubeconfig")?;
            let mut join =
                clusterd_agent::bootstrap::JoinConfig::new(&server, &node_name, &args.data_dir);
            join.token = args.token;
            join.ca_cert_hash = args.ca_cert_hash;
            join.node_ips = vec![node_ip];
            node::NodeCredentials::Join(join)
        }
    };
    let options = node::NodeOptions {
        agent: config,
        containerd_socket: args.containerd_socket,
        proxy: !args.disable_proxy,
        dns: !args.disable_dns,
        registry_mirrors: args.registry_mirror,
        registry_config_dir: args.registry_config_dir,
    };
    node::run(options, credentials, shutdown_signal()).await
}

fn run_server(args: ServerArgs) -> ExitCode {
    init_logging();
    let own_node = match server_node(&args) {
        Ok(node) => node,
        Err(e) => {
            eprintln!("clusterd server: {e}");
            return ExitCode::from(1);
        }
    };
    let election = clusterd_controllers::leader_election::LeaderElectionConfig {
        lease_duration: args.leader_elect_lease_duration,
        renew_deadline: args.leader_elect_renew_deadline,
        retry_period: args.leader_elect_retry_period,
        ..Default::default()
    };
    if let Err(e) = election.validate() {
        eprintln!("clusterd server: {e}");
        return ExitCode::from(2);
    }
    let mut tls_sans = args.tls_san;
    // The serving certificate also covers this server's node address (reissued from the CA when
    // a copied pki/ lacks it).
    tls_sans.extend(args.node_ip.map(|ip| ip.to_string()));
    let config = ServerConfig {
        data_dir: args.data_dir,
        bind: args.bind,
        port: args.port,
        datastore: args.datastore,
        advertise_address: args.advertise_address,
        tls_sans,
        token_auth_file: args.token_auth_file,
        cluster_name: args.cluster_name,
        encrypt_secrets: args.encrypt_secrets,
        endpoint_lease_duration: args.endpoint_lease_duration,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("clusterd server: start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let (run_scheduler, run_controllers) = (!args.disable_scheduler, !args.disable_controllers);
    let result = runtime.block_on(async {
        let server = ApiServer::start(&config).await?;
        let kubeconfig = server.kubeconfig_path().to_path_buf();
        let identity = identity();
        tracing::info!(%identity, "leader-election identity");
        if run_scheduler {
            let (identity, election) = (
                identity.clone(),
                election.for_lease(clusterd_controllers::leader_election::SCHEDULER_LEASE),
            );
            supervise("scheduler", kubeconfig.clone(), move |client| {
                clusterd_controllers::leader_election::run_while_leading(
                    client.clone(),
                    identity.clone(),
                    election.clone(),
                    move || {
                        clusterd_scheduler::run(
                            client.clone(),
                            clusterd_scheduler::SchedulerConfig::default(),
                        )
                    },
                )
            });
        }
        if run_controllers {
            let csr_signer = csr_signer(&config.data_dir);
            let election =
                election.for_lease(clusterd_controllers::leader_election::CONTROLLERS_LEASE);
            supervise("controllers", kubeconfig, move |client| {
                let config = clusterd_controllers::ControllersConfig {
                    identity: identity.clone(),
                    csr_signer: csr_signer.clone(),
                    leader_election: election.clone(),
                    ..Default::default()
                };
                clusterd_controllers::run_all(client, config)
            });
        }
        if let Some(options) = own_node {
            let url = format!("https://127.0.0.1:{}", server.local_addr().port());
            let data_dir = config.data_dir.clone();
            tokio::spawn(async move {
                if let Err(error) = run_server_node(options, &url, &data_dir).await {
                    tracing::error!(%error, "this server's node agent stopped; the node runs no pods");
                }
            });
        }
        server.serve(shutdown_signal()).await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("clusterd server: {e}");
            ExitCode::from(1)
        }
    }
}

/// The agent configuration of the server's own node, `None` with `--disable-agent`.
fn server_node(args: &ServerArgs) -> Result<Option<node::NodeOptions>, String> {
    if args.disable_agent {
        return Ok(None);
    }
    let node_name = match &args.node_name {
        Some(name) => name.clone(),
        None => node::host_name()?,
    };
    let node_ip = node::node_ip(args.node_ip.or(args.advertise_address))?;
    let mut agent =
        clusterd_agent::AgentConfig::new(&node_name, node_ip, args.data_dir.join("agent"));
    agent.labels = clusterd_agent::parse_labels(&args.node_labels).map_err(|e| e.to_string())?;
    agent.labels.insert(
        "node-role.kubernetes.io/control-plane".into(),
        String::new(),
    );
    agent.taints =
        clusterd_agent::parse_taints(&args.register_with_taints).map_err(|e| e.to_string())?;
    Ok(Some(node::NodeOptions {
        agent,
        containerd_socket: args.containerd_socket.clone(),
        proxy: true,
        dns: true,
        registry_mirrors: args.registry_mirror.clone(),
        registry_config_dir: args.registry_config_dir.clone(),
    }))
}

/// Runs the server's own node agent: it joins this server like any agent (a short-lived token
/// from the admin credentials, the CA pin from the PKI) the first time, and re-uses its
/// certificate afterwards.
async fn run_server_node(
    options: node::NodeOptions,
    url: &str,
    data_dir: &std::path::Path,
) -> Result<(), String> {
    use clusterd_agent::bootstrap::token;
    let agent_dir = options.agent.data_dir.clone();
    let mut join =
        clusterd_agent::bootstrap::JoinConfig::new(url, &options.agent.node_name, &agent_dir);
    join.node_ips = vec![options.agent.node_ip];
    if !agent_dir.join("kubeconfig").exists() {
        let mut attempt = 0;
        let created = loop {
            attempt += 1;
            match token::create_token(data_dir, std::time::Duration::from_secs(600)).await {
                Ok(created) => break created,
                Err(error) if attempt < 30 => {
                    tracing::debug!(%error, "waiting for the API server to create this node's join token");
                    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                }
                Err(error) => return Err(format!("create this node's join token: {error}")),
            }
        };
        join.token = Some(created.secret_str());
        join.ca_cert_hash = Some(token::ca_hash(data_dir).map_err(|e| e.to_string())?);
    }
    node::run(
        options,
        node::NodeCredentials::Join(join),
        shutdown_signal(),
    )
    .await
}

/// This server's identity in the leader-election Leases: `<host>_<pid>_<nanoseconds, hex>`.
fn identity() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "clusterd".into());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("{host}_{}_{nanos:08x}", std::process::id())
}

/// Runs a control-plane component as a client of this server (over HTTPS with the admin
/// credentials, like any kube-rs client), restarting it after a pause when it stops with an error.
fn supervise<F, Fut, E>(name: &'static str, kubeconfig: std::path::PathBuf, run: F)
where
    F: Fn(kube::Client) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), E>> + Send + 'static,
    E: std::fmt::Display,
{
    let run = std::sync::Arc::new(run);
    spawn_restarting(name, std::time::Duration::from_secs(2), move || {
        let (run, kubeconfig) = (run.clone(), kubeconfig.clone());
        async move {
            let client = client(&kubeconfig).await?;
            run(client).await.map_err(|e| e.to_string())
        }
    });
}

/// Runs `run()` in a task until it returns `Ok`, logging each error and starting it again after
/// `pause`: the restart loop of every long-running component (control plane and node services).
fn spawn_restarting<F, Fut>(name: &'static str, pause: std::time::Duration, mut run: F)
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send + 'static,
{
    tokio::spawn(async move {
        while let Err(error) = run().await {
            tracing::warn!(component = name, %error, "stopped; restarting in {pause:?}");
            tokio::time::sleep(pause).await;
        }
    });
}

async fn client(kubeconfig: &std::path::Path) -> Result<kube::Client, String> {
    let file = kube::config::Kubeconfig::read_from(kubeconfig)
        .map_err(|e| format!("read {}: {e}", kubeconfig.display()))?;
    let config =
        kube::Config::from_custom_kubeconfig(file, &kube::config::KubeConfigOptions::default())
            .await
            .map_err(|e| format!("load {}: {e}", kubeconfig.display()))?;
    kube::Client::try_from(config).map_err(|e| format!("client for {}: {e}", kubeconfig.display()))
}

/// Completes on SIGTERM or SIGINT.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
    tracing::info!("shutdown signal received");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_go_style_units() {
        assert_eq!(parse_duration("15s"), Ok(Duration::from_secs(15)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("15").unwrap_err().contains("no unit"));
        assert!(parse_duration("3d").unwrap_err().contains("unknown unit"));
    }

    #[test]
    fn leader_election_flags_parse_with_upstream_defaults() {
        let cli = Cli::try_parse_from([
            "clusterd",
            "server",
            "--leader-elect-lease-duration=2s",
            "--leader-elect-renew-deadline=1500ms",
            "--leader-elect-retry-period=250ms",
            "--endpoint-lease-duration=3s",
        ])
        .unwrap();
        let Some(Command::Server(args)) = cli.command else {
            panic!("expected the server subcommand")
        };
        assert_eq!(args.leader_elect_lease_duration, Duration::from_secs(2));
        assert_eq!(
            args.leader_elect_renew_deadline,
            Duration::from_millis(1500)
        );
        assert_eq!(args.leader_elect_retry_period, Duration::from_millis(250));
        assert_eq!(args.endpoint_lease_duration, Duration::from_secs(3));
        let defaults = Cli::try_parse_from(["clusterd", "server"]).unwrap();
        let Some(Command::Server(args)) = defaults.command else {
            panic!("expected the server subcommand")
        };
        assert_eq!(
            (
                args.leader_elect_lease_duration,
                args.leader_elect_renew_deadline,
                args.leader_elect_retry_period
            ),
            (
                Duration::from_secs(15),
                Duration::from_secs(10),
                Duration::from_secs(2)
            )
        );
    }

    #[test]
    fn identity_carries_the_process_id() {
        let identity = identity();
        let pid = identity.rsplit('_').nth(1).unwrap();
        assert_eq!(pid, std::process::id().to_string());
    }
}
