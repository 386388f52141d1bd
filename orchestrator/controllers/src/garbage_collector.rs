//! Garbage collector: follows ownerReferences. Dependents of a deleted owner go (background);
//! an owner deleted in the foreground waits with the `foregroundDeletion` finalizer until its
//! blocking dependents are gone; one deleted with `orphan` first frees its dependents.

use std::collections::{HashMap, HashSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::{Metadata, Resource};
use serde_json::json;

use crate::change::{Change, Propagation, Target};
use crate::state::ClusterState;

/// Finalizer of an owner deleted with `propagationPolicy=Foreground`.
pub const FOREGROUND_FINALIZER: &str = "foregroundDeletion";
/// Finalizer of an owner deleted with `propagationPolicy=Orphan`.
pub const ORPHAN_FINALIZER: &str = "orphan";

/// The ownership facts of one object.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// The object.
    pub target: Target,
    /// `metadata.uid`.
    pub uid: String,
    /// `metadata.ownerReferences`.
    pub owners: Vec<OwnerReference>,
    /// `metadata.finalizers`.
    pub finalizers: Vec<String>,
    /// Whether `metadata.deletionTimestamp` is set.
    pub deleting: bool,
}

impl Summary {
    /// The summary of a typed object.
    pub fn of<K: Resource + Metadata<Ty = ObjectMeta>>(object: &K) -> Summary {
        let meta = object.metadata();
        Summary {
            target: Target::of(object),
            uid: meta.uid.clone().unwrap_or_default(),
            owners: meta.owner_references.clone().unwrap_or_default(),
            finalizers: meta.finalizers.clone().unwrap_or_default(),
            deleting: meta.deletion_timestamp.is_some(),
        }
    }
}

/// (apiVersion, kind) of everything [`summaries`] covers: owners of these kinds can be judged gone.
pub const TRACKED_KINDS: [(&str, &str); 14] = [
    ("v1", "Pod"),
    ("apps/v1", "ReplicaSet"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "DaemonSet"),
    ("apps/v1", "StatefulSet"),
    ("batch/v1", "Job"),
    ("batch/v1", "CronJob"),
    ("v1", "Service"),
    ("v1", "Endpoints"),
    ("discovery.k8s.io/v1", "EndpointSlice"),
    ("v1", "ServiceAccount"),
    ("v1", "Node"),
    ("v1", "Namespace"),
    ("coordination.k8s.io/v1", "Lease"),
];

/// Summaries of every object the controllers track.
pub fn summaries(state: &ClusterState) -> Vec<Summary> {
    let mut out = Vec::new();
    out.extend(state.pods.values().map(Summary::of));
    out.extend(state.replica_sets.values().map(Summary::of));
    out.extend(state.deployments.values().map(Summary::of));
    out.extend(state.daemon_sets.values().map(Summary::of));
    out.extend(state.stateful_sets.values().map(Summary::of));
    out.extend(state.jobs.values().map(Summary::of));
    out.extend(state.cron_jobs.values().map(Summary::of));
    out.extend(state.services.values().map(Summary::of));
    out.extend(state.endpoints.values().map(Summary::of));
    out.extend(state.endpoint_slices.values().map(Summary::of));
    out.extend(state.service_accounts.values().map(Summary::of));
    out.extend(state.nodes.values().map(Summary::of));
    out.extend(state.namespaces.values().map(Summary::of));
    out.extend(state.leases.values().map(Summary::of));
    out
}

