//! The cluster CA as a signer of CertificateSigningRequests (upstream's csrsigning controller core).

use std::time::Duration;

use rcgen::{
    CertificateSigningRequestParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SerialNumber,
};
use time::OffsetDateTime;

/// Lifetime of a signed certificate when the request names none (upstream's
/// `--cluster-signing-duration` default).
pub const DEFAULT_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);
/// The shortest lifetime a request may ask for (`expirationSeconds` minimum).
pub const MIN_DURATION: Duration = Duration::from_secs(600);
/// How far back `notBefore` is set, for hosts with slightly slow clocks.
const BACKDATE: time::Duration = time::Duration::minutes(5);

/// Why a request could not be signed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The CA certificate or key does not load.
    #[error("load the signing ca: {0}")]
    Ca(String),
    /// The request is not a valid PEM/DER certificate request or its signature is wrong.
    #[error("invalid certificate request: {0}")]
    Request(String),
    /// A usage in `spec.usages` cannot be put into a certificate.
    #[error("unsupported usage {0:?}")]
    Usage(String),
    /// rcgen refused to build the certificate.
    #[error("sign the certificate: {0}")]
    Sign(String),
}

/// The CA certificate and key that sign approved requests.
pub struct CsrSigner {
    issuer: Issuer<'static, KeyPair>,
    ca_not_after: OffsetDateTime,
}

impl std::fmt::Debug for CsrSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsrSigner")
            .field("ca_not_after", &self.ca_not_after)
            .finish_non_exhaustive()
    }
}

impl CsrSigner {
    /// A signer from the CA certificate and its private key, both PEM.
    pub fn from_pem(ca_cert_pem: &str, ca_key_pem: &str) -> Result<Self, SignError> {
        let key = KeyPair::from_pem(ca_key_pem).map_err(|e| SignError::Ca(e.to_string()))?;
        let der = x509_parser::pem::parse_x509_pem(ca_cert_pem.as_bytes())
            .map_err(|e| SignError::Ca(e.to_string()))?
            .1;
        let cert = der.parse_x509().map_err(|e| SignError::Ca(e.to_string()))?;
        let ca_not_after = cert.validity().not_after.to_datetime();
        let issuer =
            Issuer::from_ca_cert_pem(ca_cert_pem, key).map_err(|e| SignError::Ca(e.to_string()))?;
        Ok(Self {
            issuer,
            ca_not_after,
        })
    }

    /// Signs the PEM request `request_pem` with the subject and names it asks for, the key usages
    /// of `usages` (upstream names such as `client auth`), valid for `duration` (at least
    /// [`MIN_DURATION`], never past the CA). Returns the certificate, PEM.
    pub fn sign(
        &self,
        request_pem: &str,
        usages: &[String],
        duration: Duration,
    ) -> Result<String, SignError> {
        let mut request = CertificateSigningRequestParams::from_pem(request_pem)
            .map_err(|e| SignError::Request(e.to_string()))?;
        let now = OffsetDateTime::now_utc();
        let lifetime = time::Duration::try_from(duration.max(MIN_DURATION))
            .unwrap_or(time::Duration::days(365));
        let params = &mut request.params;
        params.not_before = now - BACKDATE;
        params.not_after = (now + lifetime).min(self.ca_not_after);
        params.serial_number = Some(random_serial());
        params.is_ca = IsCa::ExplicitNoCa;
        params.use_authority_key_identifier_extension = true;
        params.key_usages.clear();
        params.extended_key_usages.clear();
        for usage in usages {
            match usage.as_str() {
                "digital signature" | "signing" => {
                    params.key_usages.push(KeyUsagePurpose::DigitalSignature)
                }
                "key encipherment" => params.key_usages.push(KeyUsagePurpose::KeyEncipherment),
                "content commitment" => params.key_usages.push(KeyUsagePurpose::ContentCommitment),
                "key agreement" => params.key_usages.push(KeyUsagePurpose::KeyAgreement),
                "data encipherment" => params.key_usages.push(KeyUsagePurpose::DataEncipherment),
                "client auth" => params
                    .extended_key_usages
                    .push(ExtendedKeyUsagePurpose::ClientAuth),
                "server auth" => params
                    .extended_key_usages
                    .push(ExtendedKeyUsagePurpose::ServerAuth),
                other => return Err(SignError::Usage(other.to_owned())),
            }
        }
        let cert = request
            .signed_by(&self.issuer)
            .map_err(|e| SignError::Sign(e.to_string()))?;
        Ok(cert.pem())
    }
}

fn random_serial() -> SerialNumber {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    SerialNumber::from_slice(&bytes)
}
