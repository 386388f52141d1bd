//! `clusterctl token`: the bearer token the EKS authenticator accepts, as `aws eks get-token`
//! makes it — a SigV4-presigned STS `GetCallerIdentity` URL carrying the signed `x-k8s-aws-id`
//! header, base64url without padding after `k8s-aws-v1.` — wrapped in an ExecCredential.
//!
//! The URL's host is always the real regional STS host: the API server's authenticator calls it,
//! so an endpoint override (an emulator) must not leak into the token.

mod verify;

pub use verify::{verify, VerifyError};

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, SignableBody, SignableRequest, SignatureLocation, SigningParams, SigningSettings,
};
use aws_sigv4::sign::v4;
use base64::Engine as _;
use time::OffsetDateTime;

use crate::{Error, Result};

/// Prefix of every EKS token.
pub const TOKEN_PREFIX: &str = "k8s-aws-v1.";
/// The header naming the cluster, signed into the URL.
pub const CLUSTER_ID_HEADER: &str = "x-k8s-aws-id";
/// How long the presigned URL is valid (as awscli).
pub const URL_EXPIRY: Duration = Duration::from_secs(60);
/// When kubectl should ask for a new token (as awscli: 14 minutes ahead; the authenticator
/// accepts a token for 15).
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(14 * 60);
/// The session name used when assuming `--role-arn` (as awscli).
pub const ROLE_SESSION_NAME: &str = "EKSGetTokenAuth";
/// ExecCredential apiVersion when kubectl does not say which it wants.
pub const DEFAULT_EXEC_API_VERSION: &str = "client.authentication.k8s.io/v1beta1";

/// A minted token and when it stops being used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// `k8s-aws-v1.<base64url of the presigned URL>`.
    pub token: String,
    /// `now + 14 minutes`, as `%Y-%m-%dT%H:%M:%SZ`.
    pub expiration: String,
}

/// The STS host of `region` (`sts.us-west-2.amazonaws.com`, `.amazonaws.com.cn` in China).
pub fn sts_host(region: &str) -> String {
    if region.starts_with("cn-") {
        format!("sts.{region}.amazonaws.com.cn")
    } else {
        format!("sts.{region}.amazonaws.com")
    }
}

/// Presigns the token for `cluster` in `region` with `credentials` at `now`.
pub fn presign(
    cluster: &str,
    region: &str,
    credentials: &Credentials,
    now: SystemTime,
) -> Result<Token> {
    let failed = |detail: String| Error::Credentials {
        operation: format!("sign the token for cluster {cluster}"),
        detail,
    };
    let identity = credentials.clone().into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(URL_EXPIRY);
    let params: SigningParams<'_> = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sts")
        .time(now)
        .settings(settings)
        .build()
        .map_err(|e| failed(e.to_string()))?
        .into();
    let base = format!(
        "https://{}/?Action=GetCallerIdentity&Version=2011-06-15",
        sts_host(region)
    );
    let headers = [(CLUSTER_ID_HEADER, cluster)];
    let request = SignableRequest::new(
        "GET",
        base.as_str(),
        headers.into_iter(),
        SignableBody::Bytes(&[]),
    )
    .map_err(|e| failed(e.to_string()))?;
    let (instructions, _signature) = sign(request, &params)
        .map_err(|e| failed(e.to_string()))?
        .into_parts();
    let (_, signed) = instructions.into_parts();
    let url = format!("{base}&{}", botocore_query(&signed));
    let token = format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(url)
    );
    Ok(Token {
        token,
        expiration: expiration(now)?,
    })
}

