//! Sets of field paths in the FieldsV1 encoding of `metadata.managedFields`
//! (`{"f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{".":{},"f:image":{}}}}}`), as
//! sigs.k8s.io/structured-merge-diff writes them.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::schema::{self, FieldSchema, ListKind};

/// A set of field paths: the fields one manager owns, or the fields that differ between two objects.
///
/// Each node is one path element (`f:<field>`, `k:<key fields as JSON>`, `v:<value as JSON>`); a node is a
/// member of the set (`"."` in FieldsV1, or an empty object for a leaf) when the field itself is owned,
/// not only fields below it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSet {
    member: bool,
    children: BTreeMap<String, FieldSet>,
}

/// Top-level fields and metadata fields that no manager owns (upstream strips them before tracking).
const IGNORED_METADATA: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "selfLink",
    "managedFields",
];

impl FieldSet {
    /// Decodes a FieldsV1 object.
    pub fn from_fields_v1(fields: &Value) -> Result<Self, String> {
        let Value::Object(map) = fields else {
            return Err(format!("fieldsV1 must be an object, got {fields}"));
        };
        let mut set = FieldSet::default();
        for (key, value) in map {
            if key == "." {
                set.member = true;
                continue;
            }
            if !(key.starts_with("f:")
                || key.starts_with("k:")
                || key.starts_with("v:")
                || key.starts_with("i:"))
            {
                return Err(format!("unknown fieldsV1 path element {key:?}"));
            }
            let mut child = FieldSet::from_fields_v1(value)?;
            if child.children.is_empty() {
                child.member = true;
            }
            set.children.insert(key.clone(), child);
        }
        Ok(set)
    }

    /// Encodes the set as a FieldsV1 object.
    pub fn to_fields_v1(&self) -> Value {
        let mut map = Map::new();
        if self.member && !self.children.is_empty() {
            map.insert(".".into(), Value::Object(Map::new()));
        }
        for (key, child) in &self.children {
            map.insert(key.clone(), child.to_fields_v1());
        }
        Value::Object(map)
    }

    /// The fields of `object` (a `kind` object) that an applier or updater would own: every leaf, every
    /// element of a keyed or set list, and every map of user keys. With `subresource` `"status"` only the
    /// status is tracked; otherwise the status is left out, as upstream resets it on the main resource.
    pub fn from_object(object: &Value, kind: &str, subresource: Option<&str>) -> Self {
        let mut set = FieldSet::default();
        let Value::Object(map) = object else {
            return set;
        };
        let status_only = subresource == Some("status");
        for (key, value) in map {
            let tracked = match key.as_str() {
                "apiVersion" | "kind" => false,
                "status" => status_only,
                _ => !status_only,
            };
            if !tracked {
                continue;
            }
            let field = schema::field(schema::root(kind), key);
            let mut child = FieldSet::default();
            if key == "metadata" {
                if let Value::Object(meta) = value {
                    let kept: Map<String, Value> = meta
                        .iter()
                        .filter(|(k, _)| !IGNORED_METADATA.contains(&k.as_str()))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    if kept.is_empty() {
                        continue;
                    }
                    child.walk(&Value::Object(kept), field);
                }
            } else {
                child.walk(value, field);
            }
            set.children.insert(format!("f:{key}"), child);
        }
        set
    }

    fn walk(&mut self, value: &Value, field: Option<FieldSchema>) {
        if field.is_some_and(|f| f.atomic) {
            self.member = true;
            return;
        }
        let ty = field.and_then(|f| f.ty);
        match value {
            Value::Object(map) if !map.is_empty() => {
                if field.is_some_and(|f| f.granular_map) {
                    self.member = true;
                }
                for (key, child_value) in map {
                    let child_field = ty.and_then(|t| schema::field(t, key));
                    self.children
                        .entry(format!("f:{key}"))
                        .or_default()
                        .walk(child_value, child_field);
                }
            }
            Value::Array(items) if !items.is_empty() => match field.map(|f| f.list) {
                Some(ListKind::Keyed(keys)) => {
                    let item_field = FieldSchema {
                        ty,
                        list: ListKind::Atomic,
                        retain_keys: false,
                        granular_map: false,
                        atomic: false,
                    };
                    for item in items {
                        let Some(key) = item_key(item, keys) else {
                            self.member = true;
                            continue;
                        };
                        let node = self.children.entry(key).or_default();
                        node.member = true;
                        node.walk_item(item, item_field);
                    }
                }
                Some(ListKind::Set) => {
                    for item in items {
                        self.children.entry(format!("v:{item}")).or_default().member = true;
                    }
                }
                _ => self.member = true,
            },
            _ => self.member = true,
        }
    }

    fn walk_item(&mut self, item: &Value, field: FieldSchema) {
        if let Value::Object(map) = item {
            for (key, child_value) in map {
                let child_field = field.ty.and_then(|t| schema::field(t, key));
                self.children
                    .entry(format!("f:{key}"))
                    .or_default()
                    .walk(child_value, child_field);
            }
        }
    }

    /// Whether the set has no member anywhere.
    pub fn is_empty(&self) -> bool {
        !self.member && self.children.values().all(FieldSet::is_empty)
    }

