//! Server-side apply and field ownership (`metadata.managedFields`), after
//! `apimachinery/pkg/util/managedfields` and sigs.k8s.io/structured-merge-diff.
//!
//! Gaps against upstream, by design for now: the merge of an applied configuration uses the strategic merge
//! table of [`super::schema`] (lists without a known key are atomic), elements of a list are matched by its
//! first key for merging and by all keys for ownership, and versions are not converted (managers keep the
//! apiVersion they wrote with).

use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::fieldset::{self, FieldSet};
use super::{strategic, Error, Result};

/// The manager upstream credits with the fields of an object that had no managed fields before an apply.
pub const BEFORE_FIRST_APPLY: &str = "before-first-apply";

/// What a server-side apply request carries besides the configuration.
#[derive(Debug, Clone)]
pub struct ApplyOptions<'a> {
    /// `fieldManager` query parameter (required).
    pub manager: &'a str,
    /// `force=true`: take ownership of conflicting fields instead of failing.
    pub force: bool,
    /// Kind of the object (`Deployment`), for the merge keys of built-in types.
    pub kind: &'a str,
    /// The apiVersion the request was made with (`apps/v1`), recorded in the manager's entry.
    pub api_version: &'a str,
    /// `Some("status")` (or `"scale"`) when applying to a subresource.
    pub subresource: Option<&'a str>,
    /// When the request happened, recorded in the manager's entry.
    pub now: OffsetDateTime,
}

/// What an update (create, PUT, or a non-apply PATCH) records about its writer.
#[derive(Debug, Clone)]
pub struct UpdateOptions<'a> {
    /// `fieldManager` query parameter, or the name upstream derives from the User-Agent (`kubectl`).
    pub manager: &'a str,
    /// Kind of the object, for the merge keys of built-in types.
    pub kind: &'a str,
    /// The apiVersion the request was made with.
    pub api_version: &'a str,
    /// `Some("status")` when updating a subresource.
    pub subresource: Option<&'a str>,
    /// When the request happened.
    pub now: OffsetDateTime,
}

/// One field that an apply would change although another manager owns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The manager that owns the field.
    pub manager: String,
    /// `Apply` or `Update`: how that manager came to own it.
    pub operation: String,
    /// The apiVersion that manager wrote with.
    pub api_version: String,
    /// The subresource that manager wrote through, if any.
    pub subresource: Option<String>,
    /// The field, as upstream prints it: `.spec.template.spec.containers[name="nginx"].image`.
    pub field: String,
}

impl Conflict {
    /// The manager as upstream names it in messages: `"kubectl-client-side-apply" using apps/v1`.
    pub fn manager_description(&self) -> String {
        let mut out = format!("{:?}", self.manager);
        if let Some(subresource) = &self.subresource {
            out.push_str(&format!(" with subresource {subresource:?}"));
        }
        if self.operation == "Update" {
            out.push_str(&format!(" using {}", self.api_version));
        }
        out
    }

    /// The message of this conflict's `FieldManagerConflict` Status cause: `conflict with "x" using v1`.
    pub fn cause_message(&self) -> String {
        format!("conflict with {}", self.manager_description())
    }
}

/// The Status message upstream writes for a failed apply (`managedfields/internal/conflict.go`).
pub(crate) fn conflict_message(conflicts: &[Conflict]) -> String {
    if let [only] = conflicts {
        return format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            only.manager_description(),
            only.field
        );
    }
    let mut managers: Vec<String> = conflicts
        .iter()
        .map(Conflict::manager_description)
        .collect();
    managers.sort();
    managers.dedup();
    let mut out = format!("Apply failed with {} conflicts:", conflicts.len());
    for (index, manager) in managers.iter().enumerate() {
        if index > 0 {
            out.push('\n');
        }
        out.push_str(&format!(" conflicts with {manager}:"));
        for conflict in conflicts
            .iter()
            .filter(|c| &c.manager_description() == manager)
        {
            out.push_str(&format!("\n- {}", conflict.field));
        }
    }
    out
}

#[derive(Debug, Clone)]
struct Entry {
    manager: String,
    operation: String,
    api_version: String,
    subresource: Option<String>,
    time: Option<Value>,
    fields: FieldSet,
}

impl Entry {
    fn is(&self, manager: &str, operation: &str, subresource: Option<&str>) -> bool {
        self.manager == manager
            && self.operation == operation
            && self.subresource.as_deref() == subresource
    }

