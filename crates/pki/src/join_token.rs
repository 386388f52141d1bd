//! Bootstrap (join) tokens in kubeadm's `[a-z0-9]{6}.[a-z0-9]{16}` form.
//!
//! The id is public (it names the `bootstrap-token-<id>` Secret); the secret authenticates the joining
//! node, so Display and Debug redact it and only [`JoinToken::secret_str`] reveals it.

use crate::error::{Error, Result};
use rand::Rng;
use std::{fmt, str::FromStr, time::Duration};
use time::OffsetDateTime;

const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const ID_LEN: usize = 6;
const SECRET_LEN: usize = 16;

/// What a bootstrap token may be used for (kubeadm's `usage-bootstrap-*` keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenUsage {
    /// Signing the `cluster-info` ConfigMap for discovery.
    Signing,
    /// Authenticating to the API server as `system:bootstrap:<id>`.
    Authentication,
}

impl TokenUsage {
    /// The kubeadm name of the usage (`signing`, `authentication`).
    pub fn as_str(self) -> &'static str {
        match self {
            TokenUsage::Signing => "signing",
            TokenUsage::Authentication => "authentication",
        }
    }
}

/// A node join token.
#[derive(Clone, PartialEq, Eq)]
pub struct JoinToken {
    /// The public token id (6 characters of `[a-z0-9]`).
    pub id: String,
    secret: String,
    /// When the token stops being accepted; `None` never expires.
    pub expires: Option<OffsetDateTime>,
    /// What the token may be used for.
    pub usages: Vec<TokenUsage>,
}

impl JoinToken {
    /// A new random token valid for `ttl`; a zero `ttl` never expires (as in kubeadm). Usages are
    /// signing and authentication, kubeadm's default.
    pub fn generate(ttl: Duration) -> Self {
        let mut rng = rand::thread_rng();
        let mut pick = |n: usize| -> String {
            (0..n)
                .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
                .collect()
        };
        let id = pick(ID_LEN);
        let secret = pick(SECRET_LEN);
        let expires =
            (!ttl.is_zero()).then(|| crate::leaf::add_saturating(OffsetDateTime::now_utc(), ttl));
        Self {
            id,
            secret,
            expires,
            usages: default_usages(),
        }
    }

    /// Parses `<id>.<secret>`; the result has no expiry and the default usages. Errors never contain
    /// the secret.
    pub fn parse(token: &str) -> Result<Self> {
        let reject = |reason: String| Err(Error::InvalidJoinToken { reason });
        let Some((id, secret)) = token.split_once('.') else {
            return reject("it has no '.' between id and secret".into());
        };
        if id.len() != ID_LEN {
            return reject(format!("the id has {} characters, not {ID_LEN}", id.len()));
        }
        if secret.len() != SECRET_LEN {
            return reject(format!(
                "the secret has {} characters, not {SECRET_LEN}",
                secret.len()
            ));
        }
        let allowed = |s: &str| s.bytes().all(|b| ALPHABET.contains(&b));
        if !allowed(id) {
            return reject("the id may contain only lowercase letters and digits".into());
        }
        if !allowed(secret) {
            return reject("the secret may contain only lowercase letters and digits".into());
        }
        Ok(Self {
            id: id.to_owned(),
            secret: secret.to_owned(),
            expires: None,
            usages: default_usages(),
        })
    }

    /// Whether the token is no longer valid at `now`.
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        self.expires.is_some_and(|at| now >= at)
    }

    /// The full `<id>.<secret>` token, for writing where it must appear (join commands, Secrets).
    pub fn secret_str(&self) -> String {
        format!("{}.{}", self.id, self.secret)
    }

    /// The secret part alone (the `token-secret` key of the bootstrap Secret).
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// Name of the kube-system Secret that stores this token (`bootstrap-token-<id>`).
    pub fn secret_name(&self) -> String {
        format!("bootstrap-token-{}", self.id)
    }

    /// Whether `presented` is this token, compared in constant time.
    pub fn matches(&self, presented: &str) -> bool {
        let want = self.secret_str();
        let (a, b) = (want.as_bytes(), presented.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

fn default_usages() -> Vec<TokenUsage> {
    vec![TokenUsage::Signing, TokenUsage::Authentication]
}

impl FromStr for JoinToken {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        JoinToken::parse(s)
    }
}

impl fmt::Display for JoinToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.****", self.id)
    }
}

impl fmt::Debug for JoinToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinToken")
            .field("id", &self.id)
            .field("secret", &"****")
            .field("expires", &self.expires)
            .field("usages", &self.usages)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has_kubeadm_form(token: &str) -> bool {
        let Some((id, secret)) = token.split_once('.') else {
            return false;
        };
        let ok = |s: &str, n| {
            s.len() == n
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        };
        ok(id, 6) && ok(secret, 16)
    }

    #[test]
    fn generated_tokens_have_kubeadm_form_and_round_trip() {
        for _ in 0..50 {
            let token = JoinToken::generate(Duration::from_secs(3600));
            let text = token.secret_str();
            assert!(has_kubeadm_form(&text), "{text}");
            let parsed = JoinToken::parse(&text).unwrap();
            assert_eq!(parsed.secret_str(), text);
            assert!(parsed.matches(&text));
        }
    }

    #[test]
    fn two_generated_tokens_differ() {
        let a = JoinToken::generate(Duration::ZERO);
        let b = JoinToken::generate(Duration::ZERO);
        assert_ne!(a.secret_str(), b.secret_str());
    }

    #[test]
    fn display_and_debug_redact_the_secret() {
        let token = JoinToken::parse("abcdef.0123456789abcdef").unwrap();
        assert_eq!(token.to_string(), "abcdef.****");
        assert!(!format!("{token:?}").contains("0123456789abcdef"));
        assert_eq!(token.secret_name(), "bootstrap-token-abcdef");
    }

    #[test]
    fn malformed_tokens_are_rejected_without_echoing_the_secret() {
        for (bad, why) in [
            ("abcdef0123456789abcdef", "no '.'"),
            ("abcde.0123456789abcdef", "id has 5 characters"),
            ("abcdef.0123456789abcde", "secret has 15 characters"),
            ("ABCDEF.0123456789abcdef", "id may contain only"),
            ("abcdef.0123456789ABCDEF", "secret may contain only"),
        ] {
            let err = JoinToken::parse(bad).unwrap_err().to_string();
            assert!(err.contains(why), "{bad}: {err}");
            assert!(!err.contains("0123456789"), "secret leaked: {err}");
        }
    }

    #[test]
    fn expiry_follows_the_ttl_and_zero_never_expires() {
        let now = OffsetDateTime::now_utc();
        let short = JoinToken::generate(Duration::from_secs(60));
        assert!(!short.is_expired(now));
        assert!(short.is_expired(now + time::Duration::minutes(2)));
        let forever = JoinToken::generate(Duration::ZERO);
        assert!(!forever.is_expired(now + time::Duration::days(36500)));
    }

    #[test]
    fn a_different_token_does_not_match() {
        let token = JoinToken::parse("abcdef.0123456789abcdef").unwrap();
        assert!(!token.matches("abcdef.0123456789abcdee"));
        assert!(!token.matches("abcdef.0123456789abcdef0"));
    }
}
