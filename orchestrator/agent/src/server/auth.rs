//! Who may call the agent: TLS with client certificates required and verified against the cluster
//! CA, and among those only the API server's kubelet-client identity (or `system:masters`).

use std::sync::Arc;

use rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

use super::{AgentServerConfig, ServerError};

/// The common name of the client certificate the API server calls agents with.
pub const API_SERVER_KUBELET_CLIENT: &str = "kube-apiserver-kubelet-client";

/// The group that may do anything, as in the API server.
const MASTERS_GROUP: &str = "system:masters";

/// The subject of a verified client certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The subject CN.
    pub user: String,
    /// The subject O values.
    pub groups: Vec<String>,
}

impl Identity {
    /// Reads CN and O from a DER certificate (empty when it cannot be parsed).
    pub fn from_der(der: &[u8]) -> Identity {
        let mut identity = Identity {
            user: String::new(),
            groups: Vec::new(),
        };
        if let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) {
            let subject = cert.subject();
            if let Some(cn) = subject.iter_common_name().next() {
                identity.user = cn.as_str().unwrap_or_default().to_owned();
            }
            identity.groups = subject
                .iter_organization()
                .filter_map(|o| o.as_str().ok().map(str::to_owned))
                .collect();
        }
        identity
    }
}

/// Whether a client with this CN and these groups is the API server (or a cluster admin).
pub fn is_api_server_identity(user: &str, groups: &[String]) -> bool {
    user == API_SERVER_KUBELET_CLIENT || groups.iter().any(|g| g == MASTERS_GROUP)
}

/// `Ok` when `identity` may use the agent's API; otherwise why not.
pub fn authorize(identity: Option<&Identity>) -> Result<(), String> {
    match identity {
        None => Err("no client certificate".into()),
        Some(id) if is_api_server_identity(&id.user, &id.groups) => Ok(()),
        Some(id) => Err(format!(
            "user \"{}\" (groups {:?}) is not the api server: the agent answers only \"{API_SERVER_KUBELET_CLIENT}\" or group \"{MASTERS_GROUP}\"",
            id.user, id.groups
        )),
    }
}

/// The rustls configuration: the agent's serving certificate, client certificates required and
/// chained to the cluster CA, HTTP/1.1 only (upgrades need it).
pub fn tls_config(config: &AgentServerConfig) -> Result<ServerConfig, ServerError> {
    let tls = |reason: String| ServerError::Tls { reason };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(config.client_ca_pem.as_bytes()) {
        let cert = cert.map_err(|e| tls(format!("read cluster ca certificate: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| tls(format!("trust cluster ca certificate: {e}")))?;
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| tls(format!("client certificate verifier: {e}")))?;
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(config.serving_cert_pem.as_bytes())
            .collect::<Result<_, _>>()
            .map_err(|e| tls(format!("read agent serving certificate: {e}")))?;
    if chain.is_empty() {
        return Err(tls(
            "the agent serving certificate PEM holds no certificate".into(),
        ));
    }
    let key = PrivateKeyDer::from_pem_slice(config.serving_key_pem.as_bytes())
        .map_err(|e| tls(format!("read agent serving key: {e}")))?;
    let mut server = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls(format!("protocol versions: {e}")))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| tls(format!("agent serving certificate and key: {e}")))?;
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(server)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_api_server_or_masters_are_let_in() {
        let id = |user: &str, groups: &[&str]| Identity {
            user: user.into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
        };
        assert!(authorize(Some(&id(API_SERVER_KUBELET_CLIENT, &[]))).is_ok());
        assert!(authorize(Some(&id("kubernetes-admin", &["system:masters"]))).is_ok());
        let refused = authorize(Some(&id("system:node:n1", &["system:nodes"]))).unwrap_err();
        assert!(refused.contains("system:node:n1"), "{refused}");
        assert!(authorize(None).is_err());
    }
}
