//! Fields that may not change on update (`ValidateObjectMetaUpdate`, `ValidatePodUpdate`,
//! `ValidateServiceUpdate`, the apps and batch `Validate*Update` functions, immutable ConfigMaps and
//! Secrets).

use serde_json::{Map, Value};

use super::meta::str_at;
use super::FieldError;

const POD_UPDATE_MESSAGE: &str = "pod updates may not change fields other than `spec.containers[*].image`,\
`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),\
`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

const STATEFUL_SET_UPDATE_MESSAGE: &str = "updates to statefulset spec for fields other than 'replicas', 'ordinals', \
'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden";

const IMMUTABLE_DATA: &str = "field is immutable when `immutable` is set";

fn immutable(errors: &mut Vec<FieldError>, old: Option<&Value>, new: Option<&Value>, path: &str) {
    if old != new {
        errors.push(FieldError::invalid(
            path,
            new.cloned().unwrap_or(Value::Null),
            "field is immutable",
        ));
    }
}

pub(super) fn validate_meta_update(old: &Value, new: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let (old_meta, new_meta) = (old.get("metadata"), new.get("metadata"));
    for key in ["name", "namespace"] {
        let (before, after) = (
            str_at(old_meta, key).unwrap_or_default(),
            str_at(new_meta, key).unwrap_or_default(),
        );
        if before != after {
            errors.push(FieldError::invalid(
                format!("metadata.{key}"),
                after,
                "field is immutable",
            ));
        }
    }
    for key in ["uid", "creationTimestamp"] {
        let before = old_meta.and_then(|m| m.get(key)).filter(|v| !v.is_null());
        let after = new_meta.and_then(|m| m.get(key)).filter(|v| !v.is_null());
        if before.is_some() && after.is_some() {
            immutable(&mut errors, before, after, &format!("metadata.{key}"));
        }
    }
    errors
}

pub(super) fn validate_immutable(
    old: &Value,
    new: &Value,
    group: &str,
    kind: &str,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let spec = |object: &Value, key: &str| {
        object
            .get("spec")
            .and_then(|s| s.get(key))
            .filter(|v| !v.is_null())
            .cloned()
    };
    match (group, kind) {
        ("", "Pod") => validate_pod_update(old, new, &mut errors),
        ("", "Service") => validate_service_update(old, new, &mut errors),
        ("", "ConfigMap" | "Secret") => validate_data_update(old, new, kind, &mut errors),
        ("apps", "Deployment" | "ReplicaSet" | "DaemonSet") => {
            immutable(
                &mut errors,
                spec(old, "selector").as_ref(),
                spec(new, "selector").as_ref(),
                "spec.selector",
            );
        }
        ("apps", "StatefulSet") => {
            let strip = |object: &Value| -> Map<String, Value> {
                let mut spec = object
                    .get("spec")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                for key in [
                    "replicas",
                    "ordinals",
                    "template",
                    "updateStrategy",
                    "persistentVolumeClaimRetentionPolicy",
                    "minReadySeconds",
                ] {
                    spec.remove(key);
                }
                spec
            };
            if strip(old) != strip(new) {
                errors.push(FieldError::forbidden("spec", STATEFUL_SET_UPDATE_MESSAGE));
            }
        }
        ("batch", "Job") => {
            immutable(
                &mut errors,
                spec(old, "selector").as_ref(),
                spec(new, "selector").as_ref(),
                "spec.selector",
            );
            immutable(
                &mut errors,
                spec(old, "template").as_ref(),
                spec(new, "template").as_ref(),
                "spec.template",
            );
            immutable(
                &mut errors,
                spec(old, "completionMode").as_ref(),
                spec(new, "completionMode").as_ref(),
                "spec.completionMode",
            );
        }
        _ => {}
    }
    errors
}

