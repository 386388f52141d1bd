//! Error answers as `metav1.Status` JSON, which the API server passes on to kubectl.

use http::Response;
use serde_json::json;

use super::body::{json_response, Body};

fn status(code: u16, reason: &str, message: &str) -> Response<Body> {
    json_response(
        code,
        &json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": message,
            "reason": reason,
            "code": code,
        }),
    )
}

/// 400 with `message`.
pub fn bad_request(message: &str) -> Response<Body> {
    status(400, "BadRequest", message)
}

/// 403 with `message`.
pub fn forbidden(message: &str) -> Response<Body> {
    status(403, "Forbidden", &format!("forbidden: {message}"))
}

/// 404 with `message`.
pub fn not_found(message: &str) -> Response<Body> {
    status(404, "NotFound", message)
}

/// 404 for a container this node does not run.
pub fn container_not_found(namespace: &str, pod: &str, container: &str) -> Response<Body> {
    not_found(&format!(
        "container \"{container}\" of pod \"{namespace}/{pod}\" is not running on this node"
    ))
}

/// 501 with `message`.
pub fn not_implemented(message: &str) -> Response<Body> {
    status(501, "NotImplemented", message)
}

/// 500 with `message`.
pub fn internal(message: &str) -> Response<Body> {
    status(500, "InternalError", message)
}
