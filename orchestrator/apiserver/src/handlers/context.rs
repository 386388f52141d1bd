//! What every resource handler gets: the shared state, the caller, the parsed request and the
//! resolved resource; plus the small helpers they share.

use std::collections::HashMap;

use clusterd_apimachinery::registry::ResourceInfo;
use clusterd_apimachinery::selectors::{FieldSelector, LabelSelector};
use clusterd_apimachinery::status::StatusError;
use http::HeaderMap;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::authn::UserInfo;
use crate::objects::Target;
use crate::request_info::RequestInfo;
use crate::state::ApiState;

/// One resource request, resolved.
#[derive(Debug)]
pub struct Ctx<'a> {
    /// Shared server state.
    pub state: &'a ApiState,
    /// The caller.
    pub user: &'a UserInfo,
    /// The parsed path and verb.
    pub info: &'a RequestInfo,
    /// Decoded query parameters.
    pub query: &'a HashMap<String, String>,
    /// Request headers.
    pub headers: &'a HeaderMap,
    /// The addressed resource.
    pub target: Target,
    /// The registry entry of the addressed resource.
    pub resource: ResourceInfo,
}

impl Ctx<'_> {
    /// A query parameter, or `""`.
    pub fn param(&self, key: &str) -> &str {
        self.query.get(key).map(String::as_str).unwrap_or_default()
    }

    /// Whether `dryRun=All` was asked for.
    pub fn dry_run(&self) -> bool {
        self.query.get("dryRun").is_some_and(|v| v == "All")
    }

    /// The store key of the object the path names.
    pub fn key(&self) -> String {
        self.target.key(&self.info.namespace, &self.info.name)
    }

    /// 404 for the object the path names.
    pub fn not_found(&self) -> StatusError {
        StatusError::not_found(&self.target.resource, &self.target.group, &self.info.name)
    }

    /// The label and field selectors of the query (400 when malformed or unsupported).
    pub fn selectors(&self) -> Result<Selectors, StatusError> {
        let label = LabelSelector::parse(self.param("labelSelector"))
            .map_err(|e| StatusError::bad_request(e.to_string()))?;
        let field = FieldSelector::parse(self.param("fieldSelector"))
            .and_then(|f| f.validate_for(&self.target.group, &self.target.resource))
            .map_err(|e| StatusError::bad_request(e.to_string()))?;
        Ok(Selectors {
            label,
            field,
            group: self.target.group.clone(),
            resource: self.target.resource.clone(),
        })
    }

    /// The field manager of a write: `fieldManager`, or the user agent's program name as upstream.
    pub fn field_manager(&self) -> String {
        let manager = self.param("fieldManager");
        if !manager.is_empty() {
            return manager.to_owned();
        }
        self.headers
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .and_then(|ua| ua.split('/').next())
            .filter(|s| !s.is_empty())
            .unwrap_or("unknown")
            .to_owned()
    }
}

/// Label and field selectors of a list or watch.
#[derive(Debug, Clone)]
pub struct Selectors {
    label: LabelSelector,
    field: FieldSelector,
    group: String,
    resource: String,
}

impl Selectors {
    /// Whether `object` passes both selectors.
    pub fn matches(&self, object: &Value) -> bool {
        (self.label.is_empty() || self.label.matches_object(object))
            && (self.field.is_empty()
                || self
                    .field
                    .matches_object(&self.group, &self.resource, object))
    }
}

/// Now, RFC 3339 to the second as Kubernetes timestamps are.
pub fn now_timestamp() -> String {
    let now = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    now.format(&Rfc3339).unwrap_or_default()
}

/// A timestamp `seconds` from now.
pub fn timestamp_in(seconds: i64) -> String {
    let at = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        + time::Duration::seconds(seconds);
    at.format(&Rfc3339).unwrap_or_default()
}

/// Sets `kind` and `apiVersion` of an object to the target's.
pub fn with_type(mut object: Value, target: &Target) -> Value {
    if let Some(map) = object.as_object_mut() {
        map.insert("kind".into(), Value::String(target.kind.clone()));
        map.insert("apiVersion".into(), Value::String(target.api_version()));
    }
    object
}

/// Decodes a request body as JSON (or YAML, which JSON is a subset of) into an object; malformed
/// bodies are 400 with upstream's wording.
pub fn decode_body(bytes: &[u8], media_type: &str) -> Result<Value, StatusError> {
    if media_type == crate::protobuf::MEDIA_TYPE {
        return crate::protobuf::decode(bytes)
            .map_err(|e| StatusError::bad_request(format!("unable to decode protobuf body: {e}")));
    }
    if media_type.contains("protobuf") || media_type.contains("cbor") {
        return Err(StatusError::unsupported_media_type(&[
            "application/json",
            "application/yaml",
            crate::protobuf::MEDIA_TYPE,
        ]));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(StatusError::bad_request(
            "the body of the request was empty",
        ));
    }
    // JSON is YAML: bodies that start like JSON are parsed as JSON only (fast, and with serde's
    // nesting limit), whatever the media type says.
    let looks_like_json = bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| matches!(b, b'{' | b'['));
    let value: Value = if media_type.contains("yaml") && !looks_like_json {
        if flow_depth(bytes) > MAX_YAML_DEPTH {
            return Err(StatusError::bad_request(format!(
                "error converting YAML to JSON: yaml: exceeded max depth of {MAX_YAML_DEPTH}"
            )));
        }
        serde_yaml::from_slice(bytes).map_err(|e| {
            StatusError::bad_request(format!("error converting YAML to JSON: yaml: {e}"))
        })?
    } else {
        serde_json::from_slice(bytes).map_err(|e| {
            StatusError::bad_request(format!("couldn't get version/kind; json parse error: {e}"))
        })?
    };
    if !value.is_object() {
        return Err(StatusError::bad_request(
            "couldn't get version/kind; json parse error: the body is not a JSON object",
        ));
    }
    Ok(value)
}

/// The deepest flow nesting (`[`/`{`) a YAML body may have; deeper ones are refused before parsing
/// (the parser is slow on them).
const MAX_YAML_DEPTH: usize = 1000;

/// The maximum nesting of `[`/`{` in `bytes` (quotes are not considered: an upper bound).
fn flow_depth(bytes: &[u8]) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    for b in bytes {
        match b {
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// A string field of an object by JSON pointer, or `""`.
pub fn text<'v>(object: &'v Value, pointer: &str) -> &'v str {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The mutable `metadata` map of an object, created if missing.
pub fn metadata_mut(object: &mut Value) -> &mut serde_json::Map<String, Value> {
    if !object.get("metadata").is_some_and(Value::is_object) {
        object["metadata"] = Value::Object(Default::default());
    }
    object["metadata"]
        .as_object_mut()
        .expect("metadata was just made an object")
}
