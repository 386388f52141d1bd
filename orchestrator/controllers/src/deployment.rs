//! Deployment: one ReplicaSet per pod template (named `<deployment>-<pod-template-hash>`), rolled
//! with RollingUpdate or Recreate, revisions in `deployment.kubernetes.io/revision`, old
//! ReplicaSets pruned past `revisionHistoryLimit`, and status/conditions `kubectl rollout status`
//! reads. Rollback (`rollout undo`), restart and `set image` all arrive as template changes.

use std::collections::BTreeMap;

use clusterd_apimachinery::selectors::LabelSelector;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentCondition, ReplicaSet};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector as Selector, ObjectMeta, Time};
use serde_json::json;

use crate::change::{controller_ref, is_controlled_by, is_terminating, Change, Target};
use crate::pod_template_hash::{compute_hash, equal_ignore_hash, POD_TEMPLATE_HASH_LABEL};
use crate::rollout::{resolve_fenceposts, rolling_step, Sizes};
use crate::state::ClusterState;
use crate::{Error, Result};

/// Revision annotation on Deployments and their ReplicaSets.
pub const REVISION_ANNOTATION: &str = "deployment.kubernetes.io/revision";
/// Desired replicas annotation on ReplicaSets.
pub const DESIRED_REPLICAS_ANNOTATION: &str = "deployment.kubernetes.io/desired-replicas";
/// Desired + surge annotation on ReplicaSets.
pub const MAX_REPLICAS_ANNOTATION: &str = "deployment.kubernetes.io/max-replicas";

/// Reconciles every Deployment.
pub fn reconcile_all(state: &ClusterState) -> Vec<Change> {
    let mut changes = Vec::new();
    for d in state.deployments.values() {
        match reconcile(d, state) {
            Ok(mut c) => changes.append(&mut c),
            Err(error) => tracing::warn!(%error, "skipping deployment"),
        }
    }
    changes
}

fn revision(rs: &ReplicaSet) -> i64 {
    rs.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(REVISION_ANNOTATION))
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

fn spec_replicas(rs: &ReplicaSet) -> i32 {
    rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0)
}

fn sizes(rs: &ReplicaSet) -> Sizes {
    Sizes {
        replicas: spec_replicas(rs),
        available: rs
            .status
            .as_ref()
            .and_then(|s| s.available_replicas)
            .unwrap_or(0),
    }
}

