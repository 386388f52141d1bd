//! Keeps the RBAC view in step with the store: a full load, then a watch of the RBAC prefix; after
//! a lost watch (compaction, lag) it loads everything again.

use std::sync::Arc;
use std::time::Duration;

use clusterd_store::{Event, ListOptions};

use crate::authz::RbacKind;
use crate::state::ApiState;

/// The store prefix of every RBAC object.
pub const RBAC_PREFIX: &str = "/registry/rbac.authorization.k8s.io/";

/// `(kind, namespace, name)` of an RBAC key.
fn parse_key(key: &str) -> Option<(RbacKind, &str, &str)> {
    let rest = key.strip_prefix(RBAC_PREFIX)?;
    let parts: Vec<&str> = rest.split('/').collect();
    match parts.as_slice() {
        [resource, name] => Some((RbacKind::from_resource(resource)?, "", name)),
        [resource, namespace, name] => Some((RbacKind::from_resource(resource)?, namespace, name)),
        _ => None,
    }
}

fn apply(state: &ApiState, key: &str, value: Option<&[u8]>) {
    let Some((kind, namespace, name)) = parse_key(key) else {
        return;
    };
    let object = value.and_then(|v| serde_json::from_slice::<serde_json::Value>(v).ok());
    state.rbac.apply(kind, namespace, name, object.as_ref());
}

/// Loads every RBAC object; returns the revision loaded at.
pub async fn load(state: &ApiState) -> Result<i64, clusterd_store::Error> {
    let page = state.store.list(RBAC_PREFIX, ListOptions::latest()).await?;
    state.rbac.clear();
    for kv in &page.items {
        apply(state, &kv.key, Some(&kv.value));
    }
    Ok(page.revision)
}

/// Follows changes after `revision` for as long as the server runs.
pub async fn follow(state: Arc<ApiState>, mut revision: i64) {
    loop {
        match state.store.watch(RBAC_PREFIX, revision).await {
            Ok(mut stream) => {
                while let Some(event) = stream.next().await {
                    match event {
                        Ok(Event::Put { kv, .. }) => apply(&state, &kv.key, Some(&kv.value)),
                        Ok(Event::Delete { kv, .. }) => apply(&state, &kv.key, None),
                        Err(clusterd_store::Error::Closed) => return,
                        Err(e) => {
                            tracing::warn!(error = %e, "rbac watch ended; reloading");
                            break;
                        }
                    }
                }
            }
            Err(clusterd_store::Error::Closed) => return,
            Err(e) => tracing::warn!(error = %e, "rbac watch failed; retrying"),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        match load(&state).await {
            Ok(r) => revision = r,
            Err(clusterd_store::Error::Closed) => return,
            Err(e) => tracing::warn!(error = %e, "reload rbac"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rbac_keys_name_kind_namespace_and_name() {
        let key = "/registry/rbac.authorization.k8s.io/rolebindings/team/readers";
        assert_eq!(
            parse_key(key).map(|(k, ns, n)| (k, ns.to_owned(), n.to_owned())),
            Some((RbacKind::RoleBinding, "team".into(), "readers".into()))
        );
        let key = "/registry/rbac.authorization.k8s.io/clusterroles/view";
        assert_eq!(
            parse_key(key).map(|(k, _, n)| (k, n.to_owned())),
            Some((RbacKind::ClusterRole, "view".into()))
        );
        assert!(parse_key("/registry/core/pods/a/b").is_none());
    }
}
