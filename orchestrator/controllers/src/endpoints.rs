//! Endpoints and EndpointSlices of Services with a selector: the IPs of matching pods, ready ones as
//! addresses, others as not-ready, with target ports resolved by name per pod.

use std::collections::{BTreeMap, BTreeSet};

use clusterd_apimachinery::selectors::LabelSelector;
use k8s_openapi::api::core::v1::{
    EndpointAddress, EndpointPort, EndpointSubset, ObjectReference, Pod, Service, ServicePort,
};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::{json, Value};

use crate::change::{controller_ref, is_controlled_by, is_terminating, Change, Target};
use crate::pods::{is_ready, node_name, phase};
use crate::state::ClusterState;

/// Annotation upstream puts on Endpoints it manages; we delete only those when their Service goes.
pub const TRIGGER_TIME_ANNOTATION: &str = "endpoints.kubernetes.io/last-change-trigger-time";
/// Label naming the Service of an EndpointSlice.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
/// Label naming the controller that manages an EndpointSlice.
pub const MANAGED_BY_LABEL: &str = "endpointslice.kubernetes.io/managed-by";
/// Our value of [`MANAGED_BY_LABEL`] (upstream's, so kubectl and kube-proxy treat them alike).
pub const MANAGED_BY: &str = "endpointslice-controller.k8s.io";

/// A pod endpoint with its resolved ports.
#[derive(Debug, Clone, PartialEq)]
pub struct PodEndpoint<'a> {
    /// The pod.
    pub pod: &'a Pod,
    /// Its IP.
    pub ip: String,
    /// Whether it is Ready (or the Service publishes not-ready addresses).
    pub ready: bool,
    /// Ports resolved for this pod, in the Service's port order.
    pub ports: Vec<EndpointPort>,
}

/// Resolves a service port's targetPort against a pod: a number as is, a name through the pod's
/// container ports; `None` when the name is not declared by the pod.
pub fn resolve_target_port(port: &ServicePort, pod: &Pod) -> Option<i32> {
    match &port.target_port {
        None => Some(port.port),
        Some(IntOrString::Int(n)) => Some(*n),
        Some(IntOrString::String(name)) => match name.parse::<i32>() {
            Ok(n) => Some(n),
            Err(_) => pod
                .spec
                .as_ref()?
                .containers
                .iter()
                .flat_map(|c| c.ports.iter().flatten())
                .find(|p| p.name.as_deref() == Some(name.as_str()))
                .map(|p| p.container_port),
        },
    }
}

/// The endpoints a Service selects (pods with an IP, not terminating, not finished).
pub fn pod_endpoints<'a>(service: &Service, state: &'a ClusterState) -> Vec<PodEndpoint<'a>> {
    let Some(spec) = &service.spec else {
        return Vec::new();
    };
    let Some(selector_map) = spec.selector.as_ref().filter(|s| !s.is_empty()) else {
        return Vec::new();
    };
    let selector = LabelSelector::from_map(selector_map);
    let namespace = service.metadata.namespace.as_deref().unwrap_or("default");
    let publish_not_ready = spec.publish_not_ready_addresses.unwrap_or(false);
    let mut out = Vec::new();
    for pod in state.pods_in(namespace) {
        let labels = pod.metadata.labels.clone().unwrap_or_default();
        if !selector.matches(&labels)
            || is_terminating(&pod.metadata)
            || matches!(phase(pod), "Succeeded" | "Failed")
        {
            continue;
        }
        let Some(ip) = pod
            .status
            .as_ref()
            .and_then(|s| s.pod_ip.clone())
            .filter(|ip| !ip.is_empty())
        else {
            continue;
        };
        let ports = spec
            .ports
            .iter()
            .flatten()
            .filter_map(|p| {
                Some(EndpointPort {
                    name: p.name.clone().filter(|n| !n.is_empty()),
                    port: resolve_target_port(p, pod)?,
                    protocol: Some(p.protocol.clone().unwrap_or_else(|| "TCP".into())),
                    app_protocol: p.app_protocol.clone(),
                })
            })
            .collect();
        out.push(PodEndpoint {
            pod,
            ip,
            ready: publish_not_ready || is_ready(pod),
            ports,
        });
    }
    out
}

fn pod_ref(pod: &Pod) -> ObjectReference {
    ObjectReference {
        kind: Some("Pod".into()),
        namespace: pod.metadata.namespace.clone(),
        name: pod.metadata.name.clone(),
        uid: pod.metadata.uid.clone(),
        ..ObjectReference::default()
    }
}

