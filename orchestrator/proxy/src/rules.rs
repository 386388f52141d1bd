//! The pure heart of the proxy: from service ports and this node to the text that
//! `iptables-restore --noflush` loads. Only chains named `CLUSTERD-*` are declared (which flushes
//! them) and written, so other chains (Docker's, the CNI plugins') are never rewritten; the jumps
//! into them from the built-in chains are in [`jumps`].
//!
//! The layout follows kube-proxy's iptables mode:
//! - nat `CLUSTERD-SERVICES` (from PREROUTING and OUTPUT) matches cluster IPs, external IPs and
//!   load-balancer IPs, then hands local destinations to `CLUSTERD-NODEPORTS`;
//! - `CLUSTERD-SVC-*` balances over all endpoints, `CLUSTERD-SVL-*` over this node's,
//!   `CLUSTERD-EXT-*` is the external path (masquerade or not, by externalTrafficPolicy),
//!   `CLUSTERD-SEP-*` DNATs to one endpoint;
//! - traffic needing SNAT gets mark 0x4000 (`CLUSTERD-MARK-MASQ`) and is masqueraded in
//!   `CLUSTERD-POSTROUTING`, which also keeps pod-to-pod traffic un-NATed;
//! - filter `CLUSTERD-SERVICES` / `CLUSTERD-EXTERNAL-SERVICES` reject services without endpoints,
//!   `CLUSTERD-FORWARD` accepts pod traffic even under a DROP forward policy.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use sha2::{Digest, Sha256};

use crate::cidr::Ipv4Cidr;
use crate::model::{service_ports, Endpoint, ServicePortInfo};

/// Every chain the proxy owns starts with this.
pub const CHAIN_PREFIX: &str = "CLUSTERD-";
/// nat chain of service portals (cluster, external and load-balancer IPs).
pub const SERVICES_CHAIN: &str = "CLUSTERD-SERVICES";
/// nat chain of node ports.
pub const NODEPORTS_CHAIN: &str = "CLUSTERD-NODEPORTS";
/// nat chain marking packets for masquerade.
pub const MARK_MASQ_CHAIN: &str = "CLUSTERD-MARK-MASQ";
/// nat chain, from POSTROUTING, masquerading marked packets.
pub const POSTROUTING_CHAIN: &str = "CLUSTERD-POSTROUTING";
/// filter chain rejecting node ports and external IPs without endpoints.
pub const EXTERNAL_SERVICES_CHAIN: &str = "CLUSTERD-EXTERNAL-SERVICES";
/// filter chain accepting pod traffic in FORWARD.
pub const FORWARD_CHAIN: &str = "CLUSTERD-FORWARD";
/// The packet mark that asks for masquerade (kube-proxy's).
pub const MASQ_MARK: &str = "0x4000";

/// What the rules need to know about the node they run on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeContext {
    /// This node's name (endpoints with this `nodeName` are local).
    pub node_name: String,
    /// The cluster's pod CIDR (traffic from outside it to a cluster IP is masqueraded).
    pub cluster_cidr: Ipv4Cidr,
}

/// A jump from a built-in chain into one of ours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jump {
    /// `nat` or `filter`.
    pub table: &'static str,
    /// The built-in chain (`PREROUTING`, `FORWARD`, ...).
    pub chain: &'static str,
    /// The rule after `-A <chain>`, as arguments.
    pub rule: Vec<&'static str>,
}

