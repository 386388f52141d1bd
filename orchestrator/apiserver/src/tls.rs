//! The HTTPS configuration: the API server certificate followed by the cluster CA, client
//! certificates requested but optional and verified against the cluster CA, HTTP/2 and HTTP/1.1
//! by ALPN.

use std::sync::Arc;

use clusterctl_pki::ClusterPki;
use rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

use crate::error::{Error, Result};

/// The rustls server configuration for `pki`'s API server certificate and CA.
pub fn server_config(pki: &ClusterPki) -> Result<ServerConfig> {
    let tls = |reason: String| Error::Tls { reason };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pki.ca_cert_pem().as_bytes()) {
        let cert = cert.map_err(|e| tls(format!("read cluster ca certificate: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| tls(format!("trust cluster ca certificate: {e}")))?;
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()
        .map_err(|e| tls(format!("client certificate verifier: {e}")))?;
    // The chain ends with the CA, so a joining node can check its pin (kubeadm's
    // --discovery-token-ca-cert-hash) before it sends anything.
    let mut chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(pki.apiserver().cert_pem().as_bytes())
            .collect::<Result<_, _>>()
            .map_err(|e| tls(format!("read api server certificate: {e}")))?;
    for cert in CertificateDer::pem_slice_iter(pki.ca_cert_pem().as_bytes()) {
        chain.push(cert.map_err(|e| tls(format!("read cluster ca certificate: {e}")))?);
    }
    let key = PrivateKeyDer::from_pem_slice(pki.apiserver().key_pem().as_bytes())
        .map_err(|e| tls(format!("read api server key: {e}")))?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls(format!("protocol versions: {e}")))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| tls(format!("api server certificate and key: {e}")))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}