    fn to_json(&self) -> Value {
        let mut map = Map::new();
        map.insert("manager".into(), Value::String(self.manager.clone()));
        map.insert("operation".into(), Value::String(self.operation.clone()));
        map.insert("apiVersion".into(), Value::String(self.api_version.clone()));
        if let Some(time) = &self.time {
            map.insert("time".into(), time.clone());
        }
        map.insert("fieldsType".into(), Value::String("FieldsV1".into()));
        map.insert("fieldsV1".into(), self.fields.to_fields_v1());
        if let Some(subresource) = &self.subresource {
            map.insert("subresource".into(), Value::String(subresource.clone()));
        }
        Value::Object(map)
    }
}

fn read_entries(object: &Value) -> Result<Vec<Entry>> {
    let Some(list) = object.pointer("/metadata/managedFields") else {
        return Ok(Vec::new());
    };
    let Value::Array(list) = list else {
        return Err(Error::InvalidManagedFields {
            reason: "metadata.managedFields must be a list".into(),
        });
    };
    let text =
        |entry: &Value, key: &str| entry.get(key).and_then(Value::as_str).map(str::to_string);
    list.iter()
        .enumerate()
        .map(|(index, entry)| {
            let invalid = |reason: String| Error::InvalidManagedFields {
                reason: format!("entry {index}: {reason}"),
            };
            let fields = match entry.get("fieldsV1") {
                Some(fields) => FieldSet::from_fields_v1(fields).map_err(invalid)?,
                None => FieldSet::default(),
            };
            Ok(Entry {
                manager: text(entry, "manager").unwrap_or_default(),
                operation: text(entry, "operation")
                    .ok_or_else(|| invalid("operation is required".into()))?,
                api_version: text(entry, "apiVersion").unwrap_or_default(),
                subresource: text(entry, "subresource").filter(|s| !s.is_empty()),
                time: entry.get("time").cloned(),
                fields,
            })
        })
        .collect()
}

fn write_entries(object: &mut Value, entries: &[Entry]) {
    let list: Vec<Value> = entries
        .iter()
        .filter(|e| !e.fields.is_empty())
        .map(Entry::to_json)
        .collect();
    if let Value::Object(map) = object {
        let metadata = map
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(metadata) = metadata {
            if list.is_empty() {
                metadata.remove("managedFields");
            } else {
                metadata.insert("managedFields".into(), Value::Array(list));
            }
        }
    }
}

fn without_managed_fields(object: &Value) -> Value {
    let mut copy = object.clone();
    if let Some(Value::Object(metadata)) = copy.get_mut("metadata") {
        metadata.remove("managedFields");
    }
    copy
}

fn timestamp(now: OffsetDateTime) -> Value {
    let now = now
        .to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(now);
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    now.format(&format)
        .map(Value::String)
        .unwrap_or(Value::Null)
}

/// The members of `set` whose value differs between `before` and `after`.
fn changed_fields(before: &Value, after: &Value, set: &FieldSet) -> FieldSet {
    let old = fieldset::member_values(before, set);
    let new = fieldset::member_values(after, set);
    let mut changed = FieldSet::default();
    for path in set.members() {
        if old.get(&path) != new.get(&path) {
            changed.insert(&path);
        }
    }
    changed
}

