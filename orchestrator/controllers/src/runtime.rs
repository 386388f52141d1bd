//! The runtime around the pure controllers: watches feed a [`ClusterState`]; after changes (and
//! every couple of seconds, for clocks) every controller runs over it and the [`Change`]s are
//! applied through kube-rs. The results of our own writes go straight into the state, so the next
//! pass never repeats a create the watch has not shown yet. All of it only while we lead.

use std::collections::{HashMap, HashSet};
use std::fmt::Debug;
use std::time::Duration;

use clusterd_apimachinery::registry::{Registry, Scope};
use futures_util::StreamExt;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Endpoints, Namespace, Node, Pod, Service, ServiceAccount};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use kube::runtime::watcher::{self, watcher, Event};
use kube::runtime::WatchStreamExt;
use kube::Client;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::apply::apply_changes;
use crate::change::{Change, Target};
use crate::garbage_collector::{self, Summary};
use crate::state::{key_of, ClusterState, ControllersConfig};
use crate::Result;
use crate::{
    cron_job, daemon_set, deployment, endpoints, job, namespace, node_ipam, node_lifecycle, pod_gc,
    replica_set, service, stateful_set,
};

/// Kinds the runtime watches; controllers run once all have listed.
const WATCHED: usize = 14;

enum Update {
    Init(&'static str),
    Apply(&'static str, Value),
    InitDone(&'static str),
    Delete(&'static str, String),
}

/// Runs every controller while this server holds the `kube-system/clusterd-controllers` Lease.
/// Returns only on a fatal error; leadership lost means waiting to lead again.
pub async fn run_all(client: Client, config: ControllersConfig) -> Result<()> {
    crate::leader_election::run_while_leading(
        client.clone(),
        config.identity.clone(),
        config.leader_election.clone(),
        || run_controllers(client.clone(), config.clone()),
    )
    .await
}

fn spawn_watch<K>(client: &Client, tx: &mpsc::UnboundedSender<Update>)
where
    K: kube::Resource<DynamicType = ()>
        + k8s_openapi::Resource
        + Clone
        + DeserializeOwned
        + Serialize
        + Debug
        + Send
        + Sync
        + 'static,
    K: k8s_openapi::Metadata<Ty = ObjectMeta>,
{
    let api: Api<K> = Api::all(client.clone());
    let tx = tx.clone();
    tokio::spawn(async move {
        let kind = <K as k8s_openapi::Resource>::KIND;
        let mut stream = watcher(api, watcher::Config::default())
            .default_backoff()
            .boxed();
        while let Some(event) = stream.next().await {
            let update = match event {
                Ok(Event::Init) => Update::Init(kind),
                Ok(Event::InitApply(o)) | Ok(Event::Apply(o)) => match serde_json::to_value(&o) {
                    Ok(v) => Update::Apply(kind, v),
                    Err(_) => continue,
                },
                Ok(Event::InitDone) => Update::InitDone(kind),
                Ok(Event::Delete(o)) => Update::Delete(kind, key_of(o.metadata())),
                Err(error) => {
                    tracing::warn!(kind, %error, "watch failed; retrying");
                    continue;
                }
            };
            if tx.send(update).is_err() {
                return;
            }
        }
    });
}

/// Runs the controllers until a fatal error; assumes we lead.
pub async fn run_controllers(client: Client, config: ControllersConfig) -> Result<()> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    spawn_watch::<Namespace>(&client, &tx);
    spawn_watch::<Node>(&client, &tx);
    spawn_watch::<Lease>(&client, &tx);
    spawn_watch::<Pod>(&client, &tx);
    spawn_watch::<ReplicaSet>(&client, &tx);
    spawn_watch::<Deployment>(&client, &tx);
    spawn_watch::<DaemonSet>(&client, &tx);
    spawn_watch::<StatefulSet>(&client, &tx);
    spawn_watch::<Job>(&client, &tx);
    spawn_watch::<CronJob>(&client, &tx);
    spawn_watch::<Service>(&client, &tx);
    spawn_watch::<Endpoints>(&client, &tx);
    spawn_watch::<EndpointSlice>(&client, &tx);
    spawn_watch::<ServiceAccount>(&client, &tx);
    drop(tx);
    // Aborted when this future is dropped (leadership lost), like the rest of the pass loop.
    let _csr = config
        .csr_signer
        .clone()
        .map(|signer| AbortOnDrop(tokio::spawn(crate::csr::run(client.clone(), signer))));

    let mut state = ClusterState::default();
    let mut relists: HashMap<&'static str, Vec<Value>> = HashMap::new();
    let mut synced: HashSet<&'static str> = HashSet::new();
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            update = rx.recv() => {
                let Some(update) = update else { return Ok(()) };
                apply_update(&mut state, &mut relists, &mut synced, update);
                while let Ok(update) = rx.try_recv() {
                    apply_update(&mut state, &mut relists, &mut synced, update);
                }
                // Let a burst of events settle into one pass.
                tokio::time::sleep(Duration::from_millis(50)).await;
                while let Ok(update) = rx.try_recv() {
                    apply_update(&mut state, &mut relists, &mut synced, update);
                }
            }
            _ = tick.tick() => {}
        }
        if synced.len() < WATCHED {
            continue;
        }
        state.now = Timestamp::now();
        let changes = reconcile_pass(&state, &config);
        let namespaced = finalize_namespaces(&client, &state).await;
        if apply_changes(
            &client,
            &mut state,
            changes.into_iter().chain(namespaced).collect(),
        )
        .await
        {
            tracing::debug!("controllers wrote changes");
        }
    }
}

/// Aborts a spawned task when dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn apply_update(
    state: &mut ClusterState,
    relists: &mut HashMap<&'static str, Vec<Value>>,
    synced: &mut HashSet<&'static str>,
    update: Update,
) {
    match update {
        Update::Init(kind) => {
            relists.insert(kind, Vec::new());
        }
        Update::Apply(kind, object) => match relists.get_mut(kind) {
            Some(buffer) => buffer.push(object),
            None => {
                state.upsert(kind, object);
            }
        },
        Update::InitDone(kind) => {
            state.clear(kind);
            for object in relists.remove(kind).unwrap_or_default() {
                state.upsert(kind, object);
            }
            synced.insert(kind);
        }
        Update::Delete(kind, key) => {
            state.remove(kind, &key);
        }
    }
}

