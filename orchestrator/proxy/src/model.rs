//! What the proxy programs, distilled from Services and EndpointSlices: one [`ServicePortInfo`]
//! per service port, with the endpoints that back it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::Ipv4Addr;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;

/// Annotation of Services served on every node by the agent itself (the `kube-dns` Service); the
/// proxy leaves them alone.
pub const NODE_LOCAL_ANNOTATION: &str = "clusterd.io/node-local";
/// Label naming the Service an EndpointSlice belongs to.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
/// Upstream's default ClientIP affinity timeout (3 hours).
pub const DEFAULT_AFFINITY_SECONDS: u32 = 10_800;

/// A transport protocol a service port uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    /// TCP (the default).
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

impl Protocol {
    /// Parses the Kubernetes spelling (`TCP`, `UDP`, `SCTP`); `None` when absent means TCP.
    pub fn parse(value: Option<&str>) -> Option<Self> {
        match value.unwrap_or("TCP") {
            "TCP" => Some(Self::Tcp),
            "UDP" => Some(Self::Udp),
            "SCTP" => Some(Self::Sctp),
            _ => None,
        }
    }

    /// The iptables spelling (`tcp`).
    pub fn as_iptables(&self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Udp => "udp",
            Self::Sctp => "sctp",
        }
    }
}

/// One backend of a service port.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Endpoint {
    /// The pod's IP.
    pub ip: Ipv4Addr,
    /// The target port on it.
    pub port: u16,
    /// The node it runs on, if the slice says.
    pub node_name: Option<String>,
}

/// One port of one Service, with everything the rules need.
#[derive(Debug, Clone, PartialEq)]
pub struct ServicePortInfo {
    /// The Service's namespace.
    pub namespace: String,
    /// The Service's name.
    pub name: String,
    /// The port's name (empty when the Service has a single unnamed port).
    pub port_name: String,
    /// Its protocol.
    pub protocol: Protocol,
    /// The Service's IPv4 cluster IPs (empty for headless Services).
    pub cluster_ips: Vec<Ipv4Addr>,
    /// The service port.
    pub port: u16,
    /// The node port, for NodePort and LoadBalancer Services.
    pub node_port: Option<u16>,
    /// `spec.externalIPs`.
    pub external_ips: Vec<Ipv4Addr>,
    /// `status.loadBalancer.ingress[].ip` (the bundled load balancer lists the nodes' IPs).
    pub load_balancer_ips: Vec<Ipv4Addr>,
    /// ClientIP session affinity timeout, when the Service asks for affinity.
    pub affinity_seconds: Option<u32>,
    /// `externalTrafficPolicy: Local`: external traffic only to this node's endpoints, no SNAT.
    pub external_local: bool,
    /// `internalTrafficPolicy: Local`: cluster IP traffic only to this node's endpoints.
    pub internal_local: bool,
    /// The endpoints traffic may go to (ready ones, or serving terminating ones when none is
    /// ready), sorted and without duplicates.
    pub endpoints: Vec<Endpoint>,
}

impl ServicePortInfo {
    /// `namespace/name:port` (or `namespace/name` for an unnamed port), as kube-proxy names it.
    pub fn display_name(&self) -> String {
        self.to_string()
    }

    /// The endpoints on node `node_name`.
    pub fn local_endpoints(&self, node_name: &str) -> Vec<&Endpoint> {
        self.endpoints
            .iter()
            .filter(|e| e.node_name.as_deref() == Some(node_name))
            .collect()
    }
}

impl fmt::Display for ServicePortInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)?;
        if !self.port_name.is_empty() {
            write!(f, ":{}", self.port_name)?;
        }
        Ok(())
    }
}

/// Whether the proxy programs `service` at all: not node-local (see [`NODE_LOCAL_ANNOTATION`]),
/// not ExternalName, and with a spec.
pub fn is_proxied(service: &Service) -> bool {
    let node_local = service
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(NODE_LOCAL_ANNOTATION))
        .is_some_and(|v| v == "true");
    let external_name =
        service.spec.as_ref().and_then(|s| s.type_.as_deref()) == Some("ExternalName");
    !node_local && !external_name && service.spec.is_some()
}

fn ipv4s<'a>(values: impl IntoIterator<Item = &'a String>) -> Vec<Ipv4Addr> {
    let mut out: Vec<Ipv4Addr> = values.into_iter().filter_map(|v| v.parse().ok()).collect();
    out.dedup();
    out
}

