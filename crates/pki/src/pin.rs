//! CA public-key pins, exactly kubeadm's `--discovery-token-ca-cert-hash`.
//!
//! The pin is `sha256:` followed by the lowercase hex SHA-256 of the CA certificate's DER-encoded
//! SubjectPublicKeyInfo (k8s.io/kubernetes `cmd/kubeadm/app/util/pubkeypin`). A joining node that
//! knows the pin can trust a CA it fetched over an unauthenticated channel.

use crate::{
    cert_info::{parse_der, pem_to_der},
    error::{Error, Result},
};
use sha2::{Digest, Sha256};

const PREFIX: &str = "sha256:";

/// The pin of the first certificate in `ca_cert_pem`: `sha256:<hex>`.
pub fn ca_pin(ca_cert_pem: &str) -> Result<String> {
    let der = pem_to_der(ca_cert_pem.as_bytes(), "ca certificate for pinning")?;
    let cert = parse_der(&der, "ca certificate for pinning")?;
    let digest = Sha256::digest(cert.public_key().raw);
    Ok(format!("{PREFIX}{}", hex::encode(digest)))
}

/// Checks that the CA in `ca_cert_pem` has pin `pin` (hex case is ignored, like kubeadm).
pub fn verify_ca_pin(ca_cert_pem: &str, pin: &str) -> Result<()> {
    let expected = normalize_pin(pin)?;
    let actual = ca_pin(ca_cert_pem)?;
    if expected != actual {
        return Err(Error::CaPinMismatch { expected, actual });
    }
    Ok(())
}

/// `pin` in canonical lowercase form, or an error saying what is wrong with it.
fn normalize_pin(pin: &str) -> Result<String> {
    let reject = |reason: &str| {
        Err(Error::InvalidCaPin {
            pin: pin.to_owned(),
            reason: reason.to_owned(),
        })
    };
    let Some((kind, digest)) = pin.trim().split_once(':') else {
        return reject("it has no format prefix");
    };
    if !kind.eq_ignore_ascii_case("sha256") {
        return reject("only sha256 pins are supported");
    }
    if digest.len() != 64 {
        return reject("the digest is not 64 hex digits");
    }
    if !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
        return reject("the digest is not hexadecimal");
    }
    Ok(format!("{PREFIX}{}", digest.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ca_pem() -> String {
        let key = rcgen::KeyPair::generate().unwrap();
        rcgen::CertificateParams::default()
            .self_signed(&key)
            .unwrap()
            .pem()
    }

    #[test]
    fn pin_has_kubeadm_form() {
        let pin = ca_pin(&ca_pem()).unwrap();
        let hex = pin.strip_prefix("sha256:").unwrap();
        assert_eq!(hex.len(), 64);
        assert!(hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    }

    #[test]
    fn uppercase_pin_of_the_same_ca_verifies() {
        let ca = ca_pem();
        let pin = ca_pin(&ca)
            .unwrap()
            .to_uppercase()
            .replace("SHA256", "sha256");
        verify_ca_pin(&ca, &pin).unwrap();
    }

    #[test]
    fn mismatch_names_both_hashes() {
        let (a, b) = (ca_pem(), ca_pem());
        let pin_a = ca_pin(&a).unwrap();
        let pin_b = ca_pin(&b).unwrap();
        let err = verify_ca_pin(&b, &pin_a).unwrap_err().to_string();
        assert!(err.contains(&pin_a) && err.contains(&pin_b), "{err}");
    }

    #[test]
    fn malformed_pins_are_rejected_with_a_reason() {
        let ca = ca_pem();
        for (pin, why) in [
            ("abcdef", "no format prefix"),
            ("md5:00", "only sha256"),
            ("sha256:abc", "64 hex digits"),
            (&format!("sha256:{}", "z".repeat(64)), "not hexadecimal"),
        ] {
            let err = verify_ca_pin(&ca, pin).unwrap_err().to_string();
            assert!(err.contains(why), "{pin}: {err}");
        }
    }
}
