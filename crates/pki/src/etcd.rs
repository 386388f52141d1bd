//! The certificates of a stacked etcd cluster (the datastore of a control plane with several
//! servers), as kubeadm lays them out: etcd has a CA of its own, so no certificate the cluster CA
//! signs (nodes', users') is accepted by etcd; each member has one certificate for serving clients
//! and talking to its peers; the API servers reach etcd with a client certificate.

use std::time::Duration;

use time::OffsetDateTime;

use crate::authority::Authority;
use crate::cert_key_pair::CertKeyPair;
use crate::error::{Error, Result};
use crate::leaf::{LeafSpec, Usage};
use crate::san::San;
use crate::spec::{DEFAULT_CA_VALIDITY, DEFAULT_CERT_VALIDITY};

/// Common name of the client certificate API servers present to etcd.
pub const ETCD_CLIENT_CN: &str = "kube-apiserver-etcd-client";

/// An etcd CA that issues member and client certificates.
#[derive(Debug)]
pub struct EtcdPki {
    ca: Authority,
}

impl EtcdPki {
    /// A new etcd CA for `cluster`, valid ten years.
    pub fn generate(cluster: &str) -> Result<Self> {
        let ca = Authority::generate(
            &format!("etcd-ca ({cluster})"),
            DEFAULT_CA_VALIDITY,
            OffsetDateTime::now_utc(),
        )?;
        Ok(Self { ca })
    }

    /// The CA certificate (PEM), which members and clients trust.
    pub fn ca_cert_pem(&self) -> &str {
        self.ca.cert_pem()
    }

    /// The certificate of member `name`, covering `sans` (its addresses and names), good for
    /// serving clients and for both ends of peer connections.
    pub fn issue_member(&self, name: &str, sans: &[San]) -> Result<CertKeyPair> {
        if sans.is_empty() {
            return Err(Error::InvalidSubject {
                cn: name.to_owned(),
                reason: "an etcd member certificate needs at least one address or name".to_owned(),
            });
        }
        let mut leaf = LeafSpec::server(name, &[], sans.to_vec(), DEFAULT_CERT_VALIDITY);
        leaf.usage = Usage::Peer;
        self.ca.issue(&leaf, OffsetDateTime::now_utc())
    }

    /// The client certificate the API servers present to etcd.
    pub fn issue_client(&self, validity: Duration) -> Result<CertKeyPair> {
        let leaf = LeafSpec::client(ETCD_CLIENT_CN, &[], validity);
        self.ca.issue(&leaf, OffsetDateTime::now_utc())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cert_info::CertInfo;

    #[test]
    fn members_serve_and_dial_peers_and_the_client_only_dials() {
        let pki = EtcdPki::generate("dev").unwrap();
        let member = pki
            .issue_member(
                "dev-server-0",
                &[
                    San::parse("172.18.0.2").unwrap(),
                    San::parse("dev-server-0").unwrap(),
                ],
            )
            .unwrap();
        let info = CertInfo::from_pem(member.cert_pem()).unwrap();
        assert_eq!(info.subject_cn, "dev-server-0");
        assert!(info.sans.contains(&San::parse("172.18.0.2").unwrap()));
        assert_eq!(info.issuer_cn, "etcd-ca (dev)");
        let client = pki.issue_client(DEFAULT_CERT_VALIDITY).unwrap();
        assert_eq!(
            CertInfo::from_pem(client.cert_pem()).unwrap().subject_cn,
            ETCD_CLIENT_CN
        );
        assert!(pki.issue_member("lonely", &[]).is_err());
        let other = EtcdPki::generate("dev").unwrap();
        assert_ne!(
            other.ca_cert_pem(),
            pki.ca_cert_pem(),
            "each cluster has its own etcd CA"
        );
    }
}