fn validate_pod_update(old: &Value, new: &Value, errors: &mut Vec<FieldError>) {
    let (Some(Value::Object(old_spec)), Some(Value::Object(new_spec))) =
        (old.get("spec"), new.get("spec"))
    else {
        return;
    };
    // Start from the new spec and put back the old values of the fields an update may change; what is
    // left different is forbidden.
    let mut comparable = new_spec.clone();
    for key in ["containers", "initContainers"] {
        let (Some(Value::Array(olds)), Some(Value::Array(news))) =
            (old_spec.get(key), comparable.get_mut(key))
        else {
            continue;
        };
        if olds.len() != news.len() {
            continue;
        }
        for (old_container, new_container) in olds.iter().zip(news.iter_mut()) {
            if let (Some(image), Value::Object(new_container)) =
                (old_container.get("image"), new_container)
            {
                new_container.insert("image".into(), image.clone());
            }
        }
    }
    for key in [
        "activeDeadlineSeconds",
        "terminationGracePeriodSeconds",
        "schedulingGates",
    ] {
        match old_spec.get(key) {
            Some(value) => comparable.insert(key.into(), value.clone()),
            None => comparable.remove(key),
        };
    }
    let old_tolerations = old_spec
        .get("tolerations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let new_tolerations = new_spec
        .get("tolerations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if old_tolerations.iter().all(|t| new_tolerations.contains(t)) {
        match old_spec.get("tolerations") {
            Some(value) => comparable.insert("tolerations".into(), value.clone()),
            None => comparable.remove("tolerations"),
        };
    }
    if &comparable != old_spec {
        errors.push(FieldError::forbidden("spec", POD_UPDATE_MESSAGE));
    }
    let deadline =
        |spec: &Map<String, Value>| spec.get("activeDeadlineSeconds").and_then(Value::as_i64);
    if let (Some(before), after) = (deadline(old_spec), deadline(new_spec)) {
        match after {
            None => errors.push(FieldError::invalid(
                "spec.activeDeadlineSeconds",
                Value::Null,
                "must not update from a positive integer to nil value",
            )),
            Some(after) if after > before => {
                errors.push(FieldError::invalid(
                    "spec.activeDeadlineSeconds",
                    after,
                    "must be less than or equal to previous value",
                ));
            }
            _ => {}
        }
    }
}

fn cluster_ips(service: &Value) -> Vec<Value> {
    let spec = service.get("spec");
    match spec
        .and_then(|s| s.get("clusterIPs"))
        .and_then(Value::as_array)
    {
        Some(ips) if !ips.is_empty() => ips.clone(),
        _ => match str_at(spec, "clusterIP") {
            Some(ip) if !ip.is_empty() => vec![Value::String(ip.to_string())],
            _ => Vec::new(),
        },
    }
}

fn validate_service_update(old: &Value, new: &Value, errors: &mut Vec<FieldError>) {
    let is_external = |s: &Value| str_at(s.get("spec"), "type") == Some("ExternalName");
    if is_external(old) || is_external(new) {
        return;
    }
    let (before, after) = (cluster_ips(old), cluster_ips(new));
    if let (Some(first_before), Some(first_after)) = (before.first(), after.first()) {
        if first_before != first_after {
            errors.push(FieldError::invalid(
                "spec.clusterIPs[0]",
                Value::Array(after.clone()),
                "may not change once set",
            ));
        }
    }
}

fn validate_data_update(old: &Value, new: &Value, kind: &str, errors: &mut Vec<FieldError>) {
    if kind == "Secret" {
        let (before, after) = (
            str_at(Some(old), "type").unwrap_or("Opaque"),
            str_at(Some(new), "type").unwrap_or("Opaque"),
        );
        if before != after {
            errors.push(FieldError::invalid("type", after, "field is immutable"));
        }
    }
    if old.get("immutable") != Some(&Value::Bool(true)) {
        return;
    }
    if new.get("immutable") != Some(&Value::Bool(true)) {
        errors.push(FieldError::forbidden("immutable", IMMUTABLE_DATA));
    }
    let data_keys: &[&str] = if kind == "Secret" {
        &["data"]
    } else {
        &["data", "binaryData"]
    };
    for key in data_keys {
        let empty = Value::Object(Map::new());
        let before = old.get(*key).filter(|v| !v.is_null()).unwrap_or(&empty);
        let after = new.get(*key).filter(|v| !v.is_null()).unwrap_or(&empty);
        if before != after {
            errors.push(FieldError::forbidden(*key, IMMUTABLE_DATA));
        }
    }
}
