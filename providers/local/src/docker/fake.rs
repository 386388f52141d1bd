//! An in-memory [`DockerApi`] that records every call, for unit tests of the steps.
//!
//! It keeps containers, networks, volumes and images as Docker would (label filters, "already
//! gone" removals), unpacks uploaded tars into a per-container file map, and answers
//! `sha256sum <file>`, `test -s|-e <file>` and `mv -f <from> <to>` from that map; other commands get the scripted [`FakeDocker::on_exec`] answer.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::StreamExt;

use super::{
    ContainerInfo, ContainerSpec, ContainerState, DockerApi, EngineInfo, ExecOutput, ImageInfo,
    ImageStream, Labels, NetworkInfo, NetworkIpam, VolumeInfo,
};
use crate::{Error, Result};
use clusterctl_steps::BoxFuture;

/// One call made to the fake, in order, for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// `create_network(name)`.
    CreateNetwork(String),
    /// `remove_network(name)`.
    RemoveNetwork(String),
    /// `create_volume(name)`.
    CreateVolume(String),
    /// `remove_volume(name)`.
    RemoveVolume(String),
    /// `create_container(spec)`.
    CreateContainer(Box<ContainerSpec>),
    /// `start_container(name)`.
    StartContainer(String),
    /// `stop_container(name)`.
    StopContainer(String),
    /// `remove_container(name)`.
    RemoveContainer(String),
    /// `exec(container, argv)`.
    Exec(String, Vec<String>),
    /// `exec_with_input(container, argv)`, with the number of bytes streamed to stdin.
    ExecWithInput(String, Vec<String>, usize),
    /// `upload(container, dir)`, with the paths of the files the tar held.
    Upload(String, String, Vec<String>),
    /// `import_image(reference, changes)`.
    ImportImage(String, Vec<String>),
    /// `load_image`.
    LoadImage,
    /// `remove_image(reference)`.
    RemoveImage(String),
}

type ExecHandler = Box<dyn Fn(&str, &[String]) -> ExecOutput + Send + Sync>;

#[derive(Default)]
struct State {
    calls: Vec<Call>,
    networks: BTreeMap<String, (Labels, String)>,
    volumes: BTreeMap<String, Labels>,
    containers: BTreeMap<String, ContainerInfo>,
    images: BTreeMap<String, ImageInfo>,
    files: BTreeMap<(String, String), Vec<u8>>,
    logs: BTreeMap<String, String>,
    next_id: u64,
}

/// A recording, in-memory Docker.
#[derive(Clone, Default)]
pub struct FakeDocker {
    state: Arc<Mutex<State>>,
    on_exec: Arc<Mutex<Option<ExecHandler>>>,
}

impl std::fmt::Debug for FakeDocker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeDocker").finish_non_exhaustive()
    }
}

fn matches(labels: &Labels, wanted: &Labels) -> bool {
    wanted.iter().all(|(k, v)| labels.get(k) == Some(v))
}

impl FakeDocker {
    /// An empty daemon.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.state().calls.clone()
    }

    /// Answers commands other than `sha256sum` with `handler(container, argv)`.
    pub fn on_exec(&self, handler: impl Fn(&str, &[String]) -> ExecOutput + Send + Sync + 'static) {
        *self.on_exec.lock().unwrap_or_else(PoisonError::into_inner) = Some(Box::new(handler));
    }

    /// Adds an image as if it had been built or pulled.
    pub fn add_image(&self, reference: &str, labels: Labels) {
        let mut state = self.state();
        state.next_id += 1;
        let id = format!("sha256:{:064x}", state.next_id);
        state.images.insert(
            reference.to_owned(),
            ImageInfo {
                id,
                tags: vec![reference.to_owned()],
                labels,
                size: 0,
            },
        );
    }

    /// Adds a container that clusterctl did not create (for "leaves others alone" tests).
    pub fn add_container(&self, name: &str, labels: Labels, state: ContainerState) {
        let mut inner = self.state();
        inner.next_id += 1;
        let id = format!("{:064x}", inner.next_id);
        inner.containers.insert(
            name.to_owned(),
            ContainerInfo {
                id,
                name: name.to_owned(),
                image: String::new(),
                labels,
                state,
                ports: Vec::new(),
                addresses: BTreeMap::new(),
            },
        );
    }

    /// The bytes of a file uploaded into a container, if any.
    pub fn file(&self, container: &str, path: &str) -> Option<Vec<u8>> {
        self.state()
            .files
            .get(&(container.to_owned(), path.to_owned()))
            .cloned()
    }

    /// The labels of an image, if it is present.
    pub fn inspect_image_labels(&self, reference: &str) -> Option<Labels> {
        self.state()
            .images
            .get(reference)
            .map(|image| image.labels.clone())
    }

    /// Sets what `docker logs <container>` shows.
    pub fn set_logs(&self, container: &str, text: &str) {
        self.state()
            .logs
            .insert(container.to_owned(), text.to_owned());
    }

    /// Names of the containers that exist.
    pub fn container_names(&self) -> Vec<String> {
        self.state().containers.keys().cloned().collect()
    }

    /// Names of the networks that exist.
    pub fn network_names(&self) -> Vec<String> {
        self.state().networks.keys().cloned().collect()
    }

    /// Names of the volumes that exist.
    pub fn volume_names(&self) -> Vec<String> {
        self.state().volumes.keys().cloned().collect()
    }

    fn record(&self, call: Call) {
        self.state().calls.push(call);
    }
}

