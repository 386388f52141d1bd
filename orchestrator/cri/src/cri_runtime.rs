//! [`Runtime`] over CRI v1 gRPC on a unix socket (containerd's CRI plugin).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hyper_util::rt::TokioIo;
use k8s_cri::v1::image_service_client::ImageServiceClient;
use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use tokio::net::UnixStream;
use tonic::transport::{Channel, Endpoint, Uri};

use crate::api;
use crate::error::shell_line;
use crate::runtime::{ExecOutput, Runtime, RuntimeHealth, RuntimeVersion};
use crate::{Error, Result};

/// Largest CRI answer accepted (kubelet uses the same limit; image and container lists get big).
const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

/// How long an imported image may take to appear in the CRI plugin's image cache.
const IMPORT_VISIBLE_WITHIN: Duration = Duration::from_secs(10);

/// The containerd namespace the CRI plugin keeps its images and containers in.
pub const CRI_NAMESPACE: &str = "k8s.io";

/// A CRI client connected to one runtime socket.
#[derive(Debug, Clone)]
pub struct CriRuntime {
    socket: PathBuf,
    runtime: RuntimeServiceClient<Channel>,
    images: ImageServiceClient<Channel>,
    ctr: PathBuf,
    snapshotter: Option<String>,
}

impl CriRuntime {
    /// Dials the CRI socket (e.g. `/run/containerd/containerd.sock`).
    pub async fn connect(socket: impl Into<PathBuf>) -> Result<Self> {
        let socket = socket.into();
        let dial = socket.clone();
        let channel =
            Endpoint::from_static("http://cri.invalid")
                .connect_timeout(Duration::from_secs(5))
                .connect_with_connector(tower::service_fn(move |_: Uri| {
                    let dial = dial.clone();
                    async move {
                        Ok::<_, std::io::Error>(TokioIo::new(UnixStream::connect(dial).await?))
                    }
                }))
                .await
                .map_err(|source| Error::Connect {
                    socket: socket.clone(),
                    source,
                })?;
        Ok(CriRuntime {
            runtime: RuntimeServiceClient::new(channel.clone())
                .max_decoding_message_size(MAX_MESSAGE_BYTES),
            images: ImageServiceClient::new(channel).max_decoding_message_size(MAX_MESSAGE_BYTES),
            socket,
            ctr: PathBuf::from("ctr"),
            snapshotter: None,
        })
    }

    /// Uses this `ctr` binary for [`Runtime::import_image`] (default: `ctr` from `PATH`).
    pub fn with_ctr(mut self, ctr: impl Into<PathBuf>) -> Self {
        self.ctr = ctr.into();
        self
    }

    /// Unpacks imported images for this snapshotter (default: containerd's default, overlayfs).
    pub fn with_snapshotter(mut self, snapshotter: impl Into<String>) -> Self {
        self.snapshotter = Some(snapshotter.into());
        self
    }

    /// The socket this client talks to.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// `ctr tasks exec` of `cmd` in container `id` (see [`Runtime::exec_command`]). The CRI
    /// plugin keeps its containers as containerd tasks in [`CRI_NAMESPACE`], so `ctr` reaches them
    /// directly; unlike CRI's websocket streaming, its stdin can be closed (`echo x | kubectl exec
    /// -i pod -- cat` ends).
    pub fn ctr_exec_command(
        &self,
        id: &str,
        exec_id: &str,
        cmd: &[String],
        tty: bool,
    ) -> std::process::Command {
        let mut command = std::process::Command::new(&self.ctr);
        command.arg("--address").arg(&self.socket).args([
            "--namespace",
            CRI_NAMESPACE,
            "tasks",
            "exec",
            "--exec-id",
            exec_id,
        ]);
        if tty {
            command.arg("--tty");
        }
        command.arg(id).args(cmd);
        command
    }

    fn runtime(&self) -> RuntimeServiceClient<Channel> {
        self.runtime.clone()
    }

    fn images(&self) -> ImageServiceClient<Channel> {
        self.images.clone()
    }

