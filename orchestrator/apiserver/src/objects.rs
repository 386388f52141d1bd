//! Objects in the datastore: where each resource lives (`/registry/<group>/<resource>/<ns>/<name>`),
//! JSON encoding, `metadata.resourceVersion` from the store's mod revision, and store errors as
//! `Status` errors.

use bytes::Bytes;
use clusterd_apimachinery::status::StatusError;
use clusterd_store::{KeyValue, ListOptions};

use crate::storage::ObjectStore;
use serde_json::Value;

/// The resource a request addresses, as the handlers need it (resolved from the registry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// API group (`""` for core).
    pub group: String,
    /// API version.
    pub version: String,
    /// Resource plural.
    pub resource: String,
    /// Kind of one object.
    pub kind: String,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
    /// Whether `status` is a subresource (a main-resource write keeps the stored status).
    pub has_status: bool,
    /// Whether `scale` is a subresource (autoscaling/v1 Scale).
    pub has_scale: bool,
}

impl Target {
    /// `v1` or `apps/v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The list kind (`PodList`).
    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    /// The store key of one object.
    pub fn key(&self, namespace: &str, name: &str) -> String {
        if self.namespaced {
            format!("{}{namespace}/{name}", self.collection_prefix())
        } else {
            format!("{}{name}", self.collection_prefix())
        }
    }

    /// The store prefix of a collection: every object, or those in `namespace`.
    pub fn prefix(&self, namespace: &str) -> String {
        if self.namespaced && !namespace.is_empty() {
            format!("{}{namespace}/", self.collection_prefix())
        } else {
            self.collection_prefix()
        }
    }

    fn collection_prefix(&self) -> String {
        let group = if self.group.is_empty() {
            "core"
        } else {
            &self.group
        };
        format!("/registry/{group}/{}/", self.resource)
    }

    /// The Status error a store failure on `name` becomes.
    pub fn store_error(&self, name: &str, error: clusterd_store::Error) -> StatusError {
        use clusterd_store::Error as E;
        match error {
            E::AlreadyExists { .. } => {
                StatusError::already_exists(&self.resource, &self.group, name)
            }
            E::NotFound { .. } => StatusError::not_found(&self.resource, &self.group, name),
            E::Conflict { .. } => StatusError::conflict(&self.resource, &self.group, name),
            E::Compacted {
                requested,
                compacted,
            } => StatusError::too_old_resource_version(
                requested.max(0) as u64,
                compacted.max(0) as u64,
            ),
            E::FutureRevision { requested, .. } => StatusError::timeout(
                &format!("Too large resource version: {requested}, current: unavailable"),
                1,
            ),
            other => StatusError::internal(&other.to_string()),
        }
    }
}

/// A stored object with its mod revision.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    /// The object, with `metadata.resourceVersion` set.
    pub object: Value,
    /// The store's mod revision of it.
    pub revision: i64,
}

/// Decodes a stored value and stamps its resource version.
pub fn decode(kv: &KeyValue) -> Result<Stored, StatusError> {
    let mut object: Value = serde_json::from_slice(&kv.value)
        .map_err(|e| StatusError::internal(&format!("decode stored object {}: {e}", kv.key)))?;
    set_resource_version(&mut object, kv.mod_revision);
    Ok(Stored {
        object,
        revision: kv.mod_revision,
    })
}

/// Sets `metadata.resourceVersion` to `revision`.
pub fn set_resource_version(object: &mut Value, revision: i64) {
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert(
            "resourceVersion".into(),
            Value::String(revision.to_string()),
        );
    }
}

/// The bytes stored for `object` (without its resource version, which the store's revision is).
pub fn encode(object: &Value) -> Bytes {
    let mut object = object.clone();
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("resourceVersion");
    }
    Bytes::from(serde_json::to_vec(&object).unwrap_or_default())
}

/// One page of a filtered list.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// Matching objects, in key order.
    pub items: Vec<Value>,
    /// The revision the list was read at.
    pub revision: i64,
    /// The key to continue after, when more may follow.
    pub continue_after: Option<String>,
}

/// Lists `prefix` at `revision` (0 = latest), starting after `start_after`, keeping objects for which
/// `keep` holds, until `limit` (0 = all) of them are found.
pub async fn list_filtered(
    store: &ObjectStore,
    prefix: &str,
    revision: i64,
    start_after: Option<String>,
    limit: usize,
    keep: impl Fn(&Value) -> bool,
) -> Result<Page, clusterd_store::Error> {
    let mut items = Vec::new();
    let (revision, continue_after) = list_each(
        store,
        prefix,
        revision,
        start_after,
        limit,
        keep,
        |object| {
            items.push(object);
        },
    )
    .await?;
    Ok(Page {
        items,
        revision,
        continue_after,
    })
}