/// The jumps into our chains, in the order they must appear at the top of each built-in chain.
pub fn jumps() -> Vec<Jump> {
    let jump = |table, chain, rule: &[&'static str]| Jump {
        table,
        chain,
        rule: rule.to_vec(),
    };
    let new_only = ["-m", "conntrack", "--ctstate", "NEW"];
    let services = [
        "-m",
        "comment",
        "--comment",
        "clusterd service portals",
        "-j",
        SERVICES_CHAIN,
    ];
    let external = [
        "-m",
        "comment",
        "--comment",
        "clusterd externally-visible service portals",
        "-j",
        EXTERNAL_SERVICES_CHAIN,
    ];
    let new_services: Vec<&str> = new_only.iter().chain(&services).copied().collect();
    let new_external: Vec<&str> = new_only.iter().chain(&external).copied().collect();
    vec![
        jump("nat", "PREROUTING", &services),
        jump("nat", "OUTPUT", &services),
        jump(
            "nat",
            "POSTROUTING",
            &[
                "-m",
                "comment",
                "--comment",
                "clusterd postrouting rules",
                "-j",
                POSTROUTING_CHAIN,
            ],
        ),
        jump("filter", "INPUT", &new_external),
        jump("filter", "FORWARD", &new_services),
        jump("filter", "FORWARD", &new_external),
        jump(
            "filter",
            "FORWARD",
            &[
                "-m",
                "comment",
                "--comment",
                "clusterd forwarding rules",
                "-j",
                FORWARD_CHAIN,
            ],
        ),
        jump("filter", "OUTPUT", &new_services),
    ]
}

/// A deterministic chain name: `prefix` and 14 hex digits of the sha256 of `key` (iptables
/// chain names are at most 28 characters).
pub fn chain_name(prefix: &str, key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let mut name = String::from(prefix);
    for byte in &digest[..7] {
        let _ = write!(name, "{byte:02X}");
    }
    name
}

/// `port`'s name for rule comments, with anything that could break the restore syntax replaced.
fn comment_name(port: &ServicePortInfo) -> String {
    port.display_name()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_./:".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn port_key(port: &ServicePortInfo) -> String {
    format!("{}/{}", port, port.protocol.as_iptables())
}

/// The chain balancing over all endpoints of `port`.
pub fn svc_chain(port: &ServicePortInfo) -> String {
    chain_name("CLUSTERD-SVC-", &port_key(port))
}

/// The chain balancing over this node's endpoints of `port`.
pub fn svl_chain(port: &ServicePortInfo) -> String {
    chain_name("CLUSTERD-SVL-", &port_key(port))
}

/// The external (node port, external and load-balancer IP) chain of `port`.
pub fn ext_chain(port: &ServicePortInfo) -> String {
    chain_name("CLUSTERD-EXT-", &port_key(port))
}

/// The chain DNATing `port`'s traffic to `endpoint`.
pub fn sep_chain(port: &ServicePortInfo, endpoint: &Endpoint) -> String {
    chain_name(
        "CLUSTERD-SEP-",
        &format!("{}/{}:{}", port_key(port), endpoint.ip, endpoint.port),
    )
}

/// The rules of both tables, ready to be written as `iptables-restore` input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ruleset {
    /// nat chains we own, in declaration order.
    pub nat_chains: Vec<String>,
    /// nat rules (`-A ...` lines).
    pub nat_rules: Vec<String>,
    /// filter chains we own.
    pub filter_chains: Vec<String>,
    /// filter rules.
    pub filter_rules: Vec<String>,
}

/// The `iptables-restore` input for `services` and `slices` on `node` (no stale chains to
/// delete): the pure function the proxy loads on every sync.
pub fn render(services: &[Service], slices: &[EndpointSlice], node: &NodeContext) -> String {
    Ruleset::build(&service_ports(services, slices), node).restore_text(&[], &[])
}

impl Ruleset {
    /// The rules for `ports` on `node`.
    pub fn build(ports: &[ServicePortInfo], node: &NodeContext) -> Self {
        let mut rules = Builder::new(node);
        for port in ports {
            rules.service_port(port);
        }
        rules.finish()
    }

