//! Bootstrap tokens (`abcdef.0123456789abcdef`) kept as `bootstrap-token-<id>` Secrets in kube-system,
//! checked as upstream's bootstrap authenticator does.

use base64::Engine as _;
use serde_json::Value;
use time::OffsetDateTime;

use super::{UserInfo, BOOTSTRAPPERS_GROUP};

/// A presented token that has the bootstrap form: its id names the Secret to look up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootstrapTokenRef {
    /// The public token id (6 characters).
    pub id: String,
    secret: String,
}

impl BootstrapTokenRef {
    /// Recognises `[a-z0-9]{6}.[a-z0-9]{16}`; anything else is not a bootstrap token.
    pub fn parse(token: &str) -> Option<Self> {
        let parsed = clusterctl_pki::JoinToken::parse(token).ok()?;
        Some(Self {
            id: parsed.id.clone(),
            secret: parsed.secret().to_owned(),
        })
    }

    /// The name of the kube-system Secret holding this token.
    pub fn secret_name(&self) -> String {
        format!("bootstrap-token-{}", self.id)
    }
}

/// The user a bootstrap token authenticates as, given the Secret it names (as stored JSON): checks
/// the type, id, secret, the authentication usage and the expiry. `None` when any check fails.
pub fn bootstrap_user(
    token: &BootstrapTokenRef,
    secret: &Value,
    now: OffsetDateTime,
) -> Option<UserInfo> {
    if secret.get("type").and_then(Value::as_str) != Some("bootstrap.kubernetes.io/token") {
        return None;
    }
    if secret.pointer("/metadata/deletionTimestamp").is_some() {
        return None;
    }
    let data = |key: &str| -> Option<String> {
        let encoded = secret.get("data")?.get(key)?.as_str()?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()?;
        String::from_utf8(bytes).ok()
    };
    if data("token-id")? != token.id || !constant_time_eq(&data("token-secret")?, &token.secret) {
        return None;
    }
    if data("usage-bootstrap-authentication").as_deref() != Some("true") {
        return None;
    }
    if let Some(expiration) = data("expiration") {
        let at = OffsetDateTime::parse(&expiration, &time::format_description::well_known::Rfc3339)
            .ok()?;
        if now >= at {
            return None;
        }
    }
    let mut groups = vec![BOOTSTRAPPERS_GROUP.to_owned()];
    if let Some(extra) = data("auth-extra-groups") {
        groups.extend(
            extra
                .split(',')
                .map(str::trim)
                .filter(|g| g.starts_with("system:bootstrappers:"))
                .map(str::to_owned),
        );
    }
    Some(UserInfo::authenticated(
        format!("system:bootstrap:{}", token.id),
        groups,
    ))
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    fn secret(expiration: Option<&str>) -> Value {
        let mut data = serde_json::json!({
            "token-id": b64("abcdef"),
            "token-secret": b64("0123456789abcdef"),
            "usage-bootstrap-authentication": b64("true"),
            "auth-extra-groups": b64("system:bootstrappers:kubeadm:default-node-token"),
        });
        if let Some(at) = expiration {
            data["expiration"] = b64(at).into();
        }
        serde_json::json!({"type": "bootstrap.kubernetes.io/token", "data": data})
    }

    #[test]
    fn a_valid_token_authenticates_as_system_bootstrap() {
        let token = BootstrapTokenRef::parse("abcdef.0123456789abcdef").unwrap();
        assert_eq!(token.secret_name(), "bootstrap-token-abcdef");
        let user = bootstrap_user(&token, &secret(None), OffsetDateTime::now_utc()).unwrap();
        assert_eq!(user.name, "system:bootstrap:abcdef");
        assert!(user.in_group("system:bootstrappers"));
        assert!(user.in_group("system:bootstrappers:kubeadm:default-node-token"));
        assert!(user.in_group("system:authenticated"));
    }

    #[test]
    fn wrong_secret_or_expired_token_is_refused() {
        let wrong = BootstrapTokenRef::parse("abcdef.0123456789abcdee").unwrap();
        assert!(bootstrap_user(&wrong, &secret(None), OffsetDateTime::now_utc()).is_none());
        let token = BootstrapTokenRef::parse("abcdef.0123456789abcdef").unwrap();
        let expired = secret(Some("2020-01-01T00:00:00Z"));
        assert!(bootstrap_user(&token, &expired, OffsetDateTime::now_utc()).is_none());
    }

    #[test]
    fn non_bootstrap_shapes_are_not_recognised() {
        assert!(BootstrapTokenRef::parse("eyJhbGciOi.x.y").is_none());
    }
}
