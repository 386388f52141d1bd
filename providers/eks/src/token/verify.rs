//! The checks the EKS authenticator (aws-iam-authenticator `pkg/token/token.go`) applies to a
//! token before it calls STS, so tests can tell a token the cluster would accept.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use time::OffsetDateTime;

use super::{CLUSTER_ID_HEADER, TOKEN_PREFIX};

/// Why the authenticator would reject a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("token rejected: {0}")]
pub struct VerifyError(pub String);

const ALLOWED: [&str; 9] = [
    "action",
    "version",
    "x-amz-algorithm",
    "x-amz-credential",
    "x-amz-date",
    "x-amz-expires",
    "x-amz-security-token",
    "x-amz-signature",
    "x-amz-signedheaders",
];

/// Checks `token` as the authenticator would at `now`; returns the decoded URL.
pub fn verify(token: &str, now: SystemTime) -> Result<String, VerifyError> {
    let fail = |m: String| Err(VerifyError(m));
    if token.len() > 4096 {
        return fail(format!("{} bytes, more than 4096", token.len()));
    }
    let Some(encoded) = token.strip_prefix(TOKEN_PREFIX) else {
        return fail(format!("missing prefix {TOKEN_PREFIX}"));
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|e| VerifyError(format!("not base64url: {e}")))?;
    let url = String::from_utf8(bytes).map_err(|_| VerifyError("URL is not UTF-8".into()))?;
    let Some(rest) = url.strip_prefix("https://") else {
        return fail(format!("scheme is not https: {url}"));
    };
    let (host, path_query) = rest.split_once('/').unwrap_or((rest, ""));
    let sts_host = host.starts_with("sts.")
        && (host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn"));
    if !sts_host {
        return fail(format!("host {host} is not an STS host"));
    }
    let (path, query) = path_query.split_once('?').unwrap_or((path_query, ""));
    if !path.is_empty() {
        return fail(format!("path /{path} is not /"));
    }
    let mut params = BTreeMap::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = key.to_ascii_lowercase();
        if !ALLOWED.contains(&key.as_str()) {
            return fail(format!("query parameter {key} is not allowed"));
        }
        if params.insert(key.clone(), decode(value)).is_some() {
            return fail(format!("query parameter {key} appears twice"));
        }
    }
    if params.get("action").map(String::as_str) != Some("GetCallerIdentity") {
        return fail("action is not GetCallerIdentity".into());
    }
    let signed = params
        .get("x-amz-signedheaders")
        .cloned()
        .unwrap_or_default();
    if !signed.split(';').any(|h| h == CLUSTER_ID_HEADER) {
        return fail(format!(
            "{CLUSTER_ID_HEADER} is not a signed header ({signed})"
        ));
    }
    let expires: u64 = params
        .get("x-amz-expires")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| VerifyError("X-Amz-Expires missing or not a number".into()))?;
    if expires > 900 {
        return fail(format!("X-Amz-Expires {expires} is above 900"));
    }
    let date = params.get("x-amz-date").cloned().unwrap_or_default();
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let signed_at = time::PrimitiveDateTime::parse(&date, format)
        .map_err(|e| VerifyError(format!("X-Amz-Date {date:?}: {e}")))?
        .assume_utc();
    let age = OffsetDateTime::from(now) - signed_at;
    if age > Duration::from_secs(15 * 60) {
        return fail(format!("X-Amz-Date {date} is older than 15 minutes"));
    }
    if !params.contains_key("x-amz-signature") || !params.contains_key("x-amz-credential") {
        return fail("signature or credential missing".into());
    }
    Ok(url)
}

fn decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&value[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(url: &str) -> String {
        format!(
            "{TOKEN_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(url)
        )
    }

    #[test]
    fn rejects_a_token_pointing_at_an_emulator() {
        let err = verify(
            &encode("http://127.0.0.1:5000/?Action=GetCallerIdentity"),
            SystemTime::now(),
        )
        .unwrap_err();
        assert!(err.0.contains("https"), "{err}");
    }

    #[test]
    fn rejects_unknown_query_parameters() {
        let err = verify(
            &encode("https://sts.us-east-1.amazonaws.com/?Action=GetCallerIdentity&Foo=1"),
            SystemTime::now(),
        )
        .unwrap_err();
        assert!(err.0.contains("foo"), "{err}");
    }

    #[test]
    fn percent_decoding_reads_escaped_slashes() {
        assert_eq!(decode("a%2Fb%2B"), "a/b+");
    }
}
