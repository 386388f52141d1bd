//! [`DockerApi`] over the real Docker Engine API (bollard, unix socket or `DOCKER_HOST`).

use std::collections::HashMap;
use std::time::Duration;

use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::{Ipam, IpamConfig, NetworkCreateRequest, VolumeCreateRequest};
use bollard::query_parameters::{
    CreateContainerOptions, CreateImageOptions, ImportImageOptions, InspectContainerOptions,
    ListContainersOptions, ListImagesOptions, ListNetworksOptions, ListVolumesOptions, LogsOptions,
    RemoveContainerOptions, RemoveImageOptions, RemoveVolumeOptions, StopContainerOptions,
    UploadToContainerOptions,
};
use bollard::{body_full, body_try_stream, Docker};
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};

use super::models::{
    create_body, detail, from_inspect, from_summary, is_not_found, label_filter, sorted,
    split_reference,
};
use super::{
    ContainerInfo, ContainerSpec, DockerApi, EngineInfo, ExecOutput, ImageInfo, ImageStream,
    Labels, NetworkInfo, NetworkIpam, VolumeInfo,
};
use crate::{Error, Result};
use clusterctl_steps::BoxFuture;

/// Requests may stream a whole root filesystem; give them time.
const TIMEOUT: Duration = Duration::from_secs(600);

/// The real Docker client.
#[derive(Debug, Clone)]
pub struct Engine {
    docker: Docker,
}

impl Engine {
    /// Connects to the daemon named by `DOCKER_HOST`, else the local unix socket, and negotiates
    /// the API version down to what the daemon speaks (Debian bookworm's 20.10 speaks 1.41).
    pub async fn connect() -> Result<Self> {
        let unreachable = |error: bollard::errors::Error| Error::DockerUnreachable {
            detail: error.to_string(),
        };
        let docker = Docker::connect_with_local_defaults()
            .map_err(unreachable)?
            .with_timeout(TIMEOUT)
            .negotiate_version()
            .await
            .map_err(unreachable)?;
        Ok(Self { docker })
    }

    /// The underlying bollard client, for calls this seam does not cover.
    pub fn client(&self) -> &Docker {
        &self.docker
    }
}

