//! Authentication and authorization of each request.

use time::OffsetDateTime;

use crate::authn::{bearer_token, bootstrap_user, BootstrapTokenRef, UserInfo};
use crate::state::ApiState;

/// The user a bearer token authenticates: a service-account JWT, a bootstrap token or a static token.
pub async fn authenticate_token(state: &ApiState, token: &str) -> Option<UserInfo> {
    if token.is_empty() {
        return None;
    }
    if let Some(user) = state.static_tokens.authenticate(token) {
        return Some(user);
    }
    if let Some(bootstrap) = BootstrapTokenRef::parse(token) {
        let key = format!(
            "/registry/core/secrets/kube-system/{}",
            bootstrap.secret_name()
        );
        let kv = state.store.get(&key).await.ok()??;
        let secret: serde_json::Value = serde_json::from_slice(&kv.value).ok()?;
        return bootstrap_user(&bootstrap, &secret, OffsetDateTime::now_utc());
    }
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let claims = state
        .signer
        .verify(token, &[state.signer.issuer().to_owned()], now)?;
    Some(claims.user())
}

/// Who made the request: the client certificate's user, else the bearer token's. `Err(())` when a
/// token was presented and is not valid (401); `Ok(None)` when there are no credentials.
pub async fn authenticate(
    state: &ApiState,
    certificate_user: Option<&UserInfo>,
    authorization: Option<&str>,
) -> Result<Option<UserInfo>, ()> {
    if let Some(user) = certificate_user {
        return Ok(Some(user.clone()));
    }
    let Some(header) = authorization else {
        return Ok(None);
    };
    let Some(token) = bearer_token(header) else {
        return Ok(None);
    };
    authenticate_token(state, token).await.map(Some).ok_or(())
}

/// Paths anonymous callers may read (upstream's `system:public-info-viewer`).
pub fn is_public_path(path: &str) -> bool {
    matches!(
        path,
        "/healthz" | "/livez" | "/readyz" | "/version" | "/version/"
    ) || ["/healthz/", "/livez/", "/readyz/"]
        .iter()
        .any(|p| path.starts_with(p))
}
