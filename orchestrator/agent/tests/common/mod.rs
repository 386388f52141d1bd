//! Shared pieces of the agent's tests: an agent started against a test API server.

#![allow(dead_code)]

pub mod node;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clusterd_agent::{Agent, AgentConfig};
use clusterd_cri::Runtime;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, PostParams};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running agent; stopped (pods left running) by [`RunningAgent::stop`] or drop.
pub struct RunningAgent {
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<clusterd_agent::Result<()>>>,
}

impl RunningAgent {
    /// Starts `config`'s agent over `runtime` with `client`.
    pub fn start<R: Runtime + 'static>(
        client: kube::Client,
        config: AgentConfig,
        runtime: Arc<R>,
    ) -> Self {
        let (stop, stopped) = oneshot::channel::<()>();
        let agent = Agent::with_shared_runtime(config, runtime);
        let task = tokio::spawn(agent.run(client, async {
            let _ = stopped.await;
        }));
        RunningAgent {
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stops the agent as if it were killed; its pods keep running.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let result = task.await.expect("agent task");
            result.expect("agent ran without error");
        }
        // Workers notice their agent is gone at their next wake-up.
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

impl Drop for RunningAgent {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// An agent config for node `name` with its files under `dir` and fast back-offs.
pub fn agent_config(name: &str, dir: &std::path::Path) -> AgentConfig {
    let mut config = AgentConfig::new(name, "127.0.0.1".parse().unwrap(), dir.join("agent"));
    config.pod_cidr = Some("10.244.7.0/24".into());
    config.cni_conf_dir = dir.join("net.d");
    config.pod_log_dir = dir.join("logs");
    config.status_interval = Duration::from_secs(2);
    config.lease_interval = Duration::from_secs(1);
    config.sync_interval = Duration::from_millis(200);
    config.volume_refresh_interval = Duration::from_secs(1);
    config.initial_backoff = Duration::from_secs(1);
    config.max_backoff = Duration::from_secs(4);
    config
}

/// Polls `check` until it gives a value; panics with `what` and the last state after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        match check().await {
            Ok(value) => return value,
            Err(last) => {
                assert!(
                    Instant::now() < deadline,
                    "timed out waiting for {what}; last: {last}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Waits until pod `name` satisfies `check`, returning it.
pub async fn wait_pod(
    api: &Api<Pod>,
    name: &str,
    timeout: Duration,
    what: &str,
    check: impl Fn(&Pod) -> bool,
) -> Pod {
    eventually(timeout, &format!("pod {name}: {what}"), || async {
        match api.get_opt(name).await {
            Ok(Some(pod)) if check(&pod) => Ok(pod),
            Ok(Some(pod)) => Err(serde_json::to_string(&pod.status).unwrap_or_default()),
            Ok(None) => Err("pod not found".into()),
            Err(e) => Err(e.to_string()),
        }
    })
    .await
}

/// Creates a pod from JSON.
pub async fn create_pod(api: &Api<Pod>, pod: serde_json::Value) -> Pod {
    let pod: Pod = serde_json::from_value(pod).expect("pod json");
    api.create(&PostParams::default(), &pod)
        .await
        .expect("create pod")
}

/// The pod's phase.
pub fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or_default()
}

/// The status of container `name` (regular containers).
pub fn container_status<'a>(
    pod: &'a Pod,
    name: &str,
) -> Option<&'a k8s_openapi::api::core::v1::ContainerStatus> {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|list| list.iter().find(|c| c.name == name))
}

/// The runtime id of container `name` (without the `containerd://` prefix).
pub fn container_id(pod: &Pod, name: &str) -> Option<String> {
    container_status(pod, name)
        .and_then(|c| c.container_id.as_deref())
        .map(|id| id.trim_start_matches("containerd://").to_owned())
}

/// The pod's condition `kind` is "True".
pub fn condition(pod: &Pod, kind: &str) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == kind))
        .is_some_and(|c| c.status == "True")
}
