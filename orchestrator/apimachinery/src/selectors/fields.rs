//! Which field labels each resource supports in field selectors, and the values of those fields
//! for an object (upstream's `AddFieldLabelConversionFunc` lists and `ToSelectableFields`).

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Error, Result};
use crate::registry::ResourceInfo;

const POD_FIELDS: &[&str] = &[
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.podIPs",
    "status.nominatedNodeName",
];

const EVENT_FIELDS: &[&str] = &[
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
];

/// The field labels a resource accepts beyond `metadata.name` and `metadata.namespace`.
pub fn supported_field_labels(group: &str, resource: &str) -> &'static [&'static str] {
    match (group, resource) {
        ("", "pods") => POD_FIELDS,
        ("" | "events.k8s.io", "events") => EVENT_FIELDS,
        ("", "namespaces") => &["status.phase"],
        ("", "secrets") => &["type"],
        ("", "nodes") => &["spec.unschedulable"],
        ("", "replicationcontrollers") | ("apps", "replicasets") => &["status.replicas"],
        ("batch", "jobs") | ("apps", "statefulsets") => &["status.successful"],
        ("certificates.k8s.io", "certificatesigningrequests") => &["spec.signerName"],
        _ => &[],
    }
}

/// Maps a field label to the one used for matching, or fails with upstream's
/// `field label not supported: <label>`.
pub fn convert_field_label(group: &str, resource: &str, label: &str) -> Result<String> {
    if label == "metadata.name" || label == "metadata.namespace" {
        return Ok(label.to_owned());
    }
    if group.is_empty() && resource == "pods" && label == "spec.host" {
        return Ok("spec.nodeName".to_owned());
    }
    if supported_field_labels(group, resource).contains(&label) {
        Ok(label.to_owned())
    } else {
        Err(Error::UnsupportedFieldLabel(label.to_owned()))
    }
}

/// Like [`convert_field_label`], also accepting a custom resource's `selectableFields`.
pub fn convert_field_label_for(resource: &ResourceInfo, label: &str) -> Result<String> {
    if resource.selectable_fields.iter().any(|f| f == label) {
        return Ok(label.to_owned());
    }
    convert_field_label(&resource.group, &resource.resource, label)
}

/// Like [`field_set`], adding a custom resource's `selectableFields` read from the object.
pub fn field_set_for(resource: &ResourceInfo, object: &Value) -> BTreeMap<String, String> {
    let mut set = field_set(&resource.group, &resource.resource, object);
    for field in &resource.selectable_fields {
        let pointer: String = field.split('.').map(|part| format!("/{part}")).collect();
        set.insert(field.clone(), text(object, &pointer));
    }
    set
}

