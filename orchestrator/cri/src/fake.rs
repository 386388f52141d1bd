//! A recording, in-memory [`Runtime`] for the agent's unit tests.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::api;
use crate::runtime::{ExecOutput, Runtime, RuntimeHealth, RuntimeVersion};
use crate::{Error, Result};

/// One call the fake received, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// `version()`.
    Version,
    /// `status()`.
    Status,
    /// `pull_image(image)`.
    PullImage(String),
    /// `import_image(archive, name)`.
    ImportImage(PathBuf, String),
    /// `image_status(name)`.
    ImageStatus(String),
    /// `list_images()`.
    ListImages,
    /// `remove_image(name)`.
    RemoveImage(String),
    /// `run_pod_sandbox` for this pod name.
    RunPodSandbox(String),
    /// `stop_pod_sandbox(id)`.
    StopPodSandbox(String),
    /// `remove_pod_sandbox(id)`.
    RemovePodSandbox(String),
    /// `pod_sandbox_status(id)`.
    PodSandboxStatus(String),
    /// `list_pod_sandboxes()`.
    ListPodSandboxes,
    /// `create_container(sandbox id, container name)`.
    CreateContainer(String, String),
    /// `start_container(id)`.
    StartContainer(String),
    /// `stop_container(id, grace)`.
    StopContainer(String, Duration),
    /// `remove_container(id)`.
    RemoveContainer(String),
    /// `list_containers()`.
    ListContainers,
    /// `container_status(id)`.
    ContainerStatus(String),
    /// `exec_sync(id, cmd)`.
    ExecSync(String, Vec<String>),
    /// `list_container_stats()`.
    ListContainerStats,
    /// `reopen_container_log(id)`.
    ReopenContainerLog(String),
}

#[derive(Debug, Default)]
struct State {
    calls: Vec<Call>,
    failures: HashMap<&'static str, tonic::Code>,
    images: BTreeMap<String, api::Image>,
    sandboxes: BTreeMap<String, (api::PodSandboxConfig, api::PodSandboxState)>,
    containers: BTreeMap<String, (String, api::ContainerConfig, api::ContainerState)>,
    exec_output: ExecOutput,
    exit_codes: HashMap<String, i32>,
    next_id: u64,
}

impl State {
    fn fresh_id(&mut self, kind: &str) -> String {
        self.next_id += 1;
        format!("{kind}-{}", self.next_id)
    }

    /// Records the call and fails it if a failure was queued for `operation`.
    fn enter(&mut self, call: Call, operation: &'static str, target: &str) -> Result<()> {
        self.calls.push(call);
        match self.failures.remove(operation) {
            Some(code) => Err(Error::cri(
                operation,
                target,
                &tonic::Status::new(code, "injected by FakeRuntime"),
            )),
            None => Ok(()),
        }
    }
}

fn not_found(operation: &'static str, target: &str) -> Error {
    Error::cri(
        operation,
        target,
        &tonic::Status::not_found(format!("{target} not found")),
    )
}

/// An in-memory runtime that remembers every call and follows CRI's state rules.
#[derive(Debug, Default)]
pub struct FakeRuntime {
    state: Mutex<State>,
}

impl FakeRuntime {
    /// An empty runtime with no images.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Makes the image `name` present, as if pulled earlier.
    pub fn add_image(&self, name: &str) {
        let image = api::Image {
            id: format!("sha256:{}", hex_of(name)),
            repo_tags: vec![name.to_owned()],
            ..Default::default()
        };
        self.lock().images.insert(name.to_owned(), image);
    }

    /// Makes the next call of `operation` (a CRI method name, e.g. `StartContainer`) fail with `code`.
    pub fn fail_next(&self, operation: &'static str, code: tonic::Code) {
        self.lock().failures.insert(operation, code);
    }

    /// What every later `exec_sync` returns.
    pub fn set_exec_output(&self, output: ExecOutput) {
        self.lock().exec_output = output;
    }

    /// Makes a running container exit with `exit_code`, as if its process ended.
    pub fn exit_container(&self, id: &str, exit_code: i32) {
        let mut state = self.lock();
        if let Some(container) = state.containers.get_mut(id) {
            container.2 = api::ContainerState::ContainerExited;
            state.exit_codes.insert(id.to_owned(), exit_code);
        }
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }
}

fn hex_of(name: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(name.as_bytes()))
}

impl Runtime for FakeRuntime {
    async fn version(&self) -> Result<RuntimeVersion> {
        self.lock().enter(Call::Version, "Version", "")?;
        Ok(RuntimeVersion {
            runtime_name: "fake".into(),
            runtime_version: "0.0.0".into(),
            runtime_api_version: "v1".into(),
        })
    }

