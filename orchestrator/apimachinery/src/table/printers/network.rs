//! Services, Endpoints, EndpointSlices, Ingresses and IngressClasses.

use std::collections::BTreeSet;

use serde_json::{json, Value};
use time::OffsetDateTime;

use super::{age, col, name, wide, Col, Row, AGE, NAME};
use crate::table::value::{format_labels, int, list, opt_text, text};

pub(crate) const SERVICE_COLUMNS: &[Col] = &[
    NAME,
    col("Type", "string", "type determines how the Service is exposed. Defaults to ClusterIP. Valid options are ExternalName, ClusterIP, NodePort, and LoadBalancer."),
    col("Cluster-IP", "string", "clusterIP is the IP address of the service and is usually assigned randomly."),
    col("External-IP", "string", "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service."),
    col("Port(s)", "string", "The list of ports that are exposed by this service."),
    AGE,
    wide("Selector", "string", "Route service traffic to pods with label keys and values matching this selector."),
];

/// Load-balancer ingress IPs (or hostnames), de-duplicated and sorted, comma-joined.
fn load_balancer_addresses(object: &Value) -> String {
    let set: BTreeSet<&str> = list(object, "/status/loadBalancer/ingress")
        .iter()
        .filter_map(|i| opt_text(i, "/ip").or_else(|| opt_text(i, "/hostname")))
        .collect();
    set.into_iter().collect::<Vec<_>>().join(",")
}

fn external_ip(svc: &Value) -> String {
    let external: Vec<&str> = list(svc, "/spec/externalIPs")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    match text(svc, "/spec/type") {
        "ClusterIP" | "NodePort" => {
            if external.is_empty() {
                "<none>".to_owned()
            } else {
                external.join(",")
            }
        }
        "LoadBalancer" => {
            let lb = load_balancer_addresses(svc);
            if !external.is_empty() {
                let mut all: Vec<&str> = lb.split(',').filter(|s| !s.is_empty()).collect();
                all.extend(external);
                all.join(",")
            } else if !lb.is_empty() {
                lb
            } else {
                "<pending>".to_owned()
            }
        }
        "ExternalName" => text(svc, "/spec/externalName").to_owned(),
        _ => "<unknown>".to_owned(),
    }
}

/// `80/TCP,443:30443/TCP`.
fn ports(svc: &Value) -> String {
    let pieces: Vec<String> = list(svc, "/spec/ports")
        .iter()
        .map(|p| {
            let protocol = text(p, "/protocol");
            match int(p, "/nodePort") {
                0 => format!("{}/{protocol}", int(p, "/port")),
                node_port => format!("{}:{node_port}/{protocol}", int(p, "/port")),
            }
        })
        .collect();
    if pieces.is_empty() {
        "<none>".to_owned()
    } else {
        pieces.join(",")
    }
}

pub(crate) fn service_row(svc: &Value, now: OffsetDateTime) -> Row {
    let cluster_ip = list(svc, "/spec/clusterIPs")
        .first()
        .and_then(Value::as_str)
        .or_else(|| opt_text(svc, "/spec/clusterIP"))
        .unwrap_or("<none>");
    let service_type = text(svc, "/spec/type");
    vec![
        name(svc),
        json!(service_type),
        json!(cluster_ip),
        json!(external_ip(svc)),
        json!(ports(svc)),
        json!(age(svc, now)),
        json!(format_labels(svc, "/spec/selector")),
    ]
    .into()
}

pub(crate) const ENDPOINTS_COLUMNS: &[Col] = &[
    NAME,
    col("Endpoints", "string", "Endpoints of the service"),
    AGE,
];

/// Up to three `ip:port` entries, then ` + N more...` (upstream `formatEndpoints`).
fn format_endpoints(endpoints: &Value) -> String {
    let subsets = list(endpoints, "/subsets");
    if subsets.is_empty() {
        return "<none>".to_owned();
    }
    const MAX: usize = 3;
    let mut shown: Vec<String> = Vec::new();
    let mut count = 0;
    let mut more = false;
    for subset in subsets {
        let addresses = list(subset, "/addresses");
        let ports = list(subset, "/ports");
        if ports.is_empty() {
            count += addresses.len();
            for a in addresses {
                if shown.len() == MAX {
                    more = true;
                    break;
                }
                shown.push(text(a, "/ip").to_owned());
            }
            continue;
        }
        for port in ports {
            count += addresses.len();
            for a in addresses {
                if shown.len() == MAX {
                    more = true;
                    break;
                }
                let ip = text(a, "/ip");
                let host = if ip.contains(':') {
                    format!("[{ip}]")
                } else {
                    ip.to_owned()
                };
                shown.push(format!("{host}:{}", int(port, "/port")));
            }
        }
    }
    let joined = shown.join(",");
    if more {
        format!("{joined} + {} more...", count - MAX)
    } else {
        joined
    }
}

