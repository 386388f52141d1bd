//! Pod facts controllers share: active, ready, available; and building a pod from a template.

use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::jiff::Timestamp;
use serde_json::{json, Value};

use crate::change::is_terminating;

/// Not terminating and not finished (upstream `IsPodActive`).
pub fn is_active(pod: &Pod) -> bool {
    !is_terminating(&pod.metadata) && !matches!(phase(pod), "Succeeded" | "Failed")
}

/// `status.phase`, `Pending` when unset.
pub fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("Pending")
}

/// When the Ready condition became True, if it is True.
pub fn ready_since(pod: &Pod) -> Option<Timestamp> {
    let condition = pod
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")?;
    (condition.status == "True").then(|| {
        condition
            .last_transition_time
            .as_ref()
            .map(|t| t.0)
            .unwrap_or(Timestamp::UNIX_EPOCH)
    })
}

/// Whether the Ready condition is True.
pub fn is_ready(pod: &Pod) -> bool {
    ready_since(pod).is_some()
}

/// Ready for at least `min_ready_seconds` (upstream `IsPodAvailable`).
pub fn is_available(pod: &Pod, min_ready_seconds: i32, now: Timestamp) -> bool {
    match ready_since(pod) {
        Some(since) => {
            min_ready_seconds <= 0
                || since.as_second() + i64::from(min_ready_seconds) <= now.as_second()
        }
        None => false,
    }
}

/// Total container restarts.
pub fn restarts(pod: &Pod) -> i32 {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map(|c| c.iter().map(|s| s.restart_count).sum())
        .unwrap_or(0)
}

/// `spec.nodeName` if set.
pub fn node_name(pod: &Pod) -> Option<&str> {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .filter(|n| !n.is_empty())
}

/// A pod object from a template, owned by `owner`; `name` is a fixed name or, with `generate`, a prefix.
pub fn pod_from_template(
    template: &PodTemplateSpec,
    namespace: &str,
    name: &str,
    generate: bool,
    owner: OwnerReference,
) -> Value {
    let meta = template.metadata.clone().unwrap_or_default();
    let metadata = ObjectMeta {
        name: (!generate).then(|| name.to_string()),
        generate_name: generate.then(|| name.to_string()),
        namespace: Some(namespace.to_string()),
        labels: meta.labels,
        annotations: meta.annotations,
        finalizers: meta.finalizers,
        owner_references: Some(vec![owner]),
        ..ObjectMeta::default()
    };
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": template.spec})
}
