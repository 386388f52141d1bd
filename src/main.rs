//! clusterctl: parse the command line, wire logging and progress, run the verb, map errors to exit codes.

mod cli;
mod output;
mod progress;
mod providers;
mod version;

use clap::Parser;
use std::process::ExitCode;

/// Exit code for failures (documented in `--help`).
const EXIT_FAILURE: u8 = 1;
/// Exit code when the user interrupted with Ctrl-C.
const EXIT_INTERRUPTED: u8 = 130;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    init_logging(cli.global.verbose, cli.global.quiet);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: start the async runtime: {e}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            if err.downcast_ref::<cli::Interrupted>().is_some() {
                eprintln!("interrupted: {err:#}");
                return ExitCode::from(EXIT_INTERRUPTED);
            }
            eprintln!("error: {}", output::render_error(&err));
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

fn init_logging(verbose: u8, quiet: bool) {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("CLUSTERCTL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}
