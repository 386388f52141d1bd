//! Building responses: JSON objects, `Status` errors, content types, and reading what the client
//! accepts.

use std::collections::HashMap;

use bytes::Bytes;
use clusterd_apimachinery::status::StatusError;
use http::{header, HeaderMap, Response, StatusCode};
use serde_json::Value;

use super::Body;

/// The content types the server writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentType {
    /// `application/json`.
    Json,
    /// Aggregated discovery: `application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList`.
    AggregatedDiscovery,
    /// `text/plain; charset=utf-8`.
    Text,
    /// The OpenAPI v2 protobuf type, in the dotted form Go's mime parser accepts.
    OpenApiV2Protobuf,
}

impl ContentType {
    /// The header value.
    pub fn as_str(self) -> &'static str {
        match self {
            ContentType::Json => "application/json",
            ContentType::AggregatedDiscovery => {
                "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
            }
            ContentType::Text => "text/plain; charset=utf-8",
            ContentType::OpenApiV2Protobuf => {
                "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
            }
        }
    }
}

/// A response with `code`, `content_type` and `body`.
pub fn text_response(
    code: u16,
    content_type: ContentType,
    body: impl Into<Bytes>,
) -> Response<Body> {
    let mut response = Response::new(Body::full(body));
    *response.status_mut() =
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type.as_str()),
    );
    response
}

/// A JSON response.
pub fn json_response(code: u16, value: &Value) -> Response<Body> {
    let mut bytes = serde_json::to_vec(value).unwrap_or_default();
    bytes.push(b'\n');
    text_response(code, ContentType::Json, bytes)
}

/// A `Status` error response with the error's HTTP code.
pub fn status_response(error: &StatusError) -> Response<Body> {
    json_response(error.code, &error.to_value())
}

/// The media type of a `Content-Type` header, lowercased and without parameters.
pub fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default()
}

/// The decoded query parameters (the last value wins for repeated keys).
pub fn query_params(query: Option<&str>) -> HashMap<String, String> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_decoded() {
        let q = query_params(Some("fieldSelector=metadata.name%3Dweb&limit=500"));
        assert_eq!(q["fieldSelector"], "metadata.name=web");
        assert_eq!(q["limit"], "500");
    }

    #[test]
    fn status_errors_carry_their_code_and_json_body() {
        let response = status_response(&StatusError::not_found("pods", "", "web"));
        assert_eq!(response.status(), 404);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    }
}