    /// All members, as lists of path elements from the root.
    pub fn members(&self) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        self.collect(&mut Vec::new(), &mut out);
        out
    }

    fn collect(&self, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        if self.member && !prefix.is_empty() {
            out.push(prefix.clone());
        }
        for (key, child) in &self.children {
            prefix.push(key.clone());
            child.collect(prefix, out);
            prefix.pop();
        }
    }

    /// Whether `path` is a member.
    pub fn contains(&self, path: &[String]) -> bool {
        match path.split_first() {
            None => self.member,
            Some((first, rest)) => self.children.get(first).is_some_and(|c| c.contains(rest)),
        }
    }

    /// Whether any member lies at or below `path`.
    pub fn has_prefix(&self, path: &[String]) -> bool {
        match path.split_first() {
            None => !self.is_empty(),
            Some((first, rest)) => self.children.get(first).is_some_and(|c| c.has_prefix(rest)),
        }
    }

    /// Adds `path` as a member.
    pub fn insert(&mut self, path: &[String]) {
        match path.split_first() {
            None => self.member = true,
            Some((first, rest)) => self.children.entry(first.clone()).or_default().insert(rest),
        }
    }

    /// Removes `path` from the members (fields below it stay).
    pub fn remove(&mut self, path: &[String]) {
        match path.split_first() {
            None => self.member = false,
            Some((first, rest)) => {
                if let Some(child) = self.children.get_mut(first) {
                    child.remove(rest);
                    if child.is_empty() {
                        self.children.remove(first);
                    }
                }
            }
        }
    }

    /// The members of `self` and of `other`.
    pub fn union(&self, other: &FieldSet) -> FieldSet {
        let mut out = self.clone();
        for path in other.members() {
            out.insert(&path);
        }
        out
    }

    /// The members of `self` that are not members of `other`.
    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet::default();
        for path in self.members() {
            if !other.contains(&path) {
                out.insert(&path);
            }
        }
        out
    }

    /// The members of `self` that are also members of `other`.
    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet::default();
        for path in self.members() {
            if other.contains(&path) {
                out.insert(&path);
            }
        }
        out
    }
}

/// The `k:` path element of a keyed list item: its key fields as a JSON object with sorted names.
pub(crate) fn item_key(item: &Value, keys: &[&str]) -> Option<String> {
    let mut sorted: Vec<&str> = keys.to_vec();
    sorted.sort_unstable();
    let mut key = Map::new();
    for name in sorted {
        if let Some(value) = item.get(name) {
            key.insert(name.to_string(), value.clone());
        }
    }
    if key.is_empty() {
        return None;
    }
    Some(format!("k:{}", Value::Object(key)))
}

/// A path as upstream prints it in conflicts: `.spec.containers[name="nginx"].image`.
pub(crate) fn display_path(path: &[String]) -> String {
    let mut out = String::new();
    for element in path {
        if let Some(field) = element.strip_prefix("f:") {
            out.push('.');
            out.push_str(field);
        } else if let Some(key) = element.strip_prefix("k:") {
            let fields: Vec<String> = match serde_json::from_str::<Map<String, Value>>(key) {
                Ok(map) => map.iter().map(|(k, v)| format!("{k}={v}")).collect(),
                Err(_) => vec![key.to_string()],
            };
            out.push_str(&format!("[{}]", fields.join(",")));
        } else if let Some(value) = element.strip_prefix("v:") {
            out.push_str(&format!("[={value}]"));
        } else if let Some(index) = element.strip_prefix("i:") {
            out.push_str(&format!("[{index}]"));
        }
    }
    out
}

/// Each member of `set` present in `object` mapped to what identifies its value: the value itself for a
/// leaf, `true` for a list element or map whose existence alone is owned.
pub(crate) fn member_values(object: &Value, set: &FieldSet) -> BTreeMap<Vec<String>, Value> {
    set.members()
        .into_iter()
        .filter_map(|path| {
            let value = lookup(object, &path)?;
            let identity = if set_has_children(set, &path) {
                Value::Bool(true)
            } else {
                value.clone()
            };
            Some((path, identity))
        })
        .collect()
}

fn set_has_children(set: &FieldSet, path: &[String]) -> bool {
    let mut node = set;
    for element in path {
        match node.children.get(element) {
            Some(child) => node = child,
            None => return false,
        }
    }
    !node.children.is_empty()
}

/// The value at `path` in `object`.
pub(crate) fn lookup<'a>(object: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut current = object;
    for element in path {
        current = step(current, element)?;
    }
    Some(current)
}

fn step<'a>(value: &'a Value, element: &str) -> Option<&'a Value> {
    if let Some(field) = element.strip_prefix("f:") {
        return value.get(field);
    }
    let items = value.as_array()?;
    if let Some(key) = element.strip_prefix("k:") {
        let key: Map<String, Value> = serde_json::from_str(key).ok()?;
        return items
            .iter()
            .find(|item| key.iter().all(|(k, v)| item.get(k) == Some(v)));
    }
    if let Some(wanted) = element.strip_prefix("v:") {
        let wanted: Value = serde_json::from_str(wanted).ok()?;
        return items.iter().find(|item| **item == wanted);
    }
    let index: usize = element.strip_prefix("i:")?.parse().ok()?;
    items.get(index)
}

/// Removes the value at `path` from `object` (an object key, a keyed element or a set value).
pub(crate) fn remove_at(object: &mut Value, path: &[String]) {
    let Some((last, parent_path)) = path.split_last() else {
        return;
    };
    let mut parent = object;
    for element in parent_path {
        let next = match element.strip_prefix("f:") {
            Some(field) => parent.get_mut(field),
            None => {
                let found = step(parent, element).cloned();
                parent.as_array_mut().and_then(|items| {
                    items
                        .iter_mut()
                        .find(|item| Some(&**item) == found.as_ref())
                })
            }
        };
        match next {
            Some(next) => parent = next,
            None => return,
        }
    }
    if let Some(field) = last.strip_prefix("f:") {
        if let Some(map) = parent.as_object_mut() {
            map.remove(field);
        }
        return;
    }
    let Some(found) = step(parent, last).cloned() else {
        return;
    };
    if let Some(items) = parent.as_array_mut() {
        items.retain(|item| *item != found);
    }
}