fn text(object: &Value, pointer: &str) -> String {
    match object.pointer(pointer) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// The selectable fields of an object, with upstream's values (absent fields are `""`, booleans
/// `"true"`/`"false"`, counts as decimal text).
pub fn field_set(group: &str, resource: &str, object: &Value) -> BTreeMap<String, String> {
    let mut set = BTreeMap::new();
    let mut put = |k: &str, v: String| {
        set.insert(k.to_owned(), v);
    };
    put("metadata.name", text(object, "/metadata/name"));
    if object.pointer("/metadata/namespace").is_some() {
        put("metadata.namespace", text(object, "/metadata/namespace"));
    }
    match (group, resource) {
        ("", "pods") => {
            put("spec.nodeName", text(object, "/spec/nodeName"));
            put("spec.restartPolicy", text(object, "/spec/restartPolicy"));
            put("spec.schedulerName", text(object, "/spec/schedulerName"));
            put(
                "spec.serviceAccountName",
                text(object, "/spec/serviceAccountName"),
            );
            let host_network = object
                .pointer("/spec/hostNetwork")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            put("spec.hostNetwork", host_network.to_string());
            put("status.phase", text(object, "/status/phase"));
            let mut ip = text(object, "/status/podIPs/0/ip");
            if ip.is_empty() {
                ip = text(object, "/status/podIP");
            }
            put("status.podIP", ip.clone());
            put("status.podIPs", ip);
            put(
                "status.nominatedNodeName",
                text(object, "/status/nominatedNodeName"),
            );
        }
        ("" | "events.k8s.io", "events") => {
            // events.k8s.io/v1 spells the core fields differently: map them back.
            let (reference, reporting, source) = if object.get("regarding").is_some() {
                (
                    "/regarding",
                    "/reportingController",
                    "/deprecatedSource/component",
                )
            } else {
                (
                    "/involvedObject",
                    "/reportingComponent",
                    "/source/component",
                )
            };
            for field in [
                "kind",
                "namespace",
                "name",
                "uid",
                "apiVersion",
                "resourceVersion",
                "fieldPath",
            ] {
                put(
                    &format!("involvedObject.{field}"),
                    text(object, &format!("{reference}/{field}")),
                );
            }
            put("reason", text(object, "/reason"));
            let reporting_component = text(object, reporting);
            let mut source_component = text(object, source);
            if source_component.is_empty() {
                source_component = reporting_component.clone();
            }
            put("reportingComponent", reporting_component);
            put("source", source_component);
            put("type", text(object, "/type"));
        }
        ("", "namespaces") => put("status.phase", text(object, "/status/phase")),
        ("", "secrets") => put("type", text(object, "/type")),
        ("", "nodes") => {
            let unschedulable = object
                .pointer("/spec/unschedulable")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            put("spec.unschedulable", unschedulable.to_string());
        }
        ("", "replicationcontrollers") | ("apps", "replicasets") => {
            let replicas = object
                .pointer("/status/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            put("status.replicas", replicas.to_string());
        }
        ("batch", "jobs") => {
            let succeeded = object
                .pointer("/status/succeeded")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            put("status.successful", succeeded.to_string());
        }
        ("certificates.k8s.io", "certificatesigningrequests") => {
            put("spec.signerName", text(object, "/spec/signerName"));
        }
        _ => {}
    }
    set
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn unsupported_label_renders_upstream_message() {
        let err = convert_field_label("apps", "deployments", "spec.replicas").unwrap_err();
        assert_eq!(err.to_string(), "field label not supported: spec.replicas");
    }

    #[test]
    fn every_resource_supports_name_and_namespace() {
        for (g, r) in [
            ("", "configmaps"),
            ("apps", "deployments"),
            ("example.com", "widgets"),
        ] {
            assert_eq!(
                convert_field_label(g, r, "metadata.name").unwrap(),
                "metadata.name"
            );
            assert_eq!(
                convert_field_label(g, r, "metadata.namespace").unwrap(),
                "metadata.namespace"
            );
        }
    }

    #[test]
    fn pods_accept_legacy_spec_host_as_node_name() {
        assert_eq!(
            convert_field_label("", "pods", "spec.host").unwrap(),
            "spec.nodeName"
        );
    }

    #[test]
    fn pod_field_set_defaults_host_network_to_false() {
        let pod = json!({"metadata": {"name": "p", "namespace": "ns"},
                         "spec": {"nodeName": "n1"}, "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.5"}]}});
        let set = field_set("", "pods", &pod);
        assert_eq!(set["spec.hostNetwork"], "false");
        assert_eq!(set["spec.nodeName"], "n1");
        assert_eq!(set["status.podIP"], "10.0.0.5");
        assert_eq!(set["metadata.namespace"], "ns");
        assert_eq!(set["spec.restartPolicy"], "");
    }

    #[test]
    fn event_source_falls_back_to_reporting_controller() {
        let event = json!({"metadata": {"name": "e", "namespace": "default"},
                           "involvedObject": {"kind": "Pod", "name": "web", "uid": "u1"},
                           "reason": "Scheduled", "type": "Normal", "reportingComponent": "default-scheduler"});
        let set = field_set("", "events", &event);
        assert_eq!(set["source"], "default-scheduler");
        assert_eq!(set["involvedObject.uid"], "u1");
        assert_eq!(set["involvedObject.kind"], "Pod");
    }

    #[test]
    fn events_k8s_io_regarding_maps_to_involved_object() {
        let event = json!({"metadata": {"name": "e", "namespace": "default"},
                           "regarding": {"kind": "Pod", "name": "web"}, "reportingController": "kubelet"});
        let set = field_set("events.k8s.io", "events", &event);
        assert_eq!(set["involvedObject.name"], "web");
        assert_eq!(set["reportingComponent"], "kubelet");
    }

    #[test]
    fn counts_and_booleans_render_as_text() {
        let job = json!({"metadata": {"name": "j"}, "status": {"succeeded": 2}});
        assert_eq!(field_set("batch", "jobs", &job)["status.successful"], "2");
        let node = json!({"metadata": {"name": "n"}, "spec": {"unschedulable": true}});
        assert_eq!(field_set("", "nodes", &node)["spec.unschedulable"], "true");
        let rs = json!({"metadata": {"name": "r"}});
        assert_eq!(
            field_set("apps", "replicasets", &rs)["status.replicas"],
            "0"
        );
    }
}