    async fn run_ctr_import(&self, archive: &Path) -> Result<()> {
        let mut args = vec![
            "--address".to_owned(),
            self.socket.display().to_string(),
            "--namespace".to_owned(),
            CRI_NAMESPACE.to_owned(),
            "images".to_owned(),
            "import".to_owned(),
        ];
        if let Some(snapshotter) = &self.snapshotter {
            args.push(format!("--snapshotter={snapshotter}"));
        }
        args.push(archive.display().to_string());
        let program = self.ctr.display().to_string();
        let command = shell_line(&program, &args);
        let output = tokio::process::Command::new(&self.ctr)
            .args(&args)
            .output()
            .await
            .map_err(|e| Error::Command {
                command: command.clone(),
                output: e.to_string(),
            })?;
        if output.status.success() {
            return Ok(());
        }
        Err(Error::Command {
            command,
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stderr),
                String::from_utf8_lossy(&output.stdout)
            ),
        })
    }
}

fn image_spec(image: &str) -> api::ImageSpec {
    api::ImageSpec {
        image: image.to_owned(),
        ..Default::default()
    }
}

/// Turns "not found" into success, for idempotent stop and remove calls.
fn ignore_not_found(result: Result<()>) -> Result<()> {
    match result {
        Err(e) if e.is_not_found() => Ok(()),
        other => other,
    }
}

impl Runtime for CriRuntime {
    async fn version(&self) -> Result<RuntimeVersion> {
        let answer = self
            .runtime()
            .version(api::VersionRequest {
                version: "v1".into(),
            })
            .await
            .map_err(|s| Error::cri("Version", self.socket.display().to_string(), &s))?
            .into_inner();
        Ok(RuntimeVersion {
            runtime_name: answer.runtime_name,
            runtime_version: answer.runtime_version,
            runtime_api_version: answer.runtime_api_version,
        })
    }

    async fn status(&self) -> Result<RuntimeHealth> {
        let target = self.socket.display().to_string();
        let answer = self
            .runtime()
            .status(api::StatusRequest { verbose: false })
            .await
            .map_err(|s| Error::cri("Status", target.clone(), &s))?
            .into_inner();
        let status = answer.status.ok_or(Error::MissingField {
            operation: "Status",
            target,
            field: "status",
        })?;
        Ok(RuntimeHealth::from_status(&status))
    }

    async fn pull_image(&self, image: &str, auth: Option<api::AuthConfig>) -> Result<String> {
        let answer = self
            .images()
            .pull_image(api::PullImageRequest {
                image: Some(image_spec(image)),
                auth,
                sandbox_config: None,
            })
            .await
            .map_err(|s| Error::cri("PullImage", image, &s))?
            .into_inner();
        Ok(answer.image_ref)
    }

