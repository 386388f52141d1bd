//! Tables for custom resources from a CRD version's `additionalPrinterColumns`.

use serde_json::{json, Value};
use time::OffsetDateTime;

use super::age::since;
use super::printers::{CREATED_DOC, NAME_DOC};
use super::{build_table, ColumnDefinition, IncludeObject, Row};
use crate::registry::ResourceInfo;

/// Converts custom resources to a Table with the CRD's printer columns (`additionalPrinterColumns`
/// of the served version, as JSON); without any, the columns are Name and Age, as upstream.
pub fn to_custom_table(
    resource: &ResourceInfo,
    printer_columns: &[Value],
    objects: &[Value],
    now: OffsetDateTime,
    include: IncludeObject,
) -> Value {
    let default_age = [
        json!({"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp", "description": CREATED_DOC}),
    ];
    let specs = if printer_columns.is_empty() {
        &default_age[..]
    } else {
        printer_columns
    };
    let text = |c: &Value, k: &str| {
        c.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let mut columns = vec![ColumnDefinition {
        name: "Name".to_owned(),
        column_type: "string".to_owned(),
        format: "name".to_owned(),
        description: NAME_DOC.to_owned(),
        priority: 0,
    }];
    columns.extend(specs.iter().map(|c| {
        ColumnDefinition {
            name: text(c, "name"),
            column_type: text(c, "type"),
            format: text(c, "format"),
            description: text(c, "description"),
            priority: c
                .get("priority")
                .and_then(Value::as_i64)
                .and_then(|p| i32::try_from(p).ok())
                .unwrap_or(0),
        }
    }));
    let rows = objects
        .iter()
        .map(|object| {
            let mut cells = vec![json!(object
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or(""))];
            for spec in specs {
                let found = json_path(object, &text(spec, "jsonPath"));
                cells.push(cell(&text(spec, "type"), &found, now));
            }
            Row::from(cells)
        })
        .collect();
    build_table(resource, columns, objects, rows, include)
}

/// A cell from the values a column's JSONPath found, typed like upstream's `cellForJSONValue`.
fn cell(column_type: &str, found: &[&Value], now: OffsetDateTime) -> Value {
    let [value] = found else {
        if found.is_empty() {
            return Value::Null;
        }
        let parts: Vec<String> = found.iter().map(|v| plain(v)).collect();
        return json!(parts.join(","));
    };
    match (column_type, value) {
        ("date", Value::String(s)) => json!(since(Some(s), now)),
        ("integer", Value::Number(n)) => n.as_i64().map_or(Value::Null, Value::from),
        ("number", Value::Number(n)) => json!(n),
        ("boolean", Value::Bool(b)) => json!(b),
        ("string", v) => json!(plain(v)),
        _ => Value::Null,
    }
}

fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Evaluates the JSONPath subset printer columns use: `.a.b`, `[n]`, `[*]`, `['key']`,
/// `[?(@.field=="value")]`, optionally wrapped in `{...}`.
pub(crate) fn json_path<'a>(object: &'a Value, path: &str) -> Vec<&'a Value> {
    let path = path.trim();
    let path = path
        .strip_prefix('{')
        .and_then(|p| p.strip_suffix('}'))
        .unwrap_or(path);
    let path = path.strip_prefix('$').unwrap_or(path);
    let mut current = vec![object];
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            let key = &after[..end];
            rest = &after[end..];
            if !key.is_empty() {
                current = current.into_iter().filter_map(|v| v.get(key)).collect();
            }
        } else if let Some(after) = rest.strip_prefix('[') {
            let Some(end) = after.find(']') else {
                return Vec::new();
            };
            let inner = &after[..end];
            rest = &after[end + 1..];
            current = select(current, inner);
        } else {
            return Vec::new();
        }
    }
    current
}

fn select<'a>(values: Vec<&'a Value>, inner: &str) -> Vec<&'a Value> {
    if inner == "*" {
        return values
            .into_iter()
            .flat_map(|v| match v {
                Value::Array(items) => items.iter().collect::<Vec<_>>(),
                Value::Object(map) => map.values().collect(),
                _ => Vec::new(),
            })
            .collect();
    }
    if let Some(filter) = inner.strip_prefix("?(@").and_then(|f| f.strip_suffix(')')) {
        let Some((field, wanted)) = filter.split_once("==") else {
            return Vec::new();
        };
        let wanted = wanted.trim().trim_matches(|c| c == '"' || c == '\'');
        return values
            .into_iter()
            .flat_map(|v| v.as_array().into_iter().flatten())
            .filter(|item| {
                json_path(item, field.trim())
                    .first()
                    .is_some_and(|v| plain(v) == wanted)
            })
            .collect();
    }
    if let Ok(index) = inner.parse::<usize>() {
        return values.into_iter().filter_map(|v| v.get(index)).collect();
    }
    let key = inner.trim_matches(|c| c == '"' || c == '\'');
    values.into_iter().filter_map(|v| v.get(key)).collect()
}
