//! What a new cluster starts with: the four default namespaces, the bootstrap RBAC policy and the
//! `kubernetes` Service — created when missing, never overwritten.

use crate::storage::ObjectStore;
use serde_json::{json, Value};

use crate::authz::bootstrap_objects;
use crate::error::{Error, Result};
use crate::handlers::now_timestamp;
use crate::objects::encode;

/// The namespaces every cluster has.
pub const DEFAULT_NAMESPACES: [&str; 4] =
    ["default", "kube-system", "kube-public", "kube-node-lease"];

/// Creates `object` at `key` unless something is there already.
async fn create_missing(store: &ObjectStore, key: &str, mut object: Value) -> Result<()> {
    let meta = object["metadata"].as_object_mut();
    if let Some(meta) = meta {
        meta.insert("uid".into(), uuid::Uuid::new_v4().to_string().into());
        meta.insert("creationTimestamp".into(), now_timestamp().into());
    }
    match store.create(key, encode(&object)).await {
        Ok(_) | Err(clusterd_store::Error::AlreadyExists { .. }) => Ok(()),
        Err(source) => Err(Error::Store {
            operation: format!("create {key}"),
            source,
        }),
    }
}

/// Creates the default namespaces, the bootstrap ClusterRoles and bindings, and the `kubernetes`
/// Service (ClusterIP `service_ip`, port 443 to the API server's `port`).
pub async fn seed(store: &ObjectStore, service_ip: &str, port: u16) -> Result<()> {
    for name in DEFAULT_NAMESPACES {
        let namespace = json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        });
        create_missing(
            store,
            &format!("/registry/core/namespaces/{name}"),
            namespace,
        )
        .await?;
    }
    for (resource, name, object) in bootstrap_objects() {
        create_missing(
            store,
            &format!("/registry/rbac.authorization.k8s.io/{resource}/{name}"),
            object,
        )
        .await?;
    }
    let service = json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "kubernetes", "namespace": "default", "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {
            "type": "ClusterIP",
            "clusterIP": service_ip,
            "clusterIPs": [service_ip],
            "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": port}],
            "sessionAffinity": "None",
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
            "internalTrafficPolicy": "Cluster",
        },
        "status": {"loadBalancer": {}},
    });
    create_missing(store, "/registry/core/services/default/kubernetes", service).await
}
