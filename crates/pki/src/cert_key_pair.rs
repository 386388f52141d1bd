//! An issued certificate with its private key, and the base64 forms kubeconfig files embed.

use crate::{cert_info::CertInfo, error::Result};
use base64::{engine::general_purpose::STANDARD, Engine as _};
use std::fmt;

/// A PEM certificate and its PEM (PKCS#8) private key. Debug output never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct CertKeyPair {
    cert_pem: String,
    key_pem: String,
}

impl CertKeyPair {
    pub(crate) fn new(cert_pem: String, key_pem: String) -> Self {
        Self { cert_pem, key_pem }
    }

    /// The certificate, PEM.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The private key, PEM. Handle with care: it is a credential.
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// The certificate as kubeconfig's `client-certificate-data` (base64 of the PEM).
    pub fn cert_data_base64(&self) -> String {
        pem_base64(&self.cert_pem)
    }

    /// The key as kubeconfig's `client-key-data` (base64 of the PEM).
    pub fn key_data_base64(&self) -> String {
        pem_base64(&self.key_pem)
    }

    /// What the certificate says (subject, SANs, lifetime).
    pub fn info(&self) -> Result<CertInfo> {
        CertInfo::from_pem(&self.cert_pem)
    }
}

impl fmt::Debug for CertKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertKeyPair")
            .field("cert_pem", &self.cert_pem)
            .field("key_pem", &"[redacted]")
            .finish()
    }
}

/// Base64 of a PEM text, the form of kubeconfig's `*-data` fields.
pub fn pem_base64(pem: &str) -> String {
    STANDARD.encode(pem.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_private_key() {
        let pair = CertKeyPair::new("CERT".into(), "SECRET-KEY".into());
        let shown = format!("{pair:?}");
        assert!(shown.contains("CERT"));
        assert!(!shown.contains("SECRET-KEY"));
    }

    #[test]
    fn kubeconfig_data_decodes_back_to_the_pem() {
        let pair = CertKeyPair::new("-----BEGIN CERTIFICATE-----\nAAAA\n".into(), "k".into());
        let decoded = STANDARD.decode(pair.cert_data_base64()).unwrap();
        assert_eq!(decoded, pair.cert_pem().as_bytes());
        assert_eq!(STANDARD.decode(pair.key_data_base64()).unwrap(), b"k");
    }
}