    async fn status(&self) -> Result<RuntimeHealth> {
        self.lock().enter(Call::Status, "Status", "")?;
        Ok(RuntimeHealth {
            runtime_ready: true,
            network_ready: true,
            problems: Vec::new(),
        })
    }

    async fn pull_image(&self, image: &str, _auth: Option<api::AuthConfig>) -> Result<String> {
        self.lock()
            .enter(Call::PullImage(image.into()), "PullImage", image)?;
        self.add_image(image);
        Ok(format!("sha256:{}", hex_of(image)))
    }

    async fn import_image(&self, archive: &Path, name: &str) -> Result<String> {
        self.lock().enter(
            Call::ImportImage(archive.to_owned(), name.into()),
            "ImportImage",
            name,
        )?;
        self.add_image(name);
        Ok(format!("sha256:{}", hex_of(name)))
    }

    async fn image_status(&self, name: &str) -> Result<Option<api::Image>> {
        let mut state = self.lock();
        state.enter(Call::ImageStatus(name.into()), "ImageStatus", name)?;
        Ok(state.images.get(name).cloned())
    }

    async fn list_images(&self) -> Result<Vec<api::Image>> {
        let mut state = self.lock();
        state.enter(Call::ListImages, "ListImages", "")?;
        Ok(state.images.values().cloned().collect())
    }

    async fn remove_image(&self, name: &str) -> Result<()> {
        let mut state = self.lock();
        state.enter(Call::RemoveImage(name.into()), "RemoveImage", name)?;
        state.images.remove(name);
        Ok(())
    }

    async fn run_pod_sandbox(&self, config: api::PodSandboxConfig) -> Result<String> {
        let mut state = self.lock();
        let name = config
            .metadata
            .as_ref()
            .map(|m| m.name.clone())
            .unwrap_or_default();
        state.enter(Call::RunPodSandbox(name.clone()), "RunPodSandbox", &name)?;
        let id = state.fresh_id("sandbox");
        state
            .sandboxes
            .insert(id.clone(), (config, api::PodSandboxState::SandboxReady));
        Ok(id)
    }

    async fn stop_pod_sandbox(&self, id: &str) -> Result<()> {
        let mut state = self.lock();
        state.enter(Call::StopPodSandbox(id.into()), "StopPodSandbox", id)?;
        if let Some(sandbox) = state.sandboxes.get_mut(id) {
            sandbox.1 = api::PodSandboxState::SandboxNotready;
        }
        for (sandbox_id, _, container_state) in state.containers.values_mut() {
            if sandbox_id == id && *container_state == api::ContainerState::ContainerRunning {
                *container_state = api::ContainerState::ContainerExited;
            }
        }
        Ok(())
    }

    async fn remove_pod_sandbox(&self, id: &str) -> Result<()> {
        let mut state = self.lock();
        state.enter(Call::RemovePodSandbox(id.into()), "RemovePodSandbox", id)?;
        state.sandboxes.remove(id);
        state
            .containers
            .retain(|_, (sandbox_id, _, _)| sandbox_id != id);
        Ok(())
    }

    async fn pod_sandbox_status(&self, id: &str) -> Result<api::PodSandboxStatus> {
        let mut state = self.lock();
        state.enter(Call::PodSandboxStatus(id.into()), "PodSandboxStatus", id)?;
        let (config, sandbox_state) = state
            .sandboxes
            .get(id)
            .ok_or_else(|| not_found("PodSandboxStatus", id))?;
        Ok(api::PodSandboxStatus {
            id: id.to_owned(),
            metadata: config.metadata.clone(),
            state: *sandbox_state as i32,
            labels: config.labels.clone(),
            annotations: config.annotations.clone(),
            ..Default::default()
        })
    }

    async fn list_pod_sandboxes(
        &self,
        _filter: Option<api::PodSandboxFilter>,
    ) -> Result<Vec<api::PodSandbox>> {
        let mut state = self.lock();
        state.enter(Call::ListPodSandboxes, "ListPodSandbox", "")?;
        Ok(state
            .sandboxes
            .iter()
            .map(|(id, (config, sandbox_state))| api::PodSandbox {
                id: id.clone(),
                metadata: config.metadata.clone(),
                state: *sandbox_state as i32,
                labels: config.labels.clone(),
                ..Default::default()
            })
            .collect())
    }

    async fn create_container(
        &self,
        sandbox_id: &str,
        config: api::ContainerConfig,
        _sandbox_config: api::PodSandboxConfig,
    ) -> Result<String> {
        let mut state = self.lock();
        let name = config
            .metadata
            .as_ref()
            .map(|m| m.name.clone())
            .unwrap_or_default();
        state.enter(
            Call::CreateContainer(sandbox_id.into(), name),
            "CreateContainer",
            sandbox_id,
        )?;
        if !state.sandboxes.contains_key(sandbox_id) {
            return Err(not_found("CreateContainer", sandbox_id));
        }
        let image = config
            .image
            .as_ref()
            .map(|i| i.image.clone())
            .unwrap_or_default();
        if !state.images.contains_key(&image) {
            return Err(not_found("CreateContainer", &image));
        }
        let id = state.fresh_id("container");
        state.containers.insert(
            id.clone(),
            (
                sandbox_id.to_owned(),
                config,
                api::ContainerState::ContainerCreated,
            ),
        );
        Ok(id)
    }