    /// The `iptables-restore --noflush` input: declares (and so flushes) our chains, writes our
    /// rules, and deletes `stale_nat` / `stale_filter` chains that no longer have a use.
    pub fn restore_text(&self, stale_nat: &[String], stale_filter: &[String]) -> String {
        let mut out = String::new();
        for (table, chains, rules, stale) in [
            (
                "filter",
                &self.filter_chains,
                &self.filter_rules,
                stale_filter,
            ),
            ("nat", &self.nat_chains, &self.nat_rules, stale_nat),
        ] {
            let _ = writeln!(out, "*{table}");
            for chain in chains.iter().chain(stale) {
                let _ = writeln!(out, ":{chain} - [0:0]");
            }
            for rule in rules {
                let _ = writeln!(out, "{rule}");
            }
            for chain in stale {
                let _ = writeln!(out, "-X {chain}");
            }
            let _ = writeln!(out, "COMMIT");
        }
        out
    }
}

/// Accumulates chains and rules while walking the service ports.
struct Builder<'a> {
    node: &'a NodeContext,
    cidr: String,
    set: Ruleset,
    /// Rules of the nat SERVICES chain, before its final jump to NODEPORTS.
    services: Vec<String>,
    nodeports: Vec<String>,
    /// Per-service chains (SVC, SVL, EXT, SEP) and their rules, in order.
    service_chains: Vec<String>,
    service_rules: Vec<String>,
    filter_services: Vec<String>,
    filter_external: Vec<String>,
}

fn dst(ip: Ipv4Addr, port: &ServicePortInfo, number: u16) -> String {
    let protocol = port.protocol.as_iptables();
    format!("-d {ip}/32 -p {protocol} -m {protocol} --dport {number}")
}

fn local_port(port: &ServicePortInfo, number: u16) -> String {
    let protocol = port.protocol.as_iptables();
    format!("-m addrtype --dst-type LOCAL -p {protocol} -m {protocol} --dport {number}")
}

impl<'a> Builder<'a> {
    fn new(node: &'a NodeContext) -> Self {
        Self {
            node,
            cidr: node.cluster_cidr.to_string(),
            set: Ruleset::default(),
            services: Vec::new(),
            nodeports: Vec::new(),
            service_chains: Vec::new(),
            service_rules: Vec::new(),
            filter_services: Vec::new(),
            filter_external: Vec::new(),
        }
    }

