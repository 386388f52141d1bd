//! The WebSocket side of exec: the handshake answer and the `channel.k8s.io` framing (one channel
//! byte, then the payload), as kubectl's `v5.channel.k8s.io` (and `v4`) clients expect.

use http::{header, HeaderMap, Response};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use super::body::Body;

/// kubectl 1.30+'s protocol: v4 plus a CLOSE channel for half-closing stdin.
pub const V5: &str = "v5.channel.k8s.io";
/// The previous protocol, still offered by older clients.
pub const V4: &str = "v4.channel.k8s.io";

/// Standard input (client to server).
pub const STDIN: u8 = 0;
/// Standard output.
pub const STDOUT: u8 = 1;
/// Standard error.
pub const STDERR: u8 = 2;
/// The final `metav1.Status` (exit code).
pub const ERROR: u8 = 3;
/// Terminal size changes, JSON `{"Width":w,"Height":h}` (client to server).
pub const RESIZE: u8 = 4;
/// v5: `[255, channel]` half-closes that channel.
pub const CLOSE: u8 = 255;

/// A negotiated WebSocket upgrade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    /// The subprotocol chosen (`v5.channel.k8s.io` or `v4.channel.k8s.io`).
    pub protocol: &'static str,
    /// The `Sec-WebSocket-Accept` value.
    pub accept: String,
}

/// Port-forward's protocol: SPDY/3.1 bytes carried in binary WebSocket messages.
pub const PORT_FORWARD: &str = "SPDY/3.1+portforward.k8s.io";

/// Checks that the request is a WebSocket upgrade offering a channel protocol we speak.
pub fn negotiate(headers: &HeaderMap) -> Result<Handshake, String> {
    negotiate_among(headers, &[V5, V4])
}

/// Checks that the request is a WebSocket upgrade offering one of `supported` (first wins).
pub fn negotiate_among(
    headers: &HeaderMap,
    supported: &[&'static str],
) -> Result<Handshake, String> {
    let has = |name: header::HeaderName, token: &str| {
        headers.get_all(name).iter().any(|v| {
            v.to_str()
                .unwrap_or_default()
                .split(',')
                .any(|t| t.trim().eq_ignore_ascii_case(token))
        })
    };
    if !has(header::UPGRADE, "websocket") {
        return Err(format!(
            "this is served over WebSocket ({}) only; plain SPDY is not supported",
            supported.join(", ")
        ));
    }
    let key = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .ok_or("the websocket upgrade has no Sec-WebSocket-Key")?;
    let offered: Vec<String> = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .flat_map(|v| v.to_str().unwrap_or_default().split(','))
        .map(|p| p.trim().to_owned())
        .collect();
    let protocol = supported
        .iter()
        .copied()
        .find(|p| offered.iter().any(|o| o == p))
        .ok_or_else(|| {
            format!(
                "none of the offered protocols {offered:?} is one of {}",
                supported.join(", ")
            )
        })?;
    Ok(Handshake {
        protocol,
        accept: derive_accept_key(key.as_bytes()),
    })
}

/// The `101 Switching Protocols` answer.
pub fn switching_protocols(handshake: &Handshake) -> Response<Body> {
    let mut response = Response::new(Body::full(Vec::new()));
    *response.status_mut() = http::StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(
        header::UPGRADE,
        header::HeaderValue::from_static("websocket"),
    );
    headers.insert(
        header::CONNECTION,
        header::HeaderValue::from_static("Upgrade"),
    );
    headers.insert(
        header::SEC_WEBSOCKET_PROTOCOL,
        header::HeaderValue::from_static(handshake.protocol),
    );
    if let Ok(accept) = header::HeaderValue::from_str(&handshake.accept) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    response
}

/// The Status kubectl reads on the error channel when the command ended with `exit_code`.
pub fn exit_status(exit_code: i32, command: &[String]) -> serde_json::Value {
    if exit_code == 0 {
        return serde_json::json!({"metadata": {}, "status": "Success"});
    }
    serde_json::json!({
        "metadata": {},
        "status": "Failure",
        "message": format!(
            "command terminated with non-zero exit code: error executing command {command:?}, exit code {exit_code}"
        ),
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": exit_code.to_string()}]},
    })
}

/// The Status for a session that failed before or without an exit code.
pub fn failure_status(message: &str) -> serde_json::Value {
    serde_json::json!({
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": "InternalError",
        "code": 500,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v5_is_preferred_and_spdy_is_refused_with_a_reason() {
        let mut headers = HeaderMap::new();
        headers.insert(header::UPGRADE, "websocket".parse().unwrap());
        headers.insert(
            header::SEC_WEBSOCKET_KEY,
            "dGhlIHNhbXBsZSBub25jZQ==".parse().unwrap(),
        );
        headers.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            "v4.channel.k8s.io, v5.channel.k8s.io".parse().unwrap(),
        );
        let handshake = negotiate(&headers).unwrap();
        assert_eq!(handshake.protocol, V5);
        assert_eq!(handshake.accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        headers.insert(header::UPGRADE, "SPDY/3.1".parse().unwrap());
        assert!(negotiate(&headers).unwrap_err().contains("SPDY"));
    }

    #[test]
    fn a_non_zero_exit_code_is_a_cause_kubectl_parses() {
        let status = exit_status(3, &["sh".into(), "-c".into(), "exit 3".into()]);
        assert_eq!(status["reason"], "NonZeroExitCode");
        assert_eq!(status["details"]["causes"][0]["message"], "3");
        assert_eq!(exit_status(0, &[])["status"], "Success");
    }
}