/// What one Deployment needs this pass.
pub fn reconcile(d: &Deployment, state: &ClusterState) -> Result<Vec<Change>> {
    let meta = &d.metadata;
    let namespace = meta.namespace.as_deref().unwrap_or("default");
    let name = meta.name.as_deref().unwrap_or_default();
    let uid = meta.uid.as_deref().unwrap_or_default();
    let invalid = |reason: &str| Error::invalid("Deployment", namespace, name, reason);
    let spec = d.spec.as_ref().ok_or_else(|| invalid("missing spec"))?;
    if is_terminating(meta) {
        return Ok(Vec::new());
    }
    LabelSelector::from_label_selector(&spec.selector).map_err(|e| invalid(&e.to_string()))?;
    let desired = spec.replicas.unwrap_or(1).max(0);
    let paused = spec.paused.unwrap_or(false);
    let strategy = spec.strategy.clone().unwrap_or_default();
    let recreate = strategy.type_.as_deref() == Some("Recreate");
    let rolling = strategy.rolling_update.unwrap_or_default();
    let (surge, unavailable) = if recreate {
        (0, desired)
    } else {
        resolve_fenceposts(
            desired,
            rolling.max_surge.as_ref(),
            rolling.max_unavailable.as_ref(),
        )
    };

    let mut all: Vec<&ReplicaSet> = state
        .replica_sets
        .values()
        .filter(|rs| {
            rs.metadata.namespace.as_deref() == Some(namespace)
                && is_controlled_by(&rs.metadata, uid)
        })
        .collect();
    all.sort_by_key(|rs| {
        (
            rs.metadata.creation_timestamp.as_ref().map(|t| t.0),
            rs.metadata.name.clone(),
        )
    });
    let template = &spec.template;
    let new_rs = all.iter().copied().find(|rs| {
        rs.spec
            .as_ref()
            .and_then(|s| s.template.as_ref())
            .is_some_and(|t| equal_ignore_hash(t, template))
    });
    let old: Vec<&ReplicaSet> = all
        .iter()
        .copied()
        .filter(|rs| Some(rs.metadata.uid.as_ref()) != new_rs.map(|n| n.metadata.uid.as_ref()))
        .collect();
    let max_old_revision = old.iter().map(|rs| revision(rs)).max().unwrap_or(0);
    let mut changes = Vec::new();
    let mut conditions = d
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();

    let Some(new_rs) = new_rs else {
        if paused {
            return Ok(status_changes(
                d,
                None,
                &old,
                desired,
                unavailable,
                conditions,
                state,
                false,
            ));
        }
        let collision_count = d.status.as_ref().and_then(|s| s.collision_count);
        let hash = compute_hash(template, collision_count);
        let rs_name = format!("{name}-{hash}");
        if state
            .replica_sets
            .contains_key(&format!("{namespace}/{rs_name}"))
        {
            // Same name, different template: bump collisionCount so the next pass hashes differently.
            return Ok(vec![Change::PatchStatus {
                target: Target::of(d),
                patch: json!({"status": {"collisionCount": collision_count.unwrap_or(0) + 1}}),
            }]);
        }
        let old_sizes: Vec<Sizes> = old.iter().map(|rs| sizes(rs)).collect();
        if recreate
            && (old_sizes.iter().any(|s| s.replicas > 0)
                || old
                    .iter()
                    .any(|rs| rs.status.as_ref().is_some_and(|s| s.replicas > 0)))
        {
            // Recreate: old pods go away entirely before the new ReplicaSet exists.
            for rs in old.iter().filter(|rs| spec_replicas(rs) > 0) {
                changes.push(scale(rs, 0, desired, desired));
                let rs_name = rs.metadata.name.as_deref().unwrap_or_default();
                changes.push(Change::normal(
                    d,
                    "ScalingReplicaSet",
                    format!(
                        "Scaled down replica set {rs_name} from {} to 0",
                        spec_replicas(rs)
                    ),
                ));
            }
            changes.extend(status_changes(
                d,
                None,
                &old,
                desired,
                unavailable,
                conditions,
                state,
                true,
            ));
            return Ok(changes);
        }
        let initial = if recreate {
            desired
        } else {
            rolling_step(
                desired,
                surge,
                unavailable,
                Sizes {
                    replicas: 0,
                    available: 0,
                },
                &old_sizes,
            )
            .0
        };
        let new_revision = (max_old_revision + 1).to_string();
        changes.push(Change::Create {
            target: Target::new::<ReplicaSet>(Some(namespace), &rs_name),
            object: new_replica_set(d, &rs_name, &hash, initial, &new_revision, desired + surge),
        });
        changes.push(Change::normal(
            d,
            "ScalingReplicaSet",
            format!("Scaled up replica set {rs_name} from 0 to {initial}"),
        ));
        set_annotation_change(d, REVISION_ANNOTATION, &new_revision, &mut changes);
        set_condition(
            &mut conditions,
            state,
            "Progressing",
            "True",
            "NewReplicaSetCreated",
            &format!("Created new replica set \"{rs_name}\""),
        );
        changes.extend(status_changes(
            d,
            None,
            &old,
            desired,
            unavailable,
            conditions,
            state,
            true,
        ));
        return Ok(changes);
    };
    let new_name = new_rs.metadata.name.clone().unwrap_or_default();

    // A rollback re-uses an old template: that ReplicaSet becomes the newest revision.
    let mut new_revision = revision(new_rs);
    if new_revision <= max_old_revision {
        new_revision = max_old_revision + 1;
        changes.push(Change::Patch { target: Target::of(new_rs), patch: json!({"metadata": {"annotations": {REVISION_ANNOTATION: new_revision.to_string()}}}) });
    }
    set_annotation_change(
        d,
        REVISION_ANNOTATION,
        &new_revision.to_string(),
        &mut changes,
    );

    let mut scaled = false;
    if !paused {
        let new_sizes = sizes(new_rs);
        let old_sizes: Vec<Sizes> = old.iter().map(|rs| sizes(rs)).collect();
        let (new_target, old_targets) = if recreate {
            let old_pods: i32 = old
                .iter()
                .map(|rs| rs.status.as_ref().map(|s| s.replicas).unwrap_or(0))
                .sum();
            if old_sizes.iter().any(|s| s.replicas > 0) {
                (new_sizes.replicas.min(0), vec![0; old.len()])
            } else if old_pods > 0 {
                (new_sizes.replicas, vec![0; old.len()])
            } else {
                (desired, vec![0; old.len()])
            }
        } else {
            rolling_step(desired, surge, unavailable, new_sizes, &old_sizes)
        };
        for (rs, target) in
            std::iter::once((new_rs, new_target)).chain(old.iter().copied().zip(old_targets))
        {
            let current = spec_replicas(rs);
            if current != target {
                scaled = true;
                changes.push(scale(rs, target, desired, desired + surge));
                let verb = if target > current { "up" } else { "down" };
                let rs_name = rs.metadata.name.as_deref().unwrap_or_default();
                changes.push(Change::normal(
                    d,
                    "ScalingReplicaSet",
                    format!("Scaled {verb} replica set {rs_name} from {current} to {target}"),
                ));
            }
        }
        changes.extend(cleanup(d, &old));
    }
    if !conditions.iter().any(|c| c.type_ == "Progressing") {
        set_condition(
            &mut conditions,
            state,
            "Progressing",
            "True",
            "FoundNewReplicaSet",
            &format!("Found new replica set \"{new_name}\""),
        );
    }
    changes.extend(status_changes(
        d,
        Some(new_rs),
        &old,
        desired,
        unavailable,
        conditions,
        state,
        scaled,
    ));
    Ok(changes)
}

