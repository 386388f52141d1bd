//! The narrow runtime interface the node agent calls.
//!
//! Requests and answers are the CRI v1 messages themselves ([`crate::api`]), so the agent builds
//! exactly what kubelet would send; only the calls it needs are here.

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use crate::api;
use crate::Result;

/// Name, version and CRI API version of a container runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeVersion {
    /// The runtime's name, e.g. `containerd`.
    pub runtime_name: String,
    /// The runtime's own version, e.g. `1.6.20~ds1`.
    pub runtime_version: String,
    /// The CRI version it speaks, e.g. `v1`.
    pub runtime_api_version: String,
}

/// Whether the runtime can run containers and give them a network.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuntimeHealth {
    /// The `RuntimeReady` condition holds.
    pub runtime_ready: bool,
    /// The `NetworkReady` condition holds (a CNI config was loaded).
    pub network_ready: bool,
    /// `reason: message` of every condition that does not hold, for a NotReady node condition.
    pub problems: Vec<String>,
}

impl RuntimeHealth {
    /// Reads the two standard conditions out of a CRI runtime status.
    pub fn from_status(status: &api::RuntimeStatus) -> Self {
        let mut health = RuntimeHealth::default();
        for condition in &status.conditions {
            match (condition.r#type.as_str(), condition.status) {
                ("RuntimeReady", ready) => health.runtime_ready = ready,
                ("NetworkReady", ready) => health.network_ready = ready,
                _ => {}
            }
            if !condition.status {
                health.problems.push(format!(
                    "{} is false: {}: {}",
                    condition.r#type, condition.reason, condition.message
                ));
            }
        }
        health
    }
}

/// What a command run with [`Runtime::exec_sync`] printed and how it exited.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecOutput {
    /// Bytes written to stdout.
    pub stdout: Vec<u8>,
    /// Bytes written to stderr.
    pub stderr: Vec<u8>,
    /// The exit code.
    pub exit_code: i32,
}

/// The container runtime as the node agent sees it.
///
/// Stopping and removing are idempotent: an object that is already gone is not an error, so a
/// restarted agent can repeat its cleanup. Every other call on a missing object fails with an
/// error whose [`crate::Error::is_not_found`] is true.
pub trait Runtime: Send + Sync {
    /// The runtime's name and versions.
    fn version(&self) -> impl Future<Output = Result<RuntimeVersion>> + Send;

    /// Whether the runtime and its pod network are ready.
    fn status(&self) -> impl Future<Output = Result<RuntimeHealth>> + Send;

    /// Pulls `image` (with registry credentials when given); returns the image id.
    fn pull_image(
        &self,
        image: &str,
        auth: Option<api::AuthConfig>,
    ) -> impl Future<Output = Result<String>> + Send;

    /// Loads a docker-archive or OCI tar that provides `name`; returns the image id.
    fn import_image(
        &self,
        archive: &Path,
        name: &str,
    ) -> impl Future<Output = Result<String>> + Send;

    /// The image `name` if the runtime has it.
    fn image_status(&self, name: &str) -> impl Future<Output = Result<Option<api::Image>>> + Send;

    /// Every image the runtime has.
    fn list_images(&self) -> impl Future<Output = Result<Vec<api::Image>>> + Send;

    /// Removes the image `name`; a missing image is not an error.
    fn remove_image(&self, name: &str) -> impl Future<Output = Result<()>> + Send;

    /// Creates and starts a pod sandbox (its network namespace set up by CNI); returns its id.
    fn run_pod_sandbox(
        &self,
        config: api::PodSandboxConfig,
    ) -> impl Future<Output = Result<String>> + Send;

    /// Stops every process of the sandbox and releases its network.
    fn stop_pod_sandbox(&self, id: &str) -> impl Future<Output = Result<()>> + Send;

    /// Removes a stopped sandbox and its containers.
    fn remove_pod_sandbox(&self, id: &str) -> impl Future<Output = Result<()>> + Send;

