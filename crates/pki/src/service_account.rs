//! The key pair that signs and verifies service-account tokens.
//!
//! The key is ECDSA P-256, so tokens are ES256 JWTs: the API server signs with `sa.key` and anything
//! verifying tokens (the API server itself, OIDC discovery consumers) uses `sa.pub`. Kubernetes accepts
//! ECDSA service-account keys as readily as RSA ones.

use crate::error::{Error, Result};
use rcgen::KeyPair;
use std::{fmt, path::Path};

/// The service-account signing key (PKCS#8 PEM) and its public half (SubjectPublicKeyInfo PEM).
#[derive(Clone, PartialEq, Eq)]
pub struct ServiceAccountKey {
    private_pem: String,
    public_pem: String,
}

impl ServiceAccountKey {
    /// A new ECDSA P-256 key pair.
    pub(crate) fn generate() -> Result<Self> {
        let key = KeyPair::generate().map_err(|source| Error::Generate {
            what: "service-account key".into(),
            source,
        })?;
        Ok(Self {
            private_pem: key.serialize_pem(),
            public_pem: key.public_key_pem(),
        })
    }

    /// The key pair held by the PEM private key read from `path`; the public half is derived from it.
    pub(crate) fn from_private_pem(path: &Path, pem: &[u8]) -> Result<Self> {
        let text = std::str::from_utf8(pem).map_err(|_| Error::InvalidKey {
            path: path.to_owned(),
            source: rcgen::Error::CouldNotParseKeyPair,
        })?;
        let key = KeyPair::from_pem(text).map_err(|source| Error::InvalidKey {
            path: path.to_owned(),
            source,
        })?;
        Ok(Self {
            private_pem: text.to_owned(),
            public_pem: key.public_key_pem(),
        })
    }

    /// The private signing key, PEM. Handle with care: it mints tokens for any service account.
    pub fn private_key_pem(&self) -> &str {
        &self.private_pem
    }

    /// The public verification key, PEM (`-----BEGIN PUBLIC KEY-----`).
    pub fn public_key_pem(&self) -> &str {
        &self.public_pem
    }
}

impl fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("public_pem", &self.public_pem)
            .field("private_pem", &"[redacted]")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_half_is_derived_from_the_private_key() {
        let generated = ServiceAccountKey::generate().unwrap();
        let reloaded = ServiceAccountKey::from_private_pem(
            Path::new("sa.key"),
            generated.private_key_pem().as_bytes(),
        )
        .unwrap();
        assert_eq!(reloaded, generated);
        assert!(generated
            .public_key_pem()
            .starts_with("-----BEGIN PUBLIC KEY-----"));
    }

    #[test]
    fn garbage_key_names_the_file() {
        let err =
            ServiceAccountKey::from_private_pem(Path::new("/pki/sa.key"), b"junk").unwrap_err();
        assert!(
            err.to_string().starts_with("parse private key /pki/sa.key"),
            "{err}"
        );
    }
}
