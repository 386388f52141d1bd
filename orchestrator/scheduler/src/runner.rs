//! The kube-rs loop: watch nodes, assigned pods and pods waiting for this scheduler; schedule one
//! pod at a time against the snapshot; bind in the background; report failures on the pod.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use futures_util::{Stream, StreamExt};
use k8s_openapi::api::core::v1::{Binding, Event as CoreEvent, Node, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::watcher::{self, watcher, Event};
use kube::runtime::WatchStreamExt;
use kube::Client;
use serde_json::json;
use tokio::sync::mpsc;

use crate::pod_info::PodInfo;
use crate::queue::{QueueConfig, SchedulingQueue};
use crate::schedule::{Scheduler, Unschedulable};
use crate::snapshot::ClusterSnapshot;
use crate::{Error, Result};

/// The scheduler name pods get when they name none.
pub const DEFAULT_SCHEDULER_NAME: &str = "default-scheduler";

/// How [`run`] behaves.
#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// Pods whose `spec.schedulerName` is this are ours.
    pub scheduler_name: String,
    /// Backoff and retry timings.
    pub queue: QueueConfig,
    /// Node sampling (`None` = upstream adaptive).
    pub percentage_of_nodes_to_score: Option<u32>,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            scheduler_name: DEFAULT_SCHEDULER_NAME.into(),
            queue: QueueConfig::default(),
            percentage_of_nodes_to_score: None,
        }
    }
}

struct BindOutcome {
    key: String,
    priority: i32,
    result: Result<()>,
}