impl DockerApi for Engine {
    fn info(&self) -> BoxFuture<'_, Result<EngineInfo>> {
        Box::pin(async move {
            let unreachable = |error: bollard::errors::Error| Error::DockerUnreachable {
                detail: error.to_string(),
            };
            let version = self.docker.version().await.map_err(unreachable)?;
            let info = self.docker.info().await.map_err(unreachable)?;
            Ok(EngineInfo {
                version: version.version.unwrap_or_default(),
                api_version: self.docker.client_version().to_string(),
                cgroup_version: info
                    .cgroup_version
                    .map(|v| v.to_string())
                    .unwrap_or_default(),
                cgroup_driver: info
                    .cgroup_driver
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
            })
        })
    }

    fn create_network<'a>(
        &'a self,
        name: &'a str,
        labels: &'a Labels,
        ipam: Option<&'a NetworkIpam>,
    ) -> BoxFuture<'a, Result<String>> {
        Box::pin(async move {
            let request = NetworkCreateRequest {
                name: name.to_owned(),
                driver: Some("bridge".into()),
                labels: Some(labels.clone().into_iter().collect()),
                ipam: ipam.map(|ipam| Ipam {
                    config: Some(vec![IpamConfig {
                        subnet: Some(ipam.subnet.clone()),
                        gateway: Some(ipam.gateway.clone()),
                        ip_range: ipam.ip_range.clone(),
                        ..Default::default()
                    }]),
                    ..Default::default()
                }),
                ..Default::default()
            };
            let response = self
                .docker
                .create_network(request)
                .await
                .map_err(|e| Error::docker("create network", name, detail(e)))?;
            Ok(response.id)
        })
    }

    fn remove_network<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            match self.docker.remove_network(name).await {
                Err(error) if !is_not_found(&error) => {
                    Err(Error::docker("remove network", name, detail(error)))
                }
                _ => Ok(()),
            }
        })
    }

    fn list_networks<'a>(&'a self, labels: &'a Labels) -> BoxFuture<'a, Result<Vec<NetworkInfo>>> {
        Box::pin(async move {
            let options = ListNetworksOptions {
                filters: Some(label_filter(labels)),
            };
            let networks = self
                .docker
                .list_networks(Some(options))
                .await
                .map_err(|e| Error::docker("list networks", "", detail(e)))?;
            Ok(networks
                .into_iter()
                .map(|network| NetworkInfo {
                    id: network.id.unwrap_or_default(),
                    name: network.name.unwrap_or_default(),
                    labels: sorted(network.labels),
                    subnet: network
                        .ipam
                        .and_then(|ipam| ipam.config)
                        .unwrap_or_default()
                        .into_iter()
                        .filter_map(|config| config.subnet)
                        .find(|subnet| !subnet.contains(':')),
                })
                .collect())
        })
    }

    fn create_volume<'a>(&'a self, name: &'a str, labels: &'a Labels) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let request = VolumeCreateRequest {
                name: Some(name.to_owned()),
                labels: Some(labels.clone().into_iter().collect()),
                ..Default::default()
            };
            self.docker
                .create_volume(request)
                .await
                .map_err(|e| Error::docker("create volume", name, detail(e)))?;
            Ok(())
        })
    }

    fn remove_volume<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let options = RemoveVolumeOptions { force: true };
            match self.docker.remove_volume(name, Some(options)).await {
                Err(error) if !is_not_found(&error) => {
                    Err(Error::docker("remove volume", name, detail(error)))
                }
                _ => Ok(()),
            }
        })
    }

    fn list_volumes<'a>(&'a self, labels: &'a Labels) -> BoxFuture<'a, Result<Vec<VolumeInfo>>> {
        Box::pin(async move {
            let options = ListVolumesOptions {
                filters: Some(label_filter(labels)),
            };
            let response = self
                .docker
                .list_volumes(Some(options))
                .await
                .map_err(|e| Error::docker("list volumes", "", detail(e)))?;
            Ok(response
                .volumes
                .unwrap_or_default()
                .into_iter()
                .map(|volume| VolumeInfo {
                    name: volume.name,
                    labels: volume.labels.into_iter().collect(),
                })
                .collect())
        })
    }

    fn create_container<'a>(&'a self, spec: &'a ContainerSpec) -> BoxFuture<'a, Result<String>> {
        Box::pin(async move {
            let options = CreateContainerOptions {
                name: Some(spec.name.clone()),
                platform: String::new(),
            };
            let response = self
                .docker
                .create_container(Some(options), create_body(spec))
                .await
                .map_err(|e| Error::docker("create container", &spec.name, detail(e)))?;
            Ok(response.id)
        })
    }

    fn start_container<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            self.docker
                .start_container(name, None)
                .await
                .map_err(|e| Error::docker("start container", name, detail(e)))
        })
    }

    fn stop_container<'a>(&'a self, name: &'a str, timeout_secs: u32) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let options = StopContainerOptions {
                signal: None,
                t: Some(i32::try_from(timeout_secs).unwrap_or(i32::MAX)),
            };
            match self.docker.stop_container(name, Some(options)).await {
                // 304: already stopped.
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 304, ..
                }) => Ok(()),
                Err(error) => Err(Error::docker("stop container", name, detail(error))),
                Ok(()) => Ok(()),
            }
        })
    }

    fn remove_container<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let options = RemoveContainerOptions {
                v: true,
                force: true,
                link: false,
            };
            match self.docker.remove_container(name, Some(options)).await {
                Err(error) if !is_not_found(&error) => {
                    Err(Error::docker("remove container", name, detail(error)))
                }
                _ => Ok(()),
            }
        })
    }

    fn inspect_container<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<ContainerInfo>>> {
        Box::pin(async move {
            match self
                .docker
                .inspect_container(name, None::<InspectContainerOptions>)
                .await
            {
                Ok(response) => Ok(Some(from_inspect(response))),
                Err(error) if is_not_found(&error) => Ok(None),
                Err(error) => Err(Error::docker("inspect container", name, detail(error))),
            }
        })
    }

    fn list_containers<'a>(
        &'a self,
        labels: &'a Labels,
    ) -> BoxFuture<'a, Result<Vec<ContainerInfo>>> {
        Box::pin(async move {
            let options = ListContainersOptions {
                all: true,
                filters: Some(label_filter(labels)),
                ..Default::default()
            };
            let containers = self
                .docker
                .list_containers(Some(options))
                .await
                .map_err(|e| Error::docker("list containers", "", detail(e)))?;
            let mut infos: Vec<ContainerInfo> = containers.into_iter().map(from_summary).collect();
            infos.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(infos)
        })
    }

    fn exec<'a>(
        &'a self,
        container: &'a str,
        argv: &'a [String],
    ) -> BoxFuture<'a, Result<ExecOutput>> {
        Box::pin(async move {
            let failed =
                |error: bollard::errors::Error| Error::docker("exec in", container, detail(error));
            let options = CreateExecOptions {
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                cmd: Some(argv.to_vec()),
                ..Default::default()
            };
            let created = self
                .docker
                .create_exec(container, options)
                .await
                .map_err(failed)?;
            let mut output = ExecOutput::default();
            if let StartExecResults::Attached {
                output: mut stream, ..
            } = self
                .docker
                .start_exec(&created.id, None)
                .await
                .map_err(failed)?
            {
                while let Some(chunk) = stream.next().await {
                    match chunk.map_err(failed)? {
                        LogOutput::StdErr { message } => {
                            output.stderr.push_str(&String::from_utf8_lossy(&message));
                        }
                        LogOutput::StdOut { message } | LogOutput::Console { message } => {
                            output.stdout.push_str(&String::from_utf8_lossy(&message));
                        }
                        LogOutput::StdIn { .. } => {}
                    }
                }
            }
            let inspected = self
                .docker
                .inspect_exec(&created.id)
                .await
                .map_err(failed)?;
            output.exit_code = inspected.exit_code.unwrap_or(-1);
            Ok(output)
        })
    }

    fn exec_with_input<'a>(
        &'a self,
        container: &'a str,
        argv: &'a [String],
        mut input: ImageStream,
    ) -> BoxFuture<'a, Result<ExecOutput>> {
        Box::pin(async move {
            use tokio::io::AsyncWriteExt as _;
            let failed =
                |error: bollard::errors::Error| Error::docker("exec in", container, detail(error));
            let options = CreateExecOptions {
                attach_stdin: Some(true),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                cmd: Some(argv.to_vec()),
                ..Default::default()
            };
            let created = self
                .docker
                .create_exec(container, options)
                .await
                .map_err(failed)?;
            let mut output = ExecOutput::default();
            if let StartExecResults::Attached {
                output: mut stream,
                input: mut stdin,
            } = self
                .docker
                .start_exec(&created.id, None)
                .await
                .map_err(failed)?
            {
                let writer = async {
                    while let Some(chunk) = input.next().await {
                        stdin.write_all(&chunk?).await?;
                    }
                    stdin.shutdown().await
                };
                let reader = async {
                    let mut output = ExecOutput::default();
                    while let Some(chunk) = stream.next().await {
                        match chunk.map_err(failed)? {
                            LogOutput::StdErr { message } => {
                                output.stderr.push_str(&String::from_utf8_lossy(&message));
                            }
                            LogOutput::StdOut { message } | LogOutput::Console { message } => {
                                output.stdout.push_str(&String::from_utf8_lossy(&message));
                            }
                            LogOutput::StdIn { .. } => {}
                        }
                    }
                    Ok::<ExecOutput, Error>(output)
                };
                let (written, read) = tokio::join!(writer, reader);
                output = read?;
                written.map_err(|error| {
                    Error::docker(
                        "stream stdin of exec in",
                        container,
                        format!("{error}; the command said: {}", output.combined()),
                    )
                })?;
            }
            let inspected = self
                .docker
                .inspect_exec(&created.id)
                .await
                .map_err(failed)?;
            output.exit_code = inspected.exit_code.unwrap_or(-1);
            Ok(output)
        })
    }

    fn logs<'a>(
        &'a self,
        container: &'a str,
        tail: Option<usize>,
    ) -> BoxFuture<'a, Result<String>> {
        Box::pin(async move {
            let options = LogsOptions {
                stdout: true,
                stderr: true,
                tail: tail.map_or_else(|| "all".to_owned(), |n| n.to_string()),
                ..Default::default()
            };
            let mut stream = self.docker.logs(container, Some(options));
            let mut text = String::new();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| Error::docker("logs", container, detail(e)))?;
                text.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
            }
            Ok(text)
        })
    }

    fn upload<'a>(
        &'a self,
        container: &'a str,
        dir: &'a str,
        tar: Vec<u8>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let options = UploadToContainerOptions {
                path: dir.to_owned(),
                ..Default::default()
            };
            self.docker
                .upload_to_container(container, Some(options), body_full(Bytes::from(tar)))
                .await
                .map_err(|e| Error::docker("copy into", format!("{container}:{dir}"), detail(e)))
        })
    }

    fn list_images<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, Result<Vec<ImageInfo>>> {
        Box::pin(async move {
            let options = ListImagesOptions {
                filters: Some(HashMap::from([(
                    "reference".to_owned(),
                    vec![reference.to_owned()],
                )])),
                ..Default::default()
            };
            let images = self
                .docker
                .list_images(Some(options))
                .await
                .map_err(|e| Error::docker("list images", reference, detail(e)))?;
            Ok(images
                .into_iter()
                .map(|image| ImageInfo {
                    id: image.id,
                    tags: image.repo_tags,
                    labels: image.labels.into_iter().collect(),
                    size: u64::try_from(image.size).unwrap_or(0),
                })
                .collect())
        })
    }

    fn inspect_image<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, Result<Option<ImageInfo>>> {
        Box::pin(async move {
            match self.docker.inspect_image(reference).await {
                Ok(image) => Ok(Some(ImageInfo {
                    id: image.id.unwrap_or_default(),
                    tags: image.repo_tags.unwrap_or_default(),
                    labels: sorted(image.config.and_then(|config| config.labels)),
                    size: image.size.and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
                })),
                Err(error) if is_not_found(&error) => Ok(None),
                Err(error) => Err(Error::docker("inspect image", reference, detail(error))),
            }
        })
    }

    fn import_image<'a>(
        &'a self,
        reference: &'a str,
        changes: &'a [String],
        rootfs: ImageStream,
    ) -> BoxFuture<'a, Result<String>> {
        Box::pin(async move {
            let (repo, tag) = split_reference(reference);
            let options = CreateImageOptions {
                from_src: Some("-".into()),
                repo: Some(repo.to_owned()),
                tag: Some(tag.to_owned()),
                changes: changes.to_vec(),
                ..Default::default()
            };
            let mut progress =
                self.docker
                    .create_image(Some(options), Some(body_try_stream(rootfs)), None);
            let mut id = String::new();
            while let Some(info) = progress.next().await {
                let info = info.map_err(|e| Error::docker("import image", reference, detail(e)))?;
                if let Some(status) = info.status {
                    id = status;
                }
            }
            Ok(id.trim().to_owned())
        })
    }

    fn save_image<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, Result<ImageStream>> {
        Box::pin(async move {
            let stream = self
                .docker
                .export_image(reference)
                .map_err(|error| std::io::Error::other(detail(error)));
            Ok(Box::pin(stream) as ImageStream)
        })
    }

    fn load_image(&self, archive: ImageStream) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            let mut progress = self.docker.import_image_stream(
                ImportImageOptions {
                    quiet: true,
                    ..Default::default()
                },
                archive,
                None,
            );
            while let Some(info) = progress.next().await {
                info.map_err(|e| Error::docker("load image", "archive", detail(e)))?;
            }
            Ok(())
        })
    }

    fn remove_image<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let options = RemoveImageOptions {
                force: true,
                ..Default::default()
            };
            match self
                .docker
                .remove_image(reference, Some(options), None)
                .await
            {
                Err(error) if !is_not_found(&error) => {
                    Err(Error::docker("remove image", reference, detail(error)))
                }
                _ => Ok(()),
            }
        })
    }
}
