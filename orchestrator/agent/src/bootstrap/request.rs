//! Certificate requests of a node: a fresh ECDSA P-256 key, a CSR for `system:node:<name>` in
//! `system:nodes`, submitted as a CertificateSigningRequest and awaited until it is issued.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use k8s_openapi::api::certificates::v1::{
    CertificateSigningRequest, CertificateSigningRequestSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::ByteString;
use kube::api::{Api, PostParams};
use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, SanType};

use super::{Error, Result};

/// Signer of kubelet client certificates.
pub const CLIENT_SIGNER: &str = "kubernetes.io/kube-apiserver-client-kubelet";
/// Signer of kubelet serving certificates.
pub const SERVING_SIGNER: &str = "kubernetes.io/kubelet-serving";
/// The group of node certificates.
pub const NODES_GROUP: &str = "system:nodes";

/// Which certificate a request is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    /// The node's client certificate (talking to the API server).
    Client,
    /// The agent's serving certificate, for these names and addresses.
    Serving {
        /// DNS names (the node name, the host name).
        dns_names: Vec<String>,
        /// IP addresses (the node's addresses).
        ip_addresses: Vec<IpAddr>,
    },
}

impl Purpose {
    fn signer(&self) -> &'static str {
        match self {
            Purpose::Client => CLIENT_SIGNER,
            Purpose::Serving { .. } => SERVING_SIGNER,
        }
    }

    fn usages(&self) -> Vec<String> {
        let last = match self {
            Purpose::Client => "client auth",
            Purpose::Serving { .. } => "server auth",
        };
        vec!["digital signature".into(), last.into()]
    }

    fn generate_name(&self) -> &'static str {
        match self {
            Purpose::Client => "node-csr-",
            Purpose::Serving { .. } => "csr-",
        }
    }
}

/// A private key and the PEM certificate request made with it.
#[derive(Debug)]
pub struct NodeRequest {
    /// The private key, PEM (PKCS#8).
    pub key_pem: String,
    /// The request, PEM.
    pub csr_pem: String,
}

/// A new key and request for node `node_name`.
pub fn node_request(node_name: &str, purpose: &Purpose) -> Result<NodeRequest> {
    let failed = |e: rcgen::Error| Error::Invalid {
        what: format!("certificate request for node {node_name}"),
        reason: e.to_string(),
    };
    let key = KeyPair::generate().map_err(failed)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::OrganizationName, NODES_GROUP);
    params
        .distinguished_name
        .push(DnType::CommonName, format!("system:node:{node_name}"));
    if let Purpose::Serving {
        dns_names,
        ip_addresses,
    } = purpose
    {
        for name in dns_names {
            let dns = name.as_str().try_into().map_err(failed)?;
            params.subject_alt_names.push(SanType::DnsName(dns));
        }
        params
            .subject_alt_names
            .extend(ip_addresses.iter().copied().map(SanType::IpAddress));
    }
    let csr_pem = params
        .serialize_request(&key)
        .and_then(|r| r.pem())
        .map_err(failed)?;
    Ok(NodeRequest {
        key_pem: key.serialize_pem(),
        csr_pem,
    })
}

/// Why a wait for a certificate ended without one.
fn refused(csr: &CertificateSigningRequest) -> Option<String> {
    let conditions = csr.status.as_ref()?.conditions.as_ref()?;
    conditions
        .iter()
        .find(|c| c.type_ == "Denied" || c.type_ == "Failed")
        .map(|c| {
            format!(
                "{} ({}: {})",
                c.type_.to_lowercase(),
                c.reason.as_deref().unwrap_or_default(),
                c.message.as_deref().unwrap_or_default()
            )
        })
}

