//! The API server's client of node agents (the kubelet port): TLS with the kubelet-client
//! certificate (CN `kube-apiserver-kubelet-client`, O `system:masters`), verifying the agent's
//! serving certificate against the cluster CA, HTTP/1.1 so upgrades (exec) pass through.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use clusterctl_pki::ClusterPki;
use http::{Request, Response};
use http_body_util::Empty;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::error::{Error, Result};

/// The common name of the certificate the API server presents to agents.
pub const KUBELET_CLIENT_CN: &str = "kube-apiserver-kubelet-client";

/// How long the kubelet-client certificate issued at start is valid.
const CERT_TTL: Duration = Duration::from_secs(365 * 24 * 3600);

/// How long dialling an agent may take.
const DIAL_TIMEOUT: Duration = Duration::from_secs(10);

/// Dials node agents.
#[derive(Clone)]
pub struct NodeClient {
    tls: TlsConnector,
}

impl std::fmt::Debug for NodeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeClient").finish_non_exhaustive()
    }
}

impl NodeClient {
    /// A client whose certificate is issued now (in memory) from `pki`'s CA.
    pub fn from_pki(pki: &ClusterPki) -> Result<Self> {
        let pair = pki
            .issue_client(KUBELET_CLIENT_CN, &["system:masters"], CERT_TTL)
            .map_err(|e| Error::Tls {
                reason: format!("issue the {KUBELET_CLIENT_CN} certificate: {e}"),
            })?;
        Self::new(pki.ca_cert_pem(), pair.cert_pem(), pair.key_pem())
    }

    /// A client trusting `ca_pem` and presenting `cert_pem`/`key_pem`.
    pub fn new(ca_pem: &str, cert_pem: &str, key_pem: &str) -> Result<Self> {
        let tls = |reason: String| Error::Tls { reason };
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
            let cert = cert.map_err(|e| tls(format!("read cluster ca for agents: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| tls(format!("trust cluster ca for agents: {e}")))?;
        }
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(cert_pem.as_bytes())
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| tls(format!("read kubelet client certificate: {e}")))?;
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
            .map_err(|e| tls(format!("read kubelet client key: {e}")))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| tls(format!("protocol versions: {e}")))?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .map_err(|e| tls(format!("kubelet client certificate and key: {e}")))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            tls: TlsConnector::from(Arc::new(config)),
        })
    }

    /// Sends `request` to the agent at `addr` over a new connection (upgrades allowed).
    pub async fn send(
        &self,
        addr: SocketAddr,
        request: Request<Empty<Bytes>>,
    ) -> std::result::Result<Response<Incoming>, String> {
        let dial = async {
            let tcp = TcpStream::connect(addr)
                .await
                .map_err(|e| format!("dial node agent {addr}: {e}"))?;
            let _ = tcp.set_nodelay(true);
            self.tls
                .connect(ServerName::IpAddress(addr.ip().into()), tcp)
                .await
                .map_err(|e| format!("tls to node agent {addr}: {e}"))
        };
        let stream = tokio::time::timeout(DIAL_TIMEOUT, dial)
            .await
            .map_err(|_| format!("dial node agent {addr}: timed out after {DIAL_TIMEOUT:?}"))??;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("http to node agent {addr}: {e}"))?;
        tokio::spawn(async move {
            if let Err(e) = connection.with_upgrades().await {
                tracing::debug!(%addr, error = %e, "node agent connection ended");
            }
        });
        sender
            .send_request(request)
            .await
            .map_err(|e| format!("request to node agent {addr}: {e}"))
    }
}
