//! OpenAPI: `/openapi/v3` (index and one document per group/version) whose PATCH operations carry
//! `x-kubernetes-group-version-kind` and the `fieldValidation` parameter, so kubectl trusts the
//! server's Strict validation; and `/openapi/v2` as a valid minimal protobuf document.

use clusterd_apimachinery::registry::Registry;
use http::Response;
use serde_json::{json, Map, Value};

use crate::http::{json_response, text_response, Body, ContentType};

/// The index of per-group-version documents; each URL's hash changes when the group version's
/// resources do.
pub fn v3_index(registry: &Registry) -> Value {
    let mut paths = Map::new();
    for (group, version) in group_versions(registry) {
        let names: Vec<String> = registry
            .resources_in(&group, &version)
            .iter()
            .map(|r| format!("{}/{}", r.resource, r.kind))
            .collect();
        let hash = format!(
            "{:016X}",
            fnv(&format!("{}{}", super::info::GIT_VERSION, names.join(",")))
        );
        let key = gv_path(&group, &version);
        paths.insert(
            key.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{key}?hash={hash}")}),
        );
    }
    json!({"paths": paths})
}

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

fn group_versions(registry: &Registry) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for r in registry.resources() {
        let gv = (r.group.clone(), r.version.clone());
        if !out.contains(&gv) {
            out.push(gv);
        }
    }
    out
}

fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf29ce484222325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

/// A schema for kinds k8s-openapi has no type for (custom resources): any object.
fn generic_schema(kind: &str, gvk: &Value) -> Value {
    json!({
        "description": format!("{kind} is served by clusterd."),
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
        "properties": {
            "apiVersion": {"type": "string", "description": "APIVersion defines the versioned schema of this representation of an object."},
            "kind": {"type": "string", "description": "Kind is a string value representing the REST resource this object represents."},
            "metadata": {"type": "object", "description": "Standard object's metadata."},
            "spec": {"type": "object", "description": "Specification of the desired behavior."},
            "status": {"type": "object", "description": "Most recently observed status."}
        },
        "x-kubernetes-group-version-kind": [gvk],
    })
}

/// The OpenAPI v3 document of one group/version: an item path per resource whose PATCH carries
/// the kind's GVK and the `fieldValidation` parameter, and the kinds' schemas.
pub fn v3_document(registry: &Registry, group: &str, version: &str) -> Value {
    let resources = registry.resources_in(group, version);
    let kinds: Vec<(String, String, String)> = resources
        .iter()
        .map(|r| (r.group.clone(), r.version.clone(), r.kind.clone()))
        .collect();
    let (mut schemas, names) = super::schemas::component_schemas(&kinds);
    let mut paths = Map::new();
    let field_validation = json!({
        "name": "fieldValidation", "in": "query", "uniqueItems": true,
        "description": "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values are: Ignore, Warn, Strict.",
        "schema": {"type": "string", "uniqueItems": true}
    });
    let prefix = if group.is_empty() {
        format!("/api/{version}")
    } else {
        format!("/apis/{group}/{version}")
    };
    for (r, name) in resources.iter().zip(names) {
        let gvk = json!({"group": r.group, "version": r.version, "kind": r.kind});
        let schema_name = name.unwrap_or_else(|| {
            let name = format!(
                "io.k8s.clusterd.{}.{version}.{}",
                if group.is_empty() { "core" } else { group },
                r.kind
            );
            schemas.insert(name.clone(), generic_schema(&r.kind, &gvk));
            name
        });
        let reference = json!({"$ref": format!("#/components/schemas/{schema_name}")});
        let ok = json!({"200": {"description": "OK", "content": {"application/json": {"schema": reference}}}});
        let op = |action: &str| {
            json!({"operationId": format!("{action}{}", r.kind), "x-kubernetes-action": action,
                   "x-kubernetes-group-version-kind": gvk, "parameters": [field_validation], "responses": ok})
        };
        let item = if r.namespaced() {
            format!("{prefix}/namespaces/{{namespace}}/{}/{{name}}", r.resource)
        } else {
            format!("{prefix}/{}/{{name}}", r.resource)
        };
        paths.insert(
            item,
            json!({"get": {"x-kubernetes-action": "get", "x-kubernetes-group-version-kind": gvk, "responses": ok},
                   "put": op("put"), "patch": op("patch")}),
        );
    }
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": super::info::GIT_VERSION},
        "paths": paths,
        "components": {"schemas": schemas},
    })
}

/// `GET /openapi/v3[/<gv path>]`.
pub fn v3(registry: &Registry, path: &str) -> Option<Response<Body>> {
    let rest = path.trim_start_matches("/openapi/v3").trim_matches('/');
    if rest.is_empty() {
        return Some(json_response(200, &v3_index(registry)));
    }
    let parts: Vec<&str> = rest.split('/').collect();
    let (group, version) = match parts.as_slice() {
        ["api", version] => ("", *version),
        ["apis", group, version] => (*group, *version),
        _ => return None,
    };
    if registry.resources_in(group, version).is_empty() {
        return None;
    }
    Some(json_response(200, &v3_document(registry, group, version)))
}

/// `GET /openapi/v2`: a protobuf `openapi_v2.Document` with `swagger: "2.0"` and its info, which
/// kubectl parses as a document without definitions (so it skips client-side validation).
pub fn v2() -> Response<Body> {
    fn field(number: u8, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![(number << 3) | 2, bytes.len() as u8];
        out.extend_from_slice(bytes);
        out
    }
    let mut info = field(1, b"Kubernetes");
    info.extend(field(2, super::info::GIT_VERSION.as_bytes()));
    let mut document = field(1, b"2.0");
    document.extend(field(2, &info));
    text_response(200, ContentType::OpenApiV2Protobuf, document)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v3_patch_operations_carry_gvk_and_field_validation() {
        let registry = Registry::builtin();
        let doc = v3_document(&registry, "apps", "v1");
        let path =
            &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
        assert_eq!(
            path["x-kubernetes-group-version-kind"],
            json!({"group": "apps", "version": "v1", "kind": "Deployment"})
        );
        assert_eq!(path["parameters"][0]["name"], "fieldValidation");
        let index = v3_index(&registry);
        assert!(index["paths"]["apis/apps/v1"]["serverRelativeURL"]
            .as_str()
            .unwrap()
            .starts_with("/openapi/v3/apis/apps/v1?hash="));
        assert!(index["paths"]["api/v1"].is_object());
    }
}
