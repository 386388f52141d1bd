//! What the DNS server listens on, which zone it serves and where other names go.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

/// The cluster DNS address every pod's resolv.conf names (the `kube-dns` Service's ClusterIP).
pub const CLUSTER_DNS_IP: Ipv4Addr = Ipv4Addr::new(10, 96, 0, 10);
/// The cluster domain.
pub const CLUSTER_DOMAIN: &str = "cluster.local";
/// The dummy interface holding [`CLUSTER_DNS_IP`] on every node.
pub const INTERFACE: &str = "clusterd-dns0";

/// Settings of the node-local DNS server.
#[derive(Debug, Clone)]
pub struct DnsConfig {
    /// Addresses served over both UDP and TCP (default `10.96.0.10:53`).
    pub listen: Vec<SocketAddr>,
    /// The cluster domain (default `cluster.local`).
    pub domain: String,
    /// Resolvers for every other name, tried in order (default: the host's `/etc/resolv.conf`).
    pub upstreams: Vec<SocketAddr>,
    /// How long one upstream gets to answer before the next is tried.
    pub upstream_timeout: Duration,
    /// Create `clusterd-dns0` holding the listen addresses before binding.
    pub setup_interface: bool,
    /// Words run before each `ip` command of the interface setup (`ip netns exec X` in tests).
    pub command_prefix: Vec<String>,
}

impl Default for DnsConfig {
    fn default() -> Self {
        let listen = vec![SocketAddr::new(IpAddr::V4(CLUSTER_DNS_IP), 53)];
        let upstreams = upstreams_from_resolv_conf(Path::new("/etc/resolv.conf"), &listen);
        Self {
            listen,
            domain: CLUSTER_DOMAIN.into(),
            upstreams,
            upstream_timeout: Duration::from_secs(2),
            setup_interface: true,
            command_prefix: Vec::new(),
        }
    }
}

/// The `nameserver` lines of a resolv.conf text as port-53 addresses, leaving out `ours` (a node
/// whose resolv.conf points at the cluster DNS must not forward to itself).
pub fn parse_nameservers(text: &str, ours: &[SocketAddr]) -> Vec<SocketAddr> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            (words.next() == Some("nameserver")).then(|| words.next())?
        })
        .filter_map(|ip| ip.split('%').next()?.parse::<IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, 53))
        .filter(|addr| !ours.iter().any(|o| o.ip() == addr.ip()))
        .collect()
}

/// The nameservers of the resolv.conf at `path` (none when it cannot be read), minus `ours`.
pub fn upstreams_from_resolv_conf(path: &Path, ours: &[SocketAddr]) -> Vec<SocketAddr> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse_nameservers(&text, ours),
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "no upstream resolvers: cannot read resolv.conf");
            Vec::new()
        }
    }
}

/// The resolv.conf of a pod in `namespace` with `dnsPolicy: ClusterFirst` (what the kubelet writes).
pub fn pod_resolv_conf(namespace: &str, dns_ip: IpAddr, domain: &str) -> String {
    format!(
        "search {namespace}.svc.{domain} svc.{domain} {domain}\nnameserver {dns_ip}\noptions ndots:5\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nameservers_skip_comments_and_our_own_address() {
        let text = "# generated\nsearch example.org\nnameserver 10.96.0.10\nnameserver 192.168.1.1\nnameserver fe80::1%eth0\nnameserver junk\n";
        let ours = [SocketAddr::new(IpAddr::V4(CLUSTER_DNS_IP), 53)];
        assert_eq!(
            parse_nameservers(text, &ours),
            vec![
                "192.168.1.1:53".parse::<SocketAddr>().unwrap(),
                "[fe80::1]:53".parse().unwrap()
            ]
        );
    }

    #[test]
    fn pod_resolv_conf_searches_the_namespace_first() {
        assert_eq!(
            pod_resolv_conf("web", IpAddr::V4(CLUSTER_DNS_IP), "cluster.local"),
            "search web.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n"
        );
    }
}
