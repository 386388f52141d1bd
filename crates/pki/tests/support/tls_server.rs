//! A minimal HTTPS stand-in for the API server: mutual TLS against the cluster CA, and `GET /version`
//! answered only for `kubernetes-admin` in `system:masters`.

use clusterctl_pki::CertInfo;
use rustls::{
    pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer},
    server::WebPkiClientVerifier,
    RootCertStore, ServerConfig,
};
use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
    task::JoinHandle,
};
use tokio_rustls::TlsAcceptor;

/// The version the stand-in reports.
pub const GIT_VERSION: &str = "v1.32.0+clusterd";

/// One request the server answered: path, client CN, client organisations, HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub path: String,
    pub cn: String,
    pub orgs: Vec<String>,
    pub status: u16,
}

/// A running stand-in; stops when dropped.
#[derive(Debug)]
pub struct VersionServer {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: JoinHandle<()>,
}

impl VersionServer {
    /// Serves on 127.0.0.1:<random port> with `cert_pem`/`key_pem`, trusting clients of `client_ca_pem`.
    pub async fn start(client_ca_pem: &str, cert_pem: &str, key_pem: &str) -> Self {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(client_ca_pem.as_bytes()).expect("ca pem"))
            .expect("add ca to roots");
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .expect("client verifier");
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_client_cert_verifier(verifier)
            .with_single_cert(
                vec![CertificateDer::from_pem_slice(cert_pem.as_bytes()).expect("server cert pem")],
                PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).expect("server key pem"),
            )
            .expect("server config");
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let log = log.clone();
                tokio::spawn(async move {
                    // A failed handshake (unknown client CA) simply drops the connection.
                    if let Ok(tls) = acceptor.accept(tcp).await {
                        serve(tls, log).await;
                    }
                });
            }
        });
        Self { addr, seen, task }
    }

    /// `https://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// The requests answered so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("seen lock").clone()
    }
}

impl Drop for VersionServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    mut tls: tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
    log: Arc<Mutex<Vec<Seen>>>,
) {
    let client = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .and_then(|der| CertInfo::from_der(der).ok());
    let mut request = Vec::new();
    let mut buf = [0u8; 4096];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 64 * 1024 {
        match tls.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&request);
    let mut words = text.lines().next().unwrap_or_default().split_whitespace();
    let (method, target) = (
        words.next().unwrap_or_default(),
        words.next().unwrap_or_default(),
    );
    let path = target.split('?').next().unwrap_or_default().to_owned();
    let (cn, orgs) = client.map(|c| (c.subject_cn, c.orgs)).unwrap_or_default();
    let is_admin = cn == "kubernetes-admin" && orgs.iter().any(|o| o == "system:masters");
    let (status, reason, body) = match (method, path.as_str()) {
        ("GET", "/version") if is_admin => (200, "OK", version_json()),
        ("GET", "/version") => (
            403,
            "Forbidden",
            status_json(
                403,
                "Forbidden",
                &format!("user \\\"{cn}\\\" cannot get path \\\"/version\\\""),
            ),
        ),
        _ => (
            404,
            "Not Found",
            status_json(
                404,
                "NotFound",
                "the server could not find the requested resource",
            ),
        ),
    };
    log.lock().expect("seen lock").push(Seen {
        path,
        cn,
        orgs,
        status,
    });
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tls.write_all(response.as_bytes()).await;
    let _ = tls.shutdown().await;
}

fn version_json() -> String {
    format!(
        r#"{{"major":"1","minor":"32","gitVersion":"{GIT_VERSION}","gitCommit":"0000000000000000000000000000000000000000","gitTreeState":"clean","buildDate":"2025-01-01T00:00:00Z","goVersion":"go1.23.8","compiler":"rustc","platform":"linux/amd64"}}"#
    )
}

fn status_json(code: u16, reason: &str, message: &str) -> String {
    format!(
        r#"{{"kind":"Status","apiVersion":"v1","metadata":{{}},"status":"Failure","message":"{message}","reason":"{reason}","code":{code}}}"#
    )
}
