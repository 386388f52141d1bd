//! `clusterctl completion <shell>`.

use clap::Args;

/// Flags of `completion`.
#[derive(Debug, Clone, Args)]
pub struct CompletionArgs {
    /// Shell to generate for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Prints the completion script for the chosen shell.
pub fn run(args: CompletionArgs) -> anyhow::Result<()> {
    let mut cmd = <super::Cli as clap::CommandFactory>::command();
    clap_complete::generate(args.shell, &mut cmd, "clusterctl", &mut std::io::stdout());
    Ok(())
}
