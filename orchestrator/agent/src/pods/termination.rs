//! Ending a pod: finished pods release their sandbox; deleted pods get preStop hooks, SIGTERM,
//! the grace period and SIGKILL, lose their sandbox and files, and are deleted from the API.

use std::time::Duration;

use clusterd_cri::Runtime;
use k8s_openapi::api::core::v1::{Container, Pod};
use kube::api::{Api, DeleteParams, Preconditions};
use tokio::time::Instant;

use super::events::EventType;
use super::runtime_config::log_directory;
use super::state::PodState;
use super::volumes;
use super::worker::{is_sidecar, spec_containers, PodWorker};
use crate::{Error, Result};

impl<R: Runtime + 'static> PodWorker<R> {
    /// A finished pod: its sidecars stop and its sandbox goes (the IP is released).
    pub(super) async fn finish(&mut self) {
        let grace = self.grace_period();
        let ids: Vec<String> = self
            .records
            .values()
            .filter(|r| r.running())
            .filter_map(|r| r.id.clone())
            .collect();
        for id in ids {
            let _ = self.runtime.stop_container(&id, grace).await;
        }
        if let Some(sandbox) = &self.sandbox {
            let _ = self.runtime.stop_pod_sandbox(&sandbox.id).await;
        }
        self.refresh().await;
        tracing::info!(pod = %self.key(), state = ?self.state, "pod finished");
    }

    /// Graceful deletion: preStop hooks, SIGTERM, the grace period, SIGKILL, removal, then the
    /// pod object is deleted for good (grace 0, only this uid).
    pub(super) async fn terminate(&mut self) -> Result<()> {
        self.state = PodState::Terminating;
        let grace = self.grace_period();
        tracing::info!(pod = %self.key(), grace = ?grace, "terminating pod");
        self.stop_all(grace).await;
        self.remove_everything(Duration::ZERO).await;
        let api: Api<Pod> = Api::namespaced(
            self.client.clone(),
            self.pod.metadata.namespace.as_deref().unwrap_or_default(),
        );
        let params = DeleteParams {
            grace_period_seconds: Some(0),
            preconditions: Some(Preconditions {
                uid: self.pod.metadata.uid.clone(),
                resource_version: None,
            }),
            ..Default::default()
        };
        let name = self.pod.metadata.name.clone().unwrap_or_default();
        match api.delete(&name, &params).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Ok(()),
            Err(e) => Err(Error::api(
                "delete terminated pod",
                format!("pod {}", self.key()),
                e,
            )),
        }
    }

    /// Stops the regular containers together (preStop first), then the sidecars in reverse order.
    pub(super) async fn stop_all(&mut self, grace: Duration) {
        let deadline = Instant::now() + grace;
        let (init, main) = spec_containers(&self.pod);
        let pod_ip = self
            .sandbox
            .as_ref()
            .map(|s| s.ip.clone())
            .unwrap_or_default();
        let running: Vec<(Container, String)> = main
            .iter()
            .filter_map(|c| {
                let r = self.records.get(&c.name)?;
                r.running()
                    .then(|| (c.clone(), r.id.clone().unwrap_or_default()))
            })
            .collect();
        for (spec, _) in &running {
            self.event(
                Some(&spec.name),
                EventType::Normal,
                "Killing",
                format!("Stopping container {}", spec.name),
            );
        }
        let stops = running.iter().map(|(spec, id)| {
            super::probes::stop_with_pre_stop(self.runtime.as_ref(), spec, id, &pod_ip, deadline)
        });
        futures_util::future::join_all(stops).await;
        for spec in init.iter().rev().filter(|c| is_sidecar(c)) {
            if let Some(id) = self
                .records
                .get(&spec.name)
                .filter(|r| r.running())
                .and_then(|r| r.id.clone())
            {
                super::probes::stop_with_pre_stop(
                    self.runtime.as_ref(),
                    spec,
                    &id,
                    &pod_ip,
                    deadline,
                )
                .await;
            }
        }
    }

    /// Stops whatever still runs, removes the sandbox (and with it the containers) and the
    /// pod's files.
    pub(super) async fn remove_everything(&mut self, grace: Duration) {
        if !grace.is_zero() {
            self.stop_all(grace).await;
        }
        if let Some(sandbox) = self.sandbox.take() {
            if let Err(error) = self.runtime.stop_pod_sandbox(&sandbox.id).await {
                tracing::warn!(pod = %self.key(), %error, "stopping the sandbox failed");
            }
            if let Err(error) = self.runtime.remove_pod_sandbox(&sandbox.id).await {
                tracing::warn!(pod = %self.key(), %error, "removing the sandbox failed");
            }
        }
        volumes::cleanup(&self.config, &self.uid());
        let _ = std::fs::remove_dir_all(log_directory(&self.config, &self.pod));
    }
}
