//! ClusterIP and NodePort allocation for Services (upstream's service IP and port allocators), from
//! the addresses in use by the stored Services.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use clusterd_apimachinery::status::StatusError;
use clusterd_store::ListOptions;
use serde_json::{json, Value};

use super::context::text;
use crate::state::ApiState;

/// The NodePort range (upstream's default `--service-node-port-range`).
pub const NODE_PORTS: std::ops::RangeInclusive<i64> = 30000..=32767;

/// The network and size of an IPv4 CIDR.
fn parse_cidr(cidr: &str) -> Option<(u32, u32)> {
    let (ip, bits) = cidr.split_once('/')?;
    let ip: Ipv4Addr = ip.parse().ok()?;
    let bits: u32 = bits.parse().ok().filter(|b| *b <= 30)?;
    let size = 1u32 << (32 - bits);
    Some((u32::from(ip) & !(size - 1), size))
}

/// The ClusterIPs and NodePorts the stored Services use.
async fn in_use(state: &ApiState) -> Result<(HashSet<String>, HashSet<i64>), StatusError> {
    let page = state
        .store
        .list("/registry/core/services/", ListOptions::latest())
        .await
        .map_err(|e| StatusError::internal(&format!("list services for allocation: {e}")))?;
    let mut ips = HashSet::new();
    let mut ports = HashSet::new();
    for kv in page.items {
        let Ok(service) = serde_json::from_slice::<Value>(&kv.value) else {
            continue;
        };
        if let Some(ip) = service.pointer("/spec/clusterIP").and_then(Value::as_str) {
            ips.insert(ip.to_owned());
        }
        for port in service
            .pointer("/spec/ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(node_port) = port.get("nodePort").and_then(Value::as_i64) {
                ports.insert(node_port);
            }
        }
    }
    Ok((ips, ports))
}

fn invalid(field: &str, value: &Value, detail: &str) -> StatusError {
    let mut error = StatusError::new(
        422,
        clusterd_apimachinery::status::StatusReason::Invalid,
        format!("Service is invalid: {field}: Invalid value: {value}: {detail}"),
    );
    error.details = Some(clusterd_apimachinery::status::StatusDetails {
        kind: "Service".into(),
        causes: vec![clusterd_apimachinery::status::StatusCause {
            reason: "FieldValueInvalid".into(),
            message: format!("Invalid value: {value}: {detail}"),
            field: field.into(),
        }],
        ..Default::default()
    });
    error
}

/// Fills `spec.clusterIP(s)` and the NodePorts of a Service being created (or updated from `old`,
/// whose addresses it keeps). The caller holds the allocation lock.
pub async fn allocate(
    state: &ApiState,
    service: &mut Value,
    old: Option<&Value>,
) -> Result<(), StatusError> {
    let kind = service
        .pointer("/spec/type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP")
        .to_owned();
    if kind == "ExternalName" || !service.get("spec").is_some_and(Value::is_object) {
        return Ok(());
    }
    let (mut ips, mut ports) = in_use(state).await?;
    if let Some(old) = old {
        if let Some(ip) = old.pointer("/spec/clusterIP").and_then(Value::as_str) {
            ips.remove(ip);
        }
    }
    let requested = service
        .pointer("/spec/clusterIP")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let ip = if requested.is_empty() {
        let (base, size) = parse_cidr(&state.service_cidr).ok_or_else(|| {
            StatusError::internal(&format!(
                "service cidr {} is not an IPv4 CIDR",
                state.service_cidr
            ))
        })?;
        (10..size - 1)
            .filter(|offset| *offset != crate::seed::CLUSTER_DNS_OFFSET)
            .map(|offset| Ipv4Addr::from(base + offset).to_string())
            .find(|ip| !ips.contains(ip))
            .ok_or_else(|| {
                StatusError::internal("failed to allocate a service IP: range is full")
            })?
    } else {
        if requested != "None" && ips.contains(&requested) {
            return Err(invalid(
                "spec.clusterIPs",
                &json!([requested]),
                &format!("failed to allocate IP {requested}: provided IP is already allocated"),
            ));
        }
        requested
    };
    service["spec"]["clusterIP"] = ip.clone().into();
    service["spec"]["clusterIPs"] = json!([ip]);
    if kind == "NodePort" || kind == "LoadBalancer" {
        let mut next = *NODE_PORTS.start();
        if let Some(list) = service
            .pointer_mut("/spec/ports")
            .and_then(Value::as_array_mut)
        {
            for port in list.iter_mut().filter(|p| p.is_object()) {
                match port.get("nodePort").and_then(Value::as_i64) {
                    Some(p) if p != 0 => {
                        let kept = old.is_some_and(|o| {
                            o.pointer("/spec/ports")
                                .and_then(Value::as_array)
                                .into_iter()
                                .flatten()
                                .any(|op| op.get("nodePort").and_then(Value::as_i64) == Some(p))
                        });
                        if !kept && ports.contains(&p) {
                            return Err(invalid(
                                "spec.ports[0].nodePort",
                                &json!(p),
                                "provided port is already allocated",
                            ));
                        }
                        ports.insert(p);
                    }
                    _ => {
                        while ports.contains(&next) {
                            next += 1;
                        }
                        if !NODE_PORTS.contains(&next) {
                            return Err(StatusError::internal(
                                "failed to allocate a node port: range is full",
                            ));
                        }
                        port["nodePort"] = next.into();
                        ports.insert(next);
                    }
                }
            }
        }
    }
    Ok(())
}

/// An update that leaves out a Service's ClusterIP or NodePorts keeps the allocated ones, as upstream.
pub fn keep_addresses(old: &Value, new: &mut Value) {
    if !new.get("spec").is_some_and(Value::is_object) {
        return;
    }
    if text(new, "/spec/clusterIP").is_empty() {
        for field in ["clusterIP", "clusterIPs"] {
            if let Some(value) = old.pointer(&format!("/spec/{field}")) {
                new["spec"][field] = value.clone();
            }
        }
    }
    let old_ports: Vec<Value> = old
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if let Some(ports) = new.pointer_mut("/spec/ports").and_then(Value::as_array_mut) {
        for port in ports
            .iter_mut()
            .filter(|p| p.is_object() && p.get("nodePort").is_none())
        {
            let same = old_ports.iter().find(|o| {
                o.get("port") == port.get("port") && o.get("protocol") == port.get("protocol")
            });
            if let Some(node_port) = same.and_then(|o| o.get("nodePort")) {
                port["nodePort"] = node_port.clone();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_give_network_and_size() {
        assert_eq!(
            parse_cidr("10.96.0.0/12"),
            Some((u32::from(Ipv4Addr::new(10, 96, 0, 0)), 1 << 20))
        );
        assert_eq!(
            parse_cidr("10.96.0.5/24"),
            Some((u32::from(Ipv4Addr::new(10, 96, 0, 0)), 256))
        );
        assert_eq!(parse_cidr("garbage"), None);
    }
}
