//! Namespaces: a deleted namespace has its contents deleted, then its `kubernetes` finalizer
//! dropped so the API server removes it; the built-in namespaces exist; every active namespace
//! gets a `default` ServiceAccount.

use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use serde_json::json;

use crate::change::{is_terminating, Change, Propagation, Target};
use crate::garbage_collector::Summary;
use crate::state::ClusterState;

/// The finalizer the namespace controller owns.
pub const KUBERNETES_FINALIZER: &str = "kubernetes";
/// Namespaces that exist from the start.
pub const BUILTIN_NAMESPACES: [&str; 4] =
    ["default", "kube-system", "kube-public", "kube-node-lease"];

/// For a terminating namespace: delete what is left in it, or finalize it once empty.
/// `contents` are the objects still in the namespace (any kind).
pub fn finalize(namespace: &Namespace, contents: &[Summary]) -> Vec<Change> {
    if !is_terminating(&namespace.metadata) {
        return Vec::new();
    }
    let finalizers = namespace
        .spec
        .as_ref()
        .and_then(|s| s.finalizers.clone())
        .unwrap_or_default();
    if !finalizers.iter().any(|f| f == KUBERNETES_FINALIZER) {
        return Vec::new();
    }
    if contents.is_empty() {
        let kept = finalizers
            .into_iter()
            .filter(|f| f != KUBERNETES_FINALIZER)
            .collect();
        return vec![Change::FinalizeNamespace {
            target: Target::of(namespace),
            finalizers: kept,
        }];
    }
    contents
        .iter()
        .filter(|o| !o.deleting)
        .map(|o| Change::Delete {
            target: o.target.clone(),
            propagation: Some(Propagation::Background),
            uid: Some(o.uid.clone()),
        })
        .collect()
}

/// Creates missing built-in namespaces and `default` ServiceAccounts.
pub fn reconcile_all(state: &ClusterState) -> Vec<Change> {
    let mut changes = Vec::new();
    for name in BUILTIN_NAMESPACES {
        if !state.namespaces.contains_key(name) {
            changes.push(Change::Create { target: Target::new::<Namespace>(None, name), object: json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}) });
        }
    }
    for ns in state
        .namespaces
        .values()
        .filter(|ns| !is_terminating(&ns.metadata))
    {
        let name = ns.metadata.name.as_deref().unwrap_or_default();
        if !state
            .service_accounts
            .contains_key(&format!("{name}/default"))
        {
            changes.push(Change::Create {
                target: Target::new::<ServiceAccount>(Some(name), "default"),
                object: json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": name}}),
            });
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{object, state};

    fn terminating() -> Namespace {
        object(
            json!({"metadata": {"name": "team", "deletionTimestamp": "2026-01-01T00:00:00Z"}, "spec": {"finalizers": ["kubernetes"]}}),
        )
    }

    fn content(name: &str, deleting: bool) -> Summary {
        Summary {
            target: Target {
                api_version: "v1".into(),
                kind: "ConfigMap".into(),
                namespace: Some("team".into()),
                name: name.into(),
            },
            uid: name.into(),
            owners: vec![],
            finalizers: vec![],
            deleting,
        }
    }

    #[test]
    fn a_deleted_namespace_first_loses_its_contents() {
        let changes = finalize(&terminating(), &[content("a", false), content("b", true)]);
        assert_eq!(changes.len(), 1, "b is already going");
        assert!(matches!(&changes[0], Change::Delete { target, .. } if target.name == "a"));
    }

    #[test]
    fn an_empty_deleted_namespace_drops_the_kubernetes_finalizer() {
        assert_eq!(
            finalize(&terminating(), &[]),
            vec![Change::FinalizeNamespace {
                target: Target::of(&terminating()),
                finalizers: vec![]
            }]
        );
    }

    #[test]
    fn missing_builtin_namespaces_and_default_service_accounts_are_created() {
        let s = state(vec![
            ("Namespace", json!({"metadata": {"name": "default"}})),
            ("Namespace", json!({"metadata": {"name": "kube-system"}})),
            (
                "ServiceAccount",
                json!({"metadata": {"name": "default", "namespace": "kube-system"}}),
            ),
        ]);
        let created: Vec<String> = reconcile_all(&s)
            .iter()
            .map(|c| c.target().to_string())
            .collect();
        assert_eq!(
            created,
            vec![
                "Namespace kube-public",
                "Namespace kube-node-lease",
                "ServiceAccount default/default"
            ]
        );
    }
}