/// Runs the scheduler until a watch stream ends; errors inside streams are retried with backoff.
pub async fn run(client: Client, config: SchedulerConfig) -> Result<()> {
    let nodes_api: Api<Node> = Api::all(client.clone());
    let pods_api: Api<Pod> = Api::all(client.clone());
    let mut nodes = watcher(nodes_api, watcher::Config::default())
        .default_backoff()
        .boxed();
    let mut assigned = watcher(
        pods_api.clone(),
        watcher::Config::default().fields("spec.nodeName!="),
    )
    .default_backoff()
    .boxed();
    let pending_selector = format!(
        "spec.schedulerName={},spec.nodeName=",
        config.scheduler_name
    );
    let mut unassigned = watcher(
        pods_api,
        watcher::Config::default().fields(&pending_selector),
    )
    .default_backoff()
    .boxed();

    let mut snapshot = ClusterSnapshot::new();
    let mut scheduler = Scheduler::with_percentage(config.percentage_of_nodes_to_score);
    let mut queue = SchedulingQueue::new(config.queue);
    let mut pending: HashMap<String, Pod> = HashMap::new();
    let mut node_relist: Option<HashSet<String>> = None;
    let mut pod_relist: Option<HashSet<String>> = None;
    // Scheduling against a half-listed cluster would report bogus FailedScheduling events.
    let (mut nodes_listed, mut pods_listed) = (false, false);
    let (bound_tx, mut bound_rx) = mpsc::unbounded_channel::<BindOutcome>();

    loop {
        // Schedule everything ready before waiting again.
        while let Some(key) = (nodes_listed && pods_listed)
            .then(|| queue.pop(Instant::now()))
            .flatten()
        {
            let Some(pod) = pending.get(&key) else {
                continue;
            };
            attempt(
                &client,
                pod,
                &key,
                &mut scheduler,
                &mut snapshot,
                &mut queue,
                &bound_tx,
            )
            .await;
        }
        let wake = queue
            .next_ready_at()
            .map(|t| t.saturating_duration_since(Instant::now()))
            .unwrap_or(Duration::from_secs(60));
        tokio::select! {
            event = next(&mut nodes, "nodes") => {
                match event? {
                    Event::Init => node_relist = Some(HashSet::new()),
                    Event::InitApply(node) | Event::Apply(node) => {
                        if let (Some(seen), Some(name)) = (node_relist.as_mut(), node.metadata.name.clone()) { seen.insert(name); }
                        if let Err(error) = snapshot.upsert_node(&node) { tracing::warn!(%error, "ignoring node"); }
                    }
                    Event::InitDone => {
                        nodes_listed = true;
                        if let Some(seen) = node_relist.take() {
                            let gone: Vec<String> = snapshot.nodes().iter().map(|n| n.name.clone()).filter(|n| !seen.contains(n)).collect();
                            gone.iter().for_each(|n| snapshot.remove_node(n));
                        }
                    }
                    Event::Delete(node) => snapshot.remove_node(node.metadata.name.as_deref().unwrap_or_default()),
                }
                queue.cluster_changed(Instant::now());
            }
            event = next(&mut assigned, "pods") => {
                match event? {
                    Event::Init => pod_relist = Some(HashSet::new()),
                    Event::InitApply(pod) | Event::Apply(pod) => {
                        let info = match PodInfo::from_pod(&pod) { Ok(i) => i, Err(error) => { tracing::warn!(%error, "ignoring pod"); continue } };
                        let key = info.key();
                        if let Some(seen) = pod_relist.as_mut() { seen.insert(key.clone()); }
                        pending.remove(&key);
                        queue.remove(&key);
                        let finished = pod.status.as_ref().and_then(|s| s.phase.as_deref()).is_some_and(|p| p == "Succeeded" || p == "Failed");
                        if finished { snapshot.remove_pod(&key); } else if let Some(node) = info.node_name.clone() { snapshot.add_pod(info, &node); }
                    }
                    Event::InitDone => {
                        pods_listed = true;
                        if let Some(seen) = pod_relist.take() {
                            let gone: Vec<String> = snapshot.nodes().iter().flat_map(|n| n.pods.keys().cloned()).filter(|k| !seen.contains(k) && !pending.contains_key(k)).collect();
                            gone.iter().for_each(|k| { snapshot.remove_pod(k); });
                        }
                    }
                    Event::Delete(pod) => {
                        let key = pod_key(&pod);
                        snapshot.remove_pod(&key);
                    }
                }
                queue.cluster_changed(Instant::now());
            }
            event = next(&mut unassigned, "pods") => {
                match event? {
                    Event::InitApply(pod) | Event::Apply(pod) => {
                        if pod.metadata.deletion_timestamp.is_some() { continue; }
                        let key = pod_key(&pod);
                        let priority = pod.spec.as_ref().and_then(|s| s.priority).unwrap_or(0);
                        // Status-only updates (our own PodScheduled condition) do not retry the pod.
                        let unchanged = pending.get(&key).is_some_and(|old| old.spec == pod.spec && old.metadata.labels == pod.metadata.labels);
                        // An assumed pod not yet seen bound keeps its place in the snapshot.
                        if !unchanged && snapshot.pod_node(&key).is_none() { queue.add(&key, priority); }
                        pending.insert(key, pod);
                    }
                    Event::Delete(pod) => {
                        let key = pod_key(&pod);
                        pending.remove(&key);
                        queue.remove(&key);
                        snapshot.remove_pod(&key);
                    }
                    Event::Init | Event::InitDone => {}
                }
            }
            Some(outcome) = bound_rx.recv() => {
                match outcome.result {
                    Ok(()) => { queue.done(&outcome.key); pending.remove(&outcome.key); }
                    Err(error) => {
                        tracing::warn!(pod = %outcome.key, %error, "binding failed; retrying");
                        snapshot.remove_pod(&outcome.key);
                        queue.retry_later(&outcome.key, outcome.priority, Instant::now());
                    }
                }
            }
            _ = tokio::time::sleep(wake) => {}
        }
    }
}

async fn next<K>(
    stream: &mut (impl Stream<Item = std::result::Result<Event<K>, watcher::Error>> + Unpin),
    resource: &'static str,
) -> Result<Event<K>> {
    loop {
        match stream.next().await {
            Some(Ok(event)) => return Ok(event),
            Some(Err(error)) => tracing::warn!(resource, %error, "watch failed; retrying"),
            None => {
                return Err(Error::Watch {
                    resource,
                    source: watcher::Error::NoResourceVersion,
                });
            }
        }
    }
}

fn pod_key(pod: &Pod) -> String {
    format!(
        "{}/{}",
        pod.metadata.namespace.as_deref().unwrap_or("default"),
        pod.metadata.name.as_deref().unwrap_or_default()
    )
}

