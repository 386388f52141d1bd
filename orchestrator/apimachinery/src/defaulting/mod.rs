//! Defaulting of built-in objects: what upstream's `SetDefaults_*` functions (`pkg/apis/*/v1/defaults.go`),
//! the admission plugins every cluster runs (ServiceAccount, DefaultTolerationSeconds, Priority) and the
//! registry strategies fill in when a client left it out.
//!
//! Upstream fills an object in three stages, and so do the functions here: [`apply_defaults`] while
//! decoding (`SetDefaults_*`, before managed fields are recorded), [`admit`] for the default admission
//! plugins, and [`prepare_for_create`] for the registry's create strategy.
//!
//! Every function only fills fields that are absent, so applying it twice changes nothing. Values that
//! need server state (uids, cluster IPs, node ports, the service-account token volume, the job
//! controller-uid selector) are the API server's job and are not set here.

mod pod;
mod service;
mod workloads;

pub use pod::{
    admit_pod, default_container, default_pod, default_pod_spec, default_pod_template,
    prepare_pod_for_create,
};
pub use service::default_service;
pub use workloads::{
    default_cron_job, default_daemon_set, default_deployment, default_job, default_replica_set,
    default_stateful_set,
};

use serde_json::{Map, Value};

/// Fills in upstream's defaults for `object`, chosen by its `apiVersion` and `kind`; objects of other
/// kinds (custom resources included) are left unchanged.
pub fn apply_defaults(object: &mut Value) {
    let api_version = object
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let kind = object
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let group = api_version.rsplit_once('/').map_or("", |(group, _)| group);
    match (group, kind.as_str()) {
        ("", "Pod") => default_pod(object),
        ("", "PodTemplate") => {
            if let Some(template) = object.get_mut("template") {
                default_pod_template(template);
            }
        }
        ("", "ReplicationController") => workloads::default_replication_controller(object),
        ("", "Service") => default_service(object),
        ("", "Namespace") => default_namespace(object),
        ("", "Secret") => default_secret(object),
        ("", "Node") => default_node(object),
        ("", "Endpoints") => default_endpoints(object),
        ("", "PersistentVolumeClaim") => default_persistent_volume_claim(object),
        ("apps", "Deployment") => default_deployment(object),
        ("apps", "ReplicaSet") => default_replica_set(object),
        ("apps", "DaemonSet") => default_daemon_set(object),
        ("apps", "StatefulSet") => default_stateful_set(object),
        ("batch", "Job") => default_job(object),
        ("batch", "CronJob") => default_cron_job(object),
        ("discovery.k8s.io", "EndpointSlice") => default_endpoint_slice(object),
        _ => {}
    }
}

/// Fills in what upstream's default admission plugins add to a new object (today: pods, see
/// [`admit_pod`]). Call it after [`apply_defaults`] and after recording managed fields, as upstream runs
/// admission after the field manager.
pub fn admit(object: &mut Value) {
    if is_core_kind(object, "Pod") {
        admit_pod(object);
    }
}

/// Fills in what upstream's registry strategies set when an object is created (today: a pod's
/// `status.phase` and `status.qosClass`, see [`prepare_pod_for_create`]).
pub fn prepare_for_create(object: &mut Value) {
    if is_core_kind(object, "Pod") {
        prepare_pod_for_create(object);
    }
}

fn is_core_kind(object: &Value, kind: &str) -> bool {
    object.get("apiVersion").and_then(Value::as_str) == Some("v1")
        && object.get("kind").and_then(Value::as_str) == Some(kind)
}

/// Sets `key` to `value` in `map` when it is absent or null.
pub(crate) fn set_default(map: &mut Map<String, Value>, key: &str, value: Value) {
    if map.get(key).is_none_or(Value::is_null) {
        map.insert(key.to_string(), value);
    }
}

/// The object at `key` of `map`, created empty when absent or not an object.
pub(crate) fn object_at<'a>(
    map: &'a mut Map<String, Value>,
    key: &str,
) -> &'a mut Map<String, Value> {
    let slot = map
        .entry(key.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    match slot {
        Value::Object(inner) => inner,
        _ => unreachable!("slot was just made an object"),
    }
}

/// Calls `f` on every object element of the list at `key`, if there is one.
pub(crate) fn for_each_in(
    map: &mut Map<String, Value>,
    key: &str,
    mut f: impl FnMut(&mut Map<String, Value>),
) {
    if let Some(Value::Array(items)) = map.get_mut(key) {
        for item in items.iter_mut() {
            if let Value::Object(item) = item {
                f(item);
            }
        }
    }
}

/// Namespace: `spec.finalizers: ["kubernetes"]`, `status.phase: Active`, and the
/// `kubernetes.io/metadata.name` label upstream keeps equal to the name.
pub fn default_namespace(object: &mut Value) {
    let Value::Object(map) = object else { return };
    let name = map
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .map(str::to_string);
    if let Some(name) = name {
        let labels = object_at(object_at(map, "metadata"), "labels");
        labels.insert("kubernetes.io/metadata.name".into(), Value::String(name));
    }
    set_default(
        object_at(map, "spec"),
        "finalizers",
        serde_json::json!(["kubernetes"]),
    );
    set_default(
        object_at(map, "status"),
        "phase",
        Value::String("Active".into()),
    );
}

/// Secret: `type: Opaque`, and `stringData` folded into `data` (base64, overriding equal keys) as
/// upstream's conversion does, so that `stringData` is never stored.
pub fn default_secret(object: &mut Value) {
    use base64::Engine;
    let Value::Object(map) = object else { return };
    set_default(map, "type", Value::String("Opaque".into()));
    if let Some(Value::Object(strings)) = map.remove("stringData") {
        let data = object_at(map, "data");
        for (key, value) in strings {
            let text = value.as_str().unwrap_or_default();
            data.insert(
                key,
                Value::String(base64::engine::general_purpose::STANDARD.encode(text)),
            );
        }
    }
}

/// Node: `status.allocatable` defaults to `status.capacity`.
pub fn default_node(object: &mut Value) {
    let Value::Object(map) = object else { return };
    let Some(Value::Object(status)) = map.get_mut("status") else {
        return;
    };
    if let Some(capacity) = status.get("capacity").cloned() {
        set_default(status, "allocatable", capacity);
    }
}

/// Endpoints: each port's `protocol` defaults to TCP.
pub fn default_endpoints(object: &mut Value) {
    let Value::Object(map) = object else { return };
    for_each_in(map, "subsets", |subset| {
        for_each_in(subset, "ports", |port| {
            set_default(port, "protocol", Value::String("TCP".into()))
        });
    });
}

/// EndpointSlice: each port's `protocol` defaults to TCP.
pub fn default_endpoint_slice(object: &mut Value) {
    let Value::Object(map) = object else { return };
    for_each_in(map, "ports", |port| {
        set_default(port, "protocol", Value::String("TCP".into()))
    });
}

/// PersistentVolumeClaim: `spec.volumeMode: Filesystem`, `status.phase: Pending`.
pub fn default_persistent_volume_claim(object: &mut Value) {
    let Value::Object(map) = object else { return };
    set_default(
        object_at(map, "spec"),
        "volumeMode",
        Value::String("Filesystem".into()),
    );
    set_default(
        object_at(map, "status"),
        "phase",
        Value::String("Pending".into()),
    );
}

#[cfg(test)]
mod tests;