/// Like [`list_filtered`], but hands each kept object to `visit` as soon as it is decoded instead
/// of collecting them, so a response can be written object by object (a 10,000-pod list then never
/// holds 10,000 decoded objects at once). Returns the revision read at and the key to continue
/// after, when more may follow.
pub async fn list_each(
    store: &ObjectStore,
    prefix: &str,
    revision: i64,
    start_after: Option<String>,
    limit: usize,
    keep: impl Fn(&Value) -> bool,
    mut visit: impl FnMut(Value),
) -> Result<(i64, Option<String>), clusterd_store::Error> {
    let mut found = 0;
    let mut revision = revision;
    let mut start_after = start_after;
    loop {
        let mut opts = ListOptions::latest().at_revision(revision);
        if limit > 0 {
            opts = opts.with_limit(limit - found);
        }
        if let Some(after) = &start_after {
            opts = opts.starting_after(after.clone());
        }
        let page = store.list(prefix, opts).await?;
        revision = page.revision;
        let more = page.more;
        let count = page.items.len();
        start_after = page.items.last().map(|kv| kv.key.clone());
        for (index, kv) in page.items.into_iter().enumerate() {
            let Ok(stored) = decode(&kv) else { continue };
            if !keep(&stored.object) {
                continue;
            }
            visit(stored.object);
            found += 1;
            if limit > 0 && found == limit {
                let rest = more || index + 1 < count;
                return Ok((revision, rest.then(|| kv.key.clone())));
            }
        }
        if !more || start_after.is_none() {
            return Ok((revision, None));
        }
    }
}

/// Reads the object at `key`.
pub async fn get(
    store: &ObjectStore,
    target: &Target,
    key: &str,
    name: &str,
) -> Result<Option<Stored>, StatusError> {
    match store.get(key).await {
        Ok(Some(kv)) => decode(&kv).map(Some),
        Ok(None) => Ok(None),
        Err(e) => Err(target.store_error(name, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pods() -> Target {
        Target {
            group: String::new(),
            version: "v1".into(),
            resource: "pods".into(),
            kind: "Pod".into(),
            namespaced: true,
            has_status: true,
            has_scale: false,
        }
    }

    #[test]
    fn keys_follow_the_registry_layout() {
        let pods = pods();
        assert_eq!(
            pods.key("default", "web"),
            "/registry/core/pods/default/web"
        );
        assert_eq!(pods.prefix("default"), "/registry/core/pods/default/");
        assert_eq!(pods.prefix(""), "/registry/core/pods/");
        let nodes = Target {
            namespaced: false,
            resource: "nodes".into(),
            kind: "Node".into(),
            ..pods
        };
        assert_eq!(nodes.key("ignored", "n1"), "/registry/core/nodes/n1");
        let deployments = Target {
            group: "apps".into(),
            resource: "deployments".into(),
            ..self::pods()
        };
        assert_eq!(deployments.key("a", "d"), "/registry/apps/deployments/a/d");
        assert_eq!(deployments.api_version(), "apps/v1");
    }

    #[test]
    fn encoding_drops_the_resource_version_and_decoding_restores_it() {
        let object = serde_json::json!({"metadata": {"name": "a", "resourceVersion": "9"}});
        let bytes = encode(&object);
        assert!(!String::from_utf8_lossy(&bytes).contains("resourceVersion"));
        let kv = KeyValue {
            key: "k".into(),
            value: bytes,
            create_revision: 3,
            mod_revision: 12,
        };
        let stored = decode(&kv).unwrap();
        assert_eq!(stored.object["metadata"]["resourceVersion"], "12");
    }

    #[test]
    fn store_conflicts_become_409_and_compaction_410() {
        let err = pods().store_error(
            "web",
            clusterd_store::Error::Conflict {
                operation: "update",
                key: "k".into(),
                expected: 1,
                current: 2,
            },
        );
        assert_eq!((err.code, err.reason.as_str()), (409, "Conflict"));
        let err = pods().store_error(
            "",
            clusterd_store::Error::Compacted {
                requested: 5,
                compacted: 12,
            },
        );
        assert_eq!(err.code, 410);
        assert_eq!(err.message, "too old resource version: 5 (12)");
    }
}
