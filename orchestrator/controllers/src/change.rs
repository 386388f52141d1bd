//! What a reconcile decides: a list of [`Change`]s to objects, applied by the runtime. Pure
//! controllers return these; nothing here talks to the API.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::{Metadata, Resource};
use serde_json::Value;

/// Which object a change is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Target {
    /// `v1`, `apps/v1`, ...
    pub api_version: String,
    /// `Pod`, `ReplicaSet`, ...
    pub kind: String,
    /// Namespace, `None` for cluster-scoped objects.
    pub namespace: Option<String>,
    /// Name (for creates with `generateName`, the prefix).
    pub name: String,
}

impl Target {
    /// The target for a typed object.
    pub fn of<K: Resource + Metadata<Ty = ObjectMeta>>(object: &K) -> Target {
        let meta = object.metadata();
        Target {
            api_version: K::API_VERSION.to_string(),
            kind: K::KIND.to_string(),
            namespace: meta.namespace.clone(),
            name: meta
                .name
                .clone()
                .or_else(|| meta.generate_name.clone())
                .unwrap_or_default(),
        }
    }

    /// The target for a kind, namespace and name.
    pub fn new<K: Resource>(namespace: Option<&str>, name: &str) -> Target {
        Target {
            api_version: K::API_VERSION.to_string(),
            kind: K::KIND.to_string(),
            namespace: namespace.map(str::to_string),
            name: name.to_string(),
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {}/{}", self.kind, ns, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// How dependents are treated when an object is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    /// Delete now; the garbage collector deletes dependents afterwards.
    Background,
    /// Delete dependents first (the object waits with the `foregroundDeletion` finalizer).
    Foreground,
    /// Leave dependents, removing their owner references.
    Orphan,
}

impl Propagation {
    /// The `propagationPolicy` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Propagation::Background => "Background",
            Propagation::Foreground => "Foreground",
            Propagation::Orphan => "Orphan",
        }
    }
}

/// One mutation a controller wants.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Create the object (JSON with apiVersion/kind/metadata).
    Create {
        /// Where.
        target: Target,
        /// The full object.
        object: Value,
    },
    /// JSON merge patch on the object.
    Patch {
        /// Which.
        target: Target,
        /// The merge patch.
        patch: Value,
    },
    /// JSON merge patch on the `status` subresource.
    PatchStatus {
        /// Which.
        target: Target,
        /// The merge patch (`{"status": {...}}`).
        patch: Value,
    },
    /// Delete the object, optionally only if its UID still matches.
    Delete {
        /// Which.
        target: Target,
        /// Dependents policy; `None` = the resource's default.
        propagation: Option<Propagation>,
        /// Precondition on `metadata.uid`.
        uid: Option<String>,
    },
    /// Delete at once with grace period 0 (pods whose node is gone or lost).
    ForceDelete {
        /// Which.
        target: Target,
        /// Precondition on `metadata.uid`.
        uid: Option<String>,
    },
    /// Replace `spec.finalizers` of a Namespace through its `finalize` subresource.
    FinalizeNamespace {
        /// The namespace.
        target: Target,
        /// Finalizers to keep.
        finalizers: Vec<String>,
    },
    /// Record a core/v1 Event about the object.
    Event {
        /// About which object.
        target: Target,
        /// UID of that object.
        uid: Option<String>,
        /// `Normal` or `Warning`.
        type_: &'static str,
        /// CamelCase reason (`ScalingReplicaSet`).
        reason: &'static str,
        /// Human message.
        message: String,
    },
}

impl Change {
    /// The object the change is about.
    pub fn target(&self) -> &Target {
        match self {
            Change::Create { target, .. }
            | Change::Patch { target, .. }
            | Change::PatchStatus { target, .. }
            | Change::Delete { target, .. }
            | Change::ForceDelete { target, .. }
            | Change::FinalizeNamespace { target, .. }
            | Change::Event { target, .. } => target,
        }
    }

    /// A Normal event.
    pub fn normal<K: Resource + Metadata<Ty = ObjectMeta>>(
        object: &K,
        reason: &'static str,
        message: String,
    ) -> Change {
        Change::Event {
            target: Target::of(object),
            uid: object.metadata().uid.clone(),
            type_: "Normal",
            reason,
            message,
        }
    }

    /// A Warning event.
    pub fn warning<K: Resource + Metadata<Ty = ObjectMeta>>(
        object: &K,
        reason: &'static str,
        message: String,
    ) -> Change {
        Change::Event {
            target: Target::of(object),
            uid: object.metadata().uid.clone(),
            type_: "Warning",
            reason,
            message,
        }
    }
}

/// The controller owner reference pointing at `owner` (`controller: true, blockOwnerDeletion: true`).
pub fn controller_ref<K: Resource + Metadata<Ty = ObjectMeta>>(owner: &K) -> OwnerReference {
    let meta = owner.metadata();
    OwnerReference {
        api_version: K::API_VERSION.to_string(),
        kind: K::KIND.to_string(),
        name: meta.name.clone().unwrap_or_default(),
        uid: meta.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// The controller owner reference of an object, if any.
pub fn controller_of(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true))
}

/// Whether `meta` is controlled by the object with `uid`.
pub fn is_controlled_by(meta: &ObjectMeta, uid: &str) -> bool {
    controller_of(meta).is_some_and(|o| o.uid == uid)
}

/// Whether the object is being deleted.
pub fn is_terminating(meta: &ObjectMeta) -> bool {
    meta.deletion_timestamp.is_some()
}
