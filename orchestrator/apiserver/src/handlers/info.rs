//! `/version`, `/healthz`, `/livez`, `/readyz` and `/metrics`.

use http::Response;
use serde_json::json;

use crate::http::{json_response, text_response, Body, ContentType};
use crate::state::ApiState;

/// The Kubernetes version clusterd serves.
pub const GIT_VERSION: &str = "v1.32.0+clusterd";

/// `GET /version`.
pub fn version() -> Response<Body> {
    json_response(
        200,
        &json!({
            "major": "1",
            "minor": "32",
            "gitVersion": GIT_VERSION,
            "gitCommit": env!("CARGO_PKG_VERSION"),
            "gitTreeState": "clean",
            "buildDate": "1970-01-01T00:00:00Z",
            "goVersion": "rustc",
            "compiler": "rustc",
            "platform": format!("{}/{}", std::env::consts::OS, if cfg!(target_arch = "x86_64") { "amd64" } else if cfg!(target_arch = "aarch64") { "arm64" } else { std::env::consts::ARCH }),
        }),
    )
}

/// `GET /healthz`, `/livez`, `/readyz` (and their `/<check>` forms): `ok`, or with `?verbose` the
/// checks one per line.
pub fn health(path: &str, verbose: bool) -> Response<Body> {
    let name = path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or("healthz");
    if verbose {
        let body = format!("[+]ping ok\n[+]log ok\n[+]etcd ok\n{name} check passed\n");
        return text_response(200, ContentType::Text, body);
    }
    text_response(200, ContentType::Text, "ok")
}

/// `GET /metrics`.
pub fn metrics(state: &ApiState) -> Response<Body> {
    let mut response = text_response(200, ContentType::Text, state.metrics.render());
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}
