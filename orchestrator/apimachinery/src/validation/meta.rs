//! Object metadata: names, generateName, namespace, labels, annotations and finalizers
//! (`apimachinery/pkg/api/validation/objectmeta.go`).

use serde_json::{Map, Value};

use super::names;
use super::FieldError;

/// Upstream's cap on the total size of an object's annotation keys and values.
pub const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;

/// Kinds that live outside namespaces, for the built-in groups.
const CLUSTER_SCOPED: &[&str] = &[
    "Namespace",
    "Node",
    "PersistentVolume",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "StorageClass",
    "IngressClass",
    "PriorityClass",
    "RuntimeClass",
    "CSIDriver",
    "CSINode",
    "VolumeAttachment",
    "CertificateSigningRequest",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// The string at `key` of an object, if it is one.
pub(super) fn str_at<'a>(value: Option<&'a Value>, key: &str) -> Option<&'a str> {
    value.and_then(|v| v.get(key)).and_then(Value::as_str)
}

/// The map at `key` of an object, if it is one.
pub(super) fn map_at<'a>(value: Option<&'a Value>, key: &str) -> Option<&'a Map<String, Value>> {
    value.and_then(|v| v.get(key)).and_then(Value::as_object)
}

/// The list at `key` of an object (empty when absent).
pub(super) fn list_at<'a>(value: Option<&'a Value>, key: &str) -> &'a [Value] {
    value
        .and_then(|v| v.get(key))
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The name checker upstream uses for objects of `group`/`kind`.
pub(super) fn name_checker(group: &str, kind: &str) -> fn(&str) -> Vec<String> {
    match (group, kind) {
        ("", "Namespace") => names::dns1123_label,
        ("", "Service") => names::dns1035_label,
        ("rbac.authorization.k8s.io", _) => names::path_segment_name,
        _ => names::dns1123_subdomain,
    }
}

/// `generateName` is a prefix: a trailing dash is allowed, as upstream's `maskTrailingDash` does.
fn mask_trailing_dash(prefix: &str) -> String {
    match prefix.strip_suffix('-') {
        Some(rest) if !rest.is_empty() => format!("{rest}a"),
        _ => prefix.to_string(),
    }
}

pub(super) fn validate_object_meta(object: &Value, group: &str, kind: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let metadata = object.get("metadata");
    let check = name_checker(group, kind);
    let name = str_at(metadata, "name").unwrap_or_default();
    let generate_name = str_at(metadata, "generateName").unwrap_or_default();
    if !generate_name.is_empty() {
        for message in check(&mask_trailing_dash(generate_name)) {
            errors.push(FieldError::invalid(
                "metadata.generateName",
                generate_name,
                message,
            ));
        }
    }
    if name.is_empty() {
        if generate_name.is_empty() {
            errors.push(FieldError::required(
                "metadata.name",
                "name or generateName is required",
            ));
        }
    } else {
        for message in check(name) {
            errors.push(FieldError::invalid("metadata.name", name, message));
        }
    }
    if group == "batch" && kind == "CronJob" && name.len() > 52 {
        errors.push(FieldError::invalid(
            "metadata.name",
            name,
            "must be no more than 52 characters",
        ));
    }
    let namespace = str_at(metadata, "namespace").unwrap_or_default();
    let cluster_scoped =
        CLUSTER_SCOPED.contains(&kind) && (group.is_empty() || group.contains('.'));
    if cluster_scoped && !namespace.is_empty() {
        errors.push(FieldError::forbidden(
            "metadata.namespace",
            "not allowed on this type",
        ));
    } else if !namespace.is_empty() {
        for message in names::dns1123_label(namespace) {
            errors.push(FieldError::invalid(
                "metadata.namespace",
                namespace,
                message,
            ));
        }
    }
    errors.extend(validate_labels(
        map_at(metadata, "labels"),
        "metadata.labels",
    ));
    errors.extend(validate_annotations(
        map_at(metadata, "annotations"),
        "metadata.annotations",
    ));
    for (index, finalizer) in list_at(metadata, "finalizers").iter().enumerate() {
        let finalizer = finalizer.as_str().unwrap_or_default();
        for message in names::qualified_name(finalizer) {
            errors.push(FieldError::invalid(
                format!("metadata.finalizers[{index}]"),
                finalizer,
                message,
            ));
        }
    }
    errors
}

/// Label keys must be qualified names and values valid label values.
pub(super) fn validate_labels(labels: Option<&Map<String, Value>>, path: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (key, value) in labels.into_iter().flatten() {
        for message in names::qualified_name(key) {
            errors.push(FieldError::invalid(path, key.as_str(), message));
        }
        let Some(value) = value.as_str() else {
            errors.push(FieldError::invalid(
                path,
                value.clone(),
                "label values must be strings",
            ));
            continue;
        };
        for message in names::label_value(value) {
            errors.push(FieldError::invalid(path, value, message));
        }
    }
    errors
}

fn validate_annotations(annotations: Option<&Map<String, Value>>, path: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut total = 0;
    for (key, value) in annotations.into_iter().flatten() {
        for message in names::qualified_name(&key.to_lowercase()) {
            errors.push(FieldError::invalid(path, key.as_str(), message));
        }
        total += key.len()
            + value
                .as_str()
                .map_or_else(|| value.to_string().len(), str::len);
    }
    if total > TOTAL_ANNOTATION_SIZE_LIMIT {
        errors.push(FieldError::too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT));
    }
    errors
}