    async fn import_image(&self, archive: &Path, name: &str) -> Result<String> {
        self.run_ctr_import(archive).await?;
        // The CRI plugin learns about imported images from containerd events, a moment later.
        let started = Instant::now();
        loop {
            if let Some(image) = self.image_status(name).await? {
                return Ok(image.id);
            }
            if started.elapsed() > IMPORT_VISIBLE_WITHIN {
                return Err(Error::ImageNotInArchive {
                    archive: archive.to_owned(),
                    name: name.to_owned(),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn image_status(&self, name: &str) -> Result<Option<api::Image>> {
        let answer = self
            .images()
            .image_status(api::ImageStatusRequest {
                image: Some(image_spec(name)),
                verbose: false,
            })
            .await
            .map_err(|s| Error::cri("ImageStatus", name, &s))?
            .into_inner();
        Ok(answer.image)
    }

    async fn list_images(&self) -> Result<Vec<api::Image>> {
        let answer = self
            .images()
            .list_images(api::ListImagesRequest { filter: None })
            .await
            .map_err(|s| Error::cri("ListImages", "", &s))?
            .into_inner();
        Ok(answer.images)
    }

    async fn remove_image(&self, name: &str) -> Result<()> {
        let result = self
            .images()
            .remove_image(api::RemoveImageRequest {
                image: Some(image_spec(name)),
            })
            .await
            .map(drop)
            .map_err(|s| Error::cri("RemoveImage", name, &s));
        ignore_not_found(result)
    }

    async fn run_pod_sandbox(&self, config: api::PodSandboxConfig) -> Result<String> {
        let target = config
            .metadata
            .as_ref()
            .map(|m| format!("{}/{}", m.namespace, m.name))
            .unwrap_or_default();
        let answer = self
            .runtime()
            .run_pod_sandbox(api::RunPodSandboxRequest {
                config: Some(config),
                runtime_handler: String::new(),
            })
            .await
            .map_err(|s| Error::cri("RunPodSandbox", target, &s))?
            .into_inner();
        Ok(answer.pod_sandbox_id)
    }

    async fn stop_pod_sandbox(&self, id: &str) -> Result<()> {
        let result = self
            .runtime()
            .stop_pod_sandbox(api::StopPodSandboxRequest {
                pod_sandbox_id: id.to_owned(),
            })
            .await
            .map(drop)
            .map_err(|s| Error::cri("StopPodSandbox", id, &s));
        ignore_not_found(result)
    }

    async fn remove_pod_sandbox(&self, id: &str) -> Result<()> {
        let result = self
            .runtime()
            .remove_pod_sandbox(api::RemovePodSandboxRequest {
                pod_sandbox_id: id.to_owned(),
            })
            .await
            .map(drop)
            .map_err(|s| Error::cri("RemovePodSandbox", id, &s));
        ignore_not_found(result)
    }

    async fn pod_sandbox_status(&self, id: &str) -> Result<api::PodSandboxStatus> {
        let answer = self
            .runtime()
            .pod_sandbox_status(api::PodSandboxStatusRequest {
                pod_sandbox_id: id.to_owned(),
                verbose: false,
            })
            .await
            .map_err(|s| Error::cri("PodSandboxStatus", id, &s))?
            .into_inner();
        answer.status.ok_or(Error::MissingField {
            operation: "PodSandboxStatus",
            target: id.to_owned(),
            field: "status",
        })
    }

    async fn list_pod_sandboxes(
        &self,
        filter: Option<api::PodSandboxFilter>,
    ) -> Result<Vec<api::PodSandbox>> {
        let answer = self
            .runtime()
            .list_pod_sandbox(api::ListPodSandboxRequest { filter })
            .await
            .map_err(|s| Error::cri("ListPodSandbox", "", &s))?
            .into_inner();
        Ok(answer.items)
    }

    async fn create_container(
        &self,
        sandbox_id: &str,
        config: api::ContainerConfig,
        sandbox_config: api::PodSandboxConfig,
    ) -> Result<String> {
        let name = config
            .metadata
            .as_ref()
            .map(|m| m.name.clone())
            .unwrap_or_default();
        let answer = self
            .runtime()
            .create_container(api::CreateContainerRequest {
                pod_sandbox_id: sandbox_id.to_owned(),
                config: Some(config),
                sandbox_config: Some(sandbox_config),
            })
            .await
            .map_err(|s| {
                Error::cri(
                    "CreateContainer",
                    format!("{name} in sandbox {sandbox_id}"),
                    &s,
                )
            })?
            .into_inner();
        Ok(answer.container_id)
    }

    async fn start_container(&self, id: &str) -> Result<()> {
        self.runtime()
            .start_container(api::StartContainerRequest {
                container_id: id.to_owned(),
            })
            .await
            .map_err(|s| Error::cri("StartContainer", id, &s))?;
        Ok(())
    }

    async fn stop_container(&self, id: &str, grace: Duration) -> Result<()> {
        let timeout = i64::try_from(grace.as_secs()).unwrap_or(i64::MAX);
        let mut request = tonic::Request::new(api::StopContainerRequest {
            container_id: id.to_owned(),
            timeout,
        });
        // Leave the runtime time to escalate to SIGKILL before the call itself gives up.
        request.set_timeout(grace + Duration::from_secs(30));
        let result = self
            .runtime()
            .stop_container(request)
            .await
            .map(drop)
            .map_err(|s| Error::cri("StopContainer", id, &s));
        ignore_not_found(result)
    }

    async fn remove_container(&self, id: &str) -> Result<()> {
        let result = self
            .runtime()
            .remove_container(api::RemoveContainerRequest {
                container_id: id.to_owned(),
            })
            .await
            .map(drop)
            .map_err(|s| Error::cri("RemoveContainer", id, &s));
        ignore_not_found(result)
    }

    async fn list_containers(
        &self,
        filter: Option<api::ContainerFilter>,
    ) -> Result<Vec<api::Container>> {
        let answer = self
            .runtime()
            .list_containers(api::ListContainersRequest { filter })
            .await
            .map_err(|s| Error::cri("ListContainers", "", &s))?
            .into_inner();
        Ok(answer.containers)
    }

    async fn container_status(&self, id: &str) -> Result<api::ContainerStatus> {
        let answer = self
            .runtime()
            .container_status(api::ContainerStatusRequest {
                container_id: id.to_owned(),
                verbose: false,
            })
            .await
            .map_err(|s| Error::cri("ContainerStatus", id, &s))?
            .into_inner();
        answer.status.ok_or(Error::MissingField {
            operation: "ContainerStatus",
            target: id.to_owned(),
            field: "status",
        })
    }

    async fn exec_sync(&self, id: &str, cmd: &[String], timeout: Duration) -> Result<ExecOutput> {
        let mut request = tonic::Request::new(api::ExecSyncRequest {
            container_id: id.to_owned(),
            cmd: cmd.to_vec(),
            timeout: i64::try_from(timeout.as_secs()).unwrap_or(i64::MAX),
        });
        if !timeout.is_zero() {
            request.set_timeout(timeout + Duration::from_secs(10));
        }
        let answer = self
            .runtime()
            .exec_sync(request)
            .await
            .map_err(|s| {
                Error::cri(
                    "ExecSync",
                    format!("{} in container {id}", cmd.join(" ")),
                    &s,
                )
            })?
            .into_inner();
        Ok(ExecOutput {
            stdout: answer.stdout,
            stderr: answer.stderr,
            exit_code: answer.exit_code,
        })
    }

    async fn list_container_stats(
        &self,
        filter: Option<api::ContainerStatsFilter>,
    ) -> Result<Vec<api::ContainerStats>> {
        let answer = self
            .runtime()
            .list_container_stats(api::ListContainerStatsRequest { filter })
            .await
            .map_err(|s| Error::cri("ListContainerStats", "", &s))?
            .into_inner();
        Ok(answer.stats)
    }

    async fn reopen_container_log(&self, id: &str) -> Result<()> {
        self.runtime()
            .reopen_container_log(api::ReopenContainerLogRequest {
                container_id: id.to_owned(),
            })
            .await
            .map_err(|s| Error::cri("ReopenContainerLog", id, &s))?;
        Ok(())
    }

    async fn attach_url(&self, id: &str, stdin: bool, tty: bool) -> Result<String> {
        let answer = self
            .runtime()
            .attach(api::AttachRequest {
                container_id: id.to_owned(),
                stdin,
                tty,
                stdout: true,
                stderr: !tty,
            })
            .await
            .map_err(|s| Error::cri("Attach", id, &s))?
            .into_inner();
        Ok(answer.url)
    }

    fn exec_command(
        &self,
        id: &str,
        exec_id: &str,
        cmd: &[String],
        tty: bool,
    ) -> Result<std::process::Command> {
        Ok(self.ctr_exec_command(id, exec_id, cmd, tty))
    }

    fn exec_kill_command(&self, id: &str, exec_id: &str) -> Result<std::process::Command> {
        let mut command = std::process::Command::new(&self.ctr);
        command.arg("--address").arg(&self.socket).args([
            "--namespace",
            CRI_NAMESPACE,
            "tasks",
            "kill",
            "--exec-id",
            exec_id,
            "--signal",
            "SIGKILL",
            id,
        ]);
        Ok(command)
    }
}