/// Server-side apply: merges the applied configuration into `live` (or creates the object from it when
/// `live` is `None`), and records the manager's ownership in `metadata.managedFields`.
///
/// Fields this manager applied before and omits now are removed unless another manager owns them.
/// Fields another manager owns and the apply would change are conflicts: without `force` the apply fails
/// with [`Error::Conflicts`] (409); with it, the other managers lose those fields.
pub fn server_side_apply(
    live: Option<&Value>,
    applied: &Value,
    options: &ApplyOptions<'_>,
) -> Result<Value> {
    if options.manager.is_empty() {
        return Err(Error::MissingFieldManager);
    }
    if !applied.is_object() {
        return Err(Error::NotAnObject {
            patch_type: "apply",
        });
    }
    let applied = without_managed_fields(applied);
    let subresource = options.subresource;
    let applied_set = FieldSet::from_object(&applied, options.kind, subresource);
    let (mut entries, mut merged, live_plain) = match live {
        Some(live) => {
            let plain = without_managed_fields(live);
            let merged = strategic::strategic_merge(&plain, &applied, options.kind)?;
            let mut entries = read_entries(live)?;
            if entries.is_empty() {
                // Upstream gives an object nobody tracked yet to "before-first-apply", so that applying
                // over fields someone else set is a conflict rather than a silent takeover.
                entries.push(Entry {
                    manager: BEFORE_FIRST_APPLY.into(),
                    operation: "Update".into(),
                    api_version: options.api_version.to_string(),
                    subresource: None,
                    time: None,
                    fields: FieldSet::from_object(&plain, options.kind, subresource),
                });
            }
            (entries, merged, plain)
        }
        None => (Vec::new(), applied.clone(), Value::Object(Map::new())),
    };

    let changed = changed_fields(&live_plain, &merged, &applied_set);
    let mut conflicts = Vec::new();
    for entry in entries
        .iter_mut()
        .filter(|e| !e.is(options.manager, "Apply", subresource))
    {
        let owned = entry.fields.intersection(&changed);
        if owned.is_empty() {
            continue;
        }
        if options.force {
            entry.fields = entry.fields.difference(&owned);
            continue;
        }
        conflicts.extend(owned.members().into_iter().map(|path| Conflict {
            manager: entry.manager.clone(),
            operation: entry.operation.clone(),
            api_version: entry.api_version.clone(),
            subresource: entry.subresource.clone(),
            field: fieldset::display_path(&path),
        }));
    }
    if !conflicts.is_empty() {
        return Err(Error::Conflicts(conflicts));
    }

    let previous = entries
        .iter()
        .find(|e| e.is(options.manager, "Apply", subresource))
        .map(|e| e.fields.clone());
    if let Some(previous) = previous {
        let others: Vec<&Entry> = entries
            .iter()
            .filter(|e| !e.is(options.manager, "Apply", subresource))
            .collect();
        let mut removed: Vec<Vec<String>> = Vec::new();
        // Members come parents first: once a parent is removed, what lies below it went with it.
        for path in previous.difference(&applied_set).members() {
            let under_removed = removed.iter().any(|r| path.starts_with(r));
            if under_removed
                || applied_set.has_prefix(&path)
                || others.iter().any(|e| e.fields.has_prefix(&path))
            {
                continue;
            }
            fieldset::remove_at(&mut merged, &path);
            removed.push(path);
        }
    }

    let entry = Entry {
        manager: options.manager.to_string(),
        operation: "Apply".into(),
        api_version: options.api_version.to_string(),
        subresource: subresource.map(str::to_string),
        time: Some(timestamp(options.now)),
        fields: applied_set,
    };
    match entries
        .iter_mut()
        .find(|e| e.is(options.manager, "Apply", subresource))
    {
        Some(existing) => *existing = entry,
        None => entries.push(entry),
    }
    write_entries(&mut merged, &entries);
    Ok(merged)
}

/// Records in `metadata.managedFields` of `new` that `options.manager` wrote it with an update (create,
/// PUT or a non-apply PATCH) over `old` (`None` on create): the writer owns every field it changed, and
/// the other managers lose those fields and any that no longer exist.
///
/// If the request itself rewrote `metadata.managedFields` (kubectl does so when moving from client-side
/// to server-side apply), the request's entries are the starting point instead of the stored ones.
pub fn record_update(
    old: Option<&Value>,
    new: &Value,
    options: &UpdateOptions<'_>,
) -> Result<Value> {
    let requested = new.pointer("/metadata/managedFields");
    let stored = old.and_then(|o| o.pointer("/metadata/managedFields"));
    let mut entries = match (requested, old) {
        (Some(requested), _) if Some(requested) != stored => read_entries(new)?,
        (_, Some(old)) => read_entries(old)?,
        (_, None) => Vec::new(),
    };
    let new_plain = without_managed_fields(new);
    let old_plain = old.map_or_else(|| Value::Object(Map::new()), without_managed_fields);
    let subresource = options.subresource;
    let new_set = FieldSet::from_object(&new_plain, options.kind, subresource);
    let old_set = FieldSet::from_object(&old_plain, options.kind, subresource);
    let changed = changed_fields(&old_plain, &new_plain, &old_set.union(&new_set));

    for entry in entries.iter_mut() {
        if !entry.is(options.manager, "Update", subresource) {
            entry.fields = entry
                .fields
                .difference(&changed)
                .intersection(&new_set_for(entry, &new_plain, options));
        }
    }
    let gained = changed.intersection(&new_set);
    match entries
        .iter_mut()
        .find(|e| e.is(options.manager, "Update", subresource))
    {
        Some(existing) => {
            existing.fields = existing.fields.union(&gained).intersection(&new_set);
            existing.api_version = options.api_version.to_string();
            if !gained.is_empty() {
                existing.time = Some(timestamp(options.now));
            }
        }
        None => entries.push(Entry {
            manager: options.manager.to_string(),
            operation: "Update".into(),
            api_version: options.api_version.to_string(),
            subresource: subresource.map(str::to_string),
            time: Some(timestamp(options.now)),
            fields: gained,
        }),
    }
    let mut out = new_plain;
    write_entries(&mut out, &entries);
    Ok(out)
}

/// The fields of `object` as seen by the subresource an entry was written through.
fn new_set_for(entry: &Entry, object: &Value, options: &UpdateOptions<'_>) -> FieldSet {
    FieldSet::from_object(object, options.kind, entry.subresource.as_deref())
}