fn new_replica_set(
    d: &Deployment,
    rs_name: &str,
    hash: &str,
    replicas: i32,
    revision: &str,
    max_replicas: i32,
) -> serde_json::Value {
    let spec = d.spec.clone().unwrap_or_default();
    let mut template = spec.template.clone();
    let template_meta = template.metadata.get_or_insert_with(ObjectMeta::default);
    template_meta
        .labels
        .get_or_insert_with(BTreeMap::new)
        .insert(POD_TEMPLATE_HASH_LABEL.into(), hash.into());
    let mut selector: Selector = spec.selector.clone();
    selector
        .match_labels
        .get_or_insert_with(BTreeMap::new)
        .insert(POD_TEMPLATE_HASH_LABEL.into(), hash.into());
    let mut annotations: BTreeMap<String, String> =
        d.metadata.annotations.clone().unwrap_or_default();
    annotations.retain(|k, _| {
        !k.starts_with("deployment.kubernetes.io/")
            && k != "kubectl.kubernetes.io/last-applied-configuration"
    });
    annotations.insert(REVISION_ANNOTATION.into(), revision.into());
    annotations.insert(
        DESIRED_REPLICAS_ANNOTATION.into(),
        spec.replicas.unwrap_or(1).to_string(),
    );
    annotations.insert(MAX_REPLICAS_ANNOTATION.into(), max_replicas.to_string());
    let metadata = ObjectMeta {
        name: Some(rs_name.into()),
        namespace: d.metadata.namespace.clone(),
        labels: template_meta.labels.clone(),
        annotations: Some(annotations),
        owner_references: Some(vec![controller_ref(d)]),
        ..ObjectMeta::default()
    };
    json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": metadata,
        "spec": {"replicas": replicas, "minReadySeconds": spec.min_ready_seconds.unwrap_or(0), "selector": selector, "template": template}})
}

fn scale(rs: &ReplicaSet, replicas: i32, desired: i32, max: i32) -> Change {
    Change::Patch {
        target: Target::of(rs),
        patch: json!({"metadata": {"annotations": {DESIRED_REPLICAS_ANNOTATION: desired.to_string(), MAX_REPLICAS_ANNOTATION: max.to_string()}},
            "spec": {"replicas": replicas}}),
    }
}

fn set_annotation_change(d: &Deployment, key: &str, value: &str, changes: &mut Vec<Change>) {
    if d.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .map(String::as_str)
        != Some(value)
    {
        changes.push(Change::Patch {
            target: Target::of(d),
            patch: json!({"metadata": {"annotations": {key: value}}}),
        });
    }
}

/// Deletes old, empty ReplicaSets beyond `revisionHistoryLimit` (default 10), lowest revision first.
fn cleanup(d: &Deployment, old: &[&ReplicaSet]) -> Vec<Change> {
    let limit = d
        .spec
        .as_ref()
        .and_then(|s| s.revision_history_limit)
        .unwrap_or(10)
        .max(0) as usize;
    let mut empty: Vec<&ReplicaSet> = old
        .iter()
        .copied()
        .filter(|rs| {
            spec_replicas(rs) == 0
                && rs.status.as_ref().is_none_or(|s| s.replicas == 0)
                && !is_terminating(&rs.metadata)
        })
        .collect();
    if old.len() <= limit {
        return Vec::new();
    }
    empty.sort_by_key(|rs| revision(rs));
    let excess = old.len() - limit;
    empty
        .into_iter()
        .take(excess)
        .map(|rs| Change::Delete {
            target: Target::of(rs),
            propagation: None,
            uid: rs.metadata.uid.clone(),
        })
        .collect()
}

fn set_condition(
    conditions: &mut Vec<DeploymentCondition>,
    state: &ClusterState,
    type_: &str,
    status: &str,
    reason: &str,
    message: &str,
) {
    let now = Some(Time(state.now));
    match conditions.iter_mut().find(|c| c.type_ == type_) {
        Some(c) => {
            if c.status != status {
                c.last_transition_time = now.clone();
            }
            if c.status != status
                || c.reason.as_deref() != Some(reason)
                || c.message.as_deref() != Some(message)
            {
                c.last_update_time = now;
            }
            c.status = status.into();
            c.reason = Some(reason.into());
            c.message = Some(message.into());
        }
        None => conditions.push(DeploymentCondition {
            type_: type_.into(),
            status: status.into(),
            reason: Some(reason.into()),
            message: Some(message.into()),
            last_update_time: now.clone(),
            last_transition_time: now,
        }),
    }
}

