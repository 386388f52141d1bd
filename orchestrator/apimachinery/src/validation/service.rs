//! Services (`pkg/apis/core/validation/validation.go` `ValidateService`).

use std::collections::HashSet;
use std::net::IpAddr;

use serde_json::{json, Value};

use super::meta::{list_at, map_at, str_at, validate_labels};
use super::{names, FieldError};

const TYPES: &[&str] = &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
const AFFINITIES: &[&str] = &["ClientIP", "None"];
const PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];
const TRAFFIC_POLICIES: &[&str] = &["Cluster", "Local"];

pub(super) fn validate_service(service: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let spec = service.get("spec");
    let service_type = str_at(spec, "type").unwrap_or_default();
    if service_type.is_empty() {
        errors.push(FieldError::required("spec.type", ""));
    } else if !TYPES.contains(&service_type) {
        errors.push(FieldError::not_supported("spec.type", service_type, TYPES));
    }
    let cluster_ip = str_at(spec, "clusterIP").unwrap_or_default();
    let ports = list_at(spec, "ports");
    if service_type == "ExternalName" {
        let external = str_at(spec, "externalName").unwrap_or_default();
        if external.is_empty() {
            errors.push(FieldError::required("spec.externalName", ""));
        } else {
            for message in names::dns1123_subdomain(external.trim_end_matches('.')) {
                errors.push(FieldError::invalid("spec.externalName", external, message));
            }
        }
    } else if ports.is_empty() && cluster_ip != "None" {
        errors.push(FieldError::required("spec.ports", ""));
    }
    for (index, ip) in list_at(spec, "clusterIPs").iter().enumerate() {
        let ip = ip.as_str().unwrap_or_default();
        if ip != "None" && ip.parse::<IpAddr>().is_err() {
            errors.push(FieldError::invalid(
                format!("spec.clusterIPs[{index}]"),
                ip,
                "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
            ));
        }
    }
    if !cluster_ip.is_empty() && cluster_ip != "None" && cluster_ip.parse::<IpAddr>().is_err() {
        errors.push(FieldError::invalid(
            "spec.clusterIP",
            cluster_ip,
            "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
        ));
    }
    validate_ports(ports, service_type, &mut errors);
    errors.extend(validate_labels(map_at(spec, "selector"), "spec.selector"));
    if let Some(affinity) = str_at(spec, "sessionAffinity") {
        if !AFFINITIES.contains(&affinity) {
            errors.push(FieldError::not_supported(
                "spec.sessionAffinity",
                affinity,
                AFFINITIES,
            ));
        }
    }
    for key in ["externalTrafficPolicy", "internalTrafficPolicy"] {
        if let Some(policy) = str_at(spec, key).filter(|p| !p.is_empty()) {
            if !TRAFFIC_POLICIES.contains(&policy) {
                errors.push(FieldError::not_supported(
                    format!("spec.{key}"),
                    policy,
                    TRAFFIC_POLICIES,
                ));
            }
        }
    }
    if matches!(service_type, "ClusterIP" | "ExternalName")
        && str_at(spec, "externalTrafficPolicy").is_some_and(|p| !p.is_empty())
    {
        errors.push(FieldError::invalid(
            "spec.externalTrafficPolicy",
            str_at(spec, "externalTrafficPolicy").unwrap_or_default(),
            "may only be set for externally-accessible services",
        ));
    }
    errors
}

fn validate_ports(ports: &[Value], service_type: &str, errors: &mut Vec<FieldError>) {
    let mut port_names = HashSet::new();
    let mut port_protocols = HashSet::new();
    for (index, port) in ports.iter().enumerate() {
        let at = format!("spec.ports[{index}]");
        let name = str_at(Some(port), "name").unwrap_or_default();
        if name.is_empty() {
            if ports.len() > 1 {
                errors.push(FieldError::required(format!("{at}.name"), ""));
            }
        } else {
            for message in names::dns1123_label(name) {
                errors.push(FieldError::invalid(format!("{at}.name"), name, message));
            }
            if !port_names.insert(name.to_string()) {
                errors.push(FieldError::duplicate(format!("{at}.name"), name));
            }
        }
        let number = port.get("port").and_then(Value::as_i64).unwrap_or(0);
        for message in names::port_number(number) {
            errors.push(FieldError::invalid(format!("{at}.port"), number, message));
        }
        let protocol = str_at(Some(port), "protocol").unwrap_or_default();
        if protocol.is_empty() {
            errors.push(FieldError::required(format!("{at}.protocol"), ""));
        } else if !PROTOCOLS.contains(&protocol) {
            errors.push(FieldError::not_supported(
                format!("{at}.protocol"),
                protocol,
                PROTOCOLS,
            ));
        }
        match port.get("targetPort") {
            Some(Value::Number(target)) => {
                let target = target.as_i64().unwrap_or(0);
                for message in names::port_number(target) {
                    errors.push(FieldError::invalid(
                        format!("{at}.targetPort"),
                        target,
                        message,
                    ));
                }
            }
            Some(Value::String(target)) => {
                for message in names::port_name(target) {
                    errors.push(FieldError::invalid(
                        format!("{at}.targetPort"),
                        target.as_str(),
                        message,
                    ));
                }
            }
            _ => {}
        }
        if let Some(node_port) = port
            .get("nodePort")
            .and_then(Value::as_i64)
            .filter(|p| *p != 0)
        {
            if service_type == "ClusterIP" || service_type == "ExternalName" {
                errors.push(FieldError::forbidden(
                    format!("{at}.nodePort"),
                    format!("may not be used when `type` is '{service_type}'"),
                ));
            }
            for message in names::port_number(node_port) {
                errors.push(FieldError::invalid(
                    format!("{at}.nodePort"),
                    node_port,
                    message,
                ));
            }
        }
        if !port_protocols.insert((number, protocol.to_string())) {
            errors.push(FieldError::duplicate(
                at,
                json!({"port": number, "protocol": protocol}),
            ));
        }
    }
}
