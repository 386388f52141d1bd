//! Table responses for `kubectl get` (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`), through
//! `clusterd_apimachinery::table`, honouring `includeObject`; custom resources use their CRD's
//! `additionalPrinterColumns`.

use clusterd_apimachinery::registry::ResourceInfo;
use clusterd_apimachinery::status::StatusError;
use clusterd_apimachinery::table::{self, IncludeObject};
use http::HeaderMap;
use serde_json::Value;
use time::OffsetDateTime;

use super::context::Ctx;
use crate::state::CRD_PREFIX;

/// Whether the request's `Accept` asks for a Table.
pub fn wants_table(headers: &HeaderMap) -> bool {
    headers
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(table::accepts_table)
}

/// Converts objects of one resource into Tables.
#[derive(Debug, Clone)]
pub struct Tabler {
    resource: ResourceInfo,
    include: IncludeObject,
    /// The CRD's printer columns for custom resources (`None` for built-ins).
    printer_columns: Option<Vec<Value>>,
    sent_columns: bool,
}

/// The `additionalPrinterColumns` of the served version of a custom resource's CRD.
async fn printer_columns(ctx: &Ctx<'_>) -> Vec<Value> {
    let key = format!(
        "{CRD_PREFIX}{}.{}",
        ctx.resource.resource, ctx.resource.group
    );
    let Ok(Some(kv)) = ctx.state.store.get(&key).await else {
        return Vec::new();
    };
    let Ok(crd) = serde_json::from_slice::<Value>(&kv.value) else {
        return Vec::new();
    };
    crd.pointer("/spec/versions")
        .and_then(Value::as_array)
        .and_then(|versions| {
            versions.iter().find(|v| {
                v.get("name").and_then(Value::as_str) == Some(ctx.resource.version.as_str())
            })
        })
        .and_then(|v| v.get("additionalPrinterColumns"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

impl Tabler {
    /// A converter for the request's resource and `includeObject` parameter.
    pub async fn new(ctx: &Ctx<'_>) -> Result<Self, StatusError> {
        let include = IncludeObject::parse(ctx.query.get("includeObject").map(String::as_str))?;
        let printer_columns = if ctx.resource.custom {
            Some(printer_columns(ctx).await)
        } else {
            None
        };
        Ok(Self {
            resource: ctx.resource.clone(),
            include,
            printer_columns,
            sent_columns: false,
        })
    }

    /// The Table of `objects` without list metadata: one chunk of a list written row by row.
    pub fn chunk(&self, objects: &[Value]) -> Value {
        self.convert(objects)
    }

    /// The Table of `objects`.
    fn convert(&self, objects: &[Value]) -> Value {
        let now = OffsetDateTime::now_utc();
        match &self.printer_columns {
            Some(columns) => {
                table::to_custom_table(&self.resource, columns, objects, now, self.include)
            }
            None => table::to_table(&self.resource, objects, now, self.include),
        }
    }

    /// A one-row Table for a watch event: column definitions only in the first one, as upstream.
    pub fn event_table(&mut self, object: Value) -> Value {
        let mut table = self.convert(std::slice::from_ref(&object));
        if self.sent_columns {
            if let Some(map) = table.as_object_mut() {
                map.remove("columnDefinitions");
            }
        }
        self.sent_columns = true;
        if let Some(rv) = object.pointer("/metadata/resourceVersion") {
            table["metadata"]["resourceVersion"] = rv.clone();
        }
        table
    }

    /// The Table of a list or get, with list metadata `resource_version` and `continue_token`.
    pub fn table(
        &self,
        objects: &[Value],
        resource_version: &str,
        continue_token: Option<&str>,
    ) -> Value {
        let mut table = self.convert(objects);
        table["metadata"]["resourceVersion"] = resource_version.into();
        if let Some(token) = continue_token {
            table["metadata"]["continue"] = token.into();
        }
        table
    }
}