pub(crate) fn endpoints_row(ep: &Value, now: OffsetDateTime) -> Row {
    vec![name(ep), json!(format_endpoints(ep)), json!(age(ep, now))].into()
}

pub(crate) const SLICE_COLUMNS: &[Col] = &[
    NAME,
    col(
        "AddressType",
        "string",
        "addressType specifies the type of address carried by this EndpointSlice.",
    ),
    col(
        "Ports",
        "string",
        "ports specifies the list of network ports exposed by each endpoint in this slice.",
    ),
    col(
        "Endpoints",
        "string",
        "endpoints is a list of unique endpoints in this slice.",
    ),
    AGE,
];

/// Up to three items, then ` + N more...`; `<unset>` when empty (upstream `listWithMoreString`).
fn list_with_more(items: Vec<String>) -> String {
    const MAX: usize = 3;
    let count = items.len();
    let joined = items.into_iter().take(MAX).collect::<Vec<_>>().join(",");
    if count > MAX {
        format!("{joined} + {} more...", count - MAX)
    } else if joined.is_empty() {
        "<unset>".to_owned()
    } else {
        joined
    }
}

pub(crate) fn slice_row(slice: &Value, now: OffsetDateTime) -> Row {
    let ports: Vec<String> = list(slice, "/ports")
        .iter()
        .map(|p| match p.get("port").and_then(Value::as_i64) {
            Some(n) => n.to_string(),
            None => opt_text(p, "/name").unwrap_or("*").to_owned(),
        })
        .collect();
    let addresses: Vec<String> = list(slice, "/endpoints")
        .iter()
        .flat_map(|e| {
            list(e, "/addresses")
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
        })
        .collect();
    vec![
        name(slice),
        json!(text(slice, "/addressType")),
        json!(list_with_more(ports)),
        json!(list_with_more(addresses)),
        json!(age(slice, now)),
    ]
    .into()
}

pub(crate) const INGRESS_COLUMNS: &[Col] = &[
    NAME,
    col(
        "Class",
        "string",
        "The name of the IngressClass resource that should be used for this Ingress.",
    ),
    col(
        "Hosts",
        "string",
        "Hosts that incoming requests are matched against before the ingress rule",
    ),
    col(
        "Address",
        "string",
        "Address is a list containing ingress points for the load-balancer",
    ),
    col("Ports", "string", "Ports of TLS configurations that open"),
    AGE,
];

pub(crate) fn ingress_row(ing: &Value, now: OffsetDateTime) -> Row {
    const MAX: usize = 3;
    let rules = list(ing, "/spec/rules");
    let mut hosts: Vec<&str> = Vec::new();
    let mut more = false;
    for rule in rules {
        if hosts.len() == MAX {
            more = true;
        }
        if let (false, Some(host)) = (more, opt_text(rule, "/host")) {
            hosts.push(host);
        }
    }
    let hosts = if hosts.is_empty() {
        "*".to_owned()
    } else if more {
        format!("{} + {} more...", hosts.join(","), rules.len() - MAX)
    } else {
        hosts.join(",")
    };
    let ports = if list(ing, "/spec/tls").is_empty() {
        "80"
    } else {
        "80, 443"
    };
    vec![
        name(ing),
        json!(opt_text(ing, "/spec/ingressClassName").unwrap_or("<none>")),
        json!(hosts),
        json!(load_balancer_addresses(ing)),
        json!(ports),
        json!(age(ing, now)),
    ]
    .into()
}

pub(crate) const INGRESS_CLASS_COLUMNS: &[Col] = &[
    NAME,
    col(
        "Controller",
        "string",
        "Controller that is responsible for handling this class",
    ),
    col(
        "Parameters",
        "string",
        "A reference to a resource with additional parameters",
    ),
    AGE,
];

pub(crate) fn ingress_class_row(class: &Value, now: OffsetDateTime) -> Row {
    let parameters = match class.pointer("/spec/parameters") {
        Some(p) if p.is_object() => {
            let mut s = text(p, "/kind").to_owned();
            if let Some(group) = p.get("apiGroup").and_then(Value::as_str) {
                s = format!("{s}.{group}");
            }
            format!("{s}/{}", text(p, "/name"))
        }
        _ => "<none>".to_owned(),
    };
    vec![
        name(class),
        json!(text(class, "/spec/controller")),
        json!(parameters),
        json!(age(class, now)),
    ]
    .into()
}
