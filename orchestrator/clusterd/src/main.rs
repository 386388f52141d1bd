//! `clusterd`: the orchestrator clusterctl uploads to `local` and `ssh` nodes.
//!
//! `server` runs the control plane's API server over the datastore (#3); `agent` is the node agent
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
    let result = runtime.block_on(async {
        let server = ApiServer::start(&config).await?;
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
