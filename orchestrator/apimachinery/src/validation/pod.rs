//! Pods, pod templates and containers (`pkg/apis/core/validation/validation.go` `ValidatePodSpec`).

use std::collections::HashSet;

use serde_json::Value;

use super::meta::{list_at, map_at, str_at, validate_labels};
use super::{names, FieldError};

const RESTART_POLICIES: &[&str] = &["Always", "OnFailure", "Never"];
const DNS_POLICIES: &[&str] = &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"];
const PULL_POLICIES: &[&str] = &["Always", "IfNotPresent", "Never"];
const TERMINATION_MESSAGE_POLICIES: &[&str] = &["File", "FallbackToLogsOnError"];
const PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];

/// A whole Pod: its spec.
pub(super) fn validate_pod(pod: &Value) -> Vec<FieldError> {
    match pod.get("spec") {
        Some(spec) => validate_pod_spec(spec, "spec"),
        None => vec![FieldError::required("spec.containers", "")],
    }
}

/// A pod template at `path` (`spec.template`): labels, spec and, for controllers that need it, the
/// restart policies they accept.
pub(super) fn validate_template(
    template: Option<&Value>,
    path: &str,
    restart_policies: Option<&[&str]>,
) -> Vec<FieldError> {
    let Some(template) = template else {
        return vec![FieldError::required(path, "")];
    };
    let mut errors = validate_labels(
        map_at(template.get("metadata"), "labels"),
        &format!("{path}.metadata.labels"),
    );
    let spec_path = format!("{path}.spec");
    match template.get("spec") {
        Some(spec) => errors.extend(validate_pod_spec(spec, &spec_path)),
        None => errors.push(FieldError::required(format!("{spec_path}.containers"), "")),
    }
    if let Some(allowed) = restart_policies {
        let policy = str_at(template.get("spec"), "restartPolicy").unwrap_or_default();
        if !allowed.contains(&policy) {
            errors.push(FieldError::not_supported(
                format!("{spec_path}.restartPolicy"),
                policy,
                allowed,
            ));
        }
    }
    errors
}

fn check_one_of(
    errors: &mut Vec<FieldError>,
    spec: &Value,
    key: &str,
    path: &str,
    allowed: &[&str],
) {
    match spec.get(key) {
        None | Some(Value::Null) => errors.push(FieldError::required(format!("{path}.{key}"), "")),
        Some(Value::String(value)) if allowed.contains(&value.as_str()) => {}
        Some(other) => errors.push(FieldError::not_supported(
            format!("{path}.{key}"),
            other.clone(),
            allowed,
        )),
    }
}

/// A pod spec at `path`.
pub(super) fn validate_pod_spec(spec: &Value, path: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let volumes = validate_volumes(spec, path, &mut errors);
    let containers = list_at(Some(spec), "containers");
    if containers.is_empty() {
        errors.push(FieldError::required(format!("{path}.containers"), ""));
    }
    let mut seen = HashSet::new();
    for key in ["initContainers", "containers"] {
        for (index, container) in list_at(Some(spec), key).iter().enumerate() {
            validate_container(
                container,
                &format!("{path}.{key}[{index}]"),
                &volumes,
                &mut seen,
                &mut errors,
            );
        }
    }
    check_one_of(&mut errors, spec, "restartPolicy", path, RESTART_POLICIES);
    check_one_of(&mut errors, spec, "dnsPolicy", path, DNS_POLICIES);
    if let Some(deadline) = spec.get("activeDeadlineSeconds").filter(|v| !v.is_null()) {
        if !deadline
            .as_i64()
            .is_some_and(|d| (1..=i64::from(i32::MAX)).contains(&d))
        {
            errors.push(FieldError::invalid(
                format!("{path}.activeDeadlineSeconds"),
                deadline.clone(),
                "must be between 1 and 2147483647, inclusive",
            ));
        }
    }
    if let Some(grace) = spec
        .get("terminationGracePeriodSeconds")
        .and_then(Value::as_i64)
    {
        if grace < 0 {
            errors.push(FieldError::invalid(
                format!("{path}.terminationGracePeriodSeconds"),
                grace,
                "must be greater than or equal to 0",
            ));
        }
    }
    if let Some(account) = str_at(Some(spec), "serviceAccountName").filter(|a| !a.is_empty()) {
        for message in names::dns1123_subdomain(account) {
            errors.push(FieldError::invalid(
                format!("{path}.serviceAccountName"),
                account,
                message,
            ));
        }
    }
    for key in ["hostname", "subdomain"] {
        if let Some(value) = str_at(Some(spec), key).filter(|v| !v.is_empty()) {
            for message in names::dns1123_label(value) {
                errors.push(FieldError::invalid(format!("{path}.{key}"), value, message));
            }
        }
    }
    errors.extend(validate_labels(
        map_at(Some(spec), "nodeSelector"),
        &format!("{path}.nodeSelector"),
    ));
    errors
}

