//! `clusterd token create|ca-hash`: bootstrap tokens as kube-system Secrets (kubeadm's format),
//! written through a server's admin kubeconfig, and the CA pin nodes join with.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use clusterctl_pki::JoinToken;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::ByteString;
use kube::api::{Api, PostParams};

use super::{Error, Result};

/// The extra group kubeadm gives node tokens.
pub const DEFAULT_NODE_TOKEN_GROUP: &str = "system:bootstrappers:kubeadm:default-node-token";

/// The bootstrap-token Secret for `token` (kubeadm's `bootstrap.kubernetes.io/token` layout).
pub fn token_secret(token: &JoinToken) -> Secret {
    let mut data = BTreeMap::new();
    let mut put = |key: &str, value: &str| {
        data.insert(key.to_owned(), ByteString(value.as_bytes().to_vec()));
    };
    put("token-id", &token.id);
    put("token-secret", token.secret());
    put("usage-bootstrap-authentication", "true");
    put("usage-bootstrap-signing", "true");
    put("auth-extra-groups", DEFAULT_NODE_TOKEN_GROUP);
    put(
        "description",
        "node join token created by clusterd token create",
    );
    if let Some(expires) = token.expires {
        if let Ok(text) = expires.format(&time::format_description::well_known::Rfc3339) {
            put("expiration", &text);
        }
    }
    Secret {
        metadata: ObjectMeta {
            name: Some(token.secret_name()),
            namespace: Some("kube-system".into()),
            ..ObjectMeta::default()
        },
        type_: Some("bootstrap.kubernetes.io/token".into()),
        data: Some(data),
        ..Secret::default()
    }
}

/// Stores `token` through `client` (which must be allowed to create kube-system Secrets).
pub async fn store_token(client: kube::Client, server: &str, token: &JoinToken) -> Result<()> {
    let api: Api<Secret> = Api::namespaced(client, "kube-system");
    api.create(&PostParams::default(), &token_secret(token))
        .await
        .map_err(|e| Error::Api {
            server: server.to_owned(),
            operation: "create the bootstrap token secret",
            source: Box::new(e),
        })?;
    Ok(())
}

/// Creates a new token valid for `ttl` (zero: forever) through `<data-dir>/admin.kubeconfig`
/// and returns it.
pub async fn create_token(data_dir: &Path, ttl: Duration) -> Result<JoinToken> {
    let path = data_dir.join("admin.kubeconfig");
    let invalid = |reason: String| Error::Invalid {
        what: path.display().to_string(),
        reason,
    };
    let file = kube::config::Kubeconfig::read_from(&path)
        .map_err(|e| invalid(format!("read the admin kubeconfig: {e}")))?;
    let config =
        kube::Config::from_custom_kubeconfig(file, &kube::config::KubeConfigOptions::default())
            .await
            .map_err(|e| invalid(format!("load: {e}")))?;
    let server = config.cluster_url.to_string();
    let client = kube::Client::try_from(config).map_err(|e| invalid(format!("client: {e}")))?;
    let token = JoinToken::generate(ttl);
    store_token(client, &server, &token).await?;
    Ok(token)
}

/// The pin (`sha256:<hex>`) of the CA under `<data-dir>/pki/ca.crt`.
pub fn ca_hash(data_dir: &Path) -> Result<String> {
    let path = data_dir.join("pki").join("ca.crt");
    let pem = std::fs::read_to_string(&path).map_err(|source| Error::Io {
        operation: "read the cluster ca",
        path: path.display().to_string(),
        source,
    })?;
    clusterctl_pki::ca_pin(&pem).map_err(|e| Error::Invalid {
        what: path.display().to_string(),
        reason: e.to_string(),
    })
}

/// Parses a TTL like `24h`, `30m`, `90s`, `2h30m` or `0` (never expires).
pub fn parse_ttl(text: &str) -> Result<Duration> {
    crate::config::parse_duration(text).map_err(|reason| Error::Invalid {
        what: format!("--ttl {text}"),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_parse_like_kubeadm() {
        assert_eq!(parse_ttl("24h").unwrap(), Duration::from_secs(86400));
        assert_eq!(parse_ttl("2h30m").unwrap(), Duration::from_secs(9000));
        assert_eq!(parse_ttl("0").unwrap(), Duration::ZERO);
        assert!(parse_ttl("24").is_err());
        assert!(parse_ttl("1d").is_err());
    }

    #[test]
    fn the_secret_has_kubeadm_layout() {
        let token = JoinToken::generate(Duration::from_secs(3600));
        let secret = token_secret(&token);
        assert_eq!(
            secret.type_.as_deref(),
            Some("bootstrap.kubernetes.io/token")
        );
        assert_eq!(
            secret.metadata.name.as_deref(),
            Some(token.secret_name().as_str())
        );
        let data = secret.data.unwrap();
        assert_eq!(data["token-id"].0, token.id.as_bytes());
        assert_eq!(data["token-secret"].0, token.secret().as_bytes());
        assert_eq!(data["usage-bootstrap-authentication"].0, b"true");
        assert!(data.contains_key("expiration"));
    }
}
