//! Addresses, CIDRs and ports.

use std::net::IpAddr;

type Check = Result<(), String>;

/// An IPv4 or IPv6 network in CIDR notation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr {
    address: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `address/prefix`, rejecting set host bits (`10.244.0.1/16`).
    pub(crate) fn parse(s: &str) -> Result<Cidr, String> {
        let shape = || format!("{s:?} is not a CIDR like 10.244.0.0/16");
        let (address, prefix) = s.split_once('/').ok_or_else(shape)?;
        let address: IpAddr = address.parse().map_err(|_| shape())?;
        let prefix: u8 = prefix.parse().map_err(|_| shape())?;
        let cidr = Cidr { address, prefix };
        if prefix > cidr.bits() {
            return Err(format!(
                "{s:?}: prefix /{prefix} is longer than {} bits",
                cidr.bits()
            ));
        }
        if cidr.value() != cidr.network_value(prefix) {
            let network = match address {
                IpAddr::V4(_) => IpAddr::from((cidr.network_value(prefix) as u32).to_be_bytes()),
                IpAddr::V6(_) => IpAddr::from(cidr.network_value(prefix).to_be_bytes()),
            };
            return Err(format!(
                "{s:?} has host bits set, did you mean {network}/{prefix}"
            ));
        }
        Ok(cidr)
    }

    pub(crate) fn prefix(&self) -> u8 {
        self.prefix
    }

    pub(crate) fn is_ipv4(&self) -> bool {
        self.address.is_ipv4()
    }

    fn bits(&self) -> u8 {
        if self.is_ipv4() {
            32
        } else {
            128
        }
    }

    fn value(&self) -> u128 {
        match self.address {
            IpAddr::V4(v4) => u128::from(u32::from(v4)),
            IpAddr::V6(v6) => u128::from(v6),
        }
    }

    fn network_value(&self, prefix: u8) -> u128 {
        let host_bits = u32::from(self.bits() - prefix);
        self.value()
            .checked_shr(host_bits)
            .unwrap_or(0)
            .checked_shl(host_bits)
            .unwrap_or(0)
    }

    /// Whether the two networks share any address.
    pub(crate) fn overlaps(&self, other: &Cidr) -> bool {
        let prefix = self.prefix.min(other.prefix);
        self.is_ipv4() == other.is_ipv4()
            && self.network_value(prefix) == other.network_value(prefix)
    }

    /// Whether `other` lies entirely inside this network.
    pub(crate) fn contains(&self, other: &Cidr) -> bool {
        other.prefix >= self.prefix && self.overlaps(other)
    }
}

/// An IP address, v4 or v6.
pub(crate) fn ip(s: &str) -> Check {
    s.parse::<IpAddr>()
        .map(drop)
        .map_err(|_| format!("{s:?} is not an ip address"))
}

/// An IP address or a DNS name.
pub(crate) fn host(s: &str) -> Check {
    if s.parse::<IpAddr>().is_ok() || super::names::dns_subdomain(&s.to_ascii_lowercase()).is_ok() {
        Ok(())
    } else {
        Err(format!("{s:?} is not an ip address or dns name"))
    }
}

/// Whether two listen addresses can take the same port: equal, or either is a wildcard.
pub(crate) fn listen_overlap(a: &str, b: &str) -> bool {
    let wildcard = |s: &str| s.parse::<IpAddr>().is_ok_and(|ip| ip.is_unspecified());
    a == b || wildcard(a) || wildcard(b)
}

/// A TCP/UDP port; 0 only where `zero_means` says what it does.
pub(crate) fn port(value: u32, zero_means: Option<&str>) -> Check {
    match (value, zero_means) {
        (0, Some(_)) => Ok(()),
        (1..=65535, _) => Ok(()),
        (_, Some(_)) => Err(format!("must be between 0 and 65535 (is {value})")),
        (_, None) => Err(format!("must be between 1 and 65535 (is {value})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(s: &str) -> Cidr {
        Cidr::parse(s).unwrap()
    }

    #[test]
    fn overlapping_networks_are_detected_both_ways() {
        assert!(cidr("10.96.0.0/12").overlaps(&cidr("10.100.0.0/16")));
        assert!(cidr("10.100.0.0/16").overlaps(&cidr("10.96.0.0/12")));
        assert!(!cidr("10.244.0.0/16").overlaps(&cidr("10.96.0.0/12")));
        assert!(!cidr("10.0.0.0/8").overlaps(&cidr("fd00::/8")));
        assert!(cidr("fd00::/48").overlaps(&cidr("fd00:0:0:1::/64")));
        assert!(cidr("0.0.0.0/0").contains(&cidr("192.168.0.0/16")));
    }

    #[test]
    fn host_bits_are_rejected_with_the_network_suggested() {
        let err = Cidr::parse("10.244.0.1/16").unwrap_err();
        assert!(err.contains("did you mean 10.244.0.0/16"), "{err}");
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("10.0.0.0").is_err());
        assert!(Cidr::parse("fd00::1/64").unwrap_err().contains("fd00::/64"));
    }
}
