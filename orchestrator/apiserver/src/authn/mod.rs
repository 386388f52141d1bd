//! Who is calling: x509 client certificates, service-account JWTs, bootstrap tokens and a static
//! token file, each turned into a [`UserInfo`] as upstream's authenticators do.

mod bootstrap_token;
mod service_account;
mod static_tokens;

pub use bootstrap_token::{bootstrap_user, BootstrapTokenRef};
pub use service_account::{ServiceAccountClaims, TokenSigner};
pub use static_tokens::StaticTokens;

use std::collections::BTreeMap;

use clusterctl_pki::CertInfo;

/// The group every authenticated user is in.
pub const AUTHENTICATED_GROUP: &str = "system:authenticated";
/// The group of requests without credentials.
pub const UNAUTHENTICATED_GROUP: &str = "system:unauthenticated";
/// The user name of requests without credentials.
pub const ANONYMOUS_USER: &str = "system:anonymous";
/// The group every bootstrap-token user is in.
pub const BOOTSTRAPPERS_GROUP: &str = "system:bootstrappers";

/// An authenticated (or anonymous) caller, as RBAC and SelfSubjectReview see it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserInfo {
    /// The user name (`kubernetes-admin`, `system:serviceaccount:ns:name`, ...).
    pub name: String,
    /// A unique id, when the credential carries one (service accounts).
    pub uid: String,
    /// Every group the user is in, including `system:authenticated`.
    pub groups: Vec<String>,
    /// Extra attributes (service-account pod binding and the like).
    pub extra: BTreeMap<String, Vec<String>>,
}

impl UserInfo {
    /// An authenticated user `name` in `groups`, with `system:authenticated` added once.
    pub fn authenticated(
        name: impl Into<String>,
        groups: impl IntoIterator<Item = String>,
    ) -> Self {
        let mut groups: Vec<String> = groups.into_iter().collect();
        if !groups.iter().any(|g| g == AUTHENTICATED_GROUP) {
            groups.push(AUTHENTICATED_GROUP.to_owned());
        }
        Self {
            name: name.into(),
            groups,
            ..Default::default()
        }
    }

    /// The anonymous user (only health and version endpoints serve it).
    pub fn anonymous() -> Self {
        Self {
            name: ANONYMOUS_USER.to_owned(),
            groups: vec![UNAUTHENTICATED_GROUP.to_owned()],
            ..Default::default()
        }
    }

    /// Whether this is the anonymous user.
    pub fn is_anonymous(&self) -> bool {
        self.name == ANONYMOUS_USER
    }

    /// Whether the user is in `group`.
    pub fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }

    /// The `user.authentication.k8s.io/v1` `UserInfo` JSON of this user (SelfSubjectReview,
    /// TokenReview, SubjectAccessReview).
    pub fn to_json(&self) -> serde_json::Value {
        let mut out = serde_json::json!({ "username": self.name, "groups": self.groups });
        if !self.uid.is_empty() {
            out["uid"] = self.uid.clone().into();
        }
        if !self.extra.is_empty() {
            out["extra"] = serde_json::json!(self.extra);
        }
        out
    }
}

/// The user of a verified client certificate: CN is the name, every O a group (upstream's
/// `CommonNameUserConversion`). `None` for an empty CN, which does not authenticate.
pub fn user_from_certificate(der: &[u8]) -> Option<UserInfo> {
    let info = CertInfo::from_der(der).ok()?;
    if info.subject_cn.is_empty() {
        return None;
    }
    Some(UserInfo::authenticated(info.subject_cn, info.orgs))
}

/// The bearer token of an `Authorization` header (scheme case-insensitive; empty tokens ignored).
pub fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authenticated_users_get_the_authenticated_group_once() {
        let user = UserInfo::authenticated("u", ["a".to_owned(), AUTHENTICATED_GROUP.to_owned()]);
        assert_eq!(user.groups, ["a", AUTHENTICATED_GROUP]);
        assert!(!user.is_anonymous());
        assert!(UserInfo::anonymous().in_group(UNAUTHENTICATED_GROUP));
    }

    #[test]
    fn bearer_scheme_is_case_insensitive_and_empty_tokens_are_ignored() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("Basic abc"), None);
    }
}
