//! Starting `clusterd server` in the first server node and waiting until its API server answers.

use std::time::Duration;

use clusterctl_steps::{wait_for, BoxFuture, Ctx, Step, StepResult};

use crate::admin::{self, AdminCredentials};
use crate::args_file;
use crate::clusterd::CLUSTERD_PATH;
use crate::docker_node::DockerNode;
use crate::names::Role;
use crate::plan::LocalCluster;
use crate::{Error, Result};

/// How often the waits poll.
pub(crate) const POLL: Duration = Duration::from_millis(250);
/// How many lines of a node's clusterd log an error shows.
pub(crate) const LOG_TAIL: usize = 20;

/// The address of node `name` on the cluster network; a placeholder under dry-run when the
/// node does not exist yet.
pub(crate) async fn node_address(ctx: &Ctx, cluster: &LocalCluster, name: &str) -> Result<String> {
    let found = cluster.docker.inspect_container(name).await?;
    match found.and_then(|found| found.addresses.get(&cluster.network()).cloned()) {
        Some(address) if !address.is_empty() => Ok(address),
        _ if ctx.is_dry_run() => Ok(format!("<address of {name}>")),
        _ => Err(Error::NotReady {
            detail: format!(
                "node {name} has no address on network {}; is it running? (`docker inspect {name}`)",
                cluster.network()
            ),
        }),
    }
}

/// The last lines of a node container's output (its clusterd log), indented, or why not.
pub(crate) async fn log_tail(cluster: &LocalCluster, name: &str) -> String {
    match cluster.docker.logs(name, Some(LOG_TAIL)).await {
        Ok(text) if text.trim().is_empty() => format!("  (no output yet from {name})"),
        Ok(text) => strip_ansi(&text)
            .lines()
            .map(|line| format!("  | {line}"))
            .collect::<Vec<_>>()
            .join("\n"),
        Err(error) => format!("  (cannot read its log: {error})"),
    }
}

/// `text` without terminal colour sequences (`ESC [ … letter`), which clusterd's log carries.
pub(crate) fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Writes the first server's args file, which makes the node's entrypoint exec `clusterd server`.
#[derive(Debug, Clone)]
pub struct StartServer {
    cluster: LocalCluster,
}

impl StartServer {
    /// The step for `cluster`.
    pub fn new(cluster: LocalCluster) -> Self {
        Self { cluster }
    }

    fn server(&self) -> String {
        self.cluster.node_name(Role::Server, 0)
    }
}

/// Whether the clusterd in `node` runs a node agent inside `clusterd server`, which it shows by
/// having `--node-name`; a server without one never registers its own Node.
pub(crate) async fn server_runs_agent(node: &DockerNode) -> bool {
    match node
        .run_unchecked(&[CLUSTERD_PATH, "server", "--help"])
        .await
    {
        Ok((0, output)) => output.stdout.contains("--node-name"),
        _ => false,
    }
}

impl Step for StartServer {
    fn title(&self) -> String {
        format!("Starting clusterd server on {}", self.server())
    }

    fn is_done<'a>(&'a self, _ctx: &'a Ctx) -> BoxFuture<'a, StepResult<bool>> {
        Box::pin(async move {
            let node = DockerNode::new(self.cluster.docker.clone(), self.server());
            Ok(args_file::is_started(&node).await?)
        })
    }

    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult> {
        Box::pin(async move {
            let name = self.server();
            let node = DockerNode::new(self.cluster.docker.clone(), name.clone());
            let address = node_address(ctx, &self.cluster, &name).await?;
            let args =
                crate::steps::ha::full_server_args(ctx, &self.cluster, &node, 0, &address).await?;
            args_file::start(ctx, &node, &args).await?;
            Ok(())
        })
    }
}

/// Waits until the first server's API server answers `/readyz` on its host port with the admin
/// credentials clusterd wrote, and leaves those credentials for the later steps.
#[derive(Debug, Clone)]
pub struct WaitApiServer {
    cluster: LocalCluster,
}

impl WaitApiServer {
    /// The step for `cluster`.
    pub fn new(cluster: LocalCluster) -> Self {
        Self { cluster }
    }

    async fn probe(&self) -> Result<AdminCredentials> {
        let server = self.cluster.node_name(Role::Server, 0);
        if !DockerNode::new(self.cluster.docker.clone(), server.clone())
            .is_running()
            .await?
        {
            return Err(Error::NotReady {
                detail: format!("node {server} is not running (did clusterd exit?)"),
            });
        }
        let credentials = admin::read(self.cluster.docker.clone(), &self.cluster.name).await?;
        let client = credentials.client().await?;
        credentials.readyz(&client).await?;
        Ok(credentials)
    }
}

impl Step for WaitApiServer {
    fn title(&self) -> String {
        format!(
            "Waiting for the API server on {}",
            self.cluster.node_name(Role::Server, 0)
        )
    }

    fn run<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, StepResult> {
        Box::pin(async move {
            let server = self.cluster.node_name(Role::Server, 0);
            let waited = wait_for(
                ctx,
                format!("the API server on {server} to answer /readyz"),
                self.cluster.wait,
                POLL,
                || self.probe(),
            )
            .await;
            match waited {
                Ok(Some(credentials)) => {
                    ctx.progress(format!("API server ready at {}", credentials.server));
                    ctx.extensions().insert(credentials);
                    Ok(())
                }
                Ok(None) => Ok(()),
                Err(error) if ctx.is_cancelled() => Err(error.into()),
                Err(error) => Err(Error::NotReady {
                    detail: format!(
                        "{error}\nlast lines of {server}'s clusterd log (`docker logs {server}`):\n{}",
                        log_tail(&self.cluster, &server).await
                    ),
                }
                .into()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::strip_ansi;

    #[test]
    fn colour_codes_are_stripped_from_logs() {
        assert_eq!(
            strip_ansi("\u{1b}[2m2026\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m api server listening"),
            "2026  INFO api server listening"
        );
    }
}