    /// The sandbox's state and pod IP.
    fn pod_sandbox_status(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<api::PodSandboxStatus>> + Send;

    /// Sandboxes matching `filter` (all when `None`).
    fn list_pod_sandboxes(
        &self,
        filter: Option<api::PodSandboxFilter>,
    ) -> impl Future<Output = Result<Vec<api::PodSandbox>>> + Send;

    /// Creates a container in a sandbox; returns its id.
    fn create_container(
        &self,
        sandbox_id: &str,
        config: api::ContainerConfig,
        sandbox_config: api::PodSandboxConfig,
    ) -> impl Future<Output = Result<String>> + Send;

    /// Starts a created container.
    fn start_container(&self, id: &str) -> impl Future<Output = Result<()>> + Send;

    /// Sends SIGTERM (or the image's stop signal), then SIGKILL after `grace`.
    fn stop_container(&self, id: &str, grace: Duration) -> impl Future<Output = Result<()>> + Send;

    /// Removes a container, killing it first if needed.
    fn remove_container(&self, id: &str) -> impl Future<Output = Result<()>> + Send;

    /// Containers matching `filter` (all when `None`).
    fn list_containers(
        &self,
        filter: Option<api::ContainerFilter>,
    ) -> impl Future<Output = Result<Vec<api::Container>>> + Send;

    /// The container's state, exit code, log path and timestamps.
    fn container_status(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<api::ContainerStatus>> + Send;

    /// Runs `cmd` in the container and waits for it (at most `timeout`, zero meaning no limit).
    fn exec_sync(
        &self,
        id: &str,
        cmd: &[String],
        timeout: Duration,
    ) -> impl Future<Output = Result<ExecOutput>> + Send;

    /// CPU, memory and filesystem usage of the containers matching `filter`, for `kubectl top`.
    fn list_container_stats(
        &self,
        filter: Option<api::ContainerStatsFilter>,
    ) -> impl Future<Output = Result<Vec<api::ContainerStats>>> + Send;

    /// Makes the runtime reopen the container's log file, after the agent rotated it.
    fn reopen_container_log(&self, id: &str) -> impl Future<Output = Result<()>> + Send;

    /// The URL on the runtime's streaming server (CRI `Attach`) where the caller attaches to the
    /// running container `id`'s stdio: a one-time `v4.channel.k8s.io` WebSocket (or SPDY)
    /// endpoint, what `kubectl attach` is relayed to. The container needs `stdin` in its config
    /// for `stdin`; `tty` must match the container's.
    ///
    /// The default says the runtime cannot do it.
    fn attach_url(
        &self,
        id: &str,
        stdin: bool,
        tty: bool,
    ) -> impl Future<Output = Result<String>> + Send {
        let _ = (id, stdin, tty);
        async {
            Err(crate::Error::Unsupported {
                operation: "attach_url",
                reason: "this runtime has no streaming server",
            })
        }
    }

    /// A host command that runs `cmd` as a new process in the running container `id`, with the
    /// command's own stdin, stdout and stderr (which must be a terminal when `tty`), exiting with
    /// the process's exit code: what an interactive `kubectl exec` drives. `exec_id` names the
    /// process in the runtime and must be unique per container.
    ///
    /// The default says the runtime cannot do it.
    fn exec_command(
        &self,
        id: &str,
        exec_id: &str,
        cmd: &[String],
        tty: bool,
    ) -> Result<std::process::Command> {
        let _ = (id, exec_id, cmd, tty);
        Err(crate::Error::Unsupported {
            operation: "exec_command",
            reason: "this runtime runs no host processes",
        })
    }

    /// The host command that SIGKILLs the process `exec_id` started in container `id` (for a client
    /// that left while its command ignores or never got the SIGTERM).
    ///
    /// The default says the runtime cannot do it.
    fn exec_kill_command(&self, id: &str, exec_id: &str) -> Result<std::process::Command> {
        let _ = (id, exec_id);
        Err(crate::Error::Unsupported {
            operation: "exec_kill_command",
            reason: "this runtime runs no host processes",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn condition(kind: &str, status: bool, reason: &str) -> api::RuntimeCondition {
        api::RuntimeCondition {
            r#type: kind.into(),
            status,
            reason: reason.into(),
            message: "no network config found in /etc/cni/net.d".into(),
        }
    }

    #[test]
    fn health_reports_why_the_network_is_not_ready() {
        let status = api::RuntimeStatus {
            conditions: vec![
                condition("RuntimeReady", true, ""),
                condition("NetworkReady", false, "NetworkPluginNotReady"),
            ],
        };
        let health = RuntimeHealth::from_status(&status);
        assert!(health.runtime_ready);
        assert!(!health.network_ready);
        assert_eq!(
            health.problems,
            ["NetworkReady is false: NetworkPluginNotReady: no network config found in /etc/cni/net.d"]
        );
    }
}
