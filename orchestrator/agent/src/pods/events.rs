//! Events about pods, as kubelet records them (`kubectl describe pod` shows them): Pulled,
//! Created, Started, Killing, BackOff, Failed, Unhealthy, SandboxChanged.

use k8s_openapi::api::core::v1::{Event, Pod};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use serde_json::json;

/// `Normal` or `Warning`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Something expected happened.
    Normal,
    /// Something went wrong.
    Warning,
}

/// Records an event about `pod` (and one of its containers) in the background; failures are
/// only logged, as kubelet's event recorder does.
pub fn record(
    client: &kube::Client,
    node: &str,
    pod: &Pod,
    container: Option<&str>,
    kind: EventType,
    reason: &str,
    message: String,
) {
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let now = Timestamp::now();
    let micro = Timestamp::from_microsecond(now.as_microsecond()).unwrap_or(now);
    let seconds = Timestamp::from_second(now.as_second()).unwrap_or(now);
    let mut involved = json!({
        "apiVersion": "v1", "kind": "Pod", "namespace": namespace, "name": name,
        "uid": pod.metadata.uid,
    });
    if let Some(container) = container {
        involved["fieldPath"] = json!(format!("spec.containers{{{container}}}"));
    }
    let event = json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": { "name": format!("{name}.{:x}", micro.as_nanosecond()), "namespace": namespace },
        "involvedObject": involved,
        "reason": reason,
        "message": message,
        "type": match kind { EventType::Normal => "Normal", EventType::Warning => "Warning" },
        "source": { "component": "kubelet", "host": node },
        "reportingComponent": "kubelet",
        "reportingInstance": node,
        "firstTimestamp": seconds.to_string(),
        "lastTimestamp": seconds.to_string(),
        "count": 1,
    });
    let Ok(event) = serde_json::from_value::<Event>(event) else {
        return;
    };
    let api: Api<Event> = Api::namespaced(client.clone(), &namespace);
    tokio::spawn(async move {
        if let Err(error) = api.create(&PostParams::default(), &event).await {
            tracing::debug!(%error, "recording an event failed");
        }
    });
}
