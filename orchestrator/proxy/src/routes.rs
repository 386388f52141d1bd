//! Routes to the other nodes' pod CIDRs: `ip route replace <podCIDR> via <InternalIP>` for every
//! other node on a directly connected network. Our routes carry protocol [`ROUTE_PROTO`], so we
//! recognise (and delete) only those.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use k8s_openapi::api::core::v1::Node;

use crate::cidr::Ipv4Cidr;
use crate::exec::Runner;
use crate::Result;

/// The `proto` number marking routes the proxy installed (unassigned in iproute2's rt_protos).
pub const ROUTE_PROTO: &str = "212";

/// One route to another node's pods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct NodeRoute {
    /// The other node's pod CIDR.
    pub pod_cidr: Ipv4Cidr,
    /// Its InternalIP.
    pub via: Ipv4Addr,
}

fn internal_ip(node: &Node) -> Option<Ipv4Addr> {
    node.status
        .as_ref()?
        .addresses
        .as_ref()?
        .iter()
        .filter(|a| a.type_ == "InternalIP")
        .find_map(|a| a.address.parse().ok())
}

fn pod_cidr(node: &Node) -> Option<Ipv4Cidr> {
    let spec = node.spec.as_ref()?;
    spec.pod_cidrs
        .iter()
        .flatten()
        .chain(spec.pod_cidr.iter())
        .find_map(|c| c.parse().ok())
}

/// The routes to every other node with a pod CIDR and an InternalIP, sorted.
pub fn candidates(nodes: &[Node], self_name: &str) -> Vec<NodeRoute> {
    let mut out: Vec<NodeRoute> = nodes
        .iter()
        .filter(|n| n.metadata.name.as_deref() != Some(self_name))
        .filter_map(|node| {
            Some(NodeRoute {
                pod_cidr: pod_cidr(node)?,
                via: internal_ip(node)?,
            })
        })
        .collect();
    out.sort();
    out
}

/// The routes this node (`self_name`, holding `connected` networks) needs: one per other node
/// with a pod CIDR and an InternalIP inside a connected network.
pub fn desired_routes(nodes: &[Node], self_name: &str, connected: &[Ipv4Cidr]) -> Vec<NodeRoute> {
    filter_connected(candidates(nodes, self_name), connected)
}

fn filter_connected(routes: Vec<NodeRoute>, connected: &[Ipv4Cidr]) -> Vec<NodeRoute> {
    routes
        .into_iter()
        .filter(|route| {
            let on_link = connected.iter().any(|c| c.contains(route.via));
            if !on_link {
                tracing::debug!(via = %route.via, pod_cidr = %route.pod_cidr, "node not on a connected network: no route to its pods");
            }
            on_link
        })
        .collect()
}

/// The networks of this node's IPv4 addresses, from `ip -4 -o addr show`.
pub fn parse_connected(addr_show: &str) -> Vec<Ipv4Cidr> {
    addr_show
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            words.find(|w| *w == "inet")?;
            words.next()?.parse().ok()
        })
        .filter(|c: &Ipv4Cidr| c.prefix() < 32 && !c.contains(Ipv4Addr::LOCALHOST))
        .collect()
}

/// Our routes as `ip -4 route show proto 212` prints them.
pub fn parse_routes(route_show: &str) -> Vec<NodeRoute> {
    route_show
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let pod_cidr = words.next()?.parse().ok()?;
            words.find(|w| *w == "via")?;
            let via = words.next()?.parse().ok()?;
            Some(NodeRoute { pod_cidr, via })
        })
        .collect()
}

/// Brings the node's routes to the other nodes' pods in line with `nodes`: replaces missing or
/// changed routes, deletes ours that no node needs any more. Returns how many routes changed.
pub fn sync(runner: &dyn Runner, nodes: &[Node], self_name: &str) -> Result<usize> {
    sync_routes(runner, candidates(nodes, self_name))
}

