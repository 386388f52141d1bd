//! `clusterd`: the orchestrator clusterctl uploads to `local` and `ssh` nodes.
//!
//! Today it answers `--version`; `server` and `agent` are the subcommands the orchestrator issues
//! (#3, #4, #5) grow into, and they say so instead of pretending to run.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

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
    /// Run the control plane: API server, datastore, scheduler and controllers.
    Server,
    /// Run the node agent: pods over containerd, service proxy and DNS.
    Agent,
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
        Some(cmd) => {
            let what = match cmd {
                Command::Server => "server (the API server, datastore, scheduler and controllers)",
                Command::Agent => "agent (the node agent over containerd)",
            };
            eprintln!(
                "clusterd {what} is not built yet in this version ({KUBERNETES_VERSION}-compatible \
                 orchestrator work is tracked in the orchestrator issues); nothing was started"
            );
            ExitCode::from(1)
        }
    }
}
