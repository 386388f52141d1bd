//! Re-adoption: a restarted agent takes over the sandbox and containers its predecessor left
//! for a pod (found by the `io.kubernetes.pod.uid` label), so nothing restarts.

use std::collections::BTreeMap;

use clusterd_cri::{api, Runtime};

use super::runtime_config::sandbox_config;
use super::state::{observe, Observed};
use super::worker::{PodWorker, Sandbox};
use crate::{Error, Result};

impl<R: Runtime + 'static> PodWorker<R> {
    /// Takes over the sandbox and containers a previous agent left for this pod.
    pub(super) async fn adopt(&mut self, mut sandboxes: Vec<String>) -> Result<()> {
        let mut ready = None;
        for id in &sandboxes {
            if let Ok(status) = self.runtime.pod_sandbox_status(id).await {
                if status.state == api::PodSandboxState::SandboxReady as i32
                    && ready
                        .as_ref()
                        .is_none_or(|(_, created, _)| status.created_at > *created)
                {
                    let ip = status
                        .network
                        .as_ref()
                        .map(|n| n.ip.clone())
                        .unwrap_or_default();
                    ready = Some((id.clone(), status.created_at, ip));
                }
            }
        }
        let Some((id, _, ip)) = ready else {
            // Nothing usable: start over with a new sandbox.
            for id in sandboxes {
                let _ = self.runtime.stop_pod_sandbox(&id).await;
                let _ = self.runtime.remove_pod_sandbox(&id).await;
            }
            return Ok(());
        };
        sandboxes.retain(|s| *s != id);
        for other in sandboxes {
            let _ = self.runtime.stop_pod_sandbox(&other).await;
            let _ = self.runtime.remove_pod_sandbox(&other).await;
        }
        let containers = self
            .runtime
            .list_containers(Some(api::ContainerFilter {
                pod_sandbox_id: id.clone(),
                ..Default::default()
            }))
            .await
            .map_err(|e| Error::runtime("list containers", self.key(), e))?;
        let mut by_name: BTreeMap<String, Vec<(u32, String)>> = BTreeMap::new();
        for c in containers {
            let meta = c.metadata.unwrap_or_default();
            by_name
                .entry(meta.name)
                .or_default()
                .push((meta.attempt, c.id));
        }
        for (name, mut instances) in by_name {
            instances.sort();
            let Some(record) = self.records.get_mut(&name) else {
                for (_, id) in instances {
                    let _ = self.runtime.remove_container(&id).await;
                }
                continue;
            };
            let (attempt, current) = instances.pop().unwrap_or_default();
            record.id = Some(current.clone());
            record.restart_count = attempt;
            if let Some((_, previous)) = instances.pop() {
                if let Ok(status) = self.runtime.container_status(&previous).await {
                    if let Observed::Exited(t) = observe(&status) {
                        record.last_terminated = Some(t);
                    }
                }
                record.previous_id = Some(previous);
            }
            for (_, old) in instances {
                let _ = self.runtime.remove_container(&old).await;
            }
            if let Ok(status) = self.runtime.container_status(&current).await {
                record.observed = observe(&status);
                record.image_id = status.image_ref.clone();
                // An instance that already exited before the restart does not count twice.
                record.exit_counted = matches!(record.observed, Observed::Exited(_));
            }
        }
        if let Ok(status) = self.runtime.pod_sandbox_status(&id).await {
            self.sandbox_attempt = status.metadata.map(|m| m.attempt).unwrap_or_default();
        }
        let config = sandbox_config(&self.config, &self.pod, self.sandbox_attempt);
        tracing::info!(pod = %self.key(), sandbox = %id, "re-adopted the running pod");
        self.sandbox = Some(Sandbox { id, ip, config });
        Ok(())
    }
}
