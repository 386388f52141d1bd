//! Applying [`Change`]s through kube-rs: dynamic APIs per kind from the resource registry,
//! slow-start batches for runs of creates, and the results folded back into the state.

use clusterd_apimachinery::registry::Registry;
use futures_util::future::join_all;
use k8s_openapi::api::core::v1::{Event as CoreEvent, EventSource, Namespace, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, Patch, PatchParams, PostParams, Preconditions,
    PropagationPolicy,
};
use kube::Client;
use serde_json::Value;

use crate::change::{Change, Propagation, Target};
use crate::replica_set::slow_start_batches;
use crate::state::ClusterState;
use crate::{Error, Result};

/// The component name on Events we record.
pub const COMPONENT: &str = "clusterd-controller-manager";

pub(crate) fn api_resource(target: &Target) -> Option<ApiResource> {
    let (group, version) = target
        .api_version
        .split_once('/')
        .unwrap_or(("", target.api_version.as_str()));
    let registry = Registry::builtin();
    let info = registry.by_gvk(group, version, &target.kind)?;
    Some(ApiResource {
        group: group.into(),
        version: version.into(),
        api_version: target.api_version.clone(),
        kind: target.kind.clone(),
        plural: info.resource.clone(),
    })
}

fn dynamic_api(client: &Client, target: &Target) -> Option<Api<DynamicObject>> {
    let resource = api_resource(target)?;
    Some(match &target.namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
        None => Api::all_with(client.clone(), &resource),
    })
}

/// Applies changes in order; runs of pod creates go in slow-start batches (1, 2, 4, ...) and stop
/// at the first failing batch. Returns whether anything was written.
pub async fn apply_changes(
    client: &Client,
    state: &mut ClusterState,
    changes: Vec<Change>,
) -> bool {
    let mut wrote = false;
    let mut i = 0;
    while i < changes.len() {
        let run_end = if let Change::Create { target, .. } = &changes[i] {
            let mut end = i + 1;
            while end < changes.len()
                && matches!(&changes[end], Change::Create { target: t, .. } if t == target)
            {
                end += 1;
            }
            end
        } else {
            i + 1
        };
        if run_end - i > 1 {
            let mut at = i;
            for size in slow_start_batches(run_end - i) {
                let batch = &changes[at..at + size];
                let results = join_all(batch.iter().map(|c| apply_one(client, c))).await;
                let mut failed = false;
                for (change, result) in batch.iter().zip(results) {
                    failed |= !record(state, change, result, &mut wrote);
                }
                at += size;
                if failed {
                    break;
                }
            }
        } else {
            let result = apply_one(client, &changes[i]).await;
            record(state, &changes[i], result, &mut wrote);
        }
        i = run_end;
    }
    wrote
}

/// Folds a write's result into the state; false if it failed.
fn record(
    state: &mut ClusterState,
    change: &Change,
    result: Result<Option<Value>>,
    wrote: &mut bool,
) -> bool {
    let target = change.target();
    match result {
        Ok(object) => {
            *wrote = true;
            match (change, object) {
                (Change::Delete { .. } | Change::ForceDelete { .. }, _) => {
                    let key = match &target.namespace {
                        Some(ns) => format!("{ns}/{}", target.name),
                        None => target.name.clone(),
                    };
                    // A delete that only marked the object (finalizers, grace) arrives again by watch.
                    state.remove(&target.kind, &key);
                }
                (Change::Event { .. }, _) => {}
                (_, Some(object)) => {
                    state.upsert(&target.kind, object);
                }
                _ => {}
            }
            true
        }
        Err(error) => {
            tracing::warn!(%error, "change not applied");
            false
        }
    }
}