/// Every controller's changes for one pass over the state.
pub fn reconcile_pass(state: &ClusterState, config: &ControllersConfig) -> Vec<Change> {
    let mut changes = Vec::new();
    changes.extend(namespace::reconcile_all(state));
    changes.extend(deployment::reconcile_all(state));
    changes.extend(replica_set::reconcile_all(state));
    changes.extend(daemon_set::reconcile_all(state));
    changes.extend(stateful_set::reconcile_all(state));
    changes.extend(job::reconcile_all(state));
    changes.extend(cron_job::reconcile_all(state));
    changes.extend(endpoints::reconcile_all(state));
    changes.extend(service::reconcile_all(state));
    changes.extend(node_ipam::reconcile_all(state, config));
    changes.extend(node_lifecycle::reconcile_all(state, config));
    changes.extend(pod_gc::reconcile_all(state));
    let summaries = garbage_collector::summaries(state);
    changes.extend(garbage_collector::reconcile(
        &summaries,
        &garbage_collector::TRACKED_KINDS,
    ));
    changes
}

/// For each terminating namespace, lists every namespaced resource in it (all kinds the API
/// serves, not only watched ones) and decides deletions or finalization.
async fn finalize_namespaces(client: &Client, state: &ClusterState) -> Vec<Change> {
    let terminating: Vec<&Namespace> = state
        .namespaces
        .values()
        .filter(|ns| ns.metadata.deletion_timestamp.is_some())
        .collect();
    if terminating.is_empty() {
        return Vec::new();
    }
    let registry = Registry::builtin();
    let mut changes = Vec::new();
    for ns in terminating {
        let name = ns.metadata.name.as_deref().unwrap_or_default();
        let mut contents = Vec::new();
        let mut complete = true;
        for info in registry
            .resources()
            .iter()
            .filter(|r| r.scope == Scope::Namespaced && r.supports("list") && r.supports("delete"))
        {
            let resource = ApiResource {
                group: info.group.clone(),
                version: info.version.clone(),
                api_version: info.api_version(),
                kind: info.kind.clone(),
                plural: info.resource.clone(),
            };
            let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), name, &resource);
            match api.list_metadata(&ListParams::default()).await {
                Ok(list) => {
                    for item in list.items {
                        contents.push(Summary {
                            target: Target {
                                api_version: info.api_version(),
                                kind: info.kind.clone(),
                                namespace: Some(name.into()),
                                name: item.metadata.name.clone().unwrap_or_default(),
                            },
                            uid: item.metadata.uid.clone().unwrap_or_default(),
                            owners: vec![],
                            finalizers: item.metadata.finalizers.clone().unwrap_or_default(),
                            deleting: item.metadata.deletion_timestamp.is_some(),
                        });
                    }
                }
                Err(kube::Error::Api(status)) if status.code == 404 || status.code == 405 => {}
                Err(error) => {
                    tracing::warn!(namespace = name, kind = %info.kind, %error, "cannot list namespace contents");
                    complete = false;
                }
            }
        }
        if complete || !contents.is_empty() {
            changes.extend(namespace::finalize(ns, &contents));
        }
    }
    changes
}
