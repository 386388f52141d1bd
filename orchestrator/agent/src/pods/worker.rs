//! One pod's worker: drives the pod through [`PodState`] against the runtime, level-triggered
//! like kubelet's `syncPod` — every sync compares the spec with what the runtime reports, so a
//! restarted agent continues from whatever it finds (re-adoption) instead of starting over.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use clusterd_cri::{api, Runtime};
use k8s_openapi::api::core::v1::{Container, Pod};
use kube::api::{Api, Patch, PatchParams};
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio::time::Instant;

use super::backoff::Backoff;
use super::env::Objects;
use super::events::{self, EventType};
use super::probes::{ProbeKind, Probes};
use super::runtime_config::{host_network, log_directory, sandbox_config};
use super::state::{observe, unknown_exit, ContainerRecord, Observed, PodState};
use super::status::{now, pod_status, StatusInput};
use super::volumes::{self, VolumeContext, VolumePaths};
use crate::{AgentConfig, Error, Result};

/// The pod's sandbox.
#[derive(Debug, Clone)]
pub struct Sandbox {
    /// Its runtime id.
    pub id: String,
    /// The pod IP (empty for hostNetwork pods).
    pub ip: String,
    /// The config it was created with (containers are created against it).
    pub config: api::PodSandboxConfig,
}

/// Whether the worker goes on after a sync.
#[derive(Debug, PartialEq, Eq)]
enum Flow {
    Continue,
    Done,
}

/// The worker of one pod on this node.
pub struct PodWorker<R> {
    pub(super) client: kube::Client,
    pub(super) config: Arc<AgentConfig>,
    pub(super) runtime: Arc<R>,
    pub(super) node: (u64, u64),
    pub(super) pod: Pod,
    pub(super) updates: watch::Receiver<Option<Pod>>,
    pub(super) state: PodState,
    pub(super) sandbox: Option<Sandbox>,
    pub(super) volumes: Option<VolumePaths>,
    pub(super) records: BTreeMap<String, ContainerRecord>,
    pub(super) probes: Probes,
    pub(super) start_time: String,
    pub(super) transitions: BTreeMap<String, (String, String)>,
    pub(super) last_posted: Option<Value>,
    pub(super) message: Option<String>,
    pub(super) sandbox_attempt: u32,
    volumes_rendered: Option<Instant>,
}

impl<R> std::fmt::Debug for PodWorker<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PodWorker")
            .field("pod", &self.pod.metadata.name)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

pub(super) fn spec_containers(pod: &Pod) -> (Vec<Container>, Vec<Container>) {
    let spec = pod.spec.clone().unwrap_or_default();
    (spec.init_containers.unwrap_or_default(), spec.containers)
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

pub(super) fn is_sidecar(container: &Container) -> bool {
    container.restart_policy.as_deref() == Some("Always")
}

pub(super) fn now_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or_default()
}

