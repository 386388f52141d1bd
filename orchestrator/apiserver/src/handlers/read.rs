//! GET of one object and of collections: JSON, or Tables for `kubectl get`; limit/continue paging;
//! selectors; resourceVersion semantics.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use clusterd_apimachinery::status::StatusError;
use http::Response;
use serde_json::{json, Value};

use super::context::{with_type, Ctx};
use super::tables;
use super::tables::wants_table as accepts_table;
use crate::http::{json_response, Body};
use crate::objects::{self, list_filtered};

/// `GET .../<resource>/<name>`.
pub async fn get(ctx: &Ctx<'_>) -> Result<Response<Body>, StatusError> {
    let stored = objects::get(&ctx.state.store, &ctx.target, &ctx.key(), &ctx.info.name)
        .await?
        .ok_or_else(|| ctx.not_found())?;
    let object = with_type(stored.object, &ctx.target);
    if accepts_table(ctx.headers) {
        let rv = stored.revision.to_string();
        return Ok(json_response(
            200,
            &tables::Tabler::new(ctx)
                .await?
                .table(std::slice::from_ref(&object), &rv, None),
        ));
    }
    Ok(json_response(200, &object))
}

/// A decoded continue token: the revision of the first page and the last key returned.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Continue {
    revision: i64,
    start_after: String,
}

fn encode_continue(revision: i64, start_after: &str) -> String {
    STANDARD
        .encode(json!({"v": "meta.k8s.io/v1", "rv": revision, "start": start_after}).to_string())
}

fn decode_continue(token: &str) -> Result<Continue, StatusError> {
    let bad = || StatusError::bad_request(format!("continue key is not valid: {token}"));
    let bytes = STANDARD.decode(token).map_err(|_| bad())?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    Ok(Continue {
        revision: value.get("rv").and_then(Value::as_i64).ok_or_else(bad)?,
        start_after: value
            .get("start")
            .and_then(Value::as_str)
            .ok_or_else(bad)?
            .to_owned(),
    })
}

/// Parses a `resourceVersion` parameter: `""`/`"0"` = latest (0), else a revision.
pub fn parse_resource_version(value: &str) -> Result<i64, StatusError> {
    if value.is_empty() {
        return Ok(0);
    }
    value
        .parse::<i64>()
        .ok()
        .filter(|v| *v >= 0)
        .ok_or_else(|| StatusError::bad_request(format!("invalid resource version: {value}")))
}

/// `GET .../<resource>` without `watch`.
pub async fn list(ctx: &Ctx<'_>) -> Result<Response<Body>, StatusError> {
    let selectors = ctx.selectors()?;
    let limit = match ctx.param("limit") {
        "" => 0,
        l => l
            .parse::<usize>()
            .map_err(|_| StatusError::bad_request(format!("invalid limit: {l}")))?,
    };
    let (revision, start_after) = match ctx.param("continue") {
        "" => {
            let rv = parse_resource_version(ctx.param("resourceVersion"))?;
            let exact = ctx.param("resourceVersionMatch") == "Exact";
            (if exact { rv } else { 0 }, None)
        }
        token => {
            let token = decode_continue(token)?;
            (token.revision, Some(token.start_after))
        }
    };
    let prefix = ctx.target.prefix(&ctx.info.namespace);
    let page = list_filtered(
        &ctx.state.store,
        &prefix,
        revision,
        start_after,
        limit,
        |o| selectors.matches(o),
    )
    .await
    .map_err(|e| ctx.target.store_error("", e))?;
    let rv = page.revision.to_string();
    let continue_token = page
        .continue_after
        .as_deref()
        .map(|key| encode_continue(page.revision, key));
    let items: Vec<Value> = page
        .items
        .into_iter()
        .map(|o| with_type(o, &ctx.target))
        .collect();
    if accepts_table(ctx.headers) {
        let table = tables::Tabler::new(ctx)
            .await?
            .table(&items, &rv, continue_token.as_deref());
        return Ok(json_response(200, &table));
    }
    let mut metadata = json!({"resourceVersion": rv});
    if let Some(token) = continue_token {
        metadata["continue"] = token.into();
    }
    // Items are moved in, not written with `json!`, which would copy every object through
    // serialization (twice the memory and time of a 10,000-pod list).
    let mut list = serde_json::Map::new();
    list.insert("kind".into(), ctx.target.list_kind().into());
    list.insert("apiVersion".into(), ctx.target.api_version().into());
    list.insert("metadata".into(), metadata);
    list.insert("items".into(), Value::Array(items));
    Ok(json_response(200, &Value::Object(list)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_tokens_round_trip_and_garbage_is_400() {
        let token = encode_continue(42, "/registry/core/pods/a/web");
        assert_eq!(
            decode_continue(&token).unwrap(),
            Continue {
                revision: 42,
                start_after: "/registry/core/pods/a/web".into()
            }
        );
        assert_eq!(decode_continue("%%%").unwrap_err().code, 400);
    }

    #[test]
    fn resource_versions_parse_as_revisions() {
        assert_eq!(parse_resource_version("").unwrap(), 0);
        assert_eq!(parse_resource_version("17").unwrap(), 17);
        assert_eq!(parse_resource_version("abc").unwrap_err().code, 400);
    }
}
