//! Trust on first contact, made safe by the CA pin: a TLS handshake whose verifier accepts the
//! server only when the last certificate of its chain is a CA with the pinned public key and that
//! CA signed the server's certificate (for the host it was asked for). Nothing is sent over the
//! connection: it is closed as soon as the CA is known.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use sha2::{Digest, Sha256};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::{Error, Result};

/// `sha256:<hex>` of a DER certificate's SubjectPublicKeyInfo (kubeadm's CA pin).
pub fn spki_pin(cert_der: &[u8]) -> Result<String, String> {
    let (_, cert) =
        x509_parser::parse_x509_certificate(cert_der).map_err(|e| format!("parse: {e}"))?;
    Ok(format!(
        "sha256:{}",
        hex::encode(Sha256::digest(cert.public_key().raw))
    ))
}

/// A pin in canonical form (`sha256:` and 64 lowercase hex digits), or why it is not one.
pub fn normalize_pin(pin: &str) -> Result<String, String> {
    let Some((kind, digest)) = pin.trim().split_once(':') else {
        return Err(format!("{pin:?} has no sha256: prefix"));
    };
    if !kind.eq_ignore_ascii_case("sha256")
        || digest.len() != 64
        || !digest.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Err(format!("{pin:?} is not sha256: followed by 64 hex digits"));
    }
    Ok(format!("sha256:{}", digest.to_ascii_lowercase()))
}

/// The outcome the verifier saw, kept for a precise error after the handshake fails.
type Seen = Arc<Mutex<Option<Result<Vec<u8>, String>>>>;

/// Accepts a server only when its chain ends in the pinned CA and that CA vouches for it.
#[derive(Debug)]
pub struct PinnedCaVerifier {
    pin: String,
    provider: Arc<CryptoProvider>,
    seen: Seen,
}

impl PinnedCaVerifier {
    /// A verifier for the canonical pin `pin` (see [`normalize_pin`]).
    pub fn new(pin: String) -> Self {
        Self {
            pin,
            provider: Arc::new(rustls::crypto::ring::default_provider()),
            seen: Arc::new(Mutex::new(None)),
        }
    }

    fn record(&self, outcome: Result<Vec<u8>, String>) {
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some(outcome);
        }
    }

    fn check(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<Vec<u8>, String> {
        let ca = intermediates.last().ok_or_else(|| {
            "the server sent only its own certificate, not its CA's; it cannot be checked against \
             --ca-cert-hash"
                .to_owned()
        })?;
        let actual = spki_pin(ca.as_ref()).map_err(|e| format!("the server's CA: {e}"))?;
        if actual != self.pin {
            return Err(format!(
                "the server's CA {actual} does not match --ca-cert-hash {}",
                self.pin
            ));
        }
        let mut roots = RootCertStore::empty();
        roots
            .add(ca.clone().into_owned())
            .map_err(|e| format!("the server's CA is not usable as a trust anchor: {e}"))?;
        let webpki =
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), self.provider.clone())
                .build()
                .map_err(|e| format!("verifier: {e}"))?;
        webpki
            .verify_server_cert(end_entity, &[], server_name, ocsp, now)
            .map_err(|e| {
                format!("the server's certificate is not valid under the pinned CA: {e}")
            })?;
        Ok(ca.as_ref().to_vec())
    }
}

impl ServerCertVerifier for PinnedCaVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let outcome = self.check(end_entity, intermediates, server_name, ocsp_response, now);
        let verified = match &outcome {
            Ok(_) => Ok(ServerCertVerified::assertion()),
            Err(reason) => Err(rustls::Error::General(reason.clone())),
        };
        self.record(outcome);
        verified
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// `host` and `port` of an `https://host[:port][/...]` URL (port 443 when absent).
pub fn host_port(server: &str) -> Result<(String, u16), String> {
    let rest = server
        .strip_prefix("https://")
        .ok_or_else(|| "the server URL must start with https://".to_owned())?;
    let authority = rest.split('/').next().unwrap_or_default();
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or_else(|| "unclosed [ in the server URL".to_owned())?;
        (host.to_owned(), after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host.to_owned(), Some(port)),
            None => (authority.to_owned(), None),
        }
    };
    if host.is_empty() {
        return Err("the server URL has no host".into());
    }
    let port = match port {
        Some(p) => p
            .parse()
            .map_err(|_| format!("the server URL's port {p:?} is not a number"))?,
        None => 443,
    };
    Ok((host, port))
}

/// Connects to `server`, checks its CA against `pin` during the handshake and returns the CA
/// certificate (PEM). No request is sent: a mismatching server learns nothing from this node.
pub async fn discover_ca(server: &str, pin: &str, timeout: Duration) -> Result<String> {
    let failed = |reason: String| Error::Discovery {
        server: server.to_owned(),
        reason,
    };
    let pin = normalize_pin(pin).map_err(|reason| Error::Invalid {
        what: "--ca-cert-hash".into(),
        reason,
    })?;
    let (host, port) = host_port(server).map_err(|reason| Error::Invalid {
        what: format!("--server {server}"),
        reason,
    })?;
    let verifier = Arc::new(PinnedCaVerifier::new(pin));
    let seen = verifier.seen.clone();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| failed(format!("tls configuration: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    let name = ServerName::try_from(host.clone())
        .map_err(|e| failed(format!("{host} is not a valid server name: {e}")))?;
    let handshake = async {
        let tcp = TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| failed(format!("connect: {e}")))?;
        TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|e| {
                let recorded = seen.lock().ok().and_then(|s| s.clone());
                match recorded {
                    Some(Err(reason)) => Error::CaPinMismatch {
                        server: server.to_owned(),
                        reason,
                    },
                    _ => failed(format!("tls handshake: {e}")),
                }
            })
    };
    let stream = tokio::time::timeout(timeout, handshake)
        .await
        .map_err(|_| failed(format!("no tls handshake within {timeout:?}")))??;
    drop(stream);
    let recorded = seen.lock().ok().and_then(|s| s.clone());
    let der = match recorded {
        Some(Ok(der)) => der,
        _ => return Err(failed("the server's CA was not seen".into())),
    };
    Ok(pem_of("CERTIFICATE", &der))
}

/// PEM text of one DER block.
pub fn pem_of(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str(&format!("-----END {label}-----\n"));
    pem
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_give_host_and_port() {
        assert_eq!(
            host_port("https://10.0.0.1:6443").unwrap(),
            ("10.0.0.1".into(), 6443)
        );
        assert_eq!(
            host_port("https://api.example.com/").unwrap(),
            ("api.example.com".into(), 443)
        );
        assert_eq!(
            host_port("https://[fd00::1]:6443").unwrap(),
            ("fd00::1".into(), 6443)
        );
        assert!(host_port("http://10.0.0.1:6443").is_err());
        assert!(host_port("https://:6443").is_err());
    }

    #[test]
    fn pins_are_normalized_or_refused() {
        let hex = "AB".repeat(32);
        assert_eq!(
            normalize_pin(&format!("SHA256:{hex}")).unwrap(),
            format!("sha256:{}", "ab".repeat(32))
        );
        assert!(normalize_pin("abc").is_err());
        assert!(normalize_pin("sha256:abc").is_err());
        assert!(normalize_pin(&format!("md5:{hex}")).is_err());
    }

    #[test]
    fn pem_of_round_trips_through_a_pem_parser() {
        let der: Vec<u8> = (0..200u8).collect();
        let pem = pem_of("CERTIFICATE", &der);
        let (_, parsed) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).unwrap();
        assert_eq!(parsed.contents, der);
    }
}
