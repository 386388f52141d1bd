//! `kubectl get` tables: objects converted to a `meta.k8s.io/v1 Table` with upstream's columns
//! (`pkg/printers/internalversion/printers.go`) when kubectl sends
//! `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`.
//!
//! Every cell is emitted, wide (`priority: 1`) ones included: kubectl hides those unless `-o wide`.
//! The caller sets `metadata.resourceVersion` (and `continue`) on the returned Table, and strips
//! `columnDefinitions` from all but the first watch event.

mod age;
mod custom;
mod printers;
mod value;

use serde::Serialize;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use crate::registry::ResourceInfo;

pub use age::{human_duration, since};
pub use custom::to_custom_table;

/// The `Accept` media type kubectl sends for tables (parameters in any order).
pub const TABLE_MEDIA_TYPE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io";

/// Why a table request cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// `?includeObject=` had a value other than `None`, `Object` or `Metadata`.
    #[error("includeObject must be one of None, Object or Metadata, not {0:?}")]
    InvalidIncludeObject(String),
}

/// Result of table parameter parsing.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<Error> for crate::status::StatusError {
    fn from(error: Error) -> Self {
        crate::status::StatusError::bad_request(error.to_string())
    }
}

/// What each row's `object` holds (`?includeObject=`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum IncludeObject {
    /// No object.
    None,
    /// A `PartialObjectMetadata` (the default): enough for `-A`, `--show-labels` and `-L`.
    #[default]
    Metadata,
    /// The full object (kubectl asks for it with `--sort-by`).
    Object,
}

impl IncludeObject {
    /// Parses the query parameter; absent or empty means [`IncludeObject::Metadata`].
    pub fn parse(value: Option<&str>) -> Result<Self> {
        match value.unwrap_or("") {
            "" | "Metadata" => Ok(Self::Metadata),
            "Object" => Ok(Self::Object),
            "None" => Ok(Self::None),
            other => Err(Error::InvalidIncludeObject(other.to_owned())),
        }
    }
}

/// Whether an `Accept` header asks for a `meta.k8s.io/v1` Table.
pub fn accepts_table(accept: &str) -> bool {
    accept.split(',').any(|media| {
        let mut parts = media.split(';').map(str::trim);
        let base = parts.next().unwrap_or_default();
        let params: Vec<(&str, &str)> = parts.filter_map(|p| p.split_once('=')).collect();
        let has = |k: &str, v: &str| {
            params
                .iter()
                .any(|(pk, pv)| pk.trim() == k && pv.trim() == v)
        };
        base.eq_ignore_ascii_case("application/json")
            && has("as", "Table")
            && has("g", "meta.k8s.io")
            && (has("v", "v1") || has("v", "v1beta1"))
    })
}

/// One column of a Table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnDefinition {
    /// Header text (kubectl upper-cases it).
    pub name: String,
    /// `string`, `integer`, `number`, `boolean` or `date`.
    #[serde(rename = "type")]
    pub column_type: String,
    /// `name` for the name column, else empty.
    pub format: String,
    /// What the column shows.
    pub description: String,
    /// 0 = always shown, 1 = only with `-o wide`.
    pub priority: i32,
}

/// The cells of one row, plus upstream's row conditions (e.g. `Completed` for finished pods).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Row {
    pub(crate) cells: Vec<Value>,
    pub(crate) conditions: Vec<Value>,
}

impl From<Vec<Value>> for Row {
    fn from(cells: Vec<Value>) -> Self {
        Self {
            cells,
            conditions: Vec::new(),
        }
    }
}

/// The column definitions used for `resource` (upstream's, or Name + Created At).
pub fn columns_for(resource: &ResourceInfo) -> Vec<ColumnDefinition> {
    printers::printer_for(resource).columns()
}

/// Converts objects of one resource to a Table with upstream's columns and cells.
pub fn to_table(
    resource: &ResourceInfo,
    objects: &[Value],
    now: OffsetDateTime,
    include: IncludeObject,
) -> Value {
    let printer = printers::printer_for(resource);
    let rows: Vec<Row> = objects.iter().map(|o| printer.row(o, now)).collect();
    build_table(resource, printer.columns(), objects, rows, include)
}

/// One watch event's object for a Table watch: a one-row Table. Upstream sends the column
/// definitions only with the first event (`first`); later ones carry an empty list and kubectl
/// reuses the columns it has.
pub fn to_watch_table(
    resource: &ResourceInfo,
    object: &Value,
    now: OffsetDateTime,
    include: IncludeObject,
    first: bool,
) -> Value {
    let mut table = to_table(resource, std::slice::from_ref(object), now, include);
    if !first {
        table["columnDefinitions"] = json!([]);
    }
    table
}

/// Assembles the Table JSON from computed columns and rows.
pub(crate) fn build_table(
    resource: &ResourceInfo,
    columns: Vec<ColumnDefinition>,
    objects: &[Value],
    rows: Vec<Row>,
    include: IncludeObject,
) -> Value {
    // Values are moved into maps rather than written with `json!`, which would copy each one
    // through serialization (a 10,000-pod Table is tens of megabytes).
    let rows: Vec<Value> = objects
        .iter()
        .zip(rows)
        .map(|(object, row)| {
            let mut out = Map::new();
            out.insert("cells".into(), Value::Array(row.cells));
            if !row.conditions.is_empty() {
                out.insert("conditions".into(), Value::Array(row.conditions));
            }
            match include {
                IncludeObject::None => {}
                IncludeObject::Metadata => {
                    let mut partial = Map::new();
                    partial.insert("kind".into(), "PartialObjectMetadata".into());
                    partial.insert("apiVersion".into(), "meta.k8s.io/v1".into());
                    partial.insert(
                        "metadata".into(),
                        object.get("metadata").cloned().unwrap_or_else(|| json!({})),
                    );
                    out.insert("object".into(), Value::Object(partial));
                }
                IncludeObject::Object => {
                    out.insert("object".into(), with_type_meta(resource, object));
                }
            }
            Value::Object(out)
        })
        .collect();
    let mut table = Map::new();
    table.insert("kind".into(), "Table".into());
    table.insert("apiVersion".into(), "meta.k8s.io/v1".into());
    table.insert("metadata".into(), json!({}));
    table.insert("columnDefinitions".into(), json!(columns));
    table.insert("rows".into(), Value::Array(rows));
    Value::Object(table)
}

/// The object with `kind`/`apiVersion` filled in (list items may lack them; kubectl needs them).
fn with_type_meta(resource: &ResourceInfo, object: &Value) -> Value {
    let mut object = object.clone();
    if let Some(map) = object.as_object_mut() {
        map.entry("kind").or_insert_with(|| json!(resource.kind));
        map.entry("apiVersion")
            .or_insert_with(|| json!(resource.api_version()));
    }
    object
}

#[cfg(test)]
mod tests;
