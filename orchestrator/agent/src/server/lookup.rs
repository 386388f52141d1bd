//! Which CRI container serves `kubectl logs/exec` for a namespace, pod and container name.

use std::future::Future;
use std::net::IpAddr;
use std::path::PathBuf;

use clusterd_cri::{api, Runtime};

/// The CRI container behind one container of a pod on this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerRef {
    /// The CRI container id of the current (latest) instance.
    pub container_id: String,
    /// Its CRI log file.
    pub log_path: PathBuf,
    /// The instance before it, for `kubectl logs --previous`.
    pub previous: Option<PreviousContainer>,
}

/// An earlier instance of a container (the one that ran before the last restart).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousContainer {
    /// Its CRI container id.
    pub container_id: String,
    /// Its CRI log file.
    pub log_path: PathBuf,
}

/// Finds the CRI container for `namespace/pod`'s container `container`; implemented by the agent's
/// pod manager (which knows what it started) and, over CRI metadata, by [`CriContainerLookup`].
pub trait ContainerLookup: Send + Sync + 'static {
    /// The container, or `None` when this node runs no such container.
    fn container(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
    ) -> impl Future<Output = Option<ContainerRef>> + Send;

    /// The IP of `namespace/pod` on this node, which `kubectl port-forward` connects to; `None`
    /// when the pod has no sandbox here (the default).
    fn pod_ip(&self, namespace: &str, pod: &str) -> impl Future<Output = Option<IpAddr>> + Send {
        let _ = (namespace, pod);
        async { None }
    }
}

/// A [`ContainerLookup`] that asks the runtime: the sandbox whose metadata names the pod (a ready
/// one first, then the newest), and its containers with that name, newest attempt first.
#[derive(Debug, Clone)]
pub struct CriContainerLookup<R> {
    runtime: R,
}

impl<R: Runtime + 'static> CriContainerLookup<R> {
    /// A lookup over `runtime`.
    pub fn new(runtime: R) -> Self {
        Self { runtime }
    }

    /// The pod's sandboxes, the ready and newest last.
    async fn sandboxes(&self, namespace: &str, pod: &str) -> Option<Vec<api::PodSandbox>> {
        let mut sandboxes: Vec<api::PodSandbox> = self
            .runtime
            .list_pod_sandboxes(None)
            .await
            .ok()?
            .into_iter()
            .filter(|s| {
                s.metadata
                    .as_ref()
                    .is_some_and(|m| m.namespace == namespace && m.name == pod)
            })
            .collect();
        let ready = api::PodSandboxState::SandboxReady as i32;
        sandboxes.sort_by_key(|s| (s.state == ready, s.created_at));
        Some(sandboxes)
    }

    async fn find(&self, namespace: &str, pod: &str, container: &str) -> Option<ContainerRef> {
        let sandboxes = self.sandboxes(namespace, pod).await?;
        for sandbox in sandboxes.iter().rev() {
            let filter = api::ContainerFilter {
                pod_sandbox_id: sandbox.id.clone(),
                ..Default::default()
            };
            let mut containers: Vec<api::Container> = self
                .runtime
                .list_containers(Some(filter))
                .await
                .ok()?
                .into_iter()
                .filter(|c| c.metadata.as_ref().is_some_and(|m| m.name == container))
                .collect();
            if containers.is_empty() {
                continue;
            }
            containers.sort_by_key(|c| {
                (
                    std::cmp::Reverse(c.metadata.as_ref().map_or(0, |m| m.attempt)),
                    std::cmp::Reverse(c.created_at),
                )
            });
            let log_path = |id: String| async move {
                let status = self.runtime.container_status(&id).await.ok()?;
                Some((id, PathBuf::from(status.log_path)))
            };
            let (container_id, log_path_now) = log_path(containers[0].id.clone()).await?;
            let previous = match containers.get(1) {
                Some(c) => log_path(c.id.clone())
                    .await
                    .map(|(container_id, log_path)| PreviousContainer {
                        container_id,
                        log_path,
                    }),
                None => None,
            };
            return Some(ContainerRef {
                container_id,
                log_path: log_path_now,
                previous,
            });
        }
        None
    }
}

impl<R: Runtime + 'static> ContainerLookup for CriContainerLookup<R> {
    async fn container(&self, namespace: &str, pod: &str, container: &str) -> Option<ContainerRef> {
        self.find(namespace, pod, container).await
    }

    async fn pod_ip(&self, namespace: &str, pod: &str) -> Option<IpAddr> {
        let sandbox = self.sandboxes(namespace, pod).await?.pop()?;
        let status = self.runtime.pod_sandbox_status(&sandbox.id).await.ok()?;
        status.network?.ip.parse().ok()
    }
}