impl DockerApi for FakeDocker {
    fn info(&self) -> BoxFuture<'_, Result<EngineInfo>> {
        Box::pin(async move {
            Ok(EngineInfo {
                version: "fake".into(),
                api_version: "1.41".into(),
                cgroup_version: "1".into(),
                cgroup_driver: "cgroupfs".into(),
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
            self.record(Call::CreateNetwork(name.to_owned()));
            let mut state = self.state();
            if state.networks.contains_key(name) {
                return Err(Error::docker(
                    "create network",
                    name,
                    "network with name already exists",
                ));
            }
            // Like Docker, a network without a subnet of its own gets a free /16.
            let subnet = match ipam {
                Some(ipam) => ipam.subnet.clone(),
                None => format!("172.{}.0.0/16", 18 + state.networks.len() % 13),
            };
            state
                .networks
                .insert(name.to_owned(), (labels.clone(), subnet));
            Ok(format!("net-{name}"))
        })
    }

    fn remove_network<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            self.record(Call::RemoveNetwork(name.to_owned()));
            self.state().networks.remove(name);
            Ok(())
        })
    }

    fn list_networks<'a>(&'a self, labels: &'a Labels) -> BoxFuture<'a, Result<Vec<NetworkInfo>>> {
        Box::pin(async move {
            let found = self
                .state()
                .networks
                .iter()
                .filter(|(_, (l, _))| matches(l, labels))
                .map(|(name, (l, subnet))| NetworkInfo {
                    id: format!("net-{name}"),
                    name: name.clone(),
                    labels: l.clone(),
                    subnet: Some(subnet.clone()),
                })
                .collect();
            Ok(found)
        })
    }

    fn create_volume<'a>(&'a self, name: &'a str, labels: &'a Labels) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            self.record(Call::CreateVolume(name.to_owned()));
            self.state()
                .volumes
                .entry(name.to_owned())
                .or_insert_with(|| labels.clone());
            Ok(())
        })
    }

    fn remove_volume<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            self.record(Call::RemoveVolume(name.to_owned()));
            self.state().volumes.remove(name);
            Ok(())
        })
    }

    fn list_volumes<'a>(&'a self, labels: &'a Labels) -> BoxFuture<'a, Result<Vec<VolumeInfo>>> {
        Box::pin(async move {
            let found = self
                .state()
                .volumes
                .iter()
                .filter(|(_, l)| matches(l, labels))
                .map(|(name, l)| VolumeInfo {
                    name: name.clone(),
                    labels: l.clone(),
                })
                .collect();
            Ok(found)
        })
    }

    fn create_container<'a>(&'a self, spec: &'a ContainerSpec) -> BoxFuture<'a, Result<String>> {
        Box::pin(async move {
            self.record(Call::CreateContainer(Box::new(spec.clone())));
            let mut state = self.state();
            if state.containers.contains_key(&spec.name) {
                return Err(Error::docker(
                    "create container",
                    &spec.name,
                    "name already in use",
                ));
            }
            if !state.images.contains_key(&spec.image) {
                return Err(Error::docker(
                    "create container",
                    &spec.name,
                    format!("no such image: {}", spec.image),
                ));
            }
            state.next_id += 1;
            let id = format!("{:064x}", state.next_id);
            let addresses = spec
                .network
                .iter()
                .map(|network| {
                    let address = spec
                        .ipv4_address
                        .clone()
                        .unwrap_or_else(|| format!("172.30.0.{}", state.next_id % 250 + 2));
                    (network.clone(), address)
                })
                .collect();
            state.containers.insert(
                spec.name.clone(),
                ContainerInfo {
                    id: id.clone(),
                    name: spec.name.clone(),
                    image: spec.image.clone(),
                    labels: spec.labels.clone(),
                    state: ContainerState::Created,
                    ports: spec.ports.clone(),
                    addresses,
                },
            );
            Ok(id)
        })
    }

    fn start_container<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            self.record(Call::StartContainer(name.to_owned()));
            let result = match self.state().containers.get_mut(name) {
                Some(container) => {
                    container.state = ContainerState::Running;
                    Ok(())
                }
                None => Err(Error::docker("start container", name, "no such container")),
            };
            result
        })
    }

    fn stop_container<'a>(
        &'a self,
        name: &'a str,
        _timeout_secs: u32,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            self.record(Call::StopContainer(name.to_owned()));
            if let Some(container) = self.state().containers.get_mut(name) {
                container.state = ContainerState::Exited;
            }
            Ok(())
        })
    }

    fn remove_container<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            self.record(Call::RemoveContainer(name.to_owned()));
            let mut state = self.state();
            state.containers.remove(name);
            state.files.retain(|(container, _), _| container != name);
            Ok(())
        })
    }

    fn inspect_container<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<ContainerInfo>>> {
        Box::pin(async move { Ok(self.state().containers.get(name).cloned()) })
    }

    fn list_containers<'a>(
        &'a self,
        labels: &'a Labels,
    ) -> BoxFuture<'a, Result<Vec<ContainerInfo>>> {
        Box::pin(async move {
            let found = self
                .state()
                .containers
                .values()
                .filter(|c| matches(&c.labels, labels))
                .cloned()
                .collect();
            Ok(found)
        })
    }

    fn exec<'a>(
        &'a self,
        container: &'a str,
        argv: &'a [String],
    ) -> BoxFuture<'a, Result<ExecOutput>> {
        Box::pin(async move {
            self.record(Call::Exec(container.to_owned(), argv.to_vec()));
            let running = self
                .state()
                .containers
                .get(container)
                .is_some_and(|c| c.state == ContainerState::Running);
            if !running {
                return Err(Error::docker(
                    "exec in",
                    container,
                    "container is not running",
                ));
            }
            if let [command, flag, from, to] = argv {
                if command == "mv" && flag == "-f" {
                    let mut state = self.state();
                    let moved = state.files.remove(&(container.to_owned(), from.clone()));
                    let output = match moved {
                        Some(bytes) => {
                            state
                                .files
                                .insert((container.to_owned(), to.clone()), bytes);
                            ExecOutput::default()
                        }
                        None => ExecOutput {
                            exit_code: 1,
                            stdout: String::new(),
                            stderr: format!(
                                "mv: cannot stat '{from}': No such file or directory\n"
                            ),
                        },
                    };
                    return Ok(output);
                }
            }
            if let [command, flag, path] = argv {
                if command == "test" && (flag == "-s" || flag == "-e") {
                    let present = self
                        .file(container, path)
                        .is_some_and(|bytes| flag == "-e" || !bytes.is_empty());
                    return Ok(ExecOutput {
                        exit_code: if present { 0 } else { 1 },
                        ..ExecOutput::default()
                    });
                }
            }
            if let [command, path] = argv {
                if command == "sha256sum" {
                    let output = match self.file(container, path) {
                        Some(bytes) => ExecOutput {
                            exit_code: 0,
                            stdout: format!("{}  {path}\n", clusterctl_bundle::sha256_hex(&bytes)),
                            stderr: String::new(),
                        },
                        None => ExecOutput {
                            exit_code: 1,
                            stdout: String::new(),
                            stderr: format!("sha256sum: {path}: No such file or directory\n"),
                        },
                    };
                    return Ok(output);
                }
            }
            let handler = self.on_exec.lock().unwrap_or_else(PoisonError::into_inner);
            let output = handler
                .as_ref()
                .map(|handler| handler(container, argv))
                .unwrap_or_default();
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
            let mut length = 0;
            while let Some(chunk) = input.next().await {
                length += chunk
                    .map_err(|e| Error::docker("stream stdin of exec in", container, e))?
                    .len();
            }
            self.record(Call::ExecWithInput(
                container.to_owned(),
                argv.to_vec(),
                length,
            ));
            let running = self
                .state()
                .containers
                .get(container)
                .is_some_and(|c| c.state == ContainerState::Running);
            if !running {
                return Err(Error::docker(
                    "exec in",
                    container,
                    "container is not running",
                ));
            }
            let handler = self.on_exec.lock().unwrap_or_else(PoisonError::into_inner);
            Ok(handler
                .as_ref()
                .map(|handler| handler(container, argv))
                .unwrap_or_default())
        })
    }

    fn logs<'a>(
        &'a self,
        container: &'a str,
        tail: Option<usize>,
    ) -> BoxFuture<'a, Result<String>> {
        Box::pin(async move {
            let state = self.state();
            if !state.containers.contains_key(container) {
                return Err(Error::docker("logs", container, "no such container"));
            }
            let text = state.logs.get(container).cloned().unwrap_or_default();
            Ok(match tail {
                Some(n) => {
                    let lines: Vec<&str> = text.lines().collect();
                    let mut tail = lines[lines.len().saturating_sub(n)..].join("\n");
                    if !tail.is_empty() {
                        tail.push('\n');
                    }
                    tail
                }
                None => text,
            })
        })
    }

    fn upload<'a>(
        &'a self,
        container: &'a str,
        dir: &'a str,
        tar: Vec<u8>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let mut archive = tar::Archive::new(tar.as_slice());
            let mut unpacked = Vec::new();
            let entries = archive
                .entries()
                .map_err(|e| Error::docker("copy into", container, e));
            let result = entries.and_then(|entries| {
                for entry in entries {
                    let mut entry = entry.map_err(|e| Error::docker("copy into", container, e))?;
                    let path = entry
                        .path()
                        .map_err(|e| Error::docker("copy into", container, e))?
                        .to_string_lossy()
                        .into_owned();
                    let mut bytes = Vec::new();
                    entry
                        .read_to_end(&mut bytes)
                        .map_err(|e| Error::docker("copy into", container, e))?;
                    unpacked.push((format!("{}/{path}", dir.trim_end_matches('/')), bytes));
                }
                Ok(())
            });
            self.record(Call::Upload(
                container.to_owned(),
                dir.to_owned(),
                unpacked.iter().map(|(path, _)| path.clone()).collect(),
            ));
            let mut state = self.state();
            for (path, bytes) in unpacked {
                state.files.insert((container.to_owned(), path), bytes);
            }
            result
        })
    }

    fn list_images<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, Result<Vec<ImageInfo>>> {
        Box::pin(async move {
            let found = self
                .state()
                .images
                .iter()
                .filter(|(name, _)| *name == reference || name.split(':').next() == Some(reference))
                .map(|(_, image)| image.clone())
                .collect();
            Ok(found)
        })
    }

    fn inspect_image<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, Result<Option<ImageInfo>>> {
        Box::pin(async move { Ok(self.state().images.get(reference).cloned()) })
    }

    fn import_image<'a>(
        &'a self,
        reference: &'a str,
        changes: &'a [String],
        rootfs: ImageStream,
    ) -> BoxFuture<'a, Result<String>> {
        Box::pin(async move {
            // Drain the stream, as the daemon would, so producers see it consumed.
            let mut rootfs = rootfs;
            while let Some(chunk) = rootfs.next().await {
                chunk.map_err(|e| Error::docker("import image", reference, e))?;
            }
            self.record(Call::ImportImage(reference.to_owned(), changes.to_vec()));
            let labels = changes
                .iter()
                .filter_map(|change| change.strip_prefix("LABEL "))
                .filter_map(|label| label.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.trim_matches('"').to_owned()))
                .collect();
            self.add_image(reference, labels);
            let id = self.state().images.get(reference).map(|i| i.id.clone());
            Ok(id.unwrap_or_default())
        })
    }

    fn save_image<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, Result<ImageStream>> {
        Box::pin(async move {
            let present = self.state().images.contains_key(reference);
            let result = if present {
                let bytes = bytes::Bytes::from(format!("image archive of {reference}"));
                Ok(Box::pin(futures_util::stream::iter([Ok(bytes)])) as ImageStream)
            } else {
                Err(Error::docker("save image", reference, "no such image"))
            };
            result
        })
    }

    fn load_image(&self, _archive: ImageStream) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            self.record(Call::LoadImage);
            Ok(())
        })
    }

    fn remove_image<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            self.record(Call::RemoveImage(reference.to_owned()));
            self.state().images.remove(reference);
            Ok(())
        })
    }
}