/// The `subsets` of the Endpoints object: one subset per distinct port set, addresses sorted by IP.
pub fn subsets(endpoints: &[PodEndpoint]) -> Vec<EndpointSubset> {
    /// Ports, ready addresses, not-ready addresses.
    type Subset = (
        Vec<EndpointPort>,
        Vec<EndpointAddress>,
        Vec<EndpointAddress>,
    );
    let mut by_ports: BTreeMap<String, Subset> = BTreeMap::new();
    for e in endpoints.iter().filter(|e| !e.ports.is_empty()) {
        let key = serde_json::to_string(&e.ports).unwrap_or_default();
        let entry = by_ports
            .entry(key)
            .or_insert_with(|| (e.ports.clone(), Vec::new(), Vec::new()));
        let address = EndpointAddress {
            ip: e.ip.clone(),
            node_name: node_name(e.pod).map(str::to_string),
            target_ref: Some(pod_ref(e.pod)),
            hostname: None,
        };
        if e.ready {
            entry.1.push(address)
        } else {
            entry.2.push(address)
        }
    }
    by_ports
        .into_values()
        .map(|(ports, mut ready, mut not_ready)| {
            ready.sort_by(|a, b| a.ip.cmp(&b.ip));
            not_ready.sort_by(|a, b| a.ip.cmp(&b.ip));
            EndpointSubset {
                addresses: (!ready.is_empty()).then_some(ready),
                not_ready_addresses: (!not_ready.is_empty()).then_some(not_ready),
                ports: Some(ports),
            }
        })
        .collect()
}

/// Reconciles Endpoints and EndpointSlices of every Service, and deletes our Endpoints whose
/// Service is gone.
pub fn reconcile_all(state: &ClusterState) -> Vec<Change> {
    let mut changes = Vec::new();
    for service in state.services.values() {
        if is_terminating(&service.metadata)
            || service
                .spec
                .as_ref()
                .and_then(|s| s.selector.as_ref())
                .is_none_or(|s| s.is_empty())
        {
            continue;
        }
        let endpoints = pod_endpoints(service, state);
        changes.extend(reconcile_endpoints(service, &endpoints, state));
        changes.extend(reconcile_slices(service, &endpoints, state));
    }
    for (key, ep) in &state.endpoints {
        let ours = ep
            .metadata
            .annotations
            .as_ref()
            .is_some_and(|a| a.contains_key(TRIGGER_TIME_ANNOTATION));
        if ours && !state.services.contains_key(key) {
            changes.push(Change::Delete {
                target: Target::of(ep),
                propagation: None,
                uid: ep.metadata.uid.clone(),
            });
        }
    }
    changes
}

fn reconcile_endpoints(
    service: &Service,
    endpoints: &[PodEndpoint],
    state: &ClusterState,
) -> Vec<Change> {
    let namespace = service.metadata.namespace.as_deref().unwrap_or("default");
    let name = service.metadata.name.as_deref().unwrap_or_default();
    let subsets = subsets(endpoints);
    let now = state.now.to_string();
    match state.endpoints.get(&format!("{namespace}/{name}")) {
        Some(existing) => {
            let current = existing.subsets.clone().unwrap_or_default();
            if current == subsets && existing.metadata.labels == service.metadata.labels {
                return Vec::new();
            }
            vec![Change::Patch {
                target: Target::of(existing),
                patch: json!({"metadata": {"labels": service.metadata.labels, "annotations": {TRIGGER_TIME_ANNOTATION: now}}, "subsets": subsets}),
            }]
        }
        None => vec![Change::Create {
            target: Target::new::<k8s_openapi::api::core::v1::Endpoints>(Some(namespace), name),
            object: json!({"apiVersion": "v1", "kind": "Endpoints",
                "metadata": {"name": name, "namespace": namespace, "labels": service.metadata.labels, "annotations": {TRIGGER_TIME_ANNOTATION: now}},
                "subsets": subsets}),
        }],
    }
}

fn slice_endpoints(endpoints: &[&PodEndpoint]) -> Vec<Value> {
    let mut out: Vec<Value> = endpoints
        .iter()
        .map(|e| {
            json!({"addresses": [e.ip], "conditions": {"ready": e.ready, "serving": e.ready, "terminating": false},
                "nodeName": node_name(e.pod), "targetRef": pod_ref(e.pod)})
        })
        .collect();
    out.sort_by(|a, b| a["addresses"][0].as_str().cmp(&b["addresses"][0].as_str()));
    out
}