/// Creates the CertificateSigningRequest for `request` and waits (polling) up to `timeout` for
/// its certificate. Returns the certificate, PEM.
pub async fn submit_and_wait(
    client: kube::Client,
    server: &str,
    request: &NodeRequest,
    purpose: &Purpose,
    timeout: Duration,
) -> Result<String> {
    let api: Api<CertificateSigningRequest> = Api::all(client);
    let object = CertificateSigningRequest {
        metadata: ObjectMeta {
            generate_name: Some(purpose.generate_name().into()),
            ..ObjectMeta::default()
        },
        spec: CertificateSigningRequestSpec {
            request: ByteString(request.csr_pem.clone().into_bytes()),
            signer_name: purpose.signer().into(),
            usages: Some(purpose.usages()),
            ..CertificateSigningRequestSpec::default()
        },
        status: None,
    };
    let created = api
        .create(&PostParams::default(), &object)
        .await
        .map_err(|e| Error::from_api(server, "create the certificate signing request", e))?;
    let name = created.metadata.name.unwrap_or_default();
    tracing::info!(csr = %name, signer = purpose.signer(), "certificate requested; waiting for approval");
    let started = Instant::now();
    loop {
        let current = api
            .get(&name)
            .await
            .map_err(|e| Error::from_api(server, "read the certificate signing request", e))?;
        if let Some(reason) = refused(&current) {
            return Err(Error::CsrRefused {
                server: server.to_owned(),
                name,
                reason,
            });
        }
        if let Some(cert) = current
            .status
            .as_ref()
            .and_then(|s| s.certificate.as_ref())
            .filter(|c| !c.0.is_empty())
        {
            return String::from_utf8(cert.0.clone()).map_err(|_| Error::CsrRefused {
                server: server.to_owned(),
                name: name.clone(),
                reason: "the issued certificate is not PEM text".into(),
            });
        }
        if started.elapsed() >= timeout {
            return Err(Error::CsrTimeout {
                server: server.to_owned(),
                name,
                waited: timeout,
            });
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use x509_parser::prelude::FromDer;

    fn parse(pem: &str) -> (String, Vec<String>, usize) {
        let (_, block) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).unwrap();
        assert_eq!(block.label, "CERTIFICATE REQUEST");
        let (_, csr) =
            x509_parser::certification_request::X509CertificationRequest::from_der(&block.contents)
                .unwrap();
        csr.verify_signature().unwrap();
        let info = &csr.certification_request_info;
        let cn = info
            .subject
            .iter_common_name()
            .next()
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned();
        let orgs = info
            .subject
            .iter_organization()
            .map(|o| o.as_str().unwrap().to_owned())
            .collect();
        let sans = csr
            .requested_extensions()
            .into_iter()
            .flatten()
            .filter_map(|e| match e {
                x509_parser::extensions::ParsedExtension::SubjectAlternativeName(s) => {
                    Some(s.general_names.len())
                }
                _ => None,
            })
            .sum();
        (cn, orgs, sans)
    }

    #[test]
    fn client_requests_name_the_node_in_system_nodes_without_sans() {
        let request = node_request("worker-1", &Purpose::Client).unwrap();
        let (cn, orgs, sans) = parse(&request.csr_pem);
        assert_eq!(cn, "system:node:worker-1");
        assert_eq!(orgs, ["system:nodes"]);
        assert_eq!(sans, 0);
        let key = KeyPair::from_pem(&request.key_pem).unwrap();
        assert_eq!(key.algorithm(), &rcgen::PKCS_ECDSA_P256_SHA256);
        assert_eq!(
            Purpose::Client.usages(),
            ["digital signature", "client auth"]
        );
    }

    #[test]
    fn serving_requests_carry_the_names_and_addresses() {
        let purpose = Purpose::Serving {
            dns_names: vec!["worker-1".into()],
            ip_addresses: vec!["10.0.0.5".parse().unwrap(), "fd00::5".parse().unwrap()],
        };
        let request = node_request("worker-1", &purpose).unwrap();
        let (cn, _, sans) = parse(&request.csr_pem);
        assert_eq!(cn, "system:node:worker-1");
        assert_eq!(sans, 3);
        assert_eq!(purpose.signer(), SERVING_SIGNER);
    }
}