#[allow(clippy::too_many_arguments)]
fn status_changes(
    d: &Deployment,
    new_rs: Option<&ReplicaSet>,
    old: &[&ReplicaSet],
    desired: i32,
    max_unavailable: i32,
    mut conditions: Vec<DeploymentCondition>,
    state: &ClusterState,
    progressed: bool,
) -> Vec<Change> {
    let all: Vec<&ReplicaSet> = new_rs.into_iter().chain(old.iter().copied()).collect();
    let status_of = |rs: &ReplicaSet| rs.status.clone().unwrap_or_default();
    let replicas: i32 = all.iter().map(|rs| status_of(rs).replicas).sum();
    let updated = new_rs.map(|rs| status_of(rs).replicas).unwrap_or(0);
    let ready: i32 = all
        .iter()
        .map(|rs| status_of(rs).ready_replicas.unwrap_or(0))
        .sum();
    let available: i32 = all
        .iter()
        .map(|rs| status_of(rs).available_replicas.unwrap_or(0))
        .sum();
    let total_spec: i32 = all.iter().map(|rs| spec_replicas(rs)).sum();
    let unavailable = (total_spec.max(desired) - available).max(0);
    let current = d.status.clone().unwrap_or_default();

    if available >= desired - max_unavailable {
        set_condition(
            &mut conditions,
            state,
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
        );
    } else {
        set_condition(
            &mut conditions,
            state,
            "Available",
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
        );
    }
    let paused = d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false);
    let progressing = conditions
        .iter()
        .find(|c| c.type_ == "Progressing")
        .cloned();
    let was_paused = progressing
        .as_ref()
        .is_some_and(|c| c.reason.as_deref() == Some("DeploymentPaused"));
    let new_name = new_rs
        .and_then(|rs| rs.metadata.name.clone())
        .unwrap_or_default();
    if paused {
        if !was_paused {
            set_condition(
                &mut conditions,
                state,
                "Progressing",
                "Unknown",
                "DeploymentPaused",
                "Deployment is paused",
            );
        }
    } else if was_paused {
        set_condition(
            &mut conditions,
            state,
            "Progressing",
            "Unknown",
            "DeploymentResumed",
            "Deployment is resumed",
        );
    } else if new_rs.is_some() {
        let complete = updated == desired
            && replicas == desired
            && available == desired
            && total_spec == desired;
        let moved = progressed
            || updated > current.updated_replicas.unwrap_or(0)
            || ready > current.ready_replicas.unwrap_or(0)
            || available > current.available_replicas.unwrap_or(0)
            || replicas < current.replicas.unwrap_or(0);
        let deadline = d
            .spec
            .as_ref()
            .and_then(|s| s.progress_deadline_seconds)
            .unwrap_or(600);
        let last_update = progressing
            .as_ref()
            .and_then(|c| c.last_update_time.as_ref())
            .map(|t| t.0.as_second());
        if complete {
            set_condition(
                &mut conditions,
                state,
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                &format!("ReplicaSet \"{new_name}\" has successfully progressed."),
            );
        } else if moved {
            set_condition(
                &mut conditions,
                state,
                "Progressing",
                "True",
                "ReplicaSetUpdated",
                &format!("ReplicaSet \"{new_name}\" is progressing."),
            );
        } else if progressing.as_ref().is_some_and(|c| c.status == "True")
            && last_update.is_some_and(|t| t + i64::from(deadline) < state.now.as_second())
        {
            set_condition(
                &mut conditions,
                state,
                "Progressing",
                "False",
                "ProgressDeadlineExceeded",
                &format!("ReplicaSet \"{new_name}\" has timed out progressing."),
            );
        }
    }
    let status = json!({
        "observedGeneration": d.metadata.generation,
        "replicas": replicas, "updatedReplicas": updated, "readyReplicas": ready,
        "availableReplicas": available, "unavailableReplicas": unavailable,
        "conditions": conditions,
    });
    let before = json!({
        "observedGeneration": current.observed_generation,
        "replicas": current.replicas.unwrap_or(0), "updatedReplicas": current.updated_replicas.unwrap_or(0),
        "readyReplicas": current.ready_replicas.unwrap_or(0), "availableReplicas": current.available_replicas.unwrap_or(0),
        "unavailableReplicas": current.unavailable_replicas.unwrap_or(0),
        "conditions": current.conditions.unwrap_or_default(),
    });
    if status == before {
        return Vec::new();
    }
    vec![Change::PatchStatus {
        target: Target::of(d),
        patch: json!({"status": status}),
    }]
}

#[cfg(test)]
#[path = "deployment_tests.rs"]
mod tests;
