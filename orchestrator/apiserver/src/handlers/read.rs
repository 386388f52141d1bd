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
use crate::http::{json_response, text_response, Body, ContentType};
use crate::objects::{self, list_each};

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
    let tabler = if accepts_table(ctx.headers) {
        Some(tables::Tabler::new(ctx).await?)
    } else {
        None
    };
    // The body is written object by object (in chunks for Tables), so a large list never holds
    // every decoded object, nor a second copy of the response as a JSON value.
    let mut writer = ListWriter::new(tabler);
    let (revision, continue_after) = list_each(
        &ctx.state.store,
        &prefix,
        revision,
        start_after,
        limit,
        |o| selectors.matches(o),
        |object| writer.push(with_type(object, &ctx.target)),
    )
    .await
    .map_err(|e| ctx.target.store_error("", e))?;
    let mut metadata = json!({"resourceVersion": revision.to_string()});
    if let Some(key) = continue_after {
        metadata["continue"] = encode_continue(revision, &key).into();
    }
    let body = writer.finish(ctx.target.list_kind(), ctx.target.api_version(), metadata);
    Ok(text_response(200, ContentType::Json, body))
}

/// How many objects a Table list converts at once.
const TABLE_CHUNK: usize = 256;

/// Writes a list response (`items`) or a Table (`rows`) as objects arrive.
struct ListWriter {
    tabler: Option<tables::Tabler>,
    body: Vec<u8>,
    pending: Vec<Value>,
    items: usize,
    /// The Table's fields other than rows and metadata (column definitions, kind), once known.
    table_head: Option<serde_json::Map<String, Value>>,
}

impl ListWriter {
    fn new(tabler: Option<tables::Tabler>) -> Self {
        let mut body = Vec::with_capacity(4096);
        body.extend_from_slice(if tabler.is_some() {
            b"{\"rows\":["
        } else {
            b"{\"items\":["
        });
        Self {
            tabler,
            body,
            pending: Vec::new(),
            items: 0,
            table_head: None,
        }
    }

    fn write(&mut self, value: &Value) {
        if self.items > 0 {
            self.body.push(b',');
        }
        // Writing a Value into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut self.body, value);
        self.items += 1;
    }

    fn push(&mut self, object: Value) {
        if self.tabler.is_none() {
            self.write(&object);
            return;
        }
        self.pending.push(object);
        if self.pending.len() == TABLE_CHUNK {
            self.flush_rows();
        }
    }

    /// Converts the pending objects to Table rows and writes them.
    fn flush_rows(&mut self) {
        let Some(tabler) = &self.tabler else { return };
        let pending = std::mem::take(&mut self.pending);
        if pending.is_empty() && self.table_head.is_some() {
            return;
        }
        let mut table = tabler.chunk(&pending);
        drop(pending);
        let rows = match table.as_object_mut().and_then(|t| t.remove("rows")) {
            Some(Value::Array(rows)) => rows,
            _ => Vec::new(),
        };
        if self.table_head.is_none() {
            if let Value::Object(mut head) = table {
                head.remove("metadata");
                self.table_head = Some(head);
            }
        }
        for row in &rows {
            self.write(row);
        }
    }

    /// The whole body: the items or rows, then kind, apiVersion, metadata (and the Table's
    /// column definitions). Key order does not matter to JSON clients.
    fn finish(mut self, kind: String, api_version: String, metadata: Value) -> Vec<u8> {
        let mut tail = serde_json::Map::new();
        if self.tabler.is_some() {
            self.flush_rows();
            tail = self.table_head.take().unwrap_or_default();
        } else {
            tail.insert("kind".into(), kind.into());
            tail.insert("apiVersion".into(), api_version.into());
        }
        tail.insert("metadata".into(), metadata);
        self.body.extend_from_slice(b"],");
        let tail = serde_json::to_vec(&Value::Object(tail)).unwrap_or_default();
        // `{"kind":…}` without its opening brace continues the object opened in `new`.
        self.body
            .extend_from_slice(tail.get(1..).unwrap_or_default());
        self.body.push(b'\n');
        self.body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_written_object_by_object_parse_as_one_list() {
        let mut writer = ListWriter::new(None);
        for name in ["a", "b"] {
            writer.push(json!({"metadata": {"name": name}}));
        }
        let body = writer.finish(
            "PodList".into(),
            "v1".into(),
            json!({"resourceVersion": "7"}),
        );
        let list: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(list["kind"], "PodList");
        assert_eq!(list["apiVersion"], "v1");
        assert_eq!(list["metadata"]["resourceVersion"], "7");
        assert_eq!(list["items"][1]["metadata"]["name"], "b");
        let empty = ListWriter::new(None).finish("PodList".into(), "v1".into(), json!({}));
        let empty: Value = serde_json::from_slice(&empty).unwrap();
        assert_eq!(empty["items"], json!([]));
    }

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