    fn service_port(&mut self, port: &ServicePortInfo) {
        let name = comment_name(port);
        let local: Vec<&Endpoint> = port.local_endpoints(&self.node.node_name);
        let all: Vec<&Endpoint> = port.endpoints.iter().collect();
        let has_external = port.node_port.is_some()
            || !port.external_ips.is_empty()
            || !port.load_balancer_ips.is_empty();

        if all.is_empty() {
            // Nothing to send to: refuse quickly instead of letting connections hang.
            for ip in &port.cluster_ips {
                self.filter_services.push(format!(
                    "-A {SERVICES_CHAIN} {} -m comment --comment \"{name} has no endpoints\" -j REJECT",
                    dst(*ip, port, port.port)
                ));
            }
            self.reject_external(port, "has no endpoints", "REJECT");
            return;
        }

        let svc = svc_chain(port);
        let svl = svl_chain(port);
        let ext = ext_chain(port);
        self.endpoint_chain(&svc, port, &all);
        if !local.is_empty() && (port.internal_local || port.external_local) {
            self.endpoint_chain(&svl, port, &local);
        }

        // Cluster IPs.
        let internal_target = if port.internal_local { &svl } else { &svc };
        for ip in &port.cluster_ips {
            let matcher = dst(*ip, port, port.port);
            if port.internal_local && local.is_empty() {
                self.filter_services.push(format!(
                    "-A {SERVICES_CHAIN} {matcher} -m comment --comment \"{name} has no local endpoints\" -j DROP"
                ));
                continue;
            }
            self.services.push(format!(
                "-A {SERVICES_CHAIN} ! -s {} {matcher} -m comment --comment \"{name} cluster IP\" -j {MARK_MASQ_CHAIN}",
                self.cidr
            ));
            self.services.push(format!(
                "-A {SERVICES_CHAIN} {matcher} -m comment --comment \"{name} cluster IP\" -j {internal_target}"
            ));
        }

        if !has_external {
            return;
        }
        // The external path: node ports, external IPs, load-balancer IPs.
        self.service_chains.push(ext.clone());
        if port.external_local {
            self.service_rules.push(format!(
                "-A {ext} -s {} -m comment --comment \"pod traffic for {name} external destinations\" -j {svc}",
                self.cidr
            ));
            self.service_rules.push(format!(
                "-A {ext} -m addrtype --src-type LOCAL -m comment --comment \"masquerade LOCAL traffic for {name} external destinations\" -j {MARK_MASQ_CHAIN}"
            ));
            self.service_rules.push(format!(
                "-A {ext} -m addrtype --src-type LOCAL -m comment --comment \"route LOCAL traffic for {name} external destinations\" -j {svc}"
            ));
            if local.is_empty() {
                self.reject_external(port, "has no local endpoints", "DROP");
            } else {
                self.service_rules.push(format!("-A {ext} -j {svl}"));
            }
        } else {
            self.service_rules.push(format!(
                "-A {ext} -m comment --comment \"masquerade traffic for {name} external destinations\" -j {MARK_MASQ_CHAIN}"
            ));
            self.service_rules.push(format!("-A {ext} -j {svc}"));
        }
        for ip in &port.external_ips {
            self.services.push(format!(
                "-A {SERVICES_CHAIN} {} -m comment --comment \"{name} external IP\" -j {ext}",
                dst(*ip, port, port.port)
            ));
        }
        for ip in &port.load_balancer_ips {
            self.services.push(format!(
                "-A {SERVICES_CHAIN} {} -m comment --comment \"{name} loadbalancer IP\" -j {ext}",
                dst(*ip, port, port.port)
            ));
        }
        if let Some(node_port) = port.node_port {
            let protocol = port.protocol.as_iptables();
            self.nodeports.push(format!(
                "-A {NODEPORTS_CHAIN} -p {protocol} -m {protocol} --dport {node_port} -m comment --comment \"{name}\" -j {ext}"
            ));
        }
    }

    /// Filter rules refusing (`REJECT`) or dropping the external addresses of `port`.
    fn reject_external(&mut self, port: &ServicePortInfo, why: &str, verdict: &str) {
        let name = comment_name(port);
        for ip in port.external_ips.iter().chain(&port.load_balancer_ips) {
            self.filter_external.push(format!(
                "-A {EXTERNAL_SERVICES_CHAIN} {} -m comment --comment \"{name} {why}\" -j {verdict}",
                dst(*ip, port, port.port)
            ));
        }
        if let Some(node_port) = port.node_port {
            self.filter_external.push(format!(
                "-A {EXTERNAL_SERVICES_CHAIN} {} -m comment --comment \"{name} {why}\" -j {verdict}",
                local_port(port, node_port)
            ));
        }
    }

