//! Small readers over JSON objects, treating absent fields as upstream's zero values.

use serde_json::Value;

/// The string at `pointer`, or `""`.
pub(crate) fn text<'a>(object: &'a Value, pointer: &str) -> &'a str {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// The string at `pointer`, if present and non-empty.
pub(crate) fn opt_text<'a>(object: &'a Value, pointer: &str) -> Option<&'a str> {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// The integer at `pointer`, or 0.
pub(crate) fn int(object: &Value, pointer: &str) -> i64 {
    object.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

/// The boolean at `pointer`, or false.
pub(crate) fn flag(object: &Value, pointer: &str) -> bool {
    object
        .pointer(pointer)
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// The array at `pointer`, or empty.
pub(crate) fn list<'a>(object: &'a Value, pointer: &str) -> &'a [Value] {
    object
        .pointer(pointer)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The number of keys of the map at `pointer`.
pub(crate) fn map_len(object: &Value, pointer: &str) -> usize {
    object
        .pointer(pointer)
        .and_then(Value::as_object)
        .map_or(0, serde_json::Map::len)
}

/// `k1=v1,k2=v2` sorted by key, or `<none>` (upstream `labels.FormatLabels`).
pub(crate) fn format_labels(object: &Value, pointer: &str) -> String {
    let mut pairs: Vec<String> = object
        .pointer(pointer)
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    pairs.sort();
    if pairs.is_empty() {
        "<none>".to_owned()
    } else {
        pairs.join(",")
    }
}

/// The condition of `type` in `conditions` has status `True`.
pub(crate) fn condition_true(object: &Value, pointer: &str, condition: &str) -> bool {
    list(object, pointer)
        .iter()
        .any(|c| text(c, "/type") == condition && text(c, "/status") == "True")
}
