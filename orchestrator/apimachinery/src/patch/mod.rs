//! Patches as upstream applies them: JSON patch (RFC 6902), JSON merge patch (RFC 7386), strategic merge
//! patch for built-in kinds, and server-side apply with `metadata.managedFields`.
//!
//! Everything here is pure: the API server reads the live object, calls [`apply_patch`] (or
//! [`server_side_apply`] and [`record_update`]) and stores the result.

mod apply;
mod fieldset;
mod schema;
mod strategic;

pub use apply::{
    record_update, server_side_apply, ApplyOptions, Conflict, UpdateOptions, BEFORE_FIRST_APPLY,
};
pub use fieldset::FieldSet;
pub use schema::supports_strategic_merge;
pub use strategic::strategic_merge;

use serde_json::Value;

/// Errors from parsing or applying a patch.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request's Content-Type names no patch type upstream knows.
    #[error("unsupported patch content type {content_type:?}")]
    UnsupportedContentType {
        /// The Content-Type as sent.
        content_type: String,
    },
    /// Strategic merge patch was sent for a kind upstream does not compile in (custom resources).
    #[error("strategic merge patch format is not supported")]
    StrategicMergeUnsupported,
    /// The patch body, or the object it applies to, is not a JSON object.
    #[error("apply {patch_type} patch: the patch and the object must be JSON objects")]
    NotAnObject {
        /// Which kind of patch.
        patch_type: &'static str,
    },
    /// The body of a JSON patch is not a list of RFC 6902 operations.
    #[error("parse json patch: {source}")]
    InvalidJsonPatch {
        /// Why serde rejected it.
        source: serde_json::Error,
    },
    /// A JSON patch operation failed (missing path, failed test).
    #[error("apply json patch: {source}")]
    JsonPatchFailed {
        /// The failing operation and why.
        source: json_patch::PatchError,
    },
    /// A `$patch` directive with a value other than replace, delete or merge.
    #[error("unknown patch type: {value} in map at {path}")]
    UnknownDirective {
        /// Field path of the map carrying it.
        path: String,
        /// The directive's value.
        value: String,
    },
    /// A directive whose value has the wrong shape (e.g. `$retainKeys` not a list).
    #[error("invalid {directive} directive at {path}")]
    InvalidDirective {
        /// Field path of the map carrying it.
        path: String,
        /// The directive key.
        directive: String,
    },
    /// A list mixes element types (a directive map among strings, say).
    #[error("strategic merge patch: list element types are not identical at {path}")]
    MixedListTypes {
        /// Field path of the list.
        path: String,
    },
    /// An element of a list merged by key is not an object.
    #[error("strategic merge patch: list element at {path} is not an object")]
    InvalidListItem {
        /// Field path of the element.
        path: String,
    },
    /// An element of a list merged by key lacks the key.
    #[error("strategic merge patch: element at {path} does not contain declared merge key: {key}")]
    MissingMergeKey {
        /// Field path of the element.
        path: String,
        /// The merge key upstream declares for the list.
        key: String,
    },
    /// Server-side apply without `fieldManager`.
    #[error("PATCH, application/apply-patch+yaml: fieldManager is required for apply requests")]
    MissingFieldManager,
    /// `metadata.managedFields` of the live object cannot be read.
    #[error("decode metadata.managedFields: {reason}")]
    InvalidManagedFields {
        /// What is wrong with it.
        reason: String,
    },
    /// Server-side apply found fields owned by other managers with other values, and `force` was off.
    #[error("{}", apply::conflict_message(.0))]
    Conflicts(Vec<Conflict>),
}

impl Error {
    /// The HTTP status code upstream answers with for this error.
    pub fn http_code(&self) -> u16 {
        match self {
            Error::UnsupportedContentType { .. } | Error::StrategicMergeUnsupported => 415,
            Error::InvalidJsonPatch { .. }
            | Error::MissingFieldManager
            | Error::NotAnObject { .. } => 400,
            Error::Conflicts(_) => 409,
            Error::JsonPatchFailed { .. }
            | Error::UnknownDirective { .. }
            | Error::InvalidDirective { .. }
            | Error::InvalidListItem { .. }
            | Error::MixedListTypes { .. }
            | Error::MissingMergeKey { .. }
            | Error::InvalidManagedFields { .. } => 422,
        }
    }
}

/// Result of patch operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The four patch types of a PATCH request, named by its Content-Type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    /// `application/json-patch+json` (RFC 6902).
    Json,
    /// `application/merge-patch+json` (RFC 7386).
    Merge,
    /// `application/strategic-merge-patch+json`.
    StrategicMerge,
    /// `application/apply-patch+yaml` (server-side apply; kubectl sends JSON, which is YAML).
    Apply,
}

impl PatchType {
    /// The patch type of a Content-Type header value (parameters such as `; charset=utf-8` are ignored).
    pub fn from_content_type(content_type: &str) -> Result<Self> {
        let media = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match media.as_str() {
            "application/json-patch+json" => Ok(PatchType::Json),
            "application/merge-patch+json" => Ok(PatchType::Merge),
            "application/strategic-merge-patch+json" => Ok(PatchType::StrategicMerge),
            "application/apply-patch+yaml" | "application/apply-patch+cbor" => Ok(PatchType::Apply),
            _ => Err(Error::UnsupportedContentType {
                content_type: content_type.to_string(),
            }),
        }
    }

    /// The Content-Type of this patch type.
    pub fn content_type(self) -> &'static str {
        match self {
            PatchType::Json => "application/json-patch+json",
            PatchType::Merge => "application/merge-patch+json",
            PatchType::StrategicMerge => "application/strategic-merge-patch+json",
            PatchType::Apply => "application/apply-patch+yaml",
        }
    }
}

/// Applies an RFC 6902 JSON patch (`patch` is the operation list) to a copy of `original`.
pub fn json_patch(original: &Value, patch: &Value) -> Result<Value> {
    let operations: json_patch::Patch = serde_json::from_value(patch.clone())
        .map_err(|source| Error::InvalidJsonPatch { source })?;
    let mut patched = original.clone();
    json_patch::patch(&mut patched, &operations)
        .map_err(|source| Error::JsonPatchFailed { source })?;
    Ok(patched)
}

/// Applies an RFC 7386 JSON merge patch to a copy of `original` (`null` deletes, lists replace).
pub fn merge_patch(original: &Value, patch: &Value) -> Result<Value> {
    if !patch.is_object() {
        return Err(Error::NotAnObject {
            patch_type: "merge",
        });
    }
    let mut patched = original.clone();
    json_patch::merge(&mut patched, patch);
    Ok(patched)
}

/// Applies a JSON, merge or strategic merge patch to `original`, an object of `group`/`kind`.
///
/// Server-side apply needs the field managers and goes through [`server_side_apply`] instead; passing
/// [`PatchType::Apply`] here applies the configuration as a strategic merge without ownership tracking.
pub fn apply_patch(
    patch_type: PatchType,
    original: &Value,
    patch: &Value,
    group: &str,
    kind: &str,
) -> Result<Value> {
    match patch_type {
        PatchType::Json => json_patch(original, patch),
        PatchType::Merge => merge_patch(original, patch),
        PatchType::StrategicMerge | PatchType::Apply => {
            if !supports_strategic_merge(group) {
                return Err(Error::StrategicMergeUnsupported);
            }
            strategic_merge(original, patch, kind)
        }
    }
}

#[cfg(test)]
mod apply_tests;
#[cfg(test)]
mod tests;
