//! `clusterd`: the orchestrator clusterctl uploads to `local` and `ssh` nodes.
//!
//! `server` runs the control plane: the API server over the datastore (#3), and the scheduler and
//! controllers (#4) as kube-rs clients of it; `agent` is the node agent
//! the orchestrator issues grow into, and says so instead of pretending to run.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use clusterd_apiserver::{ApiServer, ServerConfig};

/// The Kubernetes version clusterd's API aims to be compatible with.
const KUBERNETES_VERSION: &str = "v1.32.0";

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
    Agent,
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
        Some(Command::Agent) => {
            eprintln!(
                "clusterd agent (the node agent over containerd) is not built yet in this version \
                 ({KUBERNETES_VERSION}-compatible orchestrator work is tracked in the orchestrator issues); \
                 nothing was started"
            );
            ExitCode::from(1)
        }
    }
}

fn run_server(args: ServerArgs) -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let config = ServerConfig {
        data_dir: args.data_dir,
        bind: args.bind,
        port: args.port,
        datastore: args.datastore,
        advertise_address: args.advertise_address,
        tls_sans: args.tls_san,
        token_auth_file: args.token_auth_file,
        cluster_name: args.cluster_name,
        encrypt_secrets: args.encrypt_secrets,
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
        if run_scheduler {
            supervise("scheduler", kubeconfig.clone(), |client| {
                clusterd_scheduler::run(client, clusterd_scheduler::SchedulerConfig::default())
            });
        }
        if run_controllers {
            let identity = identity();
            supervise("controllers", kubeconfig, move |client| {
                let config = clusterd_controllers::ControllersConfig {
                    identity: identity.clone(),
                    ..Default::default()
                };
                clusterd_controllers::run_all(client, config)
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

/// This server's identity in the controllers' leader-election Lease: host name and a unique suffix.
fn identity() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "clusterd".into());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("{host}_{:x}{nanos:08x}", std::process::id())
}

/// Runs a control-plane component as a client of this server (over HTTPS with the admin
/// credentials, like any kube-rs client), restarting it after a pause when it stops with an error.
fn supervise<F, Fut, E>(name: &'static str, kubeconfig: std::path::PathBuf, run: F)
where
    F: Fn(kube::Client) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(), E>> + Send,
    E: std::fmt::Display,
{
    tokio::spawn(async move {
        loop {
            let outcome = match client(&kubeconfig).await {
                Ok(client) => run(client).await.map_err(|e| e.to_string()),
                Err(e) => Err(e),
            };
            match outcome {
                Ok(()) => break,
                Err(error) => {
                    tracing::warn!(component = name, %error, "stopped; restarting in 2s");
                    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                }
            }
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
