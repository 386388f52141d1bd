//! Service-account tokens: ES256 JWTs signed with the PKI's service-account key, in upstream's claim
//! layout, so they work for in-cluster clients and for the API server's own authenticator.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair as _, UnparsedPublicKey};
use rustls::pki_types::{pem::PemObject, PrivatePkcs8KeyDer};
use serde_json::{json, Value};

use super::UserInfo;
use crate::error::{Error, Result};

/// What a service-account token says: which account (and pod), for whom, and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAccountClaims {
    /// The service account's namespace.
    pub namespace: String,
    /// The service account's name.
    pub name: String,
    /// The service account's uid.
    pub uid: String,
    /// The audiences the token is for (the issuer by default).
    pub audiences: Vec<String>,
    /// Issued-at, Unix seconds.
    pub issued_at: i64,
    /// Expiry, Unix seconds.
    pub expires_at: i64,
    /// The pod the token is bound to, as (name, uid).
    pub pod: Option<(String, String)>,
}

impl ServiceAccountClaims {
    /// The user this token authenticates as: `system:serviceaccount:<ns>:<name>` in the service
    /// account groups.
    pub fn user(&self) -> UserInfo {
        let mut user = UserInfo::authenticated(
            format!("system:serviceaccount:{}:{}", self.namespace, self.name),
            [
                "system:serviceaccounts".to_owned(),
                format!("system:serviceaccounts:{}", self.namespace),
            ],
        );
        user.uid = self.uid.clone();
        if let Some((pod, uid)) = &self.pod {
            user.extra.insert(
                "authentication.kubernetes.io/pod-name".into(),
                vec![pod.clone()],
            );
            user.extra.insert(
                "authentication.kubernetes.io/pod-uid".into(),
                vec![uid.clone()],
            );
        }
        user
    }
}

/// Issues and verifies service-account JWTs with one ES256 key.
pub struct TokenSigner {
    key: EcdsaKeyPair,
    rng: SystemRandom,
    issuer: String,
    key_id: String,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSigner")
            .field("issuer", &self.issuer)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl TokenSigner {
    /// A signer over the PKCS#8 PEM private key (`sa.key`) that names `issuer` in its tokens.
    pub fn from_pem(private_key_pem: &str, issuer: impl Into<String>) -> Result<Self> {
        let der = PrivatePkcs8KeyDer::from_pem_slice(private_key_pem.as_bytes()).map_err(|e| {
            Error::ServiceAccountKey {
                reason: format!("not a PKCS#8 PEM private key: {e}"),
            }
        })?;
        let rng = SystemRandom::new();
        let key = EcdsaKeyPair::from_pkcs8(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            der.secret_pkcs8_der(),
            &rng,
        )
        .map_err(|e| Error::ServiceAccountKey {
            reason: format!("not an ECDSA P-256 key: {e}"),
        })?;
        let digest = ring::digest::digest(&ring::digest::SHA256, key.public_key().as_ref());
        let key_id = URL_SAFE_NO_PAD.encode(digest.as_ref());
        Ok(Self {
            key,
            rng,
            issuer: issuer.into(),
            key_id,
        })
    }

    /// The issuer written into and required of tokens.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Signs a token carrying `claims`.
    pub fn issue(&self, claims: &ServiceAccountClaims) -> Result<String> {
        let header = json!({"alg": "ES256", "kid": self.key_id});
        let mut kubernetes = json!({
            "namespace": claims.namespace,
            "serviceaccount": {"name": claims.name, "uid": claims.uid},
        });
        if let Some((pod, uid)) = &claims.pod {
            kubernetes["pod"] = json!({"name": pod, "uid": uid});
        }
        let audiences = if claims.audiences.is_empty() {
            vec![self.issuer.clone()]
        } else {
            claims.audiences.clone()
        };
        let payload = json!({
            "aud": audiences,
            "exp": claims.expires_at,
            "iat": claims.issued_at,
            "iss": self.issuer,
            "jti": uuid::Uuid::new_v4().to_string(),
            "kubernetes.io": kubernetes,
            "nbf": claims.issued_at,
            "sub": format!("system:serviceaccount:{}:{}", claims.namespace, claims.name),
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(payload.to_string())
        );
        let sig = self
            .key
            .sign(&self.rng, signing_input.as_bytes())
            .map_err(|_| Error::ServiceAccountKey {
                reason: "signing a token failed".to_owned(),
            })?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(sig.as_ref())
        ))
    }

