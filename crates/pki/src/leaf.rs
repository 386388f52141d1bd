//! What a leaf certificate must say, and whether an existing one still says it.

use crate::{
    authority::Authority,
    cert_info::{parse_der, pem_to_der, CertInfo},
    change::RenewReason,
    error::{Error, Result},
    san::San,
};
use rand::RngCore;
use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, PublicKeyData, SerialNumber,
};
use std::time::Duration;
use time::OffsetDateTime;

/// Whether a leaf authenticates a server or a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Usage {
    /// TLS server (`serverAuth`).
    Server,
    /// TLS client (`clientAuth`).
    Client,
    /// Both, as an etcd member needs for its peers (`serverAuth` and `clientAuth`).
    Peer,
}

/// The required content of one leaf certificate.
#[derive(Debug, Clone)]
pub(crate) struct LeafSpec {
    /// Subject common name.
    pub(crate) cn: String,
    /// Subject organisation (at most one, see [`LeafSpec::params`]).
    pub(crate) orgs: Vec<String>,
    /// Names a server certificate must cover.
    pub(crate) sans: Vec<San>,
    /// Server or client.
    pub(crate) usage: Usage,
    /// Lifetime of a newly issued certificate.
    pub(crate) validity: Duration,
}

impl LeafSpec {
    /// A client certificate for user `cn` in groups `orgs`.
    pub(crate) fn client(cn: &str, orgs: &[&str], validity: Duration) -> Self {
        Self {
            cn: cn.to_owned(),
            orgs: orgs.iter().map(|o| (*o).to_owned()).collect(),
            sans: Vec::new(),
            usage: Usage::Client,
            validity,
        }
    }

    /// A server certificate for `cn` covering `sans`.
    pub(crate) fn server(cn: &str, orgs: &[&str], sans: Vec<San>, validity: Duration) -> Self {
        Self {
            sans,
            usage: Usage::Server,
            ..Self::client(cn, orgs, validity)
        }
    }

    /// rcgen parameters for this leaf, without serial or validity.
    ///
    /// rcgen keeps one value per attribute type, so a subject carries at most one organisation
    /// (one Kubernetes group); more is rejected rather than silently dropped.
    pub(crate) fn params(&self) -> Result<CertificateParams> {
        let invalid = |reason: &str| Error::InvalidSubject {
            cn: self.cn.clone(),
            reason: reason.to_owned(),
        };
        if self.cn.trim().is_empty() {
            return Err(invalid("the common name is empty"));
        }
        if self.orgs.len() > 1 {
            return Err(invalid(
                "at most one organisation (kubernetes group) per certificate is supported",
            ));
        }
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        for org in &self.orgs {
            params
                .distinguished_name
                .push(DnType::OrganizationName, org.as_str());
        }
        params
            .distinguished_name
            .push(DnType::CommonName, self.cn.as_str());
        params.subject_alt_names = self.sans.iter().map(San::to_rcgen).collect::<Result<_>>()?;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = match self.usage {
            Usage::Server => vec![ExtendedKeyUsagePurpose::ServerAuth],
            Usage::Client => vec![ExtendedKeyUsagePurpose::ClientAuth],
            Usage::Peer => vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ],
        };
        params.use_authority_key_identifier_extension = true;
        Ok(params)
    }

    /// Why an existing certificate and key no longer serve, or `None` when they do.
    pub(crate) fn renew_reason(
        &self,
        ca: &Authority,
        cert_pem: &[u8],
        key_pem: &[u8],
        now: OffsetDateTime,
        renew_before: Duration,
    ) -> Option<RenewReason> {
        let der = match pem_to_der(cert_pem, "certificate") {
            Ok(der) => der,
            Err(e) => return Some(RenewReason::Unreadable(e.to_string())),
        };
        let cert = match parse_der(&der, "certificate") {
            Ok(cert) => cert,
            Err(e) => return Some(RenewReason::Unreadable(e.to_string())),
        };
        let key = std::str::from_utf8(key_pem)
            .map_err(|e| e.to_string())
            .and_then(|text| KeyPair::from_pem(text).map_err(|e| e.to_string()));
        let key = match key {
            Ok(key) => key,
            Err(e) => return Some(RenewReason::Unreadable(format!("private key: {e}"))),
        };
        if key.subject_public_key_info() != cert.public_key().raw {
            return Some(RenewReason::KeyMismatch);
        }
        if !ca.signed(&cert) {
            return Some(RenewReason::NotIssuedByCa);
        }
        let info = CertInfo::from_x509(&cert);
        if info.not_after < add_saturating(now, renew_before) {
            return Some(RenewReason::Expiring {
                not_after: info.not_after,
            });
        }
        if info.subject_cn != self.cn || info.orgs != self.orgs {
            return Some(RenewReason::SubjectChanged);
        }
        let usage_ok = match cert.extended_key_usage() {
            Ok(Some(eku)) => match self.usage {
                Usage::Server => eku.value.server_auth,
                Usage::Client => eku.value.client_auth,
                Usage::Peer => eku.value.server_auth && eku.value.client_auth,
            },
            _ => false,
        };
        if !usage_ok {
            return Some(RenewReason::UsageChanged);
        }
        let missing: Vec<San> = self
            .sans
            .iter()
            .filter(|want| !info.sans.contains(want))
            .cloned()
            .collect();
        if !missing.is_empty() {
            return Some(RenewReason::SansMissing(missing));
        }
        None
    }
}

/// A random positive 128-bit serial number.
pub(crate) fn random_serial() -> SerialNumber {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    // Positive (top bit clear) and never zero-length once leading zeros are trimmed.
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    SerialNumber::from_slice(&bytes)
}

/// `now + d`, clamped to the last instant X.509 can express (9999-12-31).
pub(crate) fn add_saturating(now: OffsetDateTime, d: Duration) -> OffsetDateTime {
    let max = time::macros::datetime!(9999-12-31 23:59:59 UTC);
    time::Duration::try_from(d)
        .ok()
        .and_then(|d| now.checked_add(d))
        .map_or(max, |t| t.min(max))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absurd_lifetimes_saturate_instead_of_overflowing() {
        let now = OffsetDateTime::now_utc();
        let end = add_saturating(now, Duration::from_secs(u64::MAX));
        assert_eq!(end.year(), 9999);
    }

    #[test]
    fn two_groups_are_rejected_rather_than_dropped() {
        let leaf = LeafSpec::client("alice", &["dev", "ops"], Duration::from_secs(60));
        let err = leaf.params().unwrap_err().to_string();
        assert!(
            err.contains("alice") && err.contains("at most one organisation"),
            "{err}"
        );
    }

    #[test]
    fn serials_are_positive_and_distinct() {
        let a = random_serial().to_bytes();
        let b = random_serial().to_bytes();
        assert_ne!(a, b);
        assert!(a[0] & 0x80 == 0 && a[0] != 0);
    }
}
