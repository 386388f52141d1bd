//! Stale UDP flows: conntrack keeps sending a UDP "connection" where it first went, so when a UDP
//! service's endpoints change the proxy deletes the flows to endpoints that are gone, and the
//! flows recorded while the service had no endpoints (as kube-proxy does). TCP needs none of it.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use crate::exec::Runner;
use crate::model::{Endpoint, Protocol, ServicePortInfo};

/// Where `conntrack` (conntrack-tools) is expected; without it stale flows are only logged.
pub const CONNTRACK: &str = "conntrack";

fn key(port: &ServicePortInfo) -> (String, String, String) {
    (
        port.namespace.clone(),
        port.name.clone(),
        port.port_name.clone(),
    )
}

fn service_ips(port: &ServicePortInfo) -> Vec<Ipv4Addr> {
    port.cluster_ips
        .iter()
        .chain(&port.external_ips)
        .chain(&port.load_balancer_ips)
        .copied()
        .collect()
}

/// The `conntrack -D` commands (arguments after the program) that clear the UDP flows made stale
/// by going from `before` to `after`.
pub fn stale_flows(before: &[ServicePortInfo], after: &[ServicePortInfo]) -> Vec<Vec<String>> {
    let udp = |ports: &[ServicePortInfo]| -> BTreeMap<_, ServicePortInfo> {
        ports
            .iter()
            .filter(|p| p.protocol == Protocol::Udp)
            .map(|p| (key(p), p.clone()))
            .collect()
    };
    let (before, after) = (udp(before), udp(after));
    let mut out = Vec::new();
    let delete = |extra: &[String]| {
        let mut args: Vec<String> = ["-D", "-p", "udp"].map(String::from).to_vec();
        args.extend_from_slice(extra);
        args
    };
    for (key, old) in &before {
        let new_endpoints: &[Endpoint] = after.get(key).map_or(&[], |p| &p.endpoints);
        for gone in old.endpoints.iter().filter(|e| !new_endpoints.contains(e)) {
            let nat = gone.ip.to_string();
            for ip in service_ips(old) {
                out.push(delete(&[
                    "--orig-dst".into(),
                    ip.to_string(),
                    "--dst-nat".into(),
                    nat.clone(),
                ]));
            }
            if let Some(node_port) = old.node_port {
                out.push(delete(&[
                    "--orig-port-dst".into(),
                    node_port.to_string(),
                    "--dst-nat".into(),
                    nat.clone(),
                ]));
            }
        }
    }
    for (key, new) in &after {
        let had_none = before.get(key).is_none_or(|p| p.endpoints.is_empty());
        if !had_none || new.endpoints.is_empty() {
            continue;
        }
        // Flows recorded while there was nowhere to send them.
        for ip in service_ips(new) {
            out.push(delete(&[
                "--orig-dst".into(),
                ip.to_string(),
                "--orig-port-dst".into(),
                new.port.to_string(),
            ]));
        }
        if let Some(node_port) = new.node_port {
            out.push(delete(&["--orig-port-dst".into(), node_port.to_string()]));
        }
    }
    out
}

/// Runs `flows` (from [`stale_flows`]); "0 flow entries deleted" is not an error, a missing
/// `conntrack` is logged once per call.
pub fn clear(runner: &dyn Runner, flows: &[Vec<String>]) {
    for flow in flows {
        let mut args = vec![CONNTRACK];
        args.extend(flow.iter().map(String::as_str));
        match runner.output(&args, None) {
            Ok(out) if out.success => {
                tracing::debug!(flow = flow.join(" "), "stale UDP flows deleted")
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, "cannot delete stale UDP flows (install conntrack-tools)");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(endpoints: &[&str], node_port: Option<u16>) -> ServicePortInfo {
        ServicePortInfo {
            namespace: "default".into(),
            name: "dns".into(),
            port_name: String::new(),
            protocol: Protocol::Udp,
            cluster_ips: vec![Ipv4Addr::new(10, 96, 0, 53)],
            port: 53,
            node_port,
            external_ips: Vec::new(),
            load_balancer_ips: Vec::new(),
            affinity_seconds: None,
            external_local: false,
            internal_local: false,
            endpoints: endpoints
                .iter()
                .map(|ip| Endpoint {
                    ip: ip.parse().unwrap(),
                    port: 5353,
                    node_name: None,
                })
                .collect(),
        }
    }

    fn lines(flows: Vec<Vec<String>>) -> Vec<String> {
        flows.into_iter().map(|f| f.join(" ")).collect()
    }

    #[test]
    fn removed_endpoints_lose_their_flows() {
        let before = [port(&["10.244.1.2", "10.244.1.3"], Some(30053))];
        let after = [port(&["10.244.1.3"], Some(30053))];
        assert_eq!(
            lines(stale_flows(&before, &after)),
            [
                "-D -p udp --orig-dst 10.96.0.53 --dst-nat 10.244.1.2",
                "-D -p udp --orig-port-dst 30053 --dst-nat 10.244.1.2"
            ]
        );
        // A deleted Service: all its endpoints' flows.
        assert_eq!(stale_flows(&after, &[]).len(), 2);
    }

    #[test]
    fn first_endpoints_clear_the_flows_recorded_without_any() {
        let before = [port(&[], None)];
        let after = [port(&["10.244.1.2"], None)];
        assert_eq!(
            lines(stale_flows(&before, &after)),
            ["-D -p udp --orig-dst 10.96.0.53 --orig-port-dst 53"]
        );
        assert_eq!(
            lines(stale_flows(&[], &after)),
            ["-D -p udp --orig-dst 10.96.0.53 --orig-port-dst 53"]
        );
    }

    #[test]
    fn tcp_and_unchanged_services_need_nothing() {
        let same = [port(&["10.244.1.2"], Some(30053))];
        assert!(stale_flows(&same, &same).is_empty());
        let mut tcp = port(&["10.244.1.2"], None);
        tcp.protocol = Protocol::Tcp;
        assert!(stale_flows(&[tcp], &[]).is_empty());
    }
}
