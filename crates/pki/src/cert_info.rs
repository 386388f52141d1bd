//! Reading what a certificate says: names, organisations, SANs, lifetime.

use crate::{
    error::{Error, Result},
    san::San,
};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use time::OffsetDateTime;
use x509_parser::{certificate::X509Certificate, extensions::GeneralName, prelude::FromDer};

/// The parts of a certificate that `clusterctl get` shows and tests check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// Subject common name (the Kubernetes user name of a client certificate).
    pub subject_cn: String,
    /// Subject organisations (the Kubernetes groups of a client certificate).
    pub orgs: Vec<String>,
    /// Subject alternative names (DNS names and IPs; other kinds are omitted).
    pub sans: Vec<San>,
    /// Issuer common name.
    pub issuer_cn: String,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
    /// Whether basic constraints mark it as a CA.
    pub is_ca: bool,
}

impl CertInfo {
    /// Reads the first certificate of a PEM text.
    pub fn from_pem(pem: &str) -> Result<Self> {
        let der = pem_to_der(pem.as_bytes(), "pem text")?;
        Self::from_der(&der)
    }

    /// Reads a DER certificate.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        let cert = parse_der(der, "der bytes")?;
        Ok(Self::from_x509(&cert))
    }

    pub(crate) fn from_x509(cert: &X509Certificate<'_>) -> Self {
        Self {
            subject_cn: first_cn(cert.subject()),
            orgs: cert
                .subject()
                .iter_organization()
                .filter_map(|a| a.as_str().ok().map(str::to_owned))
                .collect(),
            sans: sans_of(cert),
            issuer_cn: first_cn(cert.issuer()),
            not_before: cert.validity().not_before.to_datetime(),
            not_after: cert.validity().not_after.to_datetime(),
            is_ca: cert.is_ca(),
        }
    }
}

fn first_cn(name: &x509_parser::x509::X509Name<'_>) -> String {
    name.iter_common_name()
        .find_map(|a| a.as_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn sans_of(cert: &X509Certificate<'_>) -> Vec<San> {
    let Ok(Some(ext)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    ext.value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(dns) => Some(San::Dns(dns.to_ascii_lowercase())),
            GeneralName::IPAddress(bytes) => ip_from_bytes(bytes).map(San::Ip),
            _ => None,
        })
        .collect()
}

fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes)
            .ok()
            .map(|b| IpAddr::V4(Ipv4Addr::from(b))),
        16 => <[u8; 16]>::try_from(bytes)
            .ok()
            .map(|b| IpAddr::V6(Ipv6Addr::from(b))),
        _ => None,
    }
}

/// Decodes the first `CERTIFICATE` block of a PEM text; `what` names it in errors.
pub(crate) fn pem_to_der(pem: &[u8], what: &str) -> Result<Vec<u8>> {
    let invalid = |reason: String| Error::InvalidCertificate {
        what: what.to_owned(),
        reason,
    };
    let (_, block) = x509_parser::pem::parse_x509_pem(pem).map_err(|e| invalid(e.to_string()))?;
    if block.label != "CERTIFICATE" {
        return Err(invalid(format!(
            "expected a CERTIFICATE pem block, found {}",
            block.label
        )));
    }
    Ok(block.contents)
}

/// Parses DER bytes as an X.509 certificate; `what` names it in errors.
pub(crate) fn parse_der<'a>(der: &'a [u8], what: &str) -> Result<X509Certificate<'a>> {
    X509Certificate::from_der(der)
        .map(|(_, cert)| cert)
        .map_err(|e| Error::InvalidCertificate {
            what: what.to_owned(),
            reason: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let err = CertInfo::from_pem("not a certificate").unwrap_err();
        assert!(
            err.to_string().starts_with("parse certificate pem text"),
            "{err}"
        );
    }

    #[test]
    fn a_private_key_is_not_taken_for_a_certificate() {
        let key = rcgen::KeyPair::generate().unwrap().serialize_pem();
        let err = CertInfo::from_pem(&key).unwrap_err().to_string();
        assert!(err.contains("expected a CERTIFICATE pem block"), "{err}");
    }

    #[test]
    fn names_and_sans_are_read_back() {
        let mut params =
            rcgen::CertificateParams::new(vec!["a.example".into(), "10.1.2.3".into()]).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "alice");
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "dev");
        let key = rcgen::KeyPair::generate().unwrap();
        let pem = params.self_signed(&key).unwrap().pem();
        let info = CertInfo::from_pem(&pem).unwrap();
        assert_eq!(info.subject_cn, "alice");
        assert_eq!(info.orgs, vec!["dev".to_string()]);
        assert_eq!(
            info.sans,
            vec![
                San::Dns("a.example".into()),
                San::Ip("10.1.2.3".parse().unwrap())
            ]
        );
        assert!(!info.is_ca);
    }
}