/// [`sync`] for routes already derived from the Nodes (see [`candidates`]); those whose gateway
/// is not on a connected network are left out.
pub fn sync_routes(runner: &dyn Runner, candidates: Vec<NodeRoute>) -> Result<usize> {
    let connected = parse_connected(&runner.run(&["ip", "-4", "-o", "addr", "show"], None)?);
    let want = filter_connected(candidates, &connected);
    let have: BTreeMap<Ipv4Cidr, Ipv4Addr> =
        parse_routes(&runner.run(&["ip", "-4", "route", "show", "proto", ROUTE_PROTO], None)?)
            .into_iter()
            .map(|r| (r.pod_cidr, r.via))
            .collect();
    let mut changed = 0;
    for route in &want {
        if have.get(&route.pod_cidr) == Some(&route.via) {
            continue;
        }
        let (cidr, via) = (route.pod_cidr.to_string(), route.via.to_string());
        runner.run(
            &[
                "ip",
                "route",
                "replace",
                &cidr,
                "via",
                &via,
                "proto",
                ROUTE_PROTO,
            ],
            None,
        )?;
        tracing::info!(pod_cidr = %cidr, %via, "route to node pods installed");
        changed += 1;
    }
    for cidr in have.keys() {
        if want.iter().any(|r| r.pod_cidr == *cidr) {
            continue;
        }
        let cidr = cidr.to_string();
        runner.run(&["ip", "route", "del", &cidr, "proto", ROUTE_PROTO], None)?;
        tracing::info!(pod_cidr = %cidr, "route to a departed node removed");
        changed += 1;
    }
    Ok(changed)
}

/// Deletes every route the proxy installed.
pub fn cleanup(runner: &dyn Runner) -> Result<()> {
    let have =
        parse_routes(&runner.run(&["ip", "-4", "route", "show", "proto", ROUTE_PROTO], None)?);
    for route in have {
        let cidr = route.pod_cidr.to_string();
        runner.run(&["ip", "route", "del", &cidr, "proto", ROUTE_PROTO], None)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::RecordingRunner;
    use serde_json::json;

    fn node(name: &str, ip: &str, cidr: Option<&str>) -> Node {
        serde_json::from_value(json!({
            "metadata": {"name": name},
            "spec": {"podCIDR": cidr},
            "status": {"addresses": [{"type": "Hostname", "address": name}, {"type": "InternalIP", "address": ip}]}
        }))
        .unwrap()
    }

    #[test]
    fn routes_go_to_other_connected_nodes_with_a_pod_cidr() {
        let nodes = [
            node("a", "192.168.1.2", Some("10.244.0.0/24")),
            node("b", "192.168.1.3", Some("10.244.1.0/24")),
            node("far", "172.16.0.9", Some("10.244.2.0/24")),
            node("new", "192.168.1.4", None),
        ];
        let connected = parse_connected(
            "1: lo    inet 127.0.0.1/8 scope host lo\\\n2: eth0    inet 192.168.1.2/24 brd 192.168.1.255 scope global eth0\\\n",
        );
        assert_eq!(connected, ["192.168.1.0/24".parse().unwrap()]);
        assert_eq!(
            desired_routes(&nodes, "a", &connected),
            [NodeRoute {
                pod_cidr: "10.244.1.0/24".parse().unwrap(),
                via: "192.168.1.3".parse().unwrap()
            }]
        );
    }

    #[test]
    fn sync_replaces_changed_routes_and_deletes_departed_ones_only() {
        let runner = RecordingRunner::new()
            .answer_ok("ip -4 -o addr", "2: eth0    inet 192.168.1.2/24 scope global eth0\n")
            .answer_ok(
                "ip -4 route show proto 212",
                "10.244.1.0/24 via 192.168.1.3 dev eth0 \n10.244.5.0/24 via 192.168.1.9 dev eth0 \n10.244.6.0/24 via 192.168.1.7 dev eth0 \n",
            );
        let nodes = [
            node("a", "192.168.1.2", Some("10.244.0.0/24")),
            node("b", "192.168.1.3", Some("10.244.1.0/24")),
            node("c", "192.168.1.8", Some("10.244.6.0/24")),
        ];
        assert_eq!(sync(&runner, &nodes, "a").unwrap(), 2);
        let changes: Vec<String> = runner
            .lines()
            .into_iter()
            .filter(|l| l.starts_with("ip route"))
            .collect();
        assert_eq!(
            changes,
            [
                "ip route replace 10.244.6.0/24 via 192.168.1.8 proto 212",
                "ip route del 10.244.5.0/24 proto 212"
            ]
        );
    }
}
