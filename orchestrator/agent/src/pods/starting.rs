//! Starting a container instance: image per pull policy (ErrImagePull, ImagePullBackOff), env
//! and mounts (CreateContainerConfigError), create and start; and restarts after the
//! CrashLoopBackOff delay.

use std::time::Duration;

use clusterd_cri::Runtime;
use k8s_openapi::api::core::v1::Container;
use tokio::time::Instant;

use super::env::{container_env, Objects};
use super::events::{self, EventType};
use super::images::{ensure_image, pull_auth, pull_policy};
use super::runtime_config::container_config;
use super::state::Observed;
use super::volumes;
use super::worker::{now_nanos, PodWorker};

impl<R: Runtime + 'static> PodWorker<R> {
    /// Restarts an exited container once its CrashLoopBackOff delay passed.
    pub(super) async fn restart_with_backoff(&mut self, spec: &Container) {
        let pod = format!(
            "{}_{}({})",
            self.pod.metadata.name.as_deref().unwrap_or_default(),
            self.pod.metadata.namespace.as_deref().unwrap_or_default(),
            self.uid()
        );
        let now = Instant::now();
        let record = self
            .records
            .get_mut(&spec.name)
            .expect("record per container");
        if !record.exit_counted {
            let ran_for = match record.exited() {
                Some(t) if t.finished_at > t.started_at && t.started_at > 0 => {
                    Duration::from_nanos((t.finished_at - t.started_at) as u64)
                }
                _ => Duration::ZERO,
            };
            let delay = record.restart_backoff.failed(now, ran_for);
            record.exit_counted = true;
            if !delay.is_zero() {
                self.event(
                    Some(&spec.name),
                    EventType::Warning,
                    "BackOff",
                    format!(
                        "Back-off restarting failed container {} in pod {pod}",
                        spec.name
                    ),
                );
            }
        }
        let record = self
            .records
            .get_mut(&spec.name)
            .expect("record per container");
        if record.restart_backoff.waiting(now) {
            let delay = record.restart_backoff.delay().as_secs();
            record.waiting = Some((
                "CrashLoopBackOff".into(),
                format!(
                    "back-off {delay}s restarting failed container={} pod={pod}",
                    spec.name
                ),
            ));
            return;
        }
        self.start(spec).await;
    }

    /// Pulls the image and creates and starts a new instance of `spec`.
    pub(super) async fn start(&mut self, spec: &Container) {
        let key = self.key();
        let (client, node, pod) = (
            self.client.clone(),
            self.config.node_name.clone(),
            self.pod.clone(),
        );
        let emit = |kind, reason: &str, message: String| {
            events::record(
                &client,
                &node,
                &pod,
                Some(&spec.name),
                kind,
                reason,
                message,
            );
        };
        let namespace = self.pod.metadata.namespace.clone().unwrap_or_default();
        let now = Instant::now();
        let image = spec.image.clone().unwrap_or_default();
        {
            let record = self
                .records
                .get_mut(&spec.name)
                .expect("record per container");
            if record.pull_backoff.waiting(now) {
                // ErrImageNeverPull stays as it is; a failed pull becomes ImagePullBackOff.
                if let Some((_, message)) = record.waiting.clone().filter(|w| w.0 == "ErrImagePull")
                {
                    record.waiting = Some((
                        "ImagePullBackOff".into(),
                        format!("Back-off pulling image \"{image}\": {message}"),
                    ));
                    emit(
                        EventType::Normal,
                        "BackOff",
                        format!("Back-off pulling image \"{image}\""),
                    );
                }
                return;
            }
        }
        let mut objects = Objects::new(self.client.clone(), &namespace);
        let auth = pull_auth(&mut objects, &self.pod, &image).await;
        let image_id = match ensure_image(self.runtime.as_ref(), &image, &pull_policy(spec), auth)
            .await
        {
            Ok((id, pulled)) => {
                let message = if pulled {
                    format!("Successfully pulled image \"{image}\"")
                } else {
                    format!("Container image \"{image}\" already present on machine")
                };
                emit(EventType::Normal, "Pulled", message);
                id
            }
            Err(problem) => {
                emit(EventType::Warning, "Failed", problem.message.clone());
                tracing::info!(pod = %key, container = %spec.name, reason = problem.reason, message = %problem.message, "image not available");
                let record = self
                    .records
                    .get_mut(&spec.name)
                    .expect("record per container");
                record.pull_backoff.failed(now, Duration::ZERO);
                record.waiting = Some((problem.reason.into(), problem.message));
                return;
            }
        };
        let sandbox = self.sandbox.clone().expect("sandbox before containers");
        let env = match container_env(
            &mut objects,
            &self.config,
            &self.pod,
            spec,
            &sandbox.ip,
            self.node,
        )
        .await
        {
            Ok(env) => env,
            Err(error) => {
                let record = self
                    .records
                    .get_mut(&spec.name)
                    .expect("record per container");
                emit(EventType::Warning, "Failed", format!("Error: {error}"));
                record.waiting = Some(("CreateContainerConfigError".into(), error.to_string()));
                return;
            }
        };
        let mounts = match volumes::container_mounts(
            spec,
            self.volumes.as_ref().expect("volumes before containers"),
            &key,
        ) {
            Ok(mounts) => mounts,
            Err(error) => {
                let record = self
                    .records
                    .get_mut(&spec.name)
                    .expect("record per container");
                emit(EventType::Warning, "Failed", format!("Error: {error}"));
                record.waiting = Some(("CreateContainerConfigError".into(), error.to_string()));
                return;
            }
        };
        let record = self
            .records
            .get_mut(&spec.name)
            .expect("record per container");
        let attempt = if record.id.is_some() {
            record.restart_count + 1
        } else {
            record.restart_count
        };
        let config = container_config(&self.pod, spec, &image, &env, mounts, attempt);
        let created = self
            .runtime
            .create_container(&sandbox.id, config, sandbox.config.clone())
            .await;
        let id = match created {
            Ok(id) => id,
            Err(error) => {
                emit(EventType::Warning, "Failed", format!("Error: {error}"));
                record.waiting = Some(("CreateContainerError".into(), error.to_string()));
                record.pull_backoff.failed(now, Duration::ZERO);
                return;
            }
        };
        // The instance before the previous one goes; the previous one stays for `logs --previous`.
        if let Some(old) = record.previous_id.take() {
            let _ = self.runtime.remove_container(&old).await;
        }
        if let Some(previous) = record.id.replace(id.clone()) {
            if let Observed::Exited(t) = &record.observed {
                record.last_terminated = Some(t.clone());
            }
            record.previous_id = Some(previous);
            record.restart_count = attempt;
        }
        record.observed = Observed::Created;
        record.exit_counted = false;
        record.image_id = image_id;
        record.waiting = None;
        self.probes.reset(&spec.name);
        emit(
            EventType::Normal,
            "Created",
            format!("Created container: {}", spec.name),
        );
        match self.runtime.start_container(&id).await {
            Ok(()) => {
                emit(
                    EventType::Normal,
                    "Started",
                    format!("Started container {}", spec.name),
                );
                record.observed = Observed::Running(now_nanos());
                let has_readiness = spec.readiness_probe.is_some();
                let has_startup = spec.startup_probe.is_some();
                record.ready = !has_readiness && !has_startup;
                record.started = !has_startup;
                tracing::debug!(pod = %key, container = %spec.name, %id, attempt, "container started");
            }
            Err(error) => {
                emit(EventType::Warning, "Failed", format!("Error: {error}"));
                record.waiting = Some(("RunContainerError".into(), error.to_string()));
            }
        }
    }
}
