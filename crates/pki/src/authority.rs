//! A certificate authority in memory: made new or loaded from its files, and signing leaves.

use crate::{
    cert_info::{parse_der, pem_to_der},
    cert_key_pair::CertKeyPair,
    error::{Error, Result},
    leaf::{add_saturating, random_serial, LeafSpec},
};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PublicKeyData,
};
use std::{path::Path, time::Duration};
use time::OffsetDateTime;

/// How far back `not_before` is set, so hosts with slightly slow clocks accept a fresh certificate.
pub(crate) const BACKDATE: time::Duration = time::Duration::minutes(5);

/// A CA certificate with its signing key.
pub(crate) struct Authority {
    cert_pem: String,
    cert_der: Vec<u8>,
    issuer: Issuer<'static, KeyPair>,
    not_after: OffsetDateTime,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority")
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

impl Authority {
    /// A new self-signed CA named `common_name`, valid for `validity` from `now`.
    pub(crate) fn generate(
        common_name: &str,
        validity: Duration,
        now: OffsetDateTime,
    ) -> Result<Self> {
        let failed = |source| Error::Generate {
            what: format!("ca {common_name}"),
            source,
        };
        let key = KeyPair::generate().map_err(failed)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.serial_number = Some(random_serial());
        params.not_before = now - BACKDATE;
        params.not_after = add_saturating(now, validity);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).map_err(failed)?;
        let cert_pem = cert.pem();
        Self::from_parts(cert_pem, key).map_err(|reason| Error::InvalidCertificate {
            what: format!("new ca {common_name}"),
            reason,
        })
    }

    /// Loads a CA from its PEM certificate and key; checks it is a CA, unexpired and that the key fits.
    pub(crate) fn load(
        cert_path: &Path,
        cert_pem: &[u8],
        key_path: &Path,
        key_pem: &[u8],
        now: OffsetDateTime,
    ) -> Result<Self> {
        let invalid = |path: &Path, reason: String| Error::InvalidCa {
            path: path.to_owned(),
            reason,
        };
        let cert_text = std::str::from_utf8(cert_pem)
            .map_err(|_| invalid(cert_path, "it is not a text (pem) file".into()))?;
        let key_text = std::str::from_utf8(key_pem)
            .map_err(|_| invalid(key_path, "it is not a text (pem) file".into()))?;
        let der = pem_to_der(cert_pem, &cert_path.display().to_string())?;
        let cert = parse_der(&der, &cert_path.display().to_string())?;
        if !cert.is_ca() {
            return Err(invalid(
                cert_path,
                "its basic constraints do not mark it as a ca".into(),
            ));
        }
        let not_after = cert.validity().not_after.to_datetime();
        if not_after <= now {
            return Err(invalid(
                cert_path,
                format!(
                    "it expired at {not_after}; a new ca must be created and distributed by hand"
                ),
            ));
        }
        let key = KeyPair::from_pem(key_text).map_err(|source| Error::InvalidKey {
            path: key_path.to_owned(),
            source,
        })?;
        if key.subject_public_key_info() != cert.public_key().raw {
            return Err(invalid(
                key_path,
                format!(
                    "the key does not belong to the certificate {}",
                    cert_path.display()
                ),
            ));
        }
        Self::from_parts(cert_text.to_owned(), key).map_err(|reason| invalid(cert_path, reason))
    }

    fn from_parts(cert_pem: String, key: KeyPair) -> Result<Self, String> {
        let cert_der = pem_to_der(cert_pem.as_bytes(), "ca").map_err(|e| e.to_string())?;
        let not_after = parse_der(&cert_der, "ca")
            .map_err(|e| e.to_string())?
            .validity()
            .not_after
            .to_datetime();
        let issuer = Issuer::from_ca_cert_pem(&cert_pem, key).map_err(|e| e.to_string())?;
        Ok(Self {
            cert_pem,
            cert_der,
            issuer,
            not_after,
        })
    }

    /// The CA certificate, PEM, byte for byte as loaded or generated.
    pub(crate) fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA key, PEM (PKCS#8).
    pub(crate) fn key_pem(&self) -> String {
        self.issuer.key().serialize_pem()
    }

    /// Issues a new leaf with a fresh key. Its lifetime never exceeds the CA's.
    pub(crate) fn issue(&self, leaf: &LeafSpec, now: OffsetDateTime) -> Result<CertKeyPair> {
        let failed = |source| Error::Generate {
            what: format!("certificate {}", leaf.cn),
            source,
        };
        let mut params = leaf.params()?;
        params.serial_number = Some(random_serial());
        params.not_before = now - BACKDATE;
        let wanted = add_saturating(now, leaf.validity);
        if wanted > self.not_after {
            tracing::warn!(
                cn = %leaf.cn,
                ca_not_after = %self.not_after,
                "ca expires before the requested lifetime ends; the certificate ends with the ca"
            );
        }
        params.not_after = wanted.min(self.not_after);
        let key = KeyPair::generate().map_err(failed)?;
        let cert = params.signed_by(&key, &self.issuer).map_err(failed)?;
        Ok(CertKeyPair::new(cert.pem(), key.serialize_pem()))
    }

    /// Whether `cert` carries this CA's subject as issuer and a valid signature by this CA's key.
    pub(crate) fn signed(&self, cert: &x509_parser::certificate::X509Certificate<'_>) -> bool {
        let Ok(ca) = parse_der(&self.cert_der, "ca") else {
            return false;
        };
        cert.issuer().as_raw() == ca.subject().as_raw()
            && cert.verify_signature(Some(ca.public_key())).is_ok()
    }
}
