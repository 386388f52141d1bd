//! Subject alternative names: the DNS names and IP addresses a serving certificate is valid for.

use crate::error::{Error, Result};
use std::{
    fmt,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    str::FromStr,
};

/// One subject alternative name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum San {
    /// A DNS name, stored lowercase (`kubernetes.default.svc`, `*.example.com`).
    Dns(String),
    /// An IP address (`10.96.0.1`, `::1`).
    Ip(IpAddr),
}

impl San {
    /// A DNS name SAN, validated and lowercased.
    pub fn dns(name: &str) -> Result<Self> {
        let reject = |reason: &str| {
            Err(Error::InvalidSan {
                value: name.to_owned(),
                reason: reason.to_owned(),
            })
        };
        let lower = name.to_ascii_lowercase();
        let body = lower.strip_prefix("*.").unwrap_or(&lower);
        if body.is_empty() {
            return reject("it is empty");
        }
        if lower.len() > 253 {
            return reject("it is longer than 253 characters");
        }
        for label in body.split('.') {
            if label.is_empty() || label.len() > 63 {
                return reject("each dot-separated label must be 1 to 63 characters");
            }
            if !label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                return reject("only letters, digits, '-', '.' and a leading '*.' are allowed");
            }
            if label.starts_with('-') || label.ends_with('-') {
                return reject("a label must not start or end with '-'");
            }
        }
        Ok(San::Dns(lower))
    }

    /// Parses an address as an IP SAN when it is one, otherwise as a DNS name SAN.
    pub fn parse(value: &str) -> Result<Self> {
        let trimmed = value.trim();
        match trimmed.parse::<IpAddr>() {
            Ok(ip) => Ok(San::Ip(ip)),
            Err(_) => San::dns(trimmed),
        }
    }

    pub(crate) fn to_rcgen(&self) -> Result<rcgen::SanType> {
        match self {
            San::Ip(ip) => Ok(rcgen::SanType::IpAddress(*ip)),
            San::Dns(name) => rcgen::string::Ia5String::try_from(name.as_str())
                .map(rcgen::SanType::DnsName)
                .map_err(|e| Error::InvalidSan {
                    value: name.clone(),
                    reason: e.to_string(),
                }),
        }
    }
}

impl FromStr for San {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        San::parse(s)
    }
}

impl fmt::Display for San {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            San::Dns(name) => f.write_str(name),
            San::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

impl From<IpAddr> for San {
    fn from(ip: IpAddr) -> Self {
        San::Ip(ip)
    }
}

/// The first usable address of a service CIDR (`10.96.0.0/12` → `10.96.0.1`): the ClusterIP of the
/// `kubernetes` Service, which every in-cluster client dials.
pub fn first_service_ip(cidr: &str) -> Result<IpAddr> {
    let reject = |reason: &str| {
        Err(Error::InvalidServiceCidr {
            cidr: cidr.to_owned(),
            reason: reason.to_owned(),
        })
    };
    let Some((addr, len)) = cidr.trim().split_once('/') else {
        return reject("expected <address>/<prefix length>");
    };
    let Ok(addr) = addr.parse::<IpAddr>() else {
        return reject("the address is not an IP address");
    };
    let Ok(len) = len.parse::<u32>() else {
        return reject("the prefix length is not a number");
    };
    match addr {
        IpAddr::V4(v4) => {
            if len > 30 {
                return reject("an IPv4 prefix must be at most /30 to hold a service IP");
            }
            let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
            let network = u32::from(v4) & mask;
            Ok(IpAddr::V4(Ipv4Addr::from(network + 1)))
        }
        IpAddr::V6(v6) => {
            if len > 126 {
                return reject("an IPv6 prefix must be at most /126 to hold a service IP");
            }
            let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
            let network = u128::from(v6) & mask;
            Ok(IpAddr::V6(Ipv6Addr::from(network + 1)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_as_ip_and_names_as_dns() {
        assert_eq!(
            San::parse("10.0.0.5").unwrap(),
            San::Ip("10.0.0.5".parse().unwrap())
        );
        assert_eq!(
            San::parse("API.Example.com").unwrap(),
            San::Dns("api.example.com".into())
        );
        assert_eq!(
            San::parse("*.apps.example.com").unwrap(),
            San::Dns("*.apps.example.com".into())
        );
    }

    #[test]
    fn malformed_names_are_rejected_with_the_value() {
        for bad in ["", "a..b", "-a.com", "a_b.com", "bad name"] {
            let err = San::parse(bad).unwrap_err().to_string();
            assert!(err.contains("invalid subject alternative name"), "{err}");
        }
    }

    #[test]
    fn first_service_ip_is_network_plus_one() {
        assert_eq!(
            first_service_ip("10.96.0.0/12").unwrap().to_string(),
            "10.96.0.1"
        );
        assert_eq!(
            first_service_ip("10.100.7.9/16").unwrap().to_string(),
            "10.100.0.1"
        );
        assert_eq!(
            first_service_ip("fd00:10:96::/108").unwrap().to_string(),
            "fd00:10:96::1"
        );
    }

    #[test]
    fn unusable_service_cidrs_are_rejected() {
        for bad in ["10.96.0.0", "x/12", "10.0.0.0/x", "10.0.0.0/31", "::/127"] {
            let err = first_service_ip(bad).unwrap_err().to_string();
            assert!(err.starts_with("invalid service cidr"), "{err}");
        }
    }
}
