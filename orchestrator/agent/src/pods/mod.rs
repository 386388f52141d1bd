//! Pods bound to this node: a watch on `spec.nodeName=<node>` feeds one [`worker`] per pod.
//!
//! # The pod state machine
//! Each pod moves through [`state::PodState`]:
//!
//! - **Preparing**: volumes are written under `<data-dir>/pods/<uid>/volumes`, the log directory
//!   `/var/log/pods/<ns>_<name>_<uid>` is created, and the sandbox is run (network namespace and
//!   pod IP from CNI, cluster DNS, hostPorts).
//! - **Initializing**: init containers run one at a time; each must exit 0 before the next
//!   (failures restart it per `restartPolicy`, or fail the pod under `Never`). Native sidecars
//!   (`restartPolicy: Always` init containers) are started and left running.
//! - **Running**: every container is started (image pulled per `imagePullPolicy` with
//!   ErrImagePull → ImagePullBackOff back-off; env and mounts rendered) and restarted when it exits
//!   as `restartPolicy` says, after a CrashLoopBackOff delay (10 s doubling to 5 min, reset after
//!   10 min of running). Probes decide readiness and restart unhealthy containers.
//! - **Finished**: no container will run again; the phase is Succeeded or Failed, sidecars are
//!   stopped and the sandbox released.
//! - **Terminating** (from any state, when `deletionTimestamp` is set): preStop hooks, SIGTERM,
//!   the grace period, SIGKILL, sandbox and files removed, then the pod object is deleted with
//!   grace 0 and a uid precondition.
//!
//! Pods that vanish from the API (force-deleted, or rebound) are stopped and removed. At start,
//! sandboxes left by a previous agent are re-adopted by their `io.kubernetes.pod.uid` label when
//! the pod still exists on this node (nothing restarts, restart counts are kept), and removed
//! otherwise.

mod adoption;
pub mod backoff;
pub mod env;
pub mod events;
pub mod images;
pub mod probes;
pub mod quantity;
pub mod runtime_config;
mod starting;
pub mod state;
pub mod status;
mod termination;
pub mod volumes;
pub mod worker;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use clusterd_cri::Runtime;
use futures_util::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use kube::runtime::watcher;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::{AgentConfig, Error, Result};
use runtime_config::POD_UID_LABEL;
use worker::PodWorker;

struct WorkerHandle {
    updates: watch::Sender<Option<Pod>>,
    task: JoinHandle<()>,
}

/// Sandboxes the runtime has, grouped by the uid of the pod they belong to.
pub async fn sandboxes_by_pod<R: Runtime>(runtime: &R) -> Result<BTreeMap<String, Vec<String>>> {
    let sandboxes = runtime
        .list_pod_sandboxes(None)
        .await
        .map_err(|e| Error::runtime("list pod sandboxes", "the node", e))?;
    let mut by_pod: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for sandbox in sandboxes {
        if let Some(uid) = sandbox.labels.get(POD_UID_LABEL) {
            by_pod.entry(uid.clone()).or_default().push(sandbox.id);
        }
    }
    Ok(by_pod)
}

/// Watches this node's pods and runs a worker for each until the future is dropped (which
/// leaves the containers running, to be re-adopted by the next agent).
pub async fn run_pods<R: Runtime + 'static>(
    client: kube::Client,
    config: Arc<AgentConfig>,
    runtime: Arc<R>,
    node: (u64, u64),
) -> Result<()> {
    let mut leftovers = sandboxes_by_pod(runtime.as_ref()).await?;
    let pods: Api<Pod> = Api::all(client.clone());
    let selector = format!("spec.nodeName={}", config.node_name);
    let mut stream = watcher(pods, watcher::Config::default().fields(&selector)).boxed();
    let mut workers: BTreeMap<String, WorkerHandle> = BTreeMap::new();
    let mut listing: Option<BTreeSet<String>> = None;
    let mut first_list_done = false;
    let spawn_or_update = |workers: &mut BTreeMap<String, WorkerHandle>,
                           leftovers: &mut BTreeMap<String, Vec<String>>,
                           pod: Pod| {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        workers.retain(|_, w| !w.task.is_finished());
        if let Some(worker) = workers.get(&uid) {
            worker.updates.send_replace(Some(pod));
            return;
        }
        if pod
            .status
            .as_ref()
            .and_then(|s| s.phase.as_deref())
            .is_some_and(|p| p == "Succeeded" || p == "Failed")
            && pod.metadata.deletion_timestamp.is_none()
        {
            // Finished before this agent started: terminal pods never run again (what is left of
            // them in the runtime is removed once the first listing is done).
            return;
        }
        let adopted = leftovers.remove(&uid).unwrap_or_default();
        let (tx, rx) = watch::channel(Some(pod.clone()));
        let worker = PodWorker::new(
            client.clone(),
            config.clone(),
            runtime.clone(),
            node,
            pod,
            rx,
        );
        let task = tokio::spawn(worker.run(adopted));
        workers.insert(uid, WorkerHandle { updates: tx, task });
    };
    while let Some(event) = stream.next().await {
        let event = match event {
            Ok(event) => event,
            Err(error) => {
                tracing::warn!(node = %config.node_name, %error, "pod watch failed; retrying");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                continue;
            }
        };
        match event {
            watcher::Event::Init => listing = Some(BTreeSet::new()),
            watcher::Event::InitApply(pod) => {
                if let Some(seen) = listing.as_mut() {
                    seen.insert(pod.metadata.uid.clone().unwrap_or_default());
                }
                spawn_or_update(&mut workers, &mut leftovers, pod);
            }
            watcher::Event::InitDone => {
                let seen = listing.take().unwrap_or_default();
                for (uid, worker) in &workers {
                    if !seen.contains(uid) {
                        worker.updates.send_replace(None);
                    }
                }
                if !first_list_done {
                    first_list_done = true;
                    for (uid, sandboxes) in std::mem::take(&mut leftovers) {
                        tracing::info!(pod_uid = %uid, "removing the sandbox of a pod that no longer exists");
                        for id in sandboxes {
                            let _ = runtime.stop_pod_sandbox(&id).await;
                            let _ = runtime.remove_pod_sandbox(&id).await;
                        }
                    }
                }
            }
            watcher::Event::Apply(pod) => spawn_or_update(&mut workers, &mut leftovers, pod),
            watcher::Event::Delete(pod) => {
                let uid = pod.metadata.uid.clone().unwrap_or_default();
                if let Some(worker) = workers.get(&uid) {
                    worker.updates.send_replace(None);
                }
            }
        }
    }
    Ok(())
}
