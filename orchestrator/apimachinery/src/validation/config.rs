//! ConfigMaps and Secrets (`ValidateConfigMap`, `ValidateSecret`).

use base64::Engine;
use serde_json::Value;

use super::meta::{map_at, str_at};
use super::{names, FieldError};

/// Upstream's cap on the data of one ConfigMap or Secret.
pub const MAX_DATA_SIZE: usize = 1024 * 1024;

fn validate_keys(object: &Value, field: &str, errors: &mut Vec<FieldError>) -> usize {
    let mut size = 0;
    for (key, value) in map_at(Some(object), field).into_iter().flatten() {
        for message in names::config_map_key(key) {
            errors.push(FieldError::invalid(
                format!("{field}[{key}]"),
                key.as_str(),
                message,
            ));
        }
        size += value.as_str().map_or(0, str::len);
    }
    size
}

pub(super) fn validate_config_map(config_map: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut size = validate_keys(config_map, "data", &mut errors);
    size += validate_keys(config_map, "binaryData", &mut errors);
    let binary = map_at(Some(config_map), "binaryData");
    for key in map_at(Some(config_map), "data")
        .into_iter()
        .flatten()
        .map(|(k, _)| k)
    {
        if binary.is_some_and(|b| b.contains_key(key)) {
            errors.push(FieldError::invalid(
                format!("data[{key}]"),
                key.as_str(),
                "duplicate of key present in binaryData",
            ));
        }
    }
    if size > MAX_DATA_SIZE {
        errors.push(FieldError::too_long("[]", MAX_DATA_SIZE));
    }
    errors
}

pub(super) fn validate_secret(secret: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    validate_keys(secret, "data", &mut errors);
    validate_keys(secret, "stringData", &mut errors);
    let mut size = 0;
    let data = map_at(Some(secret), "data");
    for (key, value) in data.into_iter().flatten() {
        let encoded = value.as_str().unwrap_or_default();
        match base64::engine::general_purpose::STANDARD.decode(encoded) {
            Ok(bytes) => size += bytes.len(),
            Err(err) => errors.push(FieldError::invalid(
                format!("data[{key}]"),
                "<secret contents redacted>",
                format!("illegal base64 data: {err}"),
            )),
        }
    }
    if size > MAX_DATA_SIZE {
        errors.push(FieldError::too_long("data", MAX_DATA_SIZE));
    }
    let has = |key: &str| {
        data.is_some_and(|d| d.contains_key(key))
            || map_at(Some(secret), "stringData").is_some_and(|d| d.contains_key(key))
    };
    match str_at(Some(secret), "type").unwrap_or("Opaque") {
        "kubernetes.io/service-account-token" => {
            let annotations = map_at(secret.get("metadata"), "annotations");
            if annotations
                .and_then(|a| a.get("kubernetes.io/service-account.name"))
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                errors.push(FieldError::required(
                    "metadata.annotations[kubernetes.io/service-account.name]",
                    "",
                ));
            }
        }
        "kubernetes.io/dockercfg" if !has(".dockercfg") => {
            errors.push(FieldError::required("data[.dockercfg]", ""))
        }
        "kubernetes.io/dockerconfigjson" if !has(".dockerconfigjson") => {
            errors.push(FieldError::required("data[.dockerconfigjson]", ""));
        }
        "kubernetes.io/basic-auth" if !has("username") && !has("password") => {
            errors.push(FieldError::required("data[username]", ""));
            errors.push(FieldError::required("data[password]", ""));
        }
        "kubernetes.io/ssh-auth" if !has("ssh-privatekey") => {
            errors.push(FieldError::required("data[ssh-privatekey]", ""))
        }
        "kubernetes.io/tls" => {
            for key in ["tls.crt", "tls.key"] {
                if !has(key) {
                    errors.push(FieldError::required(format!("data[{key}]"), ""));
                }
            }
        }
        _ => {}
    }
    errors
}
