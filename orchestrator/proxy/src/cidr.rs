//! IPv4 prefixes (`10.244.0.0/16`): parsed, printed and tested for membership.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use crate::{Error, Result};

/// An IPv4 network prefix, kept normalised (host bits cleared).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ipv4Cidr {
    network: Ipv4Addr,
    prefix: u8,
}

impl Ipv4Cidr {
    /// A prefix from an address and a length (host bits are cleared); `None` if `prefix > 32`.
    pub fn new(address: Ipv4Addr, prefix: u8) -> Option<Self> {
        (prefix <= 32).then(|| Self {
            network: Ipv4Addr::from(u32::from(address) & mask(prefix)),
            prefix,
        })
    }

    /// The network address.
    pub fn network(&self) -> Ipv4Addr {
        self.network
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` lies inside this prefix.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & mask(self.prefix) == u32::from(self.network)
    }
}

fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix))
    }
}

impl FromStr for Ipv4Cidr {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let invalid = |reason: &str| Error::Config {
            field: "cidr",
            value: text.to_owned(),
            reason: reason.to_owned(),
        };
        let (address, prefix) = text.split_once('/').unwrap_or((text, "32"));
        let address: Ipv4Addr = address
            .parse()
            .map_err(|_| invalid("not an IPv4 address"))?;
        let prefix: u8 = prefix
            .parse()
            .map_err(|_| invalid("the prefix length is not a number"))?;
        Self::new(address, prefix).ok_or_else(|| invalid("the prefix length is over 32"))
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_normalises_and_tests_membership() {
        let cidr: Ipv4Cidr = "10.244.3.7/16".parse().unwrap();
        assert_eq!(cidr.to_string(), "10.244.0.0/16");
        assert!(cidr.contains("10.244.255.1".parse().unwrap()));
        assert!(!cidr.contains("10.245.0.1".parse().unwrap()));
        let host: Ipv4Cidr = "192.168.1.5".parse().unwrap();
        assert_eq!(host.to_string(), "192.168.1.5/32");
        let all: Ipv4Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("8.8.8.8".parse().unwrap()));
    }

    #[test]
    fn rejects_bad_prefixes_naming_the_value() {
        let error = "10.0.0.0/33".parse::<Ipv4Cidr>().unwrap_err();
        assert!(error.to_string().contains("10.0.0.0/33"), "{error}");
        assert!("fd00::/64".parse::<Ipv4Cidr>().is_err());
        assert!("10.0.0.0/x".parse::<Ipv4Cidr>().is_err());
    }
}
