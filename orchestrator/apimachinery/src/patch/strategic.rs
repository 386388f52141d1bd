//! Strategic merge patch (`application/strategic-merge-patch+json`), as upstream's
//! `apimachinery/pkg/util/strategicpatch` applies it to built-in types.

use serde_json::{Map, Value};

use super::schema::{self, FieldSchema, ListKind};
use super::{Error, Result};

const PATCH: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const SET_ELEMENT_ORDER: &str = "$setElementOrder/";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList/";

/// Applies a strategic merge patch to `original`, an object of `kind` (a built-in kind such as `Pod`).
///
/// Lists merge by their upstream merge keys, `null` deletes a key, and the directives `$patch`,
/// `$retainKeys`, `$setElementOrder/<list>` and `$deleteFromPrimitiveList/<list>` are honoured and never
/// stored.
pub fn strategic_merge(original: &Value, patch: &Value, kind: &str) -> Result<Value> {
    let (Value::Object(original), Value::Object(patch)) = (original, patch) else {
        return Err(Error::NotAnObject {
            patch_type: "strategic merge",
        });
    };
    let merged = merge_map(original.clone(), patch, Some(schema::root(kind)), "")?;
    Ok(Value::Object(merged))
}

fn child_path(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn merge_map(
    mut original: Map<String, Value>,
    patch: &Map<String, Value>,
    ty: Option<&str>,
    path: &str,
) -> Result<Map<String, Value>> {
    match patch.get(PATCH) {
        None => {}
        Some(Value::String(d)) if d == "replace" => return Ok(strip_directives(patch)),
        Some(Value::String(d)) if d == "delete" => return Ok(Map::new()),
        // Upstream accepts only replace and delete in maps ("merge" included).
        Some(Value::String(other)) => {
            return Err(Error::UnknownDirective {
                path: path.to_string(),
                value: other.clone(),
            })
        }
        Some(other) => {
            return Err(Error::UnknownDirective {
                path: path.to_string(),
                value: other.to_string(),
            })
        }
    }
    if let Some(retain) = patch.get(RETAIN_KEYS) {
        let Value::Array(keep) = retain else {
            return Err(Error::InvalidDirective {
                path: path.to_string(),
                directive: RETAIN_KEYS.into(),
            });
        };
        original.retain(|k, _| keep.iter().any(|r| r.as_str() == Some(k)));
    }
    for (key, value) in patch {
        if let Some(list) = key.strip_prefix(DELETE_FROM_PRIMITIVE_LIST) {
            // Upstream ignores a value that is not a list.
            let Value::Array(remove) = value else {
                continue;
            };
            if let Some(Value::Array(items)) = original.get_mut(list) {
                items.retain(|item| !remove.contains(item));
            }
        }
    }
    for (key, value) in patch {
        if key.starts_with('$') {
            continue;
        }
        let field = ty.and_then(|t| schema::field(t, key));
        let at = child_path(path, key);
        if value.is_null() {
            original.remove(key);
            continue;
        }
        let order = match patch.get(&format!("{SET_ELEMENT_ORDER}{key}")) {
            Some(Value::Array(order)) => Some(order.as_slice()),
            Some(_) => {
                return Err(Error::InvalidDirective {
                    path: at,
                    directive: format!("{SET_ELEMENT_ORDER}{key}"),
                })
            }
            None => None,
        };
        let current = original.remove(key);
        let merged = match (current, value) {
            (Some(Value::Array(current)), Value::Array(items)) => Value::Array(merge_list(
                current,
                items,
                list_kind(field),
                field.and_then(|f| f.ty),
                &at,
                order,
            )?),
            (None, Value::Array(items)) if order.is_some() => Value::Array(merge_list(
                Vec::new(),
                items,
                list_kind(field),
                field.and_then(|f| f.ty),
                &at,
                order,
            )?),
            (Some(current @ Value::Object(_)), Value::Object(_)) => {
                merge_value(current, value, field, &at)?
            }
            (_, _) => match unmatched(value) {
                Some(value) => value,
                None => continue,
            },
        };
        original.insert(key.clone(), merged);
    }
    // `$setElementOrder` for a list the patch does not otherwise touch: only the order changes.
    for (key, order) in patch {
        let Some(list) = key.strip_prefix(SET_ELEMENT_ORDER) else {
            continue;
        };
        if patch.contains_key(list) {
            continue;
        }
        let Value::Array(order) = order else {
            return Err(Error::InvalidDirective {
                path: child_path(path, list),
                directive: key.clone(),
            });
        };
        let field = ty.and_then(|t| schema::field(t, list));
        if let Some(Value::Array(items)) = original.get_mut(list) {
            let identity = identity_fn(list_kind(field));
            let server_order = items.clone();
            *items = normalize_order(std::mem::take(items), order, &server_order, &identity);
        }
    }
    Ok(original)
}

/// A patch value for a key the original lacks (or holds with another type), as upstream stores it: nulls
/// are discarded and maps carrying a `$patch` directive are dropped, at every depth; `None` when the value
/// itself carries one. Other directive keys stay, as they do upstream (`kubectl patch --local` agrees).
fn unmatched(value: &Value) -> Option<Value> {
    match value {
        Value::Object(map) if map.contains_key(PATCH) => None,
        Value::Object(map) => Some(Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .filter_map(|(k, v)| unmatched(v).map(|v| (k.clone(), v)))
                .collect(),
        )),
        Value::Array(items) => Some(Value::Array(items.iter().filter_map(unmatched).collect())),
        other => Some(other.clone()),
    }
}