    async fn start_container(&self, id: &str) -> Result<()> {
        let mut state = self.lock();
        state.enter(Call::StartContainer(id.into()), "StartContainer", id)?;
        let container = state
            .containers
            .get_mut(id)
            .ok_or_else(|| not_found("StartContainer", id))?;
        container.2 = api::ContainerState::ContainerRunning;
        Ok(())
    }

    async fn stop_container(&self, id: &str, grace: Duration) -> Result<()> {
        let mut state = self.lock();
        state.enter(Call::StopContainer(id.into(), grace), "StopContainer", id)?;
        if let Some(container) = state.containers.get_mut(id) {
            container.2 = api::ContainerState::ContainerExited;
        }
        Ok(())
    }

    async fn remove_container(&self, id: &str) -> Result<()> {
        let mut state = self.lock();
        state.enter(Call::RemoveContainer(id.into()), "RemoveContainer", id)?;
        state.containers.remove(id);
        Ok(())
    }

    async fn list_containers(
        &self,
        filter: Option<api::ContainerFilter>,
    ) -> Result<Vec<api::Container>> {
        let mut state = self.lock();
        state.enter(Call::ListContainers, "ListContainers", "")?;
        let sandbox = filter.map(|f| f.pod_sandbox_id).unwrap_or_default();
        Ok(state
            .containers
            .iter()
            .filter(|(_, (sandbox_id, _, _))| sandbox.is_empty() || *sandbox_id == sandbox)
            .map(
                |(id, (sandbox_id, config, container_state))| api::Container {
                    id: id.clone(),
                    pod_sandbox_id: sandbox_id.clone(),
                    metadata: config.metadata.clone(),
                    image: config.image.clone(),
                    state: *container_state as i32,
                    labels: config.labels.clone(),
                    ..Default::default()
                },
            )
            .collect())
    }

    async fn container_status(&self, id: &str) -> Result<api::ContainerStatus> {
        let mut state = self.lock();
        state.enter(Call::ContainerStatus(id.into()), "ContainerStatus", id)?;
        let (_, config, container_state) = state
            .containers
            .get(id)
            .ok_or_else(|| not_found("ContainerStatus", id))?;
        Ok(api::ContainerStatus {
            id: id.to_owned(),
            metadata: config.metadata.clone(),
            state: *container_state as i32,
            image: config.image.clone(),
            labels: config.labels.clone(),
            log_path: config.log_path.clone(),
            exit_code: state.exit_codes.get(id).copied().unwrap_or_default(),
            ..Default::default()
        })
    }

    async fn exec_sync(&self, id: &str, cmd: &[String], _timeout: Duration) -> Result<ExecOutput> {
        let mut state = self.lock();
        state.enter(Call::ExecSync(id.into(), cmd.to_vec()), "ExecSync", id)?;
        match state.containers.get(id) {
            Some((_, _, api::ContainerState::ContainerRunning)) => Ok(state.exec_output.clone()),
            Some(_) => Err(Error::cri(
                "ExecSync",
                id,
                &tonic::Status::failed_precondition("container is not running"),
            )),
            None => Err(not_found("ExecSync", id)),
        }
    }

    async fn list_container_stats(
        &self,
        _filter: Option<api::ContainerStatsFilter>,
    ) -> Result<Vec<api::ContainerStats>> {
        let mut state = self.lock();
        state.enter(Call::ListContainerStats, "ListContainerStats", "")?;
        Ok(state
            .containers
            .iter()
            .filter(|(_, (_, _, s))| *s == api::ContainerState::ContainerRunning)
            .map(|(id, (_, config, _))| api::ContainerStats {
                attributes: Some(api::ContainerAttributes {
                    id: id.clone(),
                    metadata: config.metadata.clone(),
                    labels: config.labels.clone(),
                    annotations: config.annotations.clone(),
                }),
                ..Default::default()
            })
            .collect())
    }

    async fn reopen_container_log(&self, id: &str) -> Result<()> {
        let mut state = self.lock();
        state.enter(
            Call::ReopenContainerLog(id.into()),
            "ReopenContainerLog",
            id,
        )?;
        match state.containers.get(id) {
            Some(_) => Ok(()),
            None => Err(not_found("ReopenContainerLog", id)),
        }
    }
}