    /// A balancing chain over `endpoints` (with ClientIP affinity if asked), and their SEP chains.
    fn endpoint_chain(&mut self, chain: &str, port: &ServicePortInfo, endpoints: &[&Endpoint]) {
        let name = comment_name(port);
        self.service_chains.push(chain.to_owned());
        if let Some(seconds) = port.affinity_seconds {
            for endpoint in endpoints {
                let sep = sep_chain(port, endpoint);
                self.service_rules.push(format!(
                    "-A {chain} -m comment --comment \"{name} -> {}:{}\" -m recent --name {sep} --rcheck --seconds {seconds} --reap -j {sep}",
                    endpoint.ip, endpoint.port
                ));
            }
        }
        let count = endpoints.len();
        for (index, endpoint) in endpoints.iter().enumerate() {
            let sep = sep_chain(port, endpoint);
            let remaining = count - index;
            let statistic = if remaining > 1 {
                format!(
                    " -m statistic --mode random --probability {:.10}",
                    1.0 / remaining as f64
                )
            } else {
                String::new()
            };
            self.service_rules.push(format!(
                "-A {chain} -m comment --comment \"{name} -> {}:{}\"{statistic} -j {sep}",
                endpoint.ip, endpoint.port
            ));
            if self.service_chains.contains(&sep) {
                continue; // already written for the other balancing chain
            }
            self.service_chains.push(sep.clone());
            self.service_rules.push(format!(
                "-A {sep} -s {}/32 -m comment --comment \"{name}\" -j {MARK_MASQ_CHAIN}",
                endpoint.ip
            ));
            let recent = match port.affinity_seconds {
                Some(_) => format!(" -m recent --name {sep} --set"),
                None => String::new(),
            };
            let protocol = port.protocol.as_iptables();
            self.service_rules.push(format!(
                "-A {sep} -p {protocol} -m comment --comment \"{name}\"{recent} -m {protocol} -j DNAT --to-destination {}:{}",
                endpoint.ip, endpoint.port
            ));
        }
    }

    fn finish(mut self) -> Ruleset {
        let cidr = &self.cidr;
        // filter
        self.set.filter_chains = vec![
            SERVICES_CHAIN.to_owned(),
            EXTERNAL_SERVICES_CHAIN.to_owned(),
            FORWARD_CHAIN.to_owned(),
        ];
        self.set.filter_rules.append(&mut self.filter_services);
        self.set.filter_rules.append(&mut self.filter_external);
        self.set.filter_rules.extend([
            format!("-A {FORWARD_CHAIN} -m conntrack --ctstate INVALID -m comment --comment \"drop invalid packets\" -j DROP"),
            format!("-A {FORWARD_CHAIN} -m mark --mark {MASQ_MARK}/{MASQ_MARK} -m comment --comment \"service traffic\" -j ACCEPT"),
            format!("-A {FORWARD_CHAIN} -s {cidr} -m comment --comment \"traffic from pods\" -j ACCEPT"),
            format!("-A {FORWARD_CHAIN} -d {cidr} -m comment --comment \"traffic to pods\" -j ACCEPT"),
        ]);
        // nat
        self.set.nat_chains = vec![
            SERVICES_CHAIN.to_owned(),
            NODEPORTS_CHAIN.to_owned(),
            MARK_MASQ_CHAIN.to_owned(),
            POSTROUTING_CHAIN.to_owned(),
        ];
        self.set.nat_chains.append(&mut self.service_chains);
        self.set.nat_rules.extend([
            format!("-A {MARK_MASQ_CHAIN} -j MARK --or-mark {MASQ_MARK}"),
            format!("-A {POSTROUTING_CHAIN} -s {cidr} -d {cidr} -m mark ! --mark {MASQ_MARK}/{MASQ_MARK} -m comment --comment \"no NAT between pods\" -j ACCEPT"),
            format!("-A {POSTROUTING_CHAIN} -m mark ! --mark {MASQ_MARK}/{MASQ_MARK} -j RETURN"),
            format!("-A {POSTROUTING_CHAIN} -j MARK --xor-mark {MASQ_MARK}"),
            format!("-A {POSTROUTING_CHAIN} -m comment --comment \"service traffic requiring SNAT\" -j MASQUERADE --random-fully"),
        ]);
        self.set.nat_rules.append(&mut self.services);
        self.set.nat_rules.push(format!(
            "-A {SERVICES_CHAIN} ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -m comment --comment \"service nodeports; NOTE: this must be the last rule in this chain\" -j {NODEPORTS_CHAIN}"
        ));
        self.set.nat_rules.append(&mut self.nodeports);
        self.set.nat_rules.append(&mut self.service_rules);
        self.set
    }
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