/// Decides deletions and finalizer/ownerReference updates for a complete set of objects of the
/// `tracked` kinds. Owner references to other kinds are left alone (their owners are not known
/// to be gone).
pub fn reconcile(objects: &[Summary], tracked: &[(&str, &str)]) -> Vec<Change> {
    let kinds: HashSet<(&str, &str)> = tracked.iter().copied().collect();
    let by_uid: HashMap<&str, &Summary> = objects.iter().map(|o| (o.uid.as_str(), o)).collect();
    let mut dependents: HashMap<&str, Vec<&Summary>> = HashMap::new();
    for o in objects {
        for r in &o.owners {
            dependents.entry(r.uid.as_str()).or_default().push(o);
        }
    }
    let mut changes = Vec::new();
    for o in objects {
        let deps = dependents
            .get(o.uid.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default();
        if o.deleting && o.finalizers.iter().any(|f| f == ORPHAN_FINALIZER) {
            for d in deps {
                let kept: Vec<&OwnerReference> =
                    d.owners.iter().filter(|r| r.uid != o.uid).collect();
                changes.push(Change::Patch {
                    target: d.target.clone(),
                    patch: json!({"metadata": {"ownerReferences": list_or_null(&kept), "uid": d.uid}}),
                });
            }
            if deps.is_empty() {
                changes.push(drop_finalizer(o, ORPHAN_FINALIZER));
            }
            continue;
        }
        if o.deleting && o.finalizers.iter().any(|f| f == FOREGROUND_FINALIZER) {
            let mut blocking = 0;
            for d in deps {
                let blocks = d
                    .owners
                    .iter()
                    .any(|r| r.uid == o.uid && r.block_owner_deletion == Some(true));
                if blocks {
                    blocking += 1;
                }
                if !d.deleting {
                    changes.push(Change::Delete {
                        target: d.target.clone(),
                        propagation: Some(Propagation::Foreground),
                        uid: Some(d.uid.clone()),
                    });
                }
            }
            if blocking == 0 {
                changes.push(drop_finalizer(o, FOREGROUND_FINALIZER));
            }
            continue;
        }
        if o.deleting || o.owners.is_empty() {
            continue;
        }
        // Owners we can judge: kinds we track. Gone = no object with that uid (or another kind/name).
        let judged: Vec<&OwnerReference> = o
            .owners
            .iter()
            .filter(|r| kinds.contains(&(r.api_version.as_str(), r.kind.as_str())))
            .collect();
        let gone = |r: &&OwnerReference| {
            by_uid
                .get(r.uid.as_str())
                .is_none_or(|owner| owner.target.kind != r.kind || owner.target.name != r.name)
        };
        let dangling: Vec<&OwnerReference> = judged.iter().copied().filter(gone).collect();
        if dangling.is_empty() {
            continue;
        }
        if dangling.len() == o.owners.len() {
            changes.push(Change::Delete {
                target: o.target.clone(),
                propagation: Some(Propagation::Background),
                uid: Some(o.uid.clone()),
            });
        } else {
            let kept: Vec<&OwnerReference> = o
                .owners
                .iter()
                .filter(|r| !dangling.iter().any(|d| d.uid == r.uid))
                .collect();
            changes.push(Change::Patch {
                target: o.target.clone(),
                patch: json!({"metadata": {"ownerReferences": list_or_null(&kept), "uid": o.uid}}),
            });
        }
    }
    changes
}

/// A list for a merge patch: `null` (remove the field) when empty, as upstream never stores `[]`.
pub(crate) fn list_or_null<T: serde::Serialize>(items: &[T]) -> serde_json::Value {
    if items.is_empty() {
        serde_json::Value::Null
    } else {
        json!(items)
    }
}

fn drop_finalizer(o: &Summary, finalizer: &str) -> Change {
    let kept: Vec<&String> = o.finalizers.iter().filter(|f| *f != finalizer).collect();
    Change::Patch {
        target: o.target.clone(),
        patch: json!({"metadata": {"finalizers": list_or_null(&kept), "uid": o.uid}}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(
        kind: &str,
        name: &str,
        owners: &[(&str, &str, bool)],
        finalizers: &[&str],
        deleting: bool,
    ) -> Summary {
        let api_version = if kind == "Pod" { "v1" } else { "apps/v1" };
        Summary {
            target: Target {
                api_version: api_version.into(),
                kind: kind.into(),
                namespace: Some("default".into()),
                name: name.into(),
            },
            uid: format!("{name}-uid"),
            owners: owners
                .iter()
                .map(|(kind, name, block)| OwnerReference {
                    api_version: "apps/v1".into(),
                    kind: (*kind).into(),
                    name: (*name).into(),
                    uid: format!("{name}-uid"),
                    controller: Some(true),
                    block_owner_deletion: Some(*block),
                })
                .collect(),
            finalizers: finalizers.iter().map(|f| f.to_string()).collect(),
            deleting,
        }
    }

    fn deleted(changes: &[Change]) -> Vec<String> {
        changes
            .iter()
            .filter_map(|c| match c {
                Change::Delete { target, .. } => Some(target.name.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn dependents_of_a_deleted_owner_are_deleted_in_the_background() {
        let objects = vec![
            summary("ReplicaSet", "live", &[], &[], false),
            summary("Pod", "a", &[("ReplicaSet", "gone", true)], &[], false),
            summary("Pod", "b", &[("ReplicaSet", "live", true)], &[], false),
        ];
        assert_eq!(deleted(&reconcile(&objects, &TRACKED_KINDS)), vec!["a"]);
    }

    #[test]
    fn the_last_owner_of_its_kind_being_gone_still_counts() {
        // No ReplicaSet exists at all any more; its pods must still go.
        let objects = vec![summary(
            "Pod",
            "a",
            &[("ReplicaSet", "gone", true)],
            &[],
            false,
        )];
        assert_eq!(deleted(&reconcile(&objects, &TRACKED_KINDS)), vec!["a"]);
    }

    #[test]
    fn owners_of_untracked_kinds_are_never_judged_gone() {
        let mut pod = summary("Pod", "a", &[("Widget", "w", true)], &[], false);
        pod.owners[0].api_version = "example.com/v1".into();
        assert_eq!(
            reconcile(
                &[pod, summary("ReplicaSet", "x", &[], &[], false)],
                &TRACKED_KINDS
            ),
            vec![]
        );
    }

    #[test]
    fn foreground_deletion_removes_dependents_then_the_finalizer() {
        let owner = summary("ReplicaSet", "rs", &[], &[FOREGROUND_FINALIZER], true);
        let first = reconcile(
            &[
                owner.clone(),
                summary("Pod", "a", &[("ReplicaSet", "rs", true)], &[], false),
            ],
            &TRACKED_KINDS,
        );
        assert_eq!(deleted(&first), vec!["a"]);
        assert!(
            !first.iter().any(|c| matches!(c, Change::Patch { .. })),
            "owner waits for its blocking dependent"
        );
        let done = reconcile(&[owner], &TRACKED_KINDS);
        assert_eq!(
            done,
            vec![Change::Patch {
                target: done[0].target().clone(),
                patch: json!({"metadata": {"finalizers": null, "uid": "rs-uid"}})
            }]
        );
    }

    #[test]
    fn orphan_deletion_frees_dependents_then_the_finalizer() {
        let owner = summary("ReplicaSet", "rs", &[], &[ORPHAN_FINALIZER], true);
        let changes = reconcile(
            &[
                owner.clone(),
                summary("Pod", "a", &[("ReplicaSet", "rs", true)], &[], false),
            ],
            &TRACKED_KINDS,
        );
        assert!(deleted(&changes).is_empty());
        assert!(
            matches!(&changes[0], Change::Patch { target, patch } if target.name == "a" && patch["metadata"]["ownerReferences"].is_null())
        );
        assert!(
            matches!(&reconcile(&[owner], &TRACKED_KINDS)[0], Change::Patch { patch, .. } if patch["metadata"]["finalizers"].is_null())
        );
    }

    #[test]
    fn a_dangling_reference_beside_a_live_owner_is_removed_not_the_object() {
        let objects = vec![
            summary("ReplicaSet", "live", &[], &[], false),
            summary(
                "Pod",
                "a",
                &[("ReplicaSet", "live", true), ("ReplicaSet", "gone", false)],
                &[],
                false,
            ),
        ];
        let changes = reconcile(&objects, &TRACKED_KINDS);
        assert!(deleted(&changes).is_empty());
        assert!(
            matches!(&changes[0], Change::Patch { patch, .. } if patch["metadata"]["ownerReferences"].as_array().unwrap().len() == 1)
        );
    }
}