/// Merges two values of the same type (objects into objects, lists into lists); anything else replaces.
fn merge_value(
    current: Value,
    patch: &Value,
    field: Option<FieldSchema>,
    path: &str,
) -> Result<Value> {
    let ty = field.and_then(|f| f.ty);
    match (current, patch) {
        (Value::Object(current), Value::Object(patch)) => {
            Ok(Value::Object(merge_map(current, patch, ty, path)?))
        }
        (Value::Array(current), Value::Array(patch)) => {
            merge_list(current, patch, list_kind(field), ty, path, None).map(Value::Array)
        }
        (_, other) => Ok(unmatched(other).unwrap_or(Value::Null)),
    }
}

/// `$patch: replace` in a map: the patch, without the directive, replaces the map as it is.
fn strip_directives(patch: &Map<String, Value>) -> Map<String, Value> {
    let mut replacement = patch.clone();
    replacement.remove(PATCH);
    replacement
}

fn directive_of(item: &Value) -> Option<&str> {
    item.as_object()
        .and_then(|m| m.get(PATCH))
        .and_then(Value::as_str)
}

fn list_kind(field: Option<FieldSchema>) -> ListKind {
    field.map_or(ListKind::Atomic, |f| f.list)
}

/// Merges a patch list into the original list according to the list's strategy; `order` is the
/// `$setElementOrder` list for it, if the patch has one.
fn merge_list(
    original: Vec<Value>,
    patch: &[Value],
    kind: ListKind,
    ty: Option<&'static str>,
    path: &str,
    order: Option<&[Value]>,
) -> Result<Vec<Value>> {
    for (index, item) in patch.iter().enumerate() {
        if let Some(directive) = directive_of(item).filter(|d| !matches!(*d, "replace" | "delete"))
        {
            return Err(Error::UnknownDirective {
                path: format!("{path}[{index}]"),
                value: directive.to_string(),
            });
        }
    }
    if kind == ListKind::Set && !same_element_types(&original, patch) {
        return Err(Error::MixedListTypes {
            path: path.to_string(),
        });
    }
    let replace = patch
        .iter()
        .any(|item| directive_of(item) == Some("replace"));
    let server_order = original.clone();
    let merged = match kind {
        ListKind::Atomic => return Ok(patch.to_vec()),
        ListKind::Set => {
            let mut merged = if replace { Vec::new() } else { original };
            for item in patch.iter().filter(|item| directive_of(item).is_none()) {
                if !merged.contains(item) {
                    merged.push(item.clone());
                }
            }
            merged
        }
        ListKind::Keyed(keys) => {
            let key = keys[0];
            let mut merged = if replace { Vec::new() } else { original };
            for (index, item) in patch.iter().enumerate() {
                let at = format!("{path}[{index}]");
                let Value::Object(item_map) = item else {
                    return Err(Error::InvalidListItem { path: at });
                };
                if item_map.get(PATCH).and_then(Value::as_str) == Some("replace")
                    && item_map.len() == 1
                {
                    continue;
                }
                let Some(wanted) = item_map.get(key) else {
                    return Err(Error::MissingMergeKey {
                        path: at,
                        key: key.to_string(),
                    });
                };
                let existing = merged.iter().position(|m| m.get(key) == Some(wanted));
                if item_map.get(PATCH).and_then(Value::as_str) == Some("delete") {
                    merged.retain(|m| m.get(key) != Some(wanted));
                    continue;
                }
                match existing {
                    Some(position) => {
                        let current = std::mem::take(&mut merged[position]);
                        merged[position] = merge_value(current, item, Some(item_field(ty)), &at)?;
                    }
                    // Upstream appends new elements exactly as the patch has them.
                    None => merged.push(item.clone()),
                }
            }
            merged
        }
    };
    let patch_order: Vec<Value> = patch
        .iter()
        .filter(|item| directive_of(item).is_none())
        .cloned()
        .collect();
    let identity = identity_fn(kind);
    Ok(normalize_order(
        merged,
        order.unwrap_or(&patch_order),
        &server_order,
        &identity,
    ))
}