async fn apply_one(client: &Client, change: &Change) -> Result<Option<Value>> {
    let target = change.target();
    let fail = |what: &'static str| {
        move |source: kube::Error| Error::Api {
            operation: format!("{what} {target}"),
            source,
        }
    };
    if let Change::Event {
        uid,
        type_,
        reason,
        message,
        ..
    } = change
    {
        return record_event(client, target, uid.clone(), type_, reason, message)
            .await
            .map(|_| None);
    }
    let Some(api) = dynamic_api(client, target) else {
        return Err(Error::Config {
            field: "resource kind",
            value: format!("{}/{}", target.api_version, target.kind),
            reason: "not served".into(),
        });
    };
    let to_value = |o: DynamicObject| serde_json::to_value(o).ok();
    match change {
        Change::Create { object, .. } => {
            let object: DynamicObject =
                serde_json::from_value(object.clone()).map_err(|e| Error::Config {
                    field: "object",
                    value: target.to_string(),
                    reason: e.to_string(),
                })?;
            match api.create(&PostParams::default(), &object).await {
                Ok(created) => Ok(to_value(created)),
                Err(kube::Error::Api(status)) if status.code == 409 => Ok(None),
                Err(e) => Err(fail("create")(e)),
            }
        }
        Change::Patch { patch, .. } => api
            .patch(&target.name, &PatchParams::default(), &Patch::Merge(patch))
            .await
            .map(to_value)
            .map_err(fail("patch")),
        Change::PatchStatus { patch, .. } => api
            .patch_status(&target.name, &PatchParams::default(), &Patch::Merge(patch))
            .await
            .map(to_value)
            .map_err(fail("update status of")),
        Change::Delete {
            propagation, uid, ..
        } => {
            let params = DeleteParams {
                propagation_policy: propagation.map(|p| match p {
                    Propagation::Background => PropagationPolicy::Background,
                    Propagation::Foreground => PropagationPolicy::Foreground,
                    Propagation::Orphan => PropagationPolicy::Orphan,
                }),
                preconditions: uid.clone().map(|uid| Preconditions {
                    uid: Some(uid),
                    resource_version: None,
                }),
                ..DeleteParams::default()
            };
            delete(&api, &target.name, &params)
                .await
                .map_err(fail("delete"))
        }
        Change::ForceDelete { uid, .. } => {
            let params = DeleteParams {
                grace_period_seconds: Some(0),
                preconditions: uid.clone().map(|uid| Preconditions {
                    uid: Some(uid),
                    resource_version: None,
                }),
                ..DeleteParams::default()
            };
            delete(&api, &target.name, &params)
                .await
                .map_err(fail("force-delete"))
        }
        Change::FinalizeNamespace { finalizers, .. } => {
            let namespaces: Api<Namespace> = Api::all(client.clone());
            let mut current = namespaces.get(&target.name).await.map_err(fail("read"))?;
            current.spec.get_or_insert_with(Default::default).finalizers = Some(finalizers.clone());
            namespaces
                .replace_subresource("finalize", &target.name, &PostParams::default(), &current)
                .await
                .map(|_| None)
                .map_err(fail("finalize"))
        }
        Change::Event { .. } => Ok(None),
    }
}

async fn delete(
    api: &Api<DynamicObject>,
    name: &str,
    params: &DeleteParams,
) -> Result<Option<Value>, kube::Error> {
    match api.delete(name, params).await {
        Ok(_) => Ok(None),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(None),
        Err(e) => Err(e),
    }
}

async fn record_event(
    client: &Client,
    target: &Target,
    uid: Option<String>,
    type_: &str,
    reason: &str,
    message: &str,
) -> Result<()> {
    let namespace = target.namespace.clone().unwrap_or_else(|| "default".into());
    let now = Time(Timestamp::now());
    let event = CoreEvent {
        // client-go's naming: `<object>.<hex nanoseconds>`.
        metadata: ObjectMeta {
            name: Some(format!("{}.{:x}", target.name, now.0.as_nanosecond())),
            namespace: Some(namespace.clone()),
            ..ObjectMeta::default()
        },
        involved_object: ObjectReference {
            api_version: Some(target.api_version.clone()),
            kind: Some(target.kind.clone()),
            name: Some(target.name.clone()),
            namespace: target.namespace.clone(),
            uid,
            ..ObjectReference::default()
        },
        reason: Some(reason.into()),
        message: Some(message.into()),
        type_: Some(type_.into()),
        reporting_component: Some(COMPONENT.into()),
        source: Some(EventSource {
            component: Some(COMPONENT.into()),
            host: None,
        }),
        first_timestamp: Some(now.clone()),
        last_timestamp: Some(now.clone()),
        event_time: Some(MicroTime(now.0)),
        count: Some(1),
        ..CoreEvent::default()
    };
    let events: Api<CoreEvent> = Api::namespaced(client.clone(), &namespace);
    events
        .create(&PostParams::default(), &event)
        .await
        .map(|_| ())
        .map_err(|source| Error::Api {
            operation: format!("record {reason} event for {target}"),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_a_controller_writes_maps_to_a_served_resource() {
        let kinds = [
            ("v1", "Pod", "pods"),
            ("apps/v1", "ReplicaSet", "replicasets"),
            ("apps/v1", "Deployment", "deployments"),
            ("batch/v1", "Job", "jobs"),
            ("v1", "Endpoints", "endpoints"),
            ("discovery.k8s.io/v1", "EndpointSlice", "endpointslices"),
            ("v1", "ServiceAccount", "serviceaccounts"),
            ("v1", "Namespace", "namespaces"),
            ("v1", "Node", "nodes"),
        ];
        for (api_version, kind, plural) in kinds {
            let target = Target {
                api_version: api_version.into(),
                kind: kind.into(),
                namespace: None,
                name: "x".into(),
            };
            assert_eq!(
                api_resource(&target).map(|r| r.plural),
                Some(plural.to_string()),
                "{kind}"
            );
        }
    }
}
