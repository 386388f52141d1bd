//! Discovery (`/api`, `/apis`, `/api/v1`, `/apis/<g>[/<v>]`), aggregated or legacy as the client's
//! `Accept` asks, from the registry.

use clusterd_apimachinery::registry::{discovery, Registry};
use clusterd_apimachinery::status::StatusError;
use http::{header, HeaderMap, Response};

use crate::http::{json_response, text_response, Body, ContentType};

/// The discovery document for `path`, or `None` when the path is not a discovery path.
pub fn discovery(
    registry: &Registry,
    path: &str,
    headers: &HeaderMap,
    server_address: &str,
) -> Option<Result<Response<Body>, StatusError>> {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let aggregated = discovery::accepts_aggregated(accept);
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let document = match parts.as_slice() {
        ["api"] if aggregated => {
            return Some(Ok(aggregated_response(&discovery::aggregated_core(
                registry,
            ))))
        }
        ["apis"] if aggregated => {
            return Some(Ok(aggregated_response(&discovery::aggregated_groups(
                registry,
            ))))
        }
        ["api"] => Some(discovery::api_versions(server_address)),
        ["apis"] => Some(discovery::api_group_list(registry)),
        ["api", version] => discovery::api_resource_list(registry, "", version),
        ["apis", group] => discovery::api_group(registry, group),
        ["apis", group, version] => discovery::api_resource_list(registry, group, version),
        _ => return None,
    };
    Some(
        document
            .map(|d| json_response(200, &d))
            .ok_or_else(StatusError::path_not_found),
    )
}

fn aggregated_response(document: &serde_json::Value) -> Response<Body> {
    let mut bytes = serde_json::to_vec(document).unwrap_or_default();
    bytes.push(b'\n');
    text_response(200, ContentType::AggregatedDiscovery, bytes)
}