async fn attempt(
    client: &Client,
    pod: &Pod,
    key: &str,
    scheduler: &mut Scheduler,
    snapshot: &mut ClusterSnapshot,
    queue: &mut SchedulingQueue,
    bound: &mpsc::UnboundedSender<BindOutcome>,
) {
    let info = match PodInfo::from_pod(pod) {
        Ok(info) => info,
        Err(error) => {
            tracing::warn!(pod = key, %error, "cannot schedule");
            queue.unschedulable(key, 0, Instant::now());
            return;
        }
    };
    let priority = info.priority;
    match scheduler.schedule(&info, snapshot) {
        Ok(node) => {
            tracing::debug!(pod = key, node = %node, "scheduled");
            snapshot.add_pod(info, &node);
            let (client, pod, key, bound) =
                (client.clone(), pod.clone(), key.to_string(), bound.clone());
            tokio::spawn(async move {
                let result = bind(&client, &pod, &node).await;
                let _ = bound.send(BindOutcome {
                    key,
                    priority,
                    result,
                });
            });
        }
        Err(why) => {
            tracing::info!(pod = key, reason = %why, "unschedulable");
            queue.unschedulable(key, priority, Instant::now());
            if let Err(error) = report_unschedulable(client, pod, &why).await {
                tracing::warn!(pod = key, %error, "could not record FailedScheduling");
            }
        }
    }
}

/// POSTs a v1 Binding to `pods/<name>/binding`.
async fn bind(client: &Client, pod: &Pod, node: &str) -> Result<()> {
    let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let binding = Binding {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(namespace.into()),
            uid: pod.metadata.uid.clone(),
            ..ObjectMeta::default()
        },
        target: ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Node".into()),
            name: Some(node.into()),
            ..ObjectReference::default()
        },
    };
    api.create_subresource::<_, serde_json::Value>(
        "binding",
        name,
        &PostParams::default(),
        &binding,
    )
    .await
    .map(|_| ())
    .map_err(|source| Error::Api {
        operation: format!("bind pod {namespace}/{name} to node {node}"),
        source,
    })
}

/// Sets PodScheduled=False/Unschedulable and records a FailedScheduling event, as upstream.
async fn report_unschedulable(client: &Client, pod: &Pod, why: &Unschedulable) -> Result<()> {
    let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    let message = why.to_string();
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    let already = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "PodScheduled"))
        .is_some_and(|c| c.status == "False" && c.message.as_deref() == Some(message.as_str()));
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    if !already {
        let patch = json!({"status": {"conditions": [{
            "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
            "message": message, "lastProbeTime": null, "lastTransitionTime": now,
        }]}});
        pods.patch_status(name, &PatchParams::default(), &Patch::Strategic(patch))
            .await
            .map_err(|source| Error::Api {
                operation: format!("set PodScheduled=False on pod {namespace}/{name}"),
                source,
            })?;
    }
    let events: Api<CoreEvent> = Api::namespaced(client.clone(), namespace);
    let event = CoreEvent {
        // client-go's naming: `<object>.<hex nanoseconds>`.
        metadata: ObjectMeta {
            name: Some(format!("{name}.{:x}", now.0.as_nanosecond())),
            namespace: Some(namespace.into()),
            ..ObjectMeta::default()
        },
        involved_object: ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Pod".into()),
            name: Some(name.into()),
            namespace: Some(namespace.into()),
            uid: pod.metadata.uid.clone(),
            resource_version: pod.metadata.resource_version.clone(),
            ..ObjectReference::default()
        },
        reason: Some("FailedScheduling".into()),
        message: Some(message),
        type_: Some("Warning".into()),
        action: Some("Scheduling".into()),
        reporting_component: Some(DEFAULT_SCHEDULER_NAME.into()),
        source: Some(k8s_openapi::api::core::v1::EventSource {
            component: Some(DEFAULT_SCHEDULER_NAME.into()),
            host: None,
        }),
        first_timestamp: Some(now.clone()),
        last_timestamp: Some(now.clone()),
        event_time: Some(MicroTime(now.0)),
        count: Some(1),
        ..CoreEvent::default()
    };
    events
        .create(&PostParams::default(), &event)
        .await
        .map(|_| ())
        .map_err(|source| Error::Api {
            operation: format!("record FailedScheduling event for pod {namespace}/{name}"),
            source,
        })
}
