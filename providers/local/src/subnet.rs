//! Stable node addresses. clusterd bakes addresses into a node's args (the server's advertise
//! address, an agent's `--server` and `--node-ip`), and Docker hands out a new address when a
//! container starts again after a daemon restart; so each node gets a fixed address in the lower
//! half of the cluster network's subnet, and Docker's dynamic allocations (other containers
//! someone attaches) are confined to the upper half.

use std::fmt;
use std::net::Ipv4Addr;

/// An IPv4 subnet, `172.19.0.0/16`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet {
    network: u32,
    prefix: u8,
}

impl Subnet {
    /// Parses `a.b.c.d/n`; `None` for IPv6 or anything else.
    pub fn parse(cidr: &str) -> Option<Self> {
        let (address, prefix) = cidr.split_once('/')?;
        let address: Ipv4Addr = address.parse().ok()?;
        let prefix: u8 = prefix.parse().ok().filter(|p| *p <= 32)?;
        let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
        Some(Self {
            network: u32::from(address) & mask,
            prefix,
        })
    }

    fn half(&self) -> u32 {
        1u32 << (31 - u32::from(self.prefix))
    }

    /// The gateway Docker gives the bridge: the first address.
    pub fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.network + 1)
    }

    /// The upper half, where Docker may allocate addresses dynamically; `None` for subnets too
    /// small to split (smaller than /29).
    pub fn dynamic_range(&self) -> Option<String> {
        (self.prefix <= 28).then(|| {
            format!(
                "{}/{}",
                Ipv4Addr::from(self.network + self.half()),
                self.prefix + 1
            )
        })
    }

    /// The fixed address of an HA cluster's load balancer: the last of the lower half, so adding
    /// agents never moves it; `None` when the subnet is too small to split.
    pub fn load_balancer_address(&self) -> Option<Ipv4Addr> {
        (self.prefix <= 28).then(|| Ipv4Addr::from(self.network + self.half() - 1))
    }

    /// The fixed address of the node at `position` (servers first, then agents): the lower
    /// half after the gateway; `None` when the lower half is full.
    pub fn node_address(&self, position: usize) -> Option<Ipv4Addr> {
        let offset = u32::try_from(position).ok()?.checked_add(2)?;
        // The last address of the lower half is the load balancer's.
        (self.prefix <= 28 && offset < self.half() - 1)
            .then(|| Ipv4Addr::from(self.network + offset))
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", Ipv4Addr::from(self.network), self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_take_the_lower_half_and_docker_the_upper() {
        let subnet = Subnet::parse("172.19.0.0/16").unwrap();
        assert_eq!(subnet.to_string(), "172.19.0.0/16");
        assert_eq!(subnet.gateway().to_string(), "172.19.0.1");
        assert_eq!(subnet.dynamic_range().as_deref(), Some("172.19.128.0/17"));
        assert_eq!(subnet.node_address(0).unwrap().to_string(), "172.19.0.2");
        assert_eq!(subnet.node_address(300).unwrap().to_string(), "172.19.1.46");
        let small = Subnet::parse("192.168.80.0/20").unwrap();
        assert_eq!(small.dynamic_range().as_deref(), Some("192.168.88.0/21"));
        assert_eq!(
            small.node_address(2044).unwrap().to_string(),
            "192.168.87.254"
        );
        assert_eq!(small.node_address(2045), None);
        assert_eq!(
            small.load_balancer_address().unwrap().to_string(),
            "192.168.87.255",
            "the load balancer keeps the last address, whatever the node count"
        );
    }

    #[test]
    fn odd_inputs_are_normalised_or_refused() {
        assert_eq!(
            Subnet::parse("10.1.2.3/24").unwrap().to_string(),
            "10.1.2.0/24"
        );
        assert_eq!(Subnet::parse("fd00::/64"), None);
        assert_eq!(Subnet::parse("10.0.0.0"), None);
        assert_eq!(Subnet::parse("10.0.0.0/30").unwrap().dynamic_range(), None);
    }
}