    /// The claims of `token` if it is an ES256 JWT signed by this key, from this issuer, for one of
    /// `audiences` (any when empty), and valid at `now` (Unix seconds).
    pub fn verify(
        &self,
        token: &str,
        audiences: &[String],
        now: i64,
    ) -> Option<ServiceAccountClaims> {
        let mut parts = token.split('.');
        let (header, payload, sig) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
        if header.get("alg").and_then(Value::as_str) != Some("ES256") {
            return None;
        }
        let sig = URL_SAFE_NO_PAD.decode(sig).ok()?;
        let public = UnparsedPublicKey::new(
            &signature::ECDSA_P256_SHA256_FIXED,
            self.key.public_key().as_ref(),
        );
        let signed = &token[..header_len(token)?];
        public.verify(signed.as_bytes(), &sig).ok()?;
        let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
        if claims.get("iss").and_then(Value::as_str) != Some(self.issuer.as_str()) {
            return None;
        }
        let token_audiences: Vec<String> = match claims.get("aud") {
            Some(Value::String(a)) => vec![a.clone()],
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|a| a.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        if !audiences.is_empty() && !token_audiences.iter().any(|a| audiences.contains(a)) {
            return None;
        }
        let number = |key: &str| claims.get(key).and_then(Value::as_i64);
        let expires_at = number("exp")?;
        if now >= expires_at || number("nbf").is_some_and(|nbf| now + 60 < nbf) {
            return None;
        }
        let k8s = claims.get("kubernetes.io")?;
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        let pod = match (
            text(k8s.pointer("/pod/name")),
            text(k8s.pointer("/pod/uid")),
        ) {
            (Some(name), Some(uid)) => Some((name, uid)),
            _ => None,
        };
        Some(ServiceAccountClaims {
            namespace: text(k8s.get("namespace"))?,
            name: text(k8s.pointer("/serviceaccount/name"))?,
            uid: text(k8s.pointer("/serviceaccount/uid")).unwrap_or_default(),
            audiences: token_audiences,
            issued_at: number("iat").unwrap_or_default(),
            expires_at,
            pod,
        })
    }
}

/// The length of `header.payload`, the signed part of a JWT.
fn header_len(token: &str) -> Option<usize> {
    let first = token.find('.')?;
    let second = token[first + 1..].find('.')?;
    Some(first + 1 + second)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> TokenSigner {
        let key = rcgen_free_key();
        TokenSigner::from_pem(&key, "https://kubernetes.default.svc.cluster.local").unwrap()
    }

    /// A P-256 PKCS#8 key generated by ring, as PEM.
    fn rcgen_free_key() -> String {
        let rng = SystemRandom::new();
        let doc = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(doc.as_ref());
        format!("-----BEGIN PRIVATE KEY-----\n{b64}\n-----END PRIVATE KEY-----\n")
    }

    fn claims(now: i64) -> ServiceAccountClaims {
        ServiceAccountClaims {
            namespace: "apps".into(),
            name: "builder".into(),
            uid: "u-1".into(),
            audiences: vec![],
            issued_at: now,
            expires_at: now + 3600,
            pod: Some(("web-0".into(), "p-1".into())),
        }
    }

    #[test]
    fn an_issued_token_verifies_as_its_service_account() {
        let signer = signer();
        let token = signer.issue(&claims(1_000)).unwrap();
        let back = signer.verify(&token, &[], 1_500).unwrap();
        let user = back.user();
        assert_eq!(user.name, "system:serviceaccount:apps:builder");
        assert!(user.in_group("system:serviceaccounts:apps"));
        assert_eq!(user.uid, "u-1");
        assert_eq!(back.pod, Some(("web-0".into(), "p-1".into())));
    }

    #[test]
    fn expired_tampered_or_foreign_tokens_are_refused() {
        let signer = signer();
        let token = signer.issue(&claims(1_000)).unwrap();
        assert!(signer.verify(&token, &[], 10_000).is_none(), "expired");
        let mut tampered = token.clone();
        tampered.replace_range(tampered.len() - 3.., "AAA");
        assert!(
            signer.verify(&tampered, &[], 1_500).is_none(),
            "bad signature"
        );
        assert!(
            self::signer().verify(&token, &[], 1_500).is_none(),
            "other key"
        );
        assert!(
            signer.verify(&token, &["other".into()], 1_500).is_none(),
            "audience"
        );
        assert!(signer.verify("a.b", &[], 1_500).is_none());
    }
}