impl<R: Runtime + 'static> PodWorker<R> {
    /// A worker for `pod`, fed later versions (or `None` when it vanished) through `updates`.
    pub fn new(
        client: kube::Client,
        config: Arc<AgentConfig>,
        runtime: Arc<R>,
        node: (u64, u64),
        pod: Pod,
        updates: watch::Receiver<Option<Pod>>,
    ) -> Self {
        let mut pod = pod;
        volumes::inject_service_account_volume(&mut pod);
        let backoff = Backoff::new(config.initial_backoff, config.max_backoff);
        let (init, main) = spec_containers(&pod);
        let records = init
            .iter()
            .chain(main.iter())
            .map(|c| {
                (
                    c.name.clone(),
                    ContainerRecord::new(&c.name, backoff.clone()),
                )
            })
            .collect();
        let start_time = pod
            .status
            .as_ref()
            .and_then(|s| s.start_time.as_ref())
            .map(|t| t.0.to_string())
            .unwrap_or_else(now);
        PodWorker {
            client,
            config,
            runtime,
            node,
            pod,
            updates,
            state: PodState::Preparing,
            sandbox: None,
            volumes: None,
            records,
            probes: Probes::default(),
            start_time,
            transitions: BTreeMap::new(),
            last_posted: None,
            message: None,
            sandbox_attempt: 0,
            volumes_rendered: None,
        }
    }

    /// `namespace/name` of the pod.
    pub fn key(&self) -> String {
        format!(
            "{}/{}",
            self.pod.metadata.namespace.as_deref().unwrap_or_default(),
            self.pod.metadata.name.as_deref().unwrap_or_default()
        )
    }

    pub(super) fn uid(&self) -> String {
        self.pod.metadata.uid.clone().unwrap_or_default()
    }

    /// Runs until the pod is deleted or vanished, or the agent stops (which leaves it running).
    pub async fn run(mut self, adopted_sandboxes: Vec<String>) {
        if !adopted_sandboxes.is_empty() {
            if let Err(error) = self.adopt(adopted_sandboxes).await {
                tracing::warn!(pod = %self.key(), %error, "re-adopting the pod's containers failed");
            }
        }
        loop {
            match self.sync().await {
                Ok(Flow::Done) => return,
                Ok(Flow::Continue) => {}
                Err(error) => {
                    tracing::warn!(pod = %self.key(), %error, "pod sync failed; retrying")
                }
            }
            let wakeup = self.next_wakeup();
            tokio::select! {
                changed = self.updates.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let latest = self.updates.borrow_and_update().clone();
                    match latest {
                        Some(mut pod) => {
                            volumes::inject_service_account_volume(&mut pod);
                            self.pod = pod;
                        }
                        None => {
                            self.remove_everything(Duration::from_secs(2)).await;
                            tracing::info!(pod = %self.key(), "pod vanished from the API; removed its containers");
                            return;
                        }
                    }
                }
                _ = tokio::time::sleep(wakeup) => {}
            }
        }
    }

    fn next_wakeup(&self) -> Duration {
        let mut wake = self.config.sync_interval;
        let now = Instant::now();
        for record in self.records.values() {
            for until in [record.restart_backoff.until(), record.pull_backoff.until()]
                .into_iter()
                .flatten()
            {
                if until > now {
                    wake = wake.min(until - now + Duration::from_millis(10));
                }
            }
        }
        wake.min(self.probes.next_due(now))
    }

    /// One pass: compare the spec with the runtime and act, then report the status.
    async fn sync(&mut self) -> Result<Flow> {
        if self.pod.metadata.deletion_timestamp.is_some() {
            self.terminate().await?;
            return Ok(Flow::Done);
        }
        if let PodState::Finished(_) = self.state {
            self.post_status().await?;
            return Ok(Flow::Continue);
        }
        self.check_sandbox().await;
        let refresh_due = self
            .volumes_rendered
            .is_some_and(|at| at.elapsed() >= self.config.volume_refresh_interval);
        if self.volumes.is_none() || self.sandbox.is_none() || refresh_due {
            if let Err(error) = self.prepare().await {
                self.message = Some(error.to_string());
                for record in self.records.values_mut() {
                    if matches!(error, Error::Invalid { .. } | Error::NotBuilt(_))
                        && record.id.is_none()
                    {
                        record.waiting =
                            Some(("CreateContainerConfigError".into(), error.to_string()));
                    }
                }
                self.post_status().await?;
                return Err(error);
            }
            self.message = None;
        }
        self.refresh().await;
        self.run_probes().await;
        let (init, main) = spec_containers(&self.pod);
        let initialized = self.sync_init_containers(&init).await;
        match initialized {
            Some(true) => {
                self.state = PodState::Running;
                for spec in &main {
                    self.sync_container(spec, false).await;
                }
            }
            Some(false) => self.state = PodState::Initializing,
            None => {}
        }
        let phase = self.phase(&init, &main);
        if matches!(phase, "Succeeded" | "Failed") {
            self.state = PodState::Finished(phase == "Succeeded");
            self.finish().await;
        }
        self.post_status().await?;
        Ok(Flow::Continue)
    }

    /// A sandbox that stopped under the pod (its pause process died, or the node rebooted) is
    /// replaced: the old one goes with its containers, which then restart in a new sandbox.
    async fn check_sandbox(&mut self) {
        let Some(sandbox) = &self.sandbox else { return };
        let alive = match self.runtime.pod_sandbox_status(&sandbox.id).await {
            Ok(status) => status.state == api::PodSandboxState::SandboxReady as i32,
            Err(e) => !e.is_not_found(),
        };
        if alive {
            return;
        }
        tracing::warn!(pod = %self.key(), sandbox = %sandbox.id, "the pod sandbox stopped; recreating it");
        let id = sandbox.id.clone();
        self.event(
            None,
            EventType::Normal,
            "SandboxChanged",
            "Pod sandbox changed, it will be killed and re-created.".into(),
        );
        let _ = self.runtime.stop_pod_sandbox(&id).await;
        let _ = self.runtime.remove_pod_sandbox(&id).await;
        self.sandbox = None;
        self.sandbox_attempt += 1;
        for record in self.records.values_mut() {
            if let Some(id) = &record.id {
                if !matches!(record.observed, Observed::Exited(_)) {
                    record.observed = Observed::Exited(unknown_exit(id));
                }
                record.previous_id = None;
                record.ready = false;
                record.started = false;
            }
        }
    }

    /// Volumes, then the sandbox.
    async fn prepare(&mut self) -> Result<()> {
        let namespace = self.pod.metadata.namespace.clone().unwrap_or_default();
        if self.sandbox.is_none() {
            let log_dir = log_directory(&self.config, &self.pod);
            std::fs::create_dir_all(&log_dir)
                .map_err(|e| Error::io("create pod log directory", &log_dir, e))?;
            let config = sandbox_config(&self.config, &self.pod, self.sandbox_attempt);
            let id = self
                .runtime
                .run_pod_sandbox(config.clone())
                .await
                .map_err(|e| Error::runtime("run pod sandbox", self.key(), e))?;
            let status = self
                .runtime
                .pod_sandbox_status(&id)
                .await
                .map_err(|e| Error::runtime("read pod sandbox status", self.key(), e))?;
            let ip = if host_network(&self.pod) {
                self.config.node_ip.to_string()
            } else {
                status.network.map(|n| n.ip).unwrap_or_default()
            };
            tracing::debug!(pod = %self.key(), sandbox = %id, %ip, "sandbox ready");
            self.sandbox = Some(Sandbox { id, ip, config });
        }
        let stale = self
            .volumes_rendered
            .is_none_or(|at| at.elapsed() >= self.config.volume_refresh_interval);
        if self.volumes.is_none() || stale {
            let mut objects = Objects::new(self.client.clone(), &namespace);
            let pod_ip = self
                .sandbox
                .as_ref()
                .map(|s| s.ip.clone())
                .unwrap_or_default();
            let mut ctx = VolumeContext {
                client: &self.client,
                objects: &mut objects,
                config: &self.config,
                pod_ip: &pod_ip,
                node: self.node,
            };
            match volumes::prepare(&mut ctx, &self.pod).await {
                Ok(paths) => self.volumes = Some(paths),
                // Running containers keep the files they have.
                Err(error) if self.volumes.is_some() => {
                    tracing::warn!(pod = %self.key(), %error, "refreshing the pod's volumes failed");
                }
                Err(error) => return Err(error),
            }
            self.volumes_rendered = Some(Instant::now());
        }
        Ok(())
    }

    /// Reads every current instance's state from the runtime.
    pub(super) async fn refresh(&mut self) {
        for record in self.records.values_mut() {
            let Some(id) = record.id.clone() else {
                continue;
            };
            match self.runtime.container_status(&id).await {
                Ok(status) => {
                    let mut observed = observe(&status);
                    if let Observed::Running(0) = observed {
                        // The runtime gave no start time: keep the one first seen.
                        observed = match record.observed {
                            Observed::Running(t) => Observed::Running(t),
                            _ => Observed::Running(now_nanos()),
                        };
                    }
                    if !status.image_ref.is_empty() {
                        record.image_id = status.image_ref.clone();
                    }
                    if !matches!(observed, Observed::Running(_)) {
                        record.ready = false;
                        record.started = false;
                    }
                    record.observed = observed;
                }
                Err(e) if e.is_not_found() => {
                    if !matches!(record.observed, Observed::Exited(_)) {
                        record.observed = Observed::Exited(unknown_exit(&id));
                    }
                }
                Err(error) => {
                    tracing::warn!(container = %id, %error, "reading the container status failed")
                }
            }
        }
    }

    /// Init containers in order: `Some(true)` when all completed (sidecars running), `Some(false)`
    /// while one is still running or waiting, `None` when the pod failed.
    async fn sync_init_containers(&mut self, init: &[Container]) -> Option<bool> {
        let never = self.restart_policy() == "Never";
        for spec in init {
            let sidecar = is_sidecar(spec);
            let record = &self.records[&spec.name];
            match &record.observed {
                Observed::Absent => {
                    self.start(spec).await;
                    let record = &self.records[&spec.name];
                    if !(sidecar && record.running() && record.started) {
                        return Some(false);
                    }
                }
                Observed::Created => return Some(false),
                Observed::Running(_) => {
                    if !(sidecar && record.started) {
                        return Some(false);
                    }
                }
                Observed::Exited(t) => {
                    if !sidecar && t.exit_code == 0 {
                        continue;
                    }
                    if !sidecar && never {
                        return None;
                    }
                    self.restart_with_backoff(spec).await;
                    return Some(false);
                }
            }
        }
        Some(true)
    }

    /// A regular container: start it, or restart it per the restart policy.
    async fn sync_container(&mut self, spec: &Container, _init: bool) {
        let policy = self.restart_policy();
        let record = &self.records[&spec.name];
        match &record.observed {
            Observed::Absent => self.start(spec).await,
            Observed::Created | Observed::Running(_) => {
                if self.probes.failed(&spec.name, ProbeKind::Liveness)
                    || self.probes.failed(&spec.name, ProbeKind::Startup)
                {
                    let id = record.id.clone().unwrap_or_default();
                    tracing::info!(pod = %self.key(), container = %spec.name, "liveness probe failed; restarting the container");
                    let probe = if self.probes.failed(&spec.name, ProbeKind::Startup) {
                        "startup"
                    } else {
                        "liveness"
                    };
                    self.event(
                        Some(&spec.name),
                        EventType::Warning,
                        "Unhealthy",
                        format!("{} probe failed", capitalized(probe)),
                    );
                    self.event(
                        Some(&spec.name),
                        EventType::Normal,
                        "Killing",
                        format!(
                            "Container {} failed {probe} probe, will be restarted",
                            spec.name
                        ),
                    );
                    let grace = self.grace_period();
                    let _ = self.runtime.stop_container(&id, grace).await;
                    self.probes.reset(&spec.name);
                }
            }
            Observed::Exited(t) => {
                let restart = policy == "Always" || (policy == "OnFailure" && t.exit_code != 0);
                if restart {
                    self.restart_with_backoff(spec).await;
                }
            }
        }
    }

    /// Records an event about the pod (or one of its containers).
    pub(super) fn event(
        &self,
        container: Option<&str>,
        kind: EventType,
        reason: &str,
        message: String,
    ) {
        events::record(
            &self.client,
            &self.config.node_name,
            &self.pod,
            container,
            kind,
            reason,
            message,
        );
    }

    fn restart_policy(&self) -> String {
        self.pod
            .spec
            .as_ref()
            .and_then(|s| s.restart_policy.clone())
            .unwrap_or_else(|| "Always".into())
    }

    pub(super) fn grace_period(&self) -> Duration {
        let seconds = self
            .pod
            .metadata
            .deletion_grace_period_seconds
            .or(self
                .pod
                .spec
                .as_ref()
                .and_then(|s| s.termination_grace_period_seconds))
            .unwrap_or(30);
        Duration::from_secs(seconds.max(0) as u64)
    }

    /// The phase from the containers' states, by kubelet's rules.
    fn phase(&self, init: &[Container], main: &[Container]) -> &'static str {
        let policy = self.restart_policy();
        for spec in init.iter().filter(|c| !is_sidecar(c)) {
            let record = &self.records[&spec.name];
            if let Some(t) = record.exited() {
                if t.exit_code != 0 && policy == "Never" {
                    return "Failed";
                }
            }
        }
        if self.state != PodState::Running {
            return "Pending";
        }
        let (mut waiting, mut running, mut stopped, mut succeeded) = (0, 0, 0, 0);
        for spec in main {
            let record = &self.records[&spec.name];
            match (&record.observed, &record.last_terminated) {
                (Observed::Running(_), _) => running += 1,
                (Observed::Exited(t), _) | (Observed::Absent | Observed::Created, Some(t)) => {
                    stopped += 1;
                    if t.exit_code == 0 {
                        succeeded += 1;
                    }
                }
                _ => waiting += 1,
            }
        }
        if waiting > 0 {
            "Pending"
        } else if running > 0 {
            "Running"
        } else if stopped > 0 {
            if policy == "Always" {
                "Running"
            } else if stopped == succeeded {
                "Succeeded"
            } else if policy == "Never" {
                "Failed"
            } else {
                "Running"
            }
        } else {
            "Pending"
        }
    }

    /// Writes the status through `pods/status` when it changed.
    async fn post_status(&mut self) -> Result<()> {
        let phase = match self.state {
            PodState::Finished(true) => "Succeeded",
            PodState::Finished(false) => "Failed",
            _ => {
                let (init, main) = spec_containers(&self.pod);
                self.phase(&init, &main)
            }
        };
        let host_ip = self.config.node_ip.to_string();
        let input = StatusInput {
            pod: &self.pod,
            state: self.state,
            phase,
            pod_ip: self.sandbox.as_ref().map(|s| s.ip.as_str()),
            host_ip: &host_ip,
            start_time: &self.start_time,
            sandbox_ready: self.sandbox.is_some() && !matches!(self.state, PodState::Finished(_)),
            records: &self.records,
            message: self.message.as_deref(),
        };
        let status = pod_status(&input, &mut self.transitions);
        if self.last_posted.as_ref() == Some(&status) {
            return Ok(());
        }
        let api: Api<Pod> = Api::namespaced(
            self.client.clone(),
            self.pod.metadata.namespace.as_deref().unwrap_or_default(),
        );
        let name = self.pod.metadata.name.clone().unwrap_or_default();
        let body = json!({ "status": status });
        match api
            .patch_status(&name, &PatchParams::default(), &Patch::Merge(&body))
            .await
        {
            Ok(pod) => {
                if pod.metadata.uid == self.pod.metadata.uid {
                    self.pod.status = pod.status;
                }
                self.last_posted = Some(status);
                Ok(())
            }
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(Error::api(
                "update pod status",
                format!("pod {}", self.key()),
                e,
            )),
        }
    }

    /// Runs the probes that are due and records their results.
    async fn run_probes(&mut self) {
        let (init, main) = spec_containers(&self.pod);
        let pod_ip = self
            .sandbox
            .as_ref()
            .map(|s| s.ip.clone())
            .unwrap_or_default();
        for spec in init.iter().filter(|c| is_sidecar(c)).chain(main.iter()) {
            let Some(record) = self.records.get_mut(&spec.name) else {
                continue;
            };
            let Observed::Running(started) = record.observed else {
                continue;
            };
            let id = record.id.clone().unwrap_or_default();
            let outcome = self
                .probes
                .run_due(self.runtime.as_ref(), spec, &id, &pod_ip, started)
                .await;
            if let Some(started) = outcome.started {
                record.started = started;
            }
            if let Some(ready) = outcome.ready {
                record.ready = ready && record.started;
            } else if spec.readiness_probe.is_none() {
                record.ready = record.started;
            }
        }
    }
}