fn reconcile_slices(
    service: &Service,
    endpoints: &[PodEndpoint],
    state: &ClusterState,
) -> Vec<Change> {
    let namespace = service.metadata.namespace.as_deref().unwrap_or("default");
    let name = service.metadata.name.as_deref().unwrap_or_default();
    let uid = service.metadata.uid.as_deref().unwrap_or_default();
    // Desired: one slice per port set.
    let mut desired: BTreeMap<String, (Vec<EndpointPort>, Vec<&PodEndpoint>)> = BTreeMap::new();
    for e in endpoints.iter().filter(|e| !e.ports.is_empty()) {
        let key = serde_json::to_string(&e.ports).unwrap_or_default();
        desired
            .entry(key)
            .or_insert_with(|| (e.ports.clone(), Vec::new()))
            .1
            .push(e);
    }
    let ours: Vec<&EndpointSlice> = state
        .endpoint_slices
        .values()
        .filter(|s| s.metadata.namespace.as_deref() == Some(namespace))
        .filter(|s| {
            s.metadata.labels.as_ref().is_some_and(|l| {
                l.get(SERVICE_NAME_LABEL).map(String::as_str) == Some(name)
                    && l.get(MANAGED_BY_LABEL).map(String::as_str) == Some(MANAGED_BY)
            })
        })
        .filter(|s| is_controlled_by(&s.metadata, uid))
        .collect();
    let mut changes = Vec::new();
    let mut used = BTreeSet::new();
    for (key, (ports, members)) in &desired {
        let body = json!({"ports": ports, "endpoints": slice_endpoints(members)});
        let existing = ours.iter().find(|s| {
            serde_json::to_string(s.ports.as_ref().unwrap_or(&Vec::new())).unwrap_or_default()
                == *key
        });
        match existing {
            Some(slice) => {
                used.insert(slice.metadata.name.clone());
                let current = json!({"ports": slice.ports, "endpoints": slice.endpoints});
                if current != body {
                    changes.push(Change::Patch {
                        target: Target::of(*slice),
                        patch: body,
                    });
                }
            }
            None => {
                let mut labels = service.metadata.labels.clone().unwrap_or_default();
                labels.insert(SERVICE_NAME_LABEL.into(), name.into());
                labels.insert(MANAGED_BY_LABEL.into(), MANAGED_BY.into());
                let mut object = json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
                    "metadata": {"generateName": format!("{name}-"), "namespace": namespace, "labels": labels, "ownerReferences": [controller_ref(service)]}});
                crate::merge_json(&mut object, body);
                changes.push(Change::Create {
                    target: Target::new::<EndpointSlice>(Some(namespace), &format!("{name}-")),
                    object,
                });
            }
        }
    }
    if desired.is_empty() && ours.is_empty() {
        // Upstream keeps one empty slice so consumers see "no endpoints" rather than "unknown".
        let mut labels = service.metadata.labels.clone().unwrap_or_default();
        labels.insert(SERVICE_NAME_LABEL.into(), name.into());
        labels.insert(MANAGED_BY_LABEL.into(), MANAGED_BY.into());
        changes.push(Change::Create {
            target: Target::new::<EndpointSlice>(Some(namespace), &format!("{name}-")),
            object: json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4", "endpoints": [], "ports": [],
                "metadata": {"generateName": format!("{name}-"), "namespace": namespace, "labels": labels, "ownerReferences": [controller_ref(service)]}}),
        });
    }
    let keep_one_empty = desired.is_empty();
    for (i, slice) in ours.iter().enumerate() {
        if used.contains(&slice.metadata.name) || (keep_one_empty && i == 0) {
            if keep_one_empty
                && i == 0
                && (slice.endpoints.iter().len() > 0
                    || slice.ports.as_ref().is_some_and(|p| !p.is_empty()))
            {
                changes.push(Change::Patch {
                    target: Target::of(*slice),
                    patch: json!({"endpoints": [], "ports": []}),
                });
            }
            continue;
        }
        changes.push(Change::Delete {
            target: Target::of(*slice),
            propagation: None,
            uid: slice.metadata.uid.clone(),
        });
    }
    changes
}

#[cfg(test)]
#[path = "endpoints_tests.rs"]
mod tests;