/// Volume names must be unique DNS labels and each volume must name exactly one source.
fn validate_volumes(spec: &Value, path: &str, errors: &mut Vec<FieldError>) -> HashSet<String> {
    let mut names_seen = HashSet::new();
    for (index, volume) in list_at(Some(spec), "volumes").iter().enumerate() {
        let at = format!("{path}.volumes[{index}]");
        let name = str_at(Some(volume), "name").unwrap_or_default();
        if name.is_empty() {
            errors.push(FieldError::required(format!("{at}.name"), ""));
        } else {
            for message in names::dns1123_label(name) {
                errors.push(FieldError::invalid(format!("{at}.name"), name, message));
            }
            if !names_seen.insert(name.to_string()) {
                errors.push(FieldError::duplicate(format!("{at}.name"), name));
            }
        }
        let sources = volume
            .as_object()
            .map_or(0, |m| m.keys().filter(|k| k.as_str() != "name").count());
        if sources == 0 {
            errors.push(FieldError::required(at, "must specify a volume type"));
        } else if sources > 1 {
            errors.push(FieldError::forbidden(
                at,
                "may not specify more than 1 volume type",
            ));
        }
    }
    names_seen
}

fn validate_container(
    container: &Value,
    path: &str,
    volumes: &HashSet<String>,
    seen: &mut HashSet<String>,
    errors: &mut Vec<FieldError>,
) {
    let name = str_at(Some(container), "name").unwrap_or_default();
    if name.is_empty() {
        errors.push(FieldError::required(format!("{path}.name"), ""));
    } else {
        for message in names::dns1123_label(name) {
            errors.push(FieldError::invalid(format!("{path}.name"), name, message));
        }
        if !seen.insert(name.to_string()) {
            errors.push(FieldError::duplicate(format!("{path}.name"), name));
        }
    }
    if str_at(Some(container), "image").is_none_or(|i| i.trim().is_empty()) {
        errors.push(FieldError::required(format!("{path}.image"), ""));
    }
    check_one_of(errors, container, "imagePullPolicy", path, PULL_POLICIES);
    if container.get("terminationMessagePolicy").is_some() {
        check_one_of(
            errors,
            container,
            "terminationMessagePolicy",
            path,
            TERMINATION_MESSAGE_POLICIES,
        );
    }
    validate_ports(container, path, errors);
    for (index, env) in list_at(Some(container), "env").iter().enumerate() {
        let env_name = str_at(Some(env), "name").unwrap_or_default();
        let at = format!("{path}.env[{index}].name");
        if env_name.is_empty() {
            errors.push(FieldError::required(at, ""));
        } else {
            for message in names::env_var_name(env_name) {
                errors.push(FieldError::invalid(at.clone(), env_name, message));
            }
        }
    }
    let mut mount_paths = HashSet::new();
    for (index, mount) in list_at(Some(container), "volumeMounts").iter().enumerate() {
        let at = format!("{path}.volumeMounts[{index}]");
        let volume = str_at(Some(mount), "name").unwrap_or_default();
        if volume.is_empty() {
            errors.push(FieldError::required(format!("{at}.name"), ""));
        } else if !volumes.contains(volume) {
            errors.push(FieldError::not_found(format!("{at}.name"), volume));
        }
        let mount_path = str_at(Some(mount), "mountPath").unwrap_or_default();
        if mount_path.is_empty() {
            errors.push(FieldError::required(format!("{at}.mountPath"), ""));
        } else if !mount_paths.insert(mount_path.to_string()) {
            errors.push(FieldError::invalid(
                format!("{at}.mountPath"),
                mount_path,
                "must be unique",
            ));
        }
    }
}

fn validate_ports(container: &Value, path: &str, errors: &mut Vec<FieldError>) {
    let mut port_names = HashSet::new();
    for (index, port) in list_at(Some(container), "ports").iter().enumerate() {
        let at = format!("{path}.ports[{index}]");
        if let Some(name) = str_at(Some(port), "name").filter(|n| !n.is_empty()) {
            for message in names::port_name(name) {
                errors.push(FieldError::invalid(format!("{at}.name"), name, message));
            }
            if !port_names.insert(name.to_string()) {
                errors.push(FieldError::duplicate(format!("{at}.name"), name));
            }
        }
        match port.get("containerPort").and_then(Value::as_i64) {
            None | Some(0) => errors.push(FieldError::required(format!("{at}.containerPort"), "")),
            Some(number) => {
                for message in names::port_number(number) {
                    errors.push(FieldError::invalid(
                        format!("{at}.containerPort"),
                        number,
                        message,
                    ));
                }
            }
        }
        if let Some(host_port) = port
            .get("hostPort")
            .and_then(Value::as_i64)
            .filter(|p| *p != 0)
        {
            for message in names::port_number(host_port) {
                errors.push(FieldError::invalid(
                    format!("{at}.hostPort"),
                    host_port,
                    message,
                ));
            }
        }
        check_one_of(errors, port, "protocol", &at, PROTOCOLS);
    }
}
