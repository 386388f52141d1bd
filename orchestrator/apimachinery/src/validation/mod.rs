//! Validation of built-in objects as upstream does it (`pkg/apis/*/validation`), over JSON objects.
//!
//! [`validate_create`] and [`validate_update`] return every problem as a [`FieldError`] worded like
//! upstream's `field.Error`, ready to become the causes of a 422 Invalid `Status`
//! (see [`invalid_message`]). [`strict`] decodes objects into their typed form and finds unknown fields
//! for `fieldValidation=Strict`.

mod config;
mod field_error;
mod meta;
pub mod names;
mod pod;
mod service;
pub mod strict;
mod update;
mod workloads;

pub use field_error::{invalid_message, FieldError, Reason};
pub use strict::{decode_error_message, strict_decoding_message, unknown_fields, DecodeError};

use serde_json::Value;

/// Group and kind of an object, read from its `apiVersion` and `kind`.
fn group_kind(object: &Value) -> (&str, &str) {
    let api_version = object
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let group = api_version.rsplit_once('/').map_or("", |(group, _)| group);
    (
        group,
        object
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default(),
    )
}

/// Every problem upstream would report when creating `object` (after defaulting), chosen by its
/// `apiVersion` and `kind`. Unknown kinds get the generic metadata checks only.
pub fn validate_create(object: &Value) -> Vec<FieldError> {
    let (group, kind) = group_kind(object);
    let mut errors = meta::validate_object_meta(object, group, kind);
    errors.extend(validate_spec(object, group, kind));
    errors
}

/// Every problem upstream would report when replacing `old` by `new`: the create checks on `new`, plus
/// immutable fields (metadata identity, pod spec, service cluster IP, workload selectors, job templates,
/// immutable ConfigMaps and Secrets).
pub fn validate_update(old: &Value, new: &Value) -> Vec<FieldError> {
    let (group, kind) = group_kind(new);
    let mut errors = update::validate_meta_update(old, new);
    errors.extend(meta::validate_object_meta(new, group, kind));
    errors.extend(update::validate_immutable(old, new, group, kind));
    errors.extend(validate_spec(new, group, kind));
    errors
}

fn validate_spec(object: &Value, group: &str, kind: &str) -> Vec<FieldError> {
    match (group, kind) {
        ("", "Pod") => pod::validate_pod(object),
        ("", "Service") => service::validate_service(object),
        ("", "ConfigMap") => config::validate_config_map(object),
        ("", "Secret") => config::validate_secret(object),
        ("", "PodTemplate") => pod::validate_template(object.get("template"), "template", None),
        ("apps", "Deployment") => workloads::validate_deployment(object),
        ("apps", "ReplicaSet") => workloads::validate_replica_set(object),
        ("apps", "DaemonSet") => workloads::validate_daemon_set(object),
        ("apps", "StatefulSet") => workloads::validate_stateful_set(object),
        ("batch", "Job") => workloads::validate_job(object),
        ("batch", "CronJob") => workloads::validate_cron_job(object),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests;