/// The signing parameters as a query string in botocore's order (signature last), so the token
/// is byte-identical to `aws eks get-token`'s.
fn botocore_query(params: &[(&str, Cow<'_, str>)]) -> String {
    let mut ordered: Vec<&(&str, Cow<'_, str>)> = params
        .iter()
        .filter(|(k, _)| *k != "X-Amz-Signature")
        .collect();
    ordered.extend(params.iter().filter(|(k, _)| *k == "X-Amz-Signature"));
    ordered
        .iter()
        .map(|(k, v)| format!("{k}={}", percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// RFC 3986 encoding: everything but unreserved characters (as botocore's `quote(safe='-_.~')`).
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn expiration(now: SystemTime) -> Result<String> {
    let at = OffsetDateTime::from(now + TOKEN_LIFETIME);
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    at.format(format).map_err(|e| Error::Credentials {
        operation: "format the token expiration".to_owned(),
        detail: e.to_string(),
    })
}

/// The ExecCredential apiVersion kubectl asked for in `KUBERNETES_EXEC_INFO`, else v1beta1.
pub fn exec_api_version(exec_info: Option<&str>) -> String {
    exec_info
        .and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok())
        .and_then(|info| info.get("apiVersion")?.as_str().map(str::to_owned))
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| DEFAULT_EXEC_API_VERSION.to_owned())
}

/// The ExecCredential JSON kubectl reads from the plugin's stdout.
pub fn exec_credential(token: &Token, api_version: &str) -> String {
    serde_json::json!({
        "kind": "ExecCredential",
        "apiVersion": api_version,
        "spec": {},
        "status": {
            "expirationTimestamp": token.expiration,
            "token": token.token,
        }
    })
    .to_string()
}

/// Credentials from the default chain for `region`, or, with `role_arn`, the role's temporary
/// credentials (`sts:AssumeRole`, session `EKSGetTokenAuth`).
pub async fn load_credentials(
    config: &aws_config::SdkConfig,
    role_arn: Option<&str>,
) -> Result<Credentials> {
    use aws_credential_types::provider::ProvideCredentials as _;
    if let Some(role) = role_arn {
        let sts = crate::api::sdk::SdkSts::new(aws_sdk_sts::Client::new(config));
        return sts.assume_role(role, ROLE_SESSION_NAME).await;
    }
    let provider = config
        .credentials_provider()
        .ok_or_else(|| Error::Credentials {
            operation: "load AWS credentials".to_owned(),
            detail: "no credentials provider is configured".to_owned(),
        })?;
    provider.provide_credentials().await.map_err(|e| Error::Credentials {
        operation: "load AWS credentials".to_owned(),
        detail: format!(
            "{}; set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run `aws configure`",
            clusterctl_steps::error_chain(&e)
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frozen() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600) // 2026-01-01T00:00:00Z
    }

    fn static_creds() -> Credentials {
        Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            None,
            None,
            "test",
        )
    }

    #[test]
    fn token_passes_the_authenticator_rules_and_expires_in_fourteen_minutes() {
        let token = presign("my-cluster", "us-west-2", &static_creds(), frozen()).unwrap();
        assert!(token.token.starts_with(TOKEN_PREFIX));
        assert!(!token.token.contains('='));
        assert_eq!(token.expiration, "2026-01-01T00:14:00Z");
        let url = verify(&token.token, frozen()).unwrap();
        assert!(url.starts_with(
            "https://sts.us-west-2.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&"
        ));
        assert!(url
            .contains("X-Amz-Credential=AKIDEXAMPLE%2F20260101%2Fus-west-2%2Fsts%2Faws4_request"));
        assert!(url.ends_with(&url[url.find("&X-Amz-Signature=").unwrap()..]));
    }

    #[test]
    fn session_token_goes_before_the_signature_like_botocore() {
        let creds = Credentials::new(
            "ASIAEXAMPLE",
            "secret",
            Some("sess/ion+token".into()),
            None,
            "test",
        );
        let token = presign("c", "eu-west-1", &creds, frozen()).unwrap();
        let url = verify(&token.token, frozen()).unwrap();
        let token_at = url.find("X-Amz-Security-Token=sess%2Fion%2Btoken").unwrap();
        assert!(token_at < url.find("X-Amz-Signature=").unwrap(), "{url}");
    }

    #[test]
    fn china_regions_sign_for_the_china_sts_host() {
        assert_eq!(sts_host("cn-north-1"), "sts.cn-north-1.amazonaws.com.cn");
    }

    #[test]
    fn exec_credential_uses_the_version_kubectl_asks_for() {
        let info = r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}"#;
        assert_eq!(
            exec_api_version(Some(info)),
            "client.authentication.k8s.io/v1"
        );
        assert_eq!(exec_api_version(None), DEFAULT_EXEC_API_VERSION);
        let token = Token {
            token: "k8s-aws-v1.abc".into(),
            expiration: "2026-01-01T00:14:00Z".into(),
        };
        let json: serde_json::Value =
            serde_json::from_str(&exec_credential(&token, DEFAULT_EXEC_API_VERSION)).unwrap();
        assert_eq!(json["kind"], "ExecCredential");
        assert_eq!(json["status"]["token"], "k8s-aws-v1.abc");
        assert_eq!(
            json["status"]["expirationTimestamp"],
            "2026-01-01T00:14:00Z"
        );
    }
}
