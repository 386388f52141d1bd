//! What a cluster's PKI must contain: names, addresses and lifetimes.

use crate::{
    error::Result,
    san::{first_service_ip, San},
};
use std::{
    net::{IpAddr, Ipv4Addr},
    time::Duration,
};

const DAY: u64 = 24 * 60 * 60;

/// Default lifetime of a CA: 10 years, like kubeadm.
pub const DEFAULT_CA_VALIDITY: Duration = Duration::from_secs(3650 * DAY);
/// Default lifetime of leaf certificates: 1 year, like kubeadm.
pub const DEFAULT_CERT_VALIDITY: Duration = Duration::from_secs(365 * DAY);
/// Default renewal window: a leaf expiring within 30 days is reissued.
pub const DEFAULT_RENEW_BEFORE: Duration = Duration::from_secs(30 * DAY);
/// Default service CIDR, whose first address is the `kubernetes` Service ClusterIP.
pub const DEFAULT_SERVICE_CIDR: &str = "10.96.0.0/12";
/// Default cluster DNS domain.
pub const DEFAULT_CLUSTER_DOMAIN: &str = "cluster.local";

/// The desired PKI of one cluster, handed to [`ClusterPki::load_or_generate`](crate::ClusterPki::load_or_generate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PkiSpec {
    /// Cluster name, used in the CA common names (`<name>-ca`).
    pub cluster_name: String,
    /// Addresses the API server is reached at beyond the built-in ones (load balancer names, node IPs).
    pub extra_sans: Vec<San>,
    /// The service CIDR; its first address is added to the API server certificate.
    pub service_cidr: String,
    /// The cluster DNS domain, for `kubernetes.default.svc.<domain>`.
    pub cluster_domain: String,
    /// Lifetime of newly created CAs.
    pub ca_validity: Duration,
    /// Lifetime of newly issued leaf certificates.
    pub cert_validity: Duration,
    /// A leaf expiring sooner than this is reissued.
    pub renew_before: Duration,
}

impl PkiSpec {
    /// A spec for `cluster_name` with kubeadm's defaults and no extra SANs.
    pub fn new(cluster_name: impl Into<String>) -> Self {
        Self {
            cluster_name: cluster_name.into(),
            extra_sans: Vec::new(),
            service_cidr: DEFAULT_SERVICE_CIDR.to_owned(),
            cluster_domain: DEFAULT_CLUSTER_DOMAIN.to_owned(),
            ca_validity: DEFAULT_CA_VALIDITY,
            cert_validity: DEFAULT_CERT_VALIDITY,
            renew_before: DEFAULT_RENEW_BEFORE,
        }
    }

    /// The same spec with `sans` added to the API server certificate.
    pub fn with_sans(mut self, sans: impl IntoIterator<Item = San>) -> Self {
        self.extra_sans.extend(sans);
        self
    }

    /// Every name the API server certificate must cover, sorted and without duplicates: the
    /// `kubernetes` Service names, `localhost`, 127.0.0.1, the first service IP and every extra SAN.
    pub fn api_server_sans(&self) -> Result<Vec<San>> {
        let domain = self.cluster_domain.trim_matches('.');
        let mut sans = vec![
            San::dns("kubernetes")?,
            San::dns("kubernetes.default")?,
            San::dns("kubernetes.default.svc")?,
            San::dns(&format!("kubernetes.default.svc.{domain}"))?,
            San::dns("localhost")?,
            San::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            San::Ip(first_service_ip(&self.service_cidr)?),
        ];
        sans.extend(self.extra_sans.iter().cloned());
        sans.sort();
        sans.dedup();
        Ok(sans)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_server_sans_include_the_kubernetes_service_names_and_ip() {
        let spec = PkiSpec::new("demo").with_sans([San::parse("203.0.113.7").unwrap()]);
        let sans: Vec<String> = spec
            .api_server_sans()
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        for want in [
            "kubernetes",
            "kubernetes.default",
            "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local",
            "localhost",
            "127.0.0.1",
            "10.96.0.1",
            "203.0.113.7",
        ] {
            assert!(
                sans.iter().any(|s| s == want),
                "{want} missing from {sans:?}"
            );
        }
    }

    #[test]
    fn duplicate_extra_sans_appear_once() {
        let spec = PkiSpec::new("demo").with_sans([
            San::parse("localhost").unwrap(),
            San::parse("127.0.0.1").unwrap(),
        ]);
        let sans = spec.api_server_sans().unwrap();
        assert_eq!(
            sans.iter().filter(|s| s.to_string() == "localhost").count(),
            1
        );
        assert_eq!(sans.len(), 7);
    }

    #[test]
    fn custom_domain_and_service_cidr_are_used() {
        let mut spec = PkiSpec::new("demo");
        spec.cluster_domain = "corp.internal".into();
        spec.service_cidr = "172.20.0.0/16".into();
        let sans: Vec<String> = spec
            .api_server_sans()
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(sans.contains(&"kubernetes.default.svc.corp.internal".to_string()));
        assert!(sans.contains(&"172.20.0.1".to_string()));
    }
}