/// The service ports the proxy programs, sorted by namespace, name, port name and protocol.
pub fn service_ports(services: &[Service], slices: &[EndpointSlice]) -> Vec<ServicePortInfo> {
    // Slices of each Service, by (namespace, service name).
    let mut by_service: BTreeMap<(String, String), Vec<&EndpointSlice>> = BTreeMap::new();
    for slice in slices {
        if slice.address_type != "IPv4" {
            continue;
        }
        let Some(service) = slice
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(SERVICE_NAME_LABEL))
        else {
            continue;
        };
        let namespace = slice.metadata.namespace.clone().unwrap_or_default();
        by_service
            .entry((namespace, service.clone()))
            .or_default()
            .push(slice);
    }

    let mut out = Vec::new();
    for service in services.iter().filter(|s| is_proxied(s)) {
        let Some(spec) = &service.spec else { continue };
        let namespace = service.metadata.namespace.clone().unwrap_or_default();
        let name = service.metadata.name.clone().unwrap_or_default();
        let cluster_ips = match &spec.cluster_ips {
            Some(ips) if !ips.is_empty() => ipv4s(ips),
            _ => ipv4s(spec.cluster_ip.iter()),
        };
        let external_ips = ipv4s(spec.external_ips.iter().flatten());
        let load_balancer_ips: Vec<Ipv4Addr> = service
            .status
            .as_ref()
            .and_then(|s| s.load_balancer.as_ref())
            .and_then(|lb| lb.ingress.as_ref())
            .map(|ingress| ipv4s(ingress.iter().filter_map(|i| i.ip.as_ref())))
            .unwrap_or_default();
        let affinity_seconds = (spec.session_affinity.as_deref() == Some("ClientIP")).then(|| {
            spec.session_affinity_config
                .as_ref()
                .and_then(|c| c.client_ip.as_ref())
                .and_then(|c| c.timeout_seconds)
                .and_then(|t| u32::try_from(t).ok())
                .filter(|t| *t > 0)
                .unwrap_or(DEFAULT_AFFINITY_SECONDS)
        });
        let external_local = spec.external_traffic_policy.as_deref() == Some("Local");
        let internal_local = spec.internal_traffic_policy.as_deref() == Some("Local");
        let is_lb = spec.type_.as_deref() == Some("LoadBalancer");
        let service_slices = by_service
            .get(&(namespace.clone(), name.clone()))
            .map(Vec::as_slice)
            .unwrap_or_default();

        for port in spec.ports.iter().flatten() {
            let (Some(protocol), Ok(port_number)) = (
                Protocol::parse(port.protocol.as_deref()),
                u16::try_from(port.port),
            ) else {
                continue;
            };
            let port_name = port.name.clone().unwrap_or_default();
            out.push(ServicePortInfo {
                namespace: namespace.clone(),
                name: name.clone(),
                port_name: port_name.clone(),
                protocol,
                cluster_ips: cluster_ips.clone(),
                port: port_number,
                node_port: port
                    .node_port
                    .and_then(|p| u16::try_from(p).ok())
                    .filter(|p| *p > 0),
                external_ips: external_ips.clone(),
                load_balancer_ips: if is_lb {
                    load_balancer_ips.clone()
                } else {
                    Vec::new()
                },
                affinity_seconds,
                external_local,
                internal_local,
                endpoints: endpoints_for(service_slices, &port_name, protocol),
            });
        }
    }
    out.sort_by(|a, b| {
        (&a.namespace, &a.name, &a.port_name, a.protocol).cmp(&(
            &b.namespace,
            &b.name,
            &b.port_name,
            b.protocol,
        ))
    });
    out
}

/// The endpoints of the port named `port_name`: the ready ones, or when none is ready the serving
/// terminating ones (so connections drain during a rollout, as kube-proxy does).
fn endpoints_for(slices: &[&EndpointSlice], port_name: &str, protocol: Protocol) -> Vec<Endpoint> {
    let mut ready = BTreeSet::new();
    let mut terminating = BTreeSet::new();
    for slice in slices {
        let Some(port) = slice.ports.iter().flatten().find(|p| {
            p.name.as_deref().unwrap_or_default() == port_name
                && Protocol::parse(p.protocol.as_deref()) == Some(protocol)
        }) else {
            continue;
        };
        let Some(port) = port.port.and_then(|p| u16::try_from(p).ok()) else {
            continue;
        };
        for endpoint in &slice.endpoints {
            let Some(ip) = endpoint.addresses.first().and_then(|a| a.parse().ok()) else {
                continue;
            };
            let conditions = endpoint.conditions.as_ref();
            let is_ready = conditions.and_then(|c| c.ready).unwrap_or(true);
            let serving = conditions.and_then(|c| c.serving).unwrap_or(is_ready);
            let is_terminating = conditions.and_then(|c| c.terminating).unwrap_or(false);
            let entry = Endpoint {
                ip,
                port,
                node_name: endpoint.node_name.clone(),
            };
            if is_ready && !is_terminating {
                ready.insert(entry);
            } else if serving && is_terminating {
                terminating.insert(entry);
            }
        }
    }
    let chosen = if ready.is_empty() { terminating } else { ready };
    let mut out: Vec<Endpoint> = Vec::with_capacity(chosen.len());
    for endpoint in chosen {
        // One entry per ip:port even if two slices disagree about the node.
        if !out
            .iter()
            .any(|e| e.ip == endpoint.ip && e.port == endpoint.port)
        {
            out.push(endpoint);
        }
    }
    out
}