/// Whether every element of both lists has the same JSON type, as upstream requires of merged lists.
fn same_element_types(original: &[Value], patch: &[Value]) -> bool {
    let kind = |v: &Value| std::mem::discriminant(v);
    let mut all = original.iter().chain(patch);
    match all.next() {
        Some(first) => all.all(|v| kind(v) == kind(first)),
        None => true,
    }
}

/// What identifies a list element: its merge key for keyed lists, the value itself otherwise.
fn identity_fn(kind: ListKind) -> impl Fn(&Value) -> Value {
    move |item: &Value| match kind {
        ListKind::Keyed(keys) => item.get(keys[0]).cloned().unwrap_or(Value::Null),
        _ => item.clone(),
    }
}

/// Orders a merged list as upstream's `normalizeElementOrder` does: elements named by the patch (or its
/// `$setElementOrder`) follow that order, elements only on the server keep their live order, and the two
/// are interleaved by their live positions (`mergeSortedSlice`).
fn normalize_order(
    merged: Vec<Value>,
    order: &[Value],
    server_order: &[Value],
    identity: &dyn Fn(&Value) -> Value,
) -> Vec<Value> {
    let order_ids: Vec<Value> = order.iter().map(identity).collect();
    let server_ids: Vec<Value> = server_order.iter().map(identity).collect();
    let position = |ids: &[Value], item: &Value| ids.iter().position(|id| *id == identity(item));
    let (mut patch_items, mut server_only): (Vec<Value>, Vec<Value>) = merged
        .into_iter()
        .partition(|item| position(&order_ids, item).is_some());
    stable_sort_like_go(&mut patch_items, |a, b| {
        match (position(&order_ids, a), position(&order_ids, b)) {
            (Some(i), Some(j)) => i < j,
            _ => true,
        }
    });
    stable_sort_like_go(&mut server_only, |a, b| {
        match (position(&server_ids, a), position(&server_ids, b)) {
            (Some(i), Some(j)) => i < j,
            _ => true,
        }
    });
    let mut out = Vec::with_capacity(patch_items.len() + server_only.len());
    let (mut left, mut right) = (
        server_only.into_iter().peekable(),
        patch_items.into_iter().peekable(),
    );
    loop {
        match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => out.extend(left.next()),
            (None, Some(_)) => out.extend(right.next()),
            (Some(l), Some(r)) => {
                let left_first = matches!((position(&server_ids, l), position(&server_ids, r)), (Some(i), Some(j)) if i < j);
                if left_first {
                    out.extend(left.next())
                } else {
                    out.extend(right.next())
                }
            }
        }
    }
    out
}

/// Go's `sort.SliceStable` on short slices is an insertion sort; upstream's comparator is not a strict
/// order (unknown elements compare "less"), so its exact steps are reproduced here.
fn stable_sort_like_go(items: &mut [Value], less: impl Fn(&Value, &Value) -> bool) {
    for i in 1..items.len() {
        let mut j = i;
        while j > 0 && less(&items[j], &items[j - 1]) {
            items.swap(j, j - 1);
            j -= 1;
        }
    }
}

fn item_field(ty: Option<&'static str>) -> FieldSchema {
    FieldSchema {
        ty,
        list: ListKind::Atomic,
        retain_keys: false,
        granular_map: false,
        atomic: false,
    }
}
